#!/usr/bin/env python3
"""Golden data for the SANA-Video 2.0 transformer, from NVIDIA's official modules themselves.

diffusers has no SANA-Video 2.0, so the reference is NVlabs/Sana's diffusion/model/nets/sana_video2.py and
sana_video2_blocks.py (db48e16, the 2.0 release commit) with the sana_blocks.py / norms.py they import.
Pass the checkout root with --sana-src (a directory holding diffusion/model/...). The package __init__
files import the whole training stack, so they are skipped: empty packages stand in for diffusion,
diffusion.model, diffusion.model.nets and diffusion.utils, and the three helpers the model files import
(the MODELS registry, get_rank, get_root_logger) are stubbed. Cross-attention runs its SDPA path.

db48e16 still has the first release's linear-attention normaliser; upstream removed it later (the
official test test_gated_linear_attention_removes_canceled_relu_normalizer). Case "legacy" runs the file
as is; every other case switches the normaliser off without editing the file: a zero kernel feature map
and eps = 1 make it exactly 1/(0 + 1). In fp32 this is the current upstream form.

tests/golden/sana_video2/
  tiny/model.pth: torch.save({"state_dict": ...}) of a tiny SanaVideo2 (hidden 64, 6 layers: softmax
      anchors at 2 and 5, attention-residual blocks of 2, so partial sums, three block sums and a 4-source
      final routing), every parameter randomised (the routing queries start at zero upstream) and stored
      in bf16; the fp32 reference runs on the same bf16-rounded values.
  tiny/config.yaml: the model section as the official configs write it (explicit sizes for the tiny net).
  tiny/<case>/inputs.safetensors, expected.safetensors: hidden_states, encoder_hidden_states [B, L, C],
      timestep, encoder_attention_mask -> sample, plus named intermediates (x_embedder, t_embedder,
      t_block, y_embedder, blocks.{i}.attn_in / .mlp_in / .mlp, final_in; scalar case only) for
      layer-by-layer checks.
      Cases: scalar (timesteps 999.9 and 317.6: truncation), per_frame ([B, 1, F], frame 0 at 0),
      per_token ([B, 1, F, H, W]), legacy (scalar, with the normaliser).
  single/: hidden 32, depth 1, softmax_ratio 1 (one anchor, one routing source), fp32, saved by torch.save's
      legacy (non-zip) format under "state_dict_ema".
"""
import argparse
import importlib
import json
import logging
import os
import sys
import types

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "sana_video2")


def import_official(root):
    root = os.path.abspath(root)
    os.environ["DISABLE_XFORMERS"] = "1"
    for key in [k for k in sys.modules if k == "diffusion" or k.startswith("diffusion.")]:
        del sys.modules[key]

    def package(name, path):
        m = types.ModuleType(name)
        m.__path__ = [path]
        sys.modules[name] = m
        return m

    class Registry:
        def register_module(self, name=None, force=False, module=None):
            if module is not None:
                return module
            if callable(name):
                return name
            return lambda fn: fn

    d = os.path.join(root, "diffusion")
    package("diffusion", d)
    package("diffusion.model", os.path.join(d, "model"))
    package("diffusion.model.nets", os.path.join(d, "model", "nets"))
    package("diffusion.utils", os.path.join(d, "utils"))
    stubs = {
        "diffusion.model.builder": {"MODELS": Registry()},
        "diffusion.utils.dist_utils": {"get_rank": lambda *a, **k: 0, "get_world_size": lambda *a, **k: 1},
        "diffusion.utils.logger": {"get_root_logger": lambda *a, **k: logging.getLogger("sana_ref")},
    }
    for name, attrs in stubs.items():
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
    install_standins()
    iu = importlib.import_module("diffusion.utils.import_utils")
    iu._xformers_available = False
    return importlib.import_module("diffusion.model.nets.sana_video2")


def install_standins():
    """Where timm / einops are missing (the GPU machine has neither, nor a network), minimal stand-ins for
    the two timm classes the model files subclass or use, with timm's parameter names. The goldens are made
    with the real packages; the stand-ins only let the GPU benchmark import the official modules."""
    try:
        import timm.models.layers  # noqa: F401
        import timm.models.vision_transformer  # noqa: F401
    except ImportError:
        import torch.nn as nn

        class Attention(nn.Module):
            def __init__(self, dim, num_heads=8, qkv_bias=False, **_):
                super().__init__()
                self.num_heads, self.head_dim = num_heads, dim // num_heads
                self.scale = self.head_dim ** -0.5
                self.fused_attn = True
                self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
                self.q_norm, self.k_norm = nn.Identity(), nn.Identity()
                self.attn_drop, self.proj_drop = nn.Dropout(0.0), nn.Dropout(0.0)
                self.proj = nn.Linear(dim, dim)

        class DropPath(nn.Identity):
            def __init__(self, *a, **k):
                super().__init__()

        mods = {"timm": {}, "timm.models": {}, "timm.models.layers": {"DropPath": DropPath},
                "timm.models.vision_transformer": {"Attention": Attention, "Mlp": nn.Identity}}
        for name, attrs in mods.items():
            m = types.ModuleType(name)
            m.__dict__.update(attrs)
            sys.modules[name] = m
    try:
        import importlib_metadata  # noqa: F401
    except ImportError:
        import importlib.metadata as md
        sys.modules["importlib_metadata"] = md
    try:
        import einops  # noqa: F401
    except ImportError:
        m = types.ModuleType("einops")

        def rearrange(*a, **k):
            raise NotImplementedError("einops stand-in")
        m.rearrange = m.repeat = rearrange
        sys.modules["einops"] = m


TINY = dict(hidden_size=64, linear_head_dim=16, softmax_head_dim=32, num_heads=4, depth=6, softmax_ratio=0.34,
            attn_res_block_size=2, mlp_ratio=2.5, in_channels=8, caption_channels=32, model_max_length=8,
            input_size=2, class_dropout_prob=0.0)
SINGLE = dict(TINY, hidden_size=32, num_heads=2, depth=1, softmax_ratio=1.0, attn_res_block_size=8)


def build(sv2, kw, seed, half):
    torch.manual_seed(seed)
    model = sv2.SanaVideo2(**kw).float().eval()
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 0.5 if ("norm" in name or "scale_shift" in name or "attn_res" in name) else 1.0 / p.shape[-1] ** 0.5
            if p.dim() == 1 and "norm" in name:
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(scale * torch.randn(p.shape, generator=g))
            if half:
                p.copy_(p.to(torch.bfloat16).float())
    for m in model.modules():
        m.fp32_attention = True
    model.set_cross_attention_xformers(False)
    return model


class ZeroFeatures(torch.nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)


def current_form(model, on):
    """Switch the legacy normaliser off (current upstream) or back on, without editing the file."""
    for m in model.modules():
        if hasattr(m, "kernel_func"):
            if not hasattr(m, "_legacy"):
                m._legacy = (m.kernel_func, m.eps)
            m.kernel_func, m.eps = (ZeroFeatures(), 1.0) if on else m._legacy


def record(model):
    """Named intermediates, captured by wrapping the sub-layer entry points."""
    store = {}
    for i, blk in enumerate(model.blocks):
        def wrap(fn, key, i=i):
            def inner(hidden, *a, **k):
                store[f"blocks.{i}.{key}_in"] = hidden.detach().clone()
                out = fn(hidden, *a, **k)
                if key == "mlp":
                    store[f"blocks.{i}.mlp"] = out.detach().clone()
                return out
            return inner
        blk.forward_attn_sublayer = wrap(blk.forward_attn_sublayer, "attn")
        blk.forward_mlp_sublayer = wrap(blk.forward_mlp_sublayer, "mlp")
    hooks = [
        model.x_embedder.register_forward_hook(lambda m, i, o: store.__setitem__("x_embedder", o.detach().clone())),
        model.t_embedder.register_forward_hook(lambda m, i, o: store.__setitem__("t_embedder", o.detach().clone())),
        model.t_block.register_forward_hook(lambda m, i, o: store.__setitem__("t_block", o.detach().clone())),
        model.attention_y_norm.register_forward_hook(lambda m, i, o: store.__setitem__("y_embedder", o.detach().clone())),
        model.final_layer.register_forward_hook(lambda m, i, o: store.__setitem__("final_in", i[0].detach().clone())),
    ]
    return store, hooks


def yaml_for(kw):
    return f"""# The model section as the official SANA-Video 2.0 configs write it (tiny sizes given explicitly).
model:
  model: SanaVideo2
  hidden_size: {kw['hidden_size']}
  depth: {kw['depth']}
  num_heads: {kw['num_heads']}
  mlp_ratio: {kw['mlp_ratio']}
  linear_head_dim: {kw['linear_head_dim']}
  softmax_head_dim: {kw['softmax_head_dim']}
  softmax_ratio: {kw['softmax_ratio']}
  attn_res_block_size: {kw['attn_res_block_size']}
  ffn_type: SwiGLU
  use_pe: true
  pos_embed_type: wan_rope
  qk_norm: true
  cross_norm: true
  mixed_precision: bf16
  fp32_attention: true
  image_size: 720
vae:
  vae_type: LTX2VAE_diffusers
  vae_latent_dim: {kw['in_channels']}
  vae_stride: [8, 32, 32]
text_encoder:
  text_encoder_name: gemma-2-2b-it
  caption_channels: {kw['caption_channels']}
  model_max_length: {kw['model_max_length']}
  y_norm: true
  y_norm_scale_factor: 0.01
"""


def write_case(model, d, x, t, y, mask, legacy, intermediates=False):
    current_form(model, not legacy)
    store, hooks = record(model)
    with torch.no_grad():
        sample = model(x, t, y, mask=mask)
    for h in hooks:
        h.remove()
    for blk in model.blocks:  # drop the instance wrappers
        for k in ("forward_attn_sublayer", "forward_mlp_sublayer"):
            blk.__dict__.pop(k, None)
    os.makedirs(d, exist_ok=True)
    save_file({"hidden_states": x.contiguous(), "encoder_hidden_states": y[:, 0].contiguous(), "timestep": t.contiguous(),
               "encoder_attention_mask": mask.contiguous()}, os.path.join(d, "inputs.safetensors"))
    exp = {"sample": sample.contiguous()}
    if intermediates:
        exp.update({k: v.contiguous() for k, v in store.items()})
    save_file(exp, os.path.join(d, "expected.safetensors"))
    return sample


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sana-src", required=True, help="checkout root holding diffusion/model/nets/sana_video2.py")
    args = ap.parse_args()
    sv2 = import_official(args.sana_src)

    base = os.path.join(OUT, "tiny")
    os.makedirs(base, exist_ok=True)
    model = build(sv2, TINY, seed=0, half=True)
    assert model.softmax_layer_indices == [2, 5], model.softmax_layer_indices
    sd = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({"state_dict": sd, "step": 1}, os.path.join(base, "model.pth"))
    open(os.path.join(base, "config.yaml"), "w").write(yaml_for(TINY))

    g = torch.Generator().manual_seed(1)
    B, C, F, H, W, L = 2, TINY["in_channels"], 3, 4, 5, TINY["model_max_length"]
    x = torch.randn(B, C, F, H, W, generator=g)
    y = torch.randn(B, 1, L, TINY["caption_channels"], generator=g)
    mask = torch.ones(B, L)
    mask[1, 5:] = 0
    scalar = torch.tensor([999.9, 317.6])
    per_frame = torch.tensor([[[0.0, 500.0, 999.0]], [[0.0, 317.6, 700.0]]])
    per_token = torch.rand(B, 1, F, H, W, generator=g) * 1000
    cur = write_case(model, os.path.join(base, "scalar"), x, scalar, y, mask, legacy=False, intermediates=True)
    write_case(model, os.path.join(base, "per_frame"), x, per_frame, y, mask, legacy=False)
    write_case(model, os.path.join(base, "per_token"), x, per_token, y, mask, legacy=False)
    leg = write_case(model, os.path.join(base, "legacy"), x, scalar, y, mask, legacy=True)
    cos = torch.nn.functional.cosine_similarity(cur.flatten(), leg.flatten(), dim=0).item()
    rel = ((cur - leg).norm() / cur.norm()).item()

    # The training path agrees with the inference path (the official test's check), on this model too.
    current_form(model, True)
    with torch.no_grad():
        model.train()
        train = model(x, scalar, y, mask=mask)
        model.eval()
    assert torch.allclose(train, cur, atol=1e-5), (train - cur).abs().max()

    sdir = os.path.join(OUT, "single")
    os.makedirs(sdir, exist_ok=True)
    single = build(sv2, SINGLE, seed=2, half=False)
    assert single.softmax_layer_indices == [0]
    torch.save({"state_dict_ema": single.state_dict()}, os.path.join(sdir, "model.pth"),
               _use_new_zipfile_serialization=False)
    open(os.path.join(sdir, "config.yaml"), "w").write(yaml_for(SINGLE))
    write_case(single, os.path.join(sdir, "scalar"), x[:, :, :2], torch.tensor([3.0, 640.5]), y, mask, legacy=False)

    meta = {"reference": "NVlabs/Sana diffusion/model/nets/sana_video2.py + sana_video2_blocks.py @ db48e16",
            "legacy_vs_current": {"cosine": cos, "relative_l2": rel}}
    json.dump(meta, open(os.path.join(OUT, "provenance.json"), "w"), indent=1)
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
