#!/usr/bin/env python3
"""End-to-end golden runs of SANA-Video 2.0 text-to-video, composed from the reference pieces as NVIDIA's
release runs them: transformers' Gemma2Model and tokenizer, the official prompt handling (the release's
CHI joined by newlines, the prompt stripped with its " motion score: N." suffix, max_length = len(CHI) + 300 - 2,
BOS plus the last 299 positions; the negative prompt without CHI at 300), the official SanaVideo2 model
(normaliser-free form), NVIDIA's DPMS flow solver or FastVideoDMD4Step, and diffusers'
AutoencoderKLLTX2Video decoding latents * std / scaling_factor + mean (the official vae_decode).

Parts: the tiny 2.0 model of make_sv2_goldens.py (tests/golden/sana_video2/tiny: its .pth and config.yaml,
8 latent channels, caption width 32), the LTX-2.3-layout VAE of make_ltx2_goldens.py (tests/golden/ltx2_vae/c:
8 latent channels, 32x spatial, 8x temporal) and the tiny Gemma2 + tokenizer of tests/golden/ltx2_pipeline/tiny_720.

tests/golden/sana_video2/pipeline/config.yaml: the tiny model's config.yaml plus the release's text_encoder
chi_prompt (what `sana-video convert` carries into the folder) and a scheduler section.
tests/golden/sana_video2/pipeline/<case>.safetensors: prompt_embeds, prompt_mask, negative_embeds,
negative_mask, noise, latents (final, normalised), frames ([1, 3, F, H, W], decoded, unclamped).
cases.json: the settings of each case.
tests/golden/sana_video2/pipeline/image_fill_crop.safetensors: NVIDIA's image-to-video preprocessing
(resize_crop_to_fill_image: Pillow BICUBIC to cover, centre crop) of the committed test images, uint8 [H, W, 3].
"""
import argparse
import json
import os
import sys

import torch
from diffusers import AutoencoderKLLTX2Video
from safetensors.torch import save_file
from transformers import AutoTokenizer, Gemma2Model

sys.path.insert(0, os.path.dirname(__file__))
from make_sv2_goldens import TINY, current_form, import_official  # noqa: E402

G = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden")
OUT = os.path.join(G, "sana_video2", "pipeline")
CHI = [
    'Given a user prompt, generate an "Enhanced prompt" that provides detailed visual descriptions suitable for image '
    'generation. Evaluate the level of detail in the user prompt:',
    "- If the prompt is simple, focus on adding specifics about colors, shapes, sizes, textures, and spatial relationships "
    "to create vivid and concrete scenes.",
    "- If the prompt is already detailed, refine and enhance the existing details slightly without overcomplicating.",
    "Here are examples of how to transform or refine prompts:",
    "- User Prompt: A cat sleeping -> Enhanced: A small, fluffy white cat curled up in a round shape, sleeping peacefully "
    "on a warm sunny windowsill, surrounded by pots of blooming red flowers.",
    "- User Prompt: A busy city street -> Enhanced: A bustling city street scene at dusk, featuring glowing street lamps, "
    "a diverse crowd of people in colorful clothing, and a double-decker bus passing by towering glass skyscrapers.",
    "Please generate only the enhanced description for the prompt below and avoid including any additional commentary "
    "or evaluations:",
    "User Prompt: ",
]
CASES = {
    "t2v_dpm": dict(prompt="  A red Circle moving left ", negative_prompt="blurry, jittery", motion_score=20, height=64,
                    width=96, frames=9, steps=6, guidance_scale=8.0, shift=12.0, seed=4, sampler="dpm"),
    "ti2v": dict(prompt="a blue square moving down", negative_prompt="", motion_score=20, height=64, width=96,
                 frames=17, steps=5, guidance_scale=8.0, shift=12.0, seed=7, sampler="dpm", image="images/down.png"),
    "t2v_dmd": dict(prompt="a blue square moving down", negative_prompt="", motion_score=20, height=64, width=64,
                    frames=9, steps=4, guidance_scale=1.0, shift=12.0, seed=11, sampler="dmd"),
}
L = 8  # the tiny model's model_max_length


def encode(tok, enc, text, chi):
    if chi:
        prefix = "\n".join(chi)
        text = prefix + text
        max_length = len(tok.encode(prefix)) + L - 2
    else:
        max_length = L
    t = tok(text, max_length=max_length, padding="max_length", truncation=True, return_tensors="pt")
    h = enc(t.input_ids, attention_mask=t.attention_mask)[0]
    if not chi:
        return h, t.attention_mask
    sel = [0] + list(range(-L + 1, 0))
    return h[:, sel], t.attention_mask[:, sel]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sana-src", required=True)
    a = ap.parse_args()
    import_official(a.sana_src)
    import importlib
    sv2 = importlib.import_module("diffusion.model.nets.sana_video2")
    dpms = importlib.import_module("diffusion.scheduler.dpm_solver").DPMS
    dmd = importlib.import_module("diffusion.scheduler.fastvideo_dmd_sampler").FastVideoDMD4Step
    ltx = importlib.import_module("diffusion.scheduler.flow_euler_sampler").LTXFlowEuler
    transforms = importlib.import_module("diffusion.data.transforms")
    torch.set_grad_enabled(False)
    os.makedirs(OUT, exist_ok=True)

    model = sv2.SanaVideo2(**TINY).float().eval()
    sd = torch.load(os.path.join(G, "sana_video2", "tiny", "model.pth"), weights_only=True)["state_dict"]
    model.load_state_dict({k: v.float() for k, v in sd.items()})
    for m in model.modules():
        m.fp32_attention = True
    model.set_cross_attention_xformers(False)
    current_form(model, True)
    tdir = os.path.join(G, "ltx2_pipeline", "tiny_720")
    tok = AutoTokenizer.from_pretrained(os.path.join(tdir, "tokenizer"))
    tok.padding_side = "right"
    # Eager attention, as the other pipeline goldens (the engine follows its soft-capping and masking).
    enc = Gemma2Model.from_pretrained(os.path.join(tdir, "text_encoder"),
                                      attn_implementation="eager").float().eval()
    # The LTX-2.3 layout stores decoder_upsample_type; the official loader passes it reversed as upsample_type.
    vcfg = json.load(open(os.path.join(G, "ltx2_vae", "c", "config.json")))
    vae = AutoencoderKLLTX2Video.from_pretrained(
        os.path.join(G, "ltx2_vae", "c"), upsample_type=tuple(reversed(vcfg["decoder_upsample_type"]))).float().eval()

    yaml = open(os.path.join(G, "sana_video2", "tiny", "config.yaml")).read()
    yaml = yaml.replace("text_encoder:\n", "text_encoder:\n  chi_prompt:\n" +
                        "".join("    - " + json.dumps(line) + "\n" for line in CHI), 1)
    yaml += "scheduler:\n  flow_shift: 12.0\n  inference_flow_shift: 12.0\n"
    open(os.path.join(OUT, "config.yaml"), "w").write(yaml)

    for name, c in CASES.items():
        text = c["prompt"].strip() + f" motion score: {c['motion_score']}."
        pos, pos_mask = encode(tok, enc, text, CHI)
        neg, neg_mask = encode(tok, enc, c["negative_prompt"], None)
        lat_shape = (1, 8, (c["frames"] - 1) // 8 + 1, c["height"] // 32, c["width"] // 32)
        g = torch.Generator().manual_seed(c["seed"])
        noise = torch.randn(lat_shape, generator=g)
        mean = vae.latents_mean.view(1, -1, 1, 1, 1)
        std = vae.latents_std.view(1, -1, 1, 1, 1)
        if "image" in c:
            # The official TI2V: read_image_from_path (fill + centre crop), the VAE's posterior mode
            # normalised as vae_encode does, in latent frame 0; LTXFlowEuler keeps that frame clean.
            image = transforms.read_image_from_path(os.path.join(G, c["image"]), (c["height"], c["width"]))
            z0 = vae.encode(image[None, :, None]).latent_dist.mode()
            noise[:, :, 0:1] = (z0 - mean) * vae.config.scaling_factor / std
            cfg = c["guidance_scale"] > 1
            sampler = ltx(model, condition=pos[:, None], uncondition=neg[:, None], cfg_scale=c["guidance_scale"],
                          flow_shift=c["shift"], model_kwargs={"mask": torch.cat([neg_mask, pos_mask]),
                                                               "data_info": {"condition_frame_info": {0: 0.0}}})
            lat = sampler.sample(noise.clone(), steps=c["steps"], generator=None)
        elif c["sampler"] == "dpm":
            cfg = c["guidance_scale"] > 1
            mask = torch.cat([neg_mask, pos_mask]) if cfg else pos_mask
            solver = dpms(model, condition=pos[:, None], uncondition=neg[:, None] if cfg else None,
                          cfg_scale=c["guidance_scale"], model_type="flow", guidance_type="classifier-free",
                          model_kwargs={"mask": mask}, schedule="FLOW")
            lat = solver.sample(noise.clone(), steps=c["steps"], order=2, skip_type="time_uniform_flow",
                                method="multistep", flow_shift=c["shift"])
        else:
            lat = dmd(model, pos[:, None], model_kwargs={"mask": pos_mask}).sample(noise.clone(), steps=4, generator=g)
        frames = vae.decode(lat * std / vae.config.scaling_factor + mean, temb=None, return_dict=False)[0]
        save_file({"prompt_embeds": pos.contiguous(), "prompt_mask": pos_mask.float().contiguous(),
                   "negative_embeds": neg.contiguous(), "negative_mask": neg_mask.float().contiguous(),
                   "noise": noise.contiguous(), "latents": lat.contiguous(), "frames": frames.contiguous()},
                  os.path.join(OUT, name + ".safetensors"))
        print(name, tuple(lat.shape), tuple(frames.shape))
    json.dump(CASES, open(os.path.join(OUT, "cases.json"), "w"), indent=1)

    # Image-to-video preprocessing: NVIDIA's resize_crop_to_fill_image (diffusion/data/transforms.py) on
    # the committed test images, at a wider and at a taller target than each image (both crop branches).
    from PIL import Image
    import numpy as np
    fill = transforms.resize_crop_to_fill_image
    crops = {}
    for img in ("photo.jpg", "down.png"):
        pil = Image.open(os.path.join(G, "images", img)).convert("RGB")
        for th, tw in ((64, 96), (96, 32), (736 // 8, 1280 // 8)):
            crops[f"{img}_{th}x{tw}"] = torch.from_numpy(np.array(fill(pil, (th, tw))).copy())
    save_file(crops, os.path.join(OUT, "image_fill_crop.safetensors"))


if __name__ == "__main__":
    main()
