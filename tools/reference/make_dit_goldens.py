#!/usr/bin/env python3
"""Golden data for the SANA-Video transformer, produced by diffusers itself.

Builds tiny SanaVideoTransformer3DModel configs with every parameter randomised (norm weights and
scale_shift_tables included), saves them with save_pretrained (exactly what users have on disk),
runs them in float32 on the CPU and writes, per case, into tests/golden/sana_dit/<case>/:
  config.json + diffusion_pytorch_model.safetensors   (save_pretrained)
  inputs.safetensors     hidden_states, encoder_hidden_states, timestep[, encoder_attention_mask, guidance]
  expected.safetensors   sample + named intermediates in the engine's token-major layout [B, N, D]

Usage: python tools/reference/make_dit_goldens.py [--out tests/golden/sana_dit]
Needs: torch, diffusers, safetensors (see tools/reference/requirements.txt). CI never runs this.
"""
import argparse
import os
import shutil

import torch
from diffusers import SanaVideoTransformer3DModel
from safetensors.torch import save_file

BASE = dict(
    in_channels=16, out_channels=16, num_attention_heads=2, attention_head_dim=12, num_layers=2,
    num_cross_attention_heads=2, cross_attention_head_dim=12, cross_attention_dim=24, caption_channels=20,
    mlp_ratio=2.5, patch_size=(1, 2, 2), sample_size=8,
)

CASES = {
    # patch (1,2,2), batch 2 with different integer timesteps, a padded text mask, odd F', H', W'.
    "p122_b2_mask": dict(config={}, B=2, F=3, H=6, W=10, L=7, timestep=("int", [999, 250]), mask=[7, 3]),
    # patch (1,1,1), odd sizes everywhere, float timestep, no mask, wider heads, out_channels != in_channels.
    "p111_odd": dict(config=dict(patch_size=(1, 1, 1), num_attention_heads=2, attention_head_dim=16, num_layers=3,
                                 num_cross_attention_heads=4, cross_attention_head_dim=8, cross_attention_dim=32,
                                 caption_channels=12, mlp_ratio=3.0, out_channels=8),
                     B=1, F=5, H=5, W=7, L=5, timestep=("float", [437.5]), mask=None),
    # Per-token timesteps (image-to-video): frame-0 tokens at t=0, the rest at t.
    "per_token": dict(config={}, B=2, F=3, H=4, W=6, L=6, timestep=("per_token", [800.0, 120.0]), mask=[6, 4]),
    # Affine norm2, attention bias, guidance embedding, temporal patch 2 with a dropped remainder frame.
    "affine_guidance": dict(config=dict(norm_elementwise_affine=True, attention_bias=True, guidance_embeds=True,
                                        patch_size=(2, 2, 2), attention_head_dim=18, cross_attention_head_dim=18,
                                        cross_attention_dim=36),
                            B=2, F=5, H=4, W=4, L=4, timestep=("int", [10, 500]), mask=[4, 2], guidance=[3.5, 6.0]),
}


def randomise(model, gen, scale=0.1):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale)


def tokens(t):  # [B, D, F, H, W] -> [B, N, D]
    return t.flatten(2).transpose(1, 2).contiguous()


def make_case(name, spec, out_root, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cfg = dict(BASE, **spec["config"])
    model = SanaVideoTransformer3DModel(**cfg).eval()
    randomise(model, gen)
    B, F, H, W, L = spec["B"], spec["F"], spec["H"], spec["W"], spec["L"]
    hs = torch.randn(B, cfg["in_channels"], F, H, W, generator=gen)
    ehs = torch.randn(B, L, cfg["caption_channels"], generator=gen)
    kind, vals = spec["timestep"]
    pt, ph, pw = cfg["patch_size"]
    if kind == "int":
        ts = torch.tensor(vals, dtype=torch.int64)
    elif kind == "float":
        ts = torch.tensor(vals, dtype=torch.float32)
    else:
        mask = torch.zeros(B, 1, F // pt, H // ph, W // pw)
        mask[:, :, 0] = 1
        ts = torch.tensor(vals, dtype=torch.float32).view(B, 1, 1, 1, 1).expand(mask.shape) * (1 - mask)
        ts = ts.contiguous()
    inputs = {"hidden_states": hs, "encoder_hidden_states": ehs, "timestep": ts}
    kwargs = {}
    if spec.get("mask"):
        m = torch.zeros(B, L, dtype=torch.int64)
        for b, n in enumerate(spec["mask"]):
            m[b, :n] = 1
        inputs["encoder_attention_mask"] = m
        kwargs["encoder_attention_mask"] = m
    if spec.get("guidance"):
        g = torch.tensor(spec["guidance"], dtype=torch.float32)
        inputs["guidance"] = g
        kwargs["guidance"] = g

    captured = {}

    def hook(mname, fn):
        def h(_m, _i, out):
            captured[mname] = fn(out).detach().clone().contiguous()
        return h

    mods = dict(model.named_modules())
    mods["patch_embedding"].register_forward_hook(hook("patch_embedding", tokens))
    mods["time_embed"].register_forward_hook(hook("time_embed", lambda o: o[0]))
    mods["time_embed"].register_forward_hook(hook("time_embed.embedded_timestep", lambda o: o[1]))
    mods["caption_norm"].register_forward_hook(hook("caption_norm", lambda o: o))
    for i in range(cfg["num_layers"]):
        p = f"transformer_blocks.{i}"
        mods[p].register_forward_hook(hook(p, lambda o: o))
        mods[p + ".attn1"].register_forward_hook(hook(p + ".attn1", lambda o: o))
        mods[p + ".attn2"].register_forward_hook(hook(p + ".attn2", lambda o: o))
        mods[p + ".ff"].register_forward_hook(hook(p + ".ff", lambda o: o.flatten(1, 3)))
    mods["norm_out"].register_forward_hook(hook("norm_out", lambda o: o))
    mods["proj_out"].register_forward_hook(hook("proj_out", lambda o: o))

    with torch.no_grad():
        sample = model(hs, ehs, ts, return_dict=False, **kwargs)[0]
    expected = dict(captured, sample=sample.contiguous())

    d = os.path.join(out_root, name)
    shutil.rmtree(d, ignore_errors=True)
    model.save_pretrained(d, safe_serialization=True)
    save_file({k: v.contiguous() for k, v in inputs.items()}, os.path.join(d, "inputs.safetensors"))
    save_file(expected, os.path.join(d, "expected.safetensors"))
    print(f"{name}: sample {tuple(sample.shape)} max|ref| {sample.abs().max().item():.4g}, "
          f"{len(expected)} tensors")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "sana_dit"))
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    os.makedirs(args.out, exist_ok=True)
    for i, (name, spec) in enumerate(CASES.items()):
        make_case(name, spec, args.out, seed=1234 + i)
    make_bad_inputs(args.out)


def make_bad_inputs(out_root):
    """Inputs that disagree with the p122_b2_mask model, for the CLI's bad-input tests."""
    d = os.path.join(out_root, "bad_inputs")
    os.makedirs(d, exist_ok=True)
    ehs = torch.zeros(1, 3, 20)
    ts = torch.tensor([10], dtype=torch.int64)
    save_file({"hidden_states": torch.zeros(1, 15, 1, 2, 2), "encoder_hidden_states": ehs, "timestep": ts},
              os.path.join(d, "wrong_channels.safetensors"))
    save_file({"hidden_states": torch.zeros(1, 16, 2, 2), "encoder_hidden_states": ehs, "timestep": ts},
              os.path.join(d, "wrong_rank.safetensors"))
    save_file({"hidden_states": torch.zeros(1, 16, 1, 2, 2), "encoder_hidden_states": ehs, "timestep": ts,
               "encoder_attention_mask": torch.ones(1, 4, dtype=torch.int64)}, os.path.join(d, "bad_mask.safetensors"))


if __name__ == "__main__":
    main()
