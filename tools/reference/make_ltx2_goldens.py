#!/usr/bin/env python3
"""Golden data for the LTX-2 video VAE (diffusers AutoencoderKLLTX2Video) and the 720p-style pipeline.

tests/golden/ltx2_vae/<case>/: config.json + diffusion_pytorch_model.safetensors (save_pretrained, with
non-trivial latents_mean/std buffers), inputs.safetensors (latents, video) and expected.safetensors:
sample = vae.decode(latents).sample (unclamped), latent_mean = encode(video).latent_dist.mode(),
moments = the encoder's raw conv_out output (mean channels + one log-variance channel).
Cases with "tiling" also get expected_tiled.safetensors (sample_tiled from vae.enable_tiling(...) with
the settings in tiling.json, latent_mean_tiled likewise) from latents_tiled / video_tiled.

tests/golden/ltx2_pipeline/: a tiny SanaVideoPipeline on the LTX-2 VAE (patch 1x1x1 transformer, the
test tokenizer and Gemma2 from tests/golden/text), and the latents/frames of a T2V and an I2V run.
"""
import json
import os
import shutil

import torch
from diffusers import (AutoencoderKLLTX2Video, DPMSolverMultistepScheduler, SanaImageToVideoPipeline,
                       SanaVideoPipeline, SanaVideoTransformer3DModel)
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden")
OUT = os.path.join(ROOT, "ltx2_vae")

# "a": the released block structure (spatial, temporal, 2x spatiotemporal down; 3 residual spatiotemporal
# ups; causal zero-padded encoder, non-causal reflect decoder) in miniature, 3 latent frames.
# "b": other block types and flags: 3 down blocks (temporal, spatial, spatiotemporal), ups of every type with
# one non-residual, a causal zero-padded decoder, batch 2, odd latent sizes, factors 16/4.
CASES = {
    "a": dict(config=dict(latent_channels=8, block_out_channels=(8, 16, 16, 16),
                          decoder_block_out_channels=(8, 16, 32), layers_per_block=(1, 1, 1, 1, 2),
                          decoder_layers_per_block=(1, 1, 2, 2), decoder_causal=False,
                          spatial_compression_ratio=32, temporal_compression_ratio=8),
              latents=(1, 8, 3, 2, 3), video=(1, 3, 9, 64, 96), scale=0.05,
              tiling=dict(tile_sample_min_height=96, tile_sample_min_width=96, tile_sample_stride_height=64,
                          tile_sample_stride_width=64),
              latents_tiled=(1, 8, 2, 4, 4), video_tiled=(1, 3, 1, 128, 192)),
    "b": dict(config=dict(latent_channels=8, block_out_channels=(16, 16, 32),
                          down_block_types=("LTX2VideoDownBlock3D",) * 3, layers_per_block=(1, 2, 1, 1),
                          downsample_type=("temporal", "spatial", "spatiotemporal"),
                          spatio_temporal_scaling=(True, True, True),
                          decoder_block_out_channels=(8, 16, 32), decoder_layers_per_block=(1, 2, 1, 1),
                          upsample_type=("temporal", "spatial", "spatiotemporal"),
                          upsample_residual=(True, False, True), decoder_causal=True,
                          decoder_spatial_padding_mode="zeros",
                          spatial_compression_ratio=16, temporal_compression_ratio=4),
              latents=(2, 8, 2, 3, 5), video=(2, 3, 9, 48, 80), scale=0.05),
    # "c": the LTX-2.3 layout of SANA-Video 2.0 in miniature: 4 up blocks with upsample_factor (2, 2, 1, 2),
    # types (spatiotemporal, spatiotemporal, temporal, spatial), widths mirroring (256, 512, 512, 1024). Its
    # saved config then stores them as the released one does: decoder_upsample_type (the reverse) and no
    # upsample_type, which the official loader turns back (sana_video2_reference.md 3.3).
    "c": dict(config=dict(latent_channels=8, block_out_channels=(8, 16, 32, 32), layers_per_block=(1, 1, 1, 1, 1),
                          decoder_block_out_channels=(8, 16, 16, 32), decoder_layers_per_block=(1, 1, 1, 1, 1),
                          decoder_spatio_temporal_scaling=(True, True, True, True),
                          decoder_inject_noise=(False,) * 5, upsample_residual=(True,) * 4,
                          upsample_factor=(2, 2, 1, 2),
                          upsample_type=("spatiotemporal", "spatiotemporal", "temporal", "spatial"),
                          decoder_causal=False, spatial_compression_ratio=32, temporal_compression_ratio=8),
              latents=(1, 8, 2, 2, 3), video=(1, 3, 9, 64, 96), scale=0.05, released_keys=True),
}


def randomise(m, seed, scale):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return g


def make_vae(spec, seed):
    torch.manual_seed(seed)
    vae = AutoencoderKLLTX2Video(**spec["config"]).eval()
    g = randomise(vae, seed, spec["scale"])
    c = vae.config.latent_channels
    vae.latents_mean.copy_(torch.randn(c, generator=g) * 0.3)
    vae.latents_std.copy_(torch.rand(c, generator=g) + 0.5)
    return vae, g


def vae_goldens():
    for i, (name, spec) in enumerate(CASES.items()):
        vae, g = make_vae(spec, 200 + i)
        z = torch.randn(*spec["latents"], generator=g)
        video = torch.rand(*spec["video"], generator=g) * 2 - 1
        sample = vae.decode(z).sample
        post = vae.encode(video).latent_dist
        moments = vae.encoder(video)[:, : vae.config.latent_channels + 1]
        d = os.path.join(OUT, name)
        shutil.rmtree(d, ignore_errors=True)
        vae.save_pretrained(d)
        inputs = {"latents": z.contiguous(), "video": video.contiguous()}
        exp = {"sample": sample.contiguous(), "latent_mean": post.mode().contiguous(), "moments": moments.contiguous()}
        if "tiling" in spec:
            zt = torch.randn(*spec["latents_tiled"], generator=g)
            vt = torch.rand(*spec["video_tiled"], generator=g) * 2 - 1
            inputs.update(latents_tiled=zt.contiguous(), video_tiled=vt.contiguous())
            full = vae.decode(zt).sample
            vae.enable_tiling(**spec["tiling"])
            tiled = vae.decode(zt).sample
            tiled_mean = vae.encode(vt).latent_dist.mode()
            vae.disable_tiling()
            save_file({"sample_tiled": tiled.contiguous(), "latent_mean_tiled": tiled_mean.contiguous()}, os.path.join(d, "expected_tiled.safetensors"))
            with open(os.path.join(d, "tiling.json"), "w") as f:
                json.dump(spec["tiling"], f, indent=1)
            print(f"{name} tiled: {tuple(tiled.shape)} |tiled - untiled| max {float((tiled - full).abs().max()):.3f}")
        if spec.get("released_keys"):
            cfg_path = os.path.join(d, "config.json")
            with open(cfg_path) as f:
                cfg = json.load(f)
            cfg["decoder_upsample_type"] = list(reversed(cfg.pop("upsample_type")))
            with open(cfg_path, "w") as f:
                json.dump(cfg, f, indent=2)
        save_file(inputs, os.path.join(d, "inputs.safetensors"))
        save_file(exp, os.path.join(d, "expected.safetensors"))
        print(f"{name}: sample {tuple(sample.shape)} |max| {float(sample.abs().max()):.3f}; "
              f"latent {tuple(post.mode().shape)} |max| {float(post.mode().abs().max()):.3f}")


def pipeline_goldens():
    from PIL import Image
    from transformers import Gemma2Model, GemmaTokenizer
    out = os.path.join(ROOT, "ltx2_pipeline")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    tok = GemmaTokenizer.from_pretrained(os.path.join(ROOT, "text", "pipeline", "tokenizer"))
    te = Gemma2Model.from_pretrained(os.path.join(ROOT, "text", "pipeline", "text_encoder"), attn_implementation="eager")
    vae, _ = make_vae(CASES["a"], 200)  # the weights of case "a": the folder links its vae/ there
    torch.manual_seed(0)
    tr = SanaVideoTransformer3DModel(in_channels=8, out_channels=8, num_attention_heads=2, attention_head_dim=12,
                                     num_layers=2, num_cross_attention_heads=2, cross_attention_head_dim=12,
                                     cross_attention_dim=24, caption_channels=te.config.hidden_size, mlp_ratio=2.5,
                                     patch_size=(1, 1, 1), sample_size=22)
    randomise(tr, 301, 0.05)
    dpm = DPMSolverMultistepScheduler(flow_shift=8.0, use_flow_sigmas=True, prediction_type="flow_prediction")
    pipe = SanaVideoPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr, scheduler=dpm)
    pipe.save_pretrained(os.path.join(out, "tiny_720"))
    shutil.rmtree(os.path.join(out, "tiny_720", "vae"))
    os.symlink(os.path.join("..", "..", "ltx2_vae", "a"), os.path.join(out, "tiny_720", "vae"))
    meta = {}
    t2v = dict(prompt="a red circle moving left", negative_prompt="", height=64, width=64, frames=9,
               num_inference_steps=5, guidance_scale=4.5, use_resolution_binning=False)
    lat = pipe(**t2v, generator=torch.Generator("cpu").manual_seed(321), output_type="latent").frames
    frames = pipe(**t2v, generator=torch.Generator("cpu").manual_seed(321), output_type="np").frames
    save_file({"latents": lat.contiguous(), "frames": torch.from_numpy(frames).contiguous()},
              os.path.join(out, "t2v.safetensors"))
    meta["t2v"] = dict(t2v, seed=321)
    print("t2v", tuple(lat.shape), frames.shape)
    i2v = SanaImageToVideoPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr, scheduler=dpm)
    image = Image.open(os.path.join(ROOT, "images", "down.png"))
    kw = dict(prompt="a blue square moving down", negative_prompt="", height=64, width=64, frames=9,
              num_inference_steps=4, guidance_scale=3.0, use_resolution_binning=False)
    lat = i2v(image=image, **kw, generator=torch.Generator("cpu").manual_seed(7), output_type="latent").frames
    frames = i2v(image=image, **kw, generator=torch.Generator("cpu").manual_seed(7), output_type="np").frames
    save_file({"latents": lat.contiguous(), "frames": torch.from_numpy(frames).contiguous()},
              os.path.join(out, "i2v.safetensors"))
    meta["i2v"] = dict(kw, seed=7, image="images/down.png")
    print("i2v", tuple(lat.shape), frames.shape)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)


def bad_inputs():
    d = os.path.join(OUT, "bad_inputs")
    os.makedirs(d, exist_ok=True)
    save_file({"video": torch.zeros(1, 3, 10, 32, 32)}, os.path.join(d, "video_10_frames.safetensors"))
    save_file({"video": torch.zeros(1, 3, 9, 48, 32)}, os.path.join(d, "video_48_high.safetensors"))


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    vae_goldens()
    pipeline_goldens()
    bad_inputs()
