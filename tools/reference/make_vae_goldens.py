#!/usr/bin/env python3
"""Golden data for the Wan2.1 VAE (diffusers AutoencoderKLWan), written to tests/golden/wan_vae/<case>/:
config.json + diffusion_pytorch_model.safetensors (save_pretrained), inputs.safetensors (latents, video)
and expected.safetensors (sample = vae.decode(latents), latent_mean = encode(video).latent_dist.mode(),
moments = the full quant_conv output). Every parameter is randomised; the decoded range is checked so
that clamping does not hide the numbers.
"""
import os
import shutil

import torch
from diffusers import AutoencoderKLWan
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "wan_vae")

CASES = {
    # Wan2.1 layout in miniature: two temporal levels, odd latent sizes, 3 latent frames -> 9 frames.
    "wan21_mini": dict(config=dict(base_dim=8, z_dim=4, dim_mult=[1, 2, 2, 2], num_res_blocks=1,
                                   temperal_downsample=[False, True, True]),
                       latents=(1, 4, 3, 5, 7), video=(1, 3, 9, 40, 56), scale=0.03),
    # One temporal level, z_dim 16, batch 2, 4 latent frames, odd video size.
    "attn_b2": dict(config=dict(base_dim=6, z_dim=16, dim_mult=[1, 2, 4], num_res_blocks=2,
                                temperal_downsample=[True, False]),
                    latents=(2, 16, 4, 3, 5), video=(2, 3, 6, 14, 18), scale=0.08),
}


def main():
    torch.set_grad_enabled(False)
    for i, (name, spec) in enumerate(CASES.items()):
        torch.manual_seed(100 + i)
        g = torch.Generator().manual_seed(100 + i)
        vae = AutoencoderKLWan(**spec["config"]).eval()
        with torch.no_grad():
            for p in vae.parameters():
                p.add_(torch.randn(p.shape, generator=g) * spec["scale"])
        z = torch.randn(*spec["latents"], generator=g)
        video = torch.rand(*spec["video"], generator=g) * 2 - 1
        sample = vae.decode(z).sample
        moments = vae.encode(video).latent_dist.parameters if hasattr(vae.encode(video).latent_dist, "parameters") else None
        post = vae.encode(video).latent_dist
        d = os.path.join(OUT, name)
        shutil.rmtree(d, ignore_errors=True)
        vae.save_pretrained(d)
        save_file({"latents": z.contiguous(), "video": video.contiguous()}, os.path.join(d, "inputs.safetensors"))
        exp = {"sample": sample.contiguous(), "latent_mean": post.mode().contiguous()}
        if moments is not None:
            exp["moments"] = moments.contiguous()
        save_file(exp, os.path.join(d, "expected.safetensors"))
        clamped = (sample.abs() >= 1).float().mean().item()
        print(f"{name}: sample {tuple(sample.shape)} |max| {sample.abs().max():.3f} clamped {clamped:.3f}; "
              f"latent {tuple(post.mode().shape)} |max| {post.mode().abs().max():.3f}")


def bad_inputs():
    d = os.path.join(OUT, "bad_inputs")
    os.makedirs(d, exist_ok=True)
    save_file({"latents": torch.zeros(1, 4, 0, 5, 7)}, os.path.join(d, "zero_frames.safetensors"))
    save_file({"latents": torch.zeros(1, 5, 2, 5, 7)}, os.path.join(d, "wrong_channels.safetensors"))
    save_file({"video": torch.zeros(1, 3, 5, 0, 16)}, os.path.join(d, "empty_video.safetensors"))


if __name__ == "__main__":
    main()
    bad_inputs()
