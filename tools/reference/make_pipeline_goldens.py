#!/usr/bin/env python3
"""End-to-end golden data: a tiny SanaVideoPipeline (the test tokenizer and a tiny Gemma2 from
tests/golden/text, a tiny transformer and Wan VAE, random weights) saved with save_pretrained, and the
final latents and frames diffusers produces for fixed prompts and seeds, with each scheduler.
Writes tests/golden/pipeline/<name>/ (the pipeline folder) and tests/golden/pipeline/<case>.safetensors.
"""
import json
import os
import shutil

import torch
from diffusers import (AutoencoderKLWan, DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler,
                       SanaVideoPipeline, SanaVideoTransformer3DModel, UniPCMultistepScheduler)
from safetensors.torch import save_file
from transformers import Gemma2Model, GemmaTokenizer

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden")
OUT = os.path.join(ROOT, "pipeline")


def randomise(m, seed, scale):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)


def main():
    torch.set_grad_enabled(False)
    torch.manual_seed(0)
    tok = GemmaTokenizer.from_pretrained(os.path.join(ROOT, "text", "pipeline", "tokenizer"))
    te = Gemma2Model.from_pretrained(os.path.join(ROOT, "text", "pipeline", "text_encoder"), attn_implementation="eager")
    tr = SanaVideoTransformer3DModel(in_channels=16, out_channels=16, num_attention_heads=2, attention_head_dim=12,
                                     num_layers=2, num_cross_attention_heads=2, cross_attention_head_dim=12,
                                     cross_attention_dim=24, caption_channels=te.config.hidden_size, mlp_ratio=2.5,
                                     patch_size=(1, 2, 2), sample_size=8)
    randomise(tr, 1, 0.05)
    vae = AutoencoderKLWan(base_dim=8, z_dim=16, dim_mult=[1, 2, 2, 2], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    randomise(vae, 2, 0.03)
    dpm = DPMSolverMultistepScheduler(flow_shift=8.0, use_flow_sigmas=True, prediction_type="flow_prediction")
    pipe = SanaVideoPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr, scheduler=dpm)
    d = os.path.join(OUT, "tiny_t2v")
    shutil.rmtree(d, ignore_errors=True)
    pipe.save_pretrained(d)
    cases = [("t2v_dpm", dpm, dict(prompt="A Red Circle moving left", negative_prompt="", num_inference_steps=4,
                                    guidance_scale=4.5, seed=0)),
             ("t2v_dpm_nocfg", dpm, dict(prompt="a blue square", negative_prompt="", num_inference_steps=3,
                                         guidance_scale=1.0, seed=7)),
             ("t2v_euler", FlowMatchEulerDiscreteScheduler(shift=8.0),
              dict(prompt="a green triangle moving up", negative_prompt="blurry", num_inference_steps=5,
                   guidance_scale=6.0, seed=3)),
             ("t2v_unipc", UniPCMultistepScheduler(flow_shift=8.0, use_flow_sigmas=True, prediction_type="flow_prediction"),
              dict(prompt="a yellow square moving down", negative_prompt="", num_inference_steps=6, guidance_scale=3.0,
                   seed=5)),
             ("t2i_dpm", dpm, dict(prompt="a red circle", negative_prompt="", num_inference_steps=3, guidance_scale=4.5,
                                   seed=2, frames=1))]
    meta = {}
    for name, sched, kw in cases:
        pipe.scheduler = sched
        common = dict(prompt=kw["prompt"], negative_prompt=kw["negative_prompt"], height=32, width=64,
                      frames=kw.get("frames", 9),
                      num_inference_steps=kw["num_inference_steps"], guidance_scale=kw["guidance_scale"],
                      use_resolution_binning=False)
        lat = pipe(**common, generator=torch.Generator("cpu").manual_seed(kw["seed"]), output_type="latent").frames
        frames = pipe(**common, generator=torch.Generator("cpu").manual_seed(kw["seed"]), output_type="np").frames
        save_file({"latents": lat.contiguous(), "frames": torch.from_numpy(frames).contiguous()},
                  os.path.join(OUT, name + ".safetensors"))
        meta[name] = dict(kw, scheduler=type(sched).__name__, scheduler_config=dict(sched.config), height=32,
                          width=64, frames=kw.get("frames", 9))
        print(name, tuple(lat.shape), float(lat.abs().max()), frames.shape)
    # Image-to-video: the same parts in SanaImageToVideoPipeline, first frame from a PNG.
    from diffusers import SanaImageToVideoPipeline
    from PIL import Image
    i2v = SanaImageToVideoPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr,
                                   scheduler=FlowMatchEulerDiscreteScheduler(shift=8.0))
    image = Image.open(os.path.join(ROOT, "images", "down.png"))
    kw = dict(prompt="a red circle moving left", negative_prompt="", num_inference_steps=4, guidance_scale=5.0, seed=11)
    common = dict(image=image, prompt=kw["prompt"], negative_prompt=kw["negative_prompt"], height=32, width=64, frames=9,
                  num_inference_steps=kw["num_inference_steps"], guidance_scale=kw["guidance_scale"],
                  use_resolution_binning=False)
    lat = i2v(**common, generator=torch.Generator("cpu").manual_seed(kw["seed"]), output_type="latent").frames
    frames = i2v(**common, generator=torch.Generator("cpu").manual_seed(kw["seed"]), output_type="np").frames
    save_file({"latents": lat.contiguous(), "frames": torch.from_numpy(frames).contiguous()},
              os.path.join(OUT, "i2v_euler.safetensors"))
    meta["i2v_euler"] = dict(kw, scheduler="FlowMatchEulerDiscreteScheduler", image="images/down.png", height=32,
                             width=64, frames=9)
    print("i2v_euler", tuple(lat.shape), float(lat.abs().max()))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1, default=str)


def binning_goldens():
    """VideoProcessor.classify_height_width_bin / resize_and_crop_tensor on fixed inputs."""
    from diffusers.pipelines.sana_video.pipeline_sana_video import ASPECT_RATIO_480_BIN, ASPECT_RATIO_720_BIN
    from diffusers.video_processor import VideoProcessor
    g = torch.Generator().manual_seed(5)
    v = torch.rand(1, 3, 2, 20, 36, generator=g) * 2 - 1
    out = {"video": v.contiguous()}
    for (nw, nh) in ((30, 17), (48, 25), (36, 20), (20, 30)):
        out[f"to_{nw}x{nh}"] = VideoProcessor.resize_and_crop_tensor(v, nw, nh).clone().contiguous()
    bins = []
    for (h, w) in ((480, 832), (500, 500), (720, 1280), (100, 300), (1000, 300), (600, 820)):
        bins += [h, w, *VideoProcessor.classify_height_width_bin(h, w, ASPECT_RATIO_480_BIN),
                 *VideoProcessor.classify_height_width_bin(h, w, ASPECT_RATIO_720_BIN)]
    out["bins"] = torch.tensor(bins, dtype=torch.int64)
    save_file(out, os.path.join(OUT, "binning.safetensors"))


if __name__ == "__main__":
    binning_goldens()
    main()
