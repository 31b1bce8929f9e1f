#!/usr/bin/env python3
"""Golden data for LongSANA's cached causal mode (`run transformer-blocks`), made from diffusers' own
SanaVideoTransformer3DModel with the official chunk-causal teacher semantics patched in (NVlabs/Sana
ChunkCausalAttention and ChunkGLUMBConvTemp, official_sana_video.md section 2.6):

* linear attention: a token of chunk c attends to every token of chunks 0..c (cumulative v k_r^T and
  sum of ReLU(k) up to the chunk's end, computed directly per chunk);
* temporal conv: each chunk is convolved with one frame of left context from the previous chunk and zero
  after its own last frame.

For block c the reference input is [context_latents of frames < s | hidden_states of the block] with
per-token timesteps (0 on the clean frames), i.e. what the cached mode computes with the state written by
the earlier blocks' clean latents. Nothing of our engine is used here.

Writes tests/golden/long/{inputs,expected}.safetensors for tests/golden/sana_dit/p122_b2_mask.
"""
import os

import torch
import torch.nn.functional as F
from diffusers import SanaVideoTransformer3DModel
from diffusers.models.transformers import transformer_sana_video as tsv
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden")
CHUNKS = {"frames": None}  # post-patch first frame of each chunk, set per call


def chunked_attention(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
    q, k, v = attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states)
    q, k = attn.norm_q(q), attn.norm_k(k)
    q, k, v = (t.unflatten(2, (attn.heads, -1)) for t in (q, k, v))
    q, k = F.relu(q), F.relu(k)

    def rot(x, cos, sin):
        x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
        c, s = cos[..., 0::2], sin[..., 1::2]
        out = torch.empty_like(x)
        out[..., 0::2] = x1 * c - x2 * s
        out[..., 1::2] = x1 * s + x2 * c
        return out

    qr, kr = rot(q, *rotary_emb), rot(k, *rotary_emb)
    q, k, v, qr, kr = (t.permute(0, 2, 3, 1).double() for t in (q, k, v, qr, kr))  # B,H,C,N
    N = q.shape[-1]
    per_frame = N // CHUNKS["total"]
    starts = [f * per_frame for f in CHUNKS["frames"]] + [N]
    out = torch.zeros_like(q)
    for s, e in zip(starts[:-1], starts[1:]):
        z = 1 / (k[..., :e].sum(-1, keepdim=True).transpose(-2, -1) @ q[..., s:e] + 1e-15)
        out[..., s:e] = (v[..., :e] @ kr[..., :e].transpose(-1, -2)) @ qr[..., s:e] * z
    out = out.float().flatten(1, 2).transpose(1, 2)
    return attn.to_out[1](attn.to_out[0](out))


def chunked_ff(self, hidden_states):
    residual = hidden_states
    B, Fn, H, W, C = hidden_states.shape
    x = hidden_states.view(B * Fn, H, W, C).permute(0, 3, 1, 2)
    x = self.nonlinearity(self.conv_inverted(x))
    x = self.conv_depth(x)
    x, gate = torch.chunk(x, 2, dim=1)
    x = self.conv_point(x * self.nonlinearity(gate))
    xt = x.view(B, Fn, C, H * W).permute(0, 2, 1, 3)  # B, C, F, HW
    starts = CHUNKS["frames"] + [Fn]
    parts = []
    for s, e in zip(starts[:-1], starts[1:]):
        lo = max(0, s - 1)  # one frame of left context; the conv's own zero padding closes the right edge
        parts.append(self.conv_temp(xt[:, :, lo:e])[:, :, s - lo:])
    x = xt + torch.cat(parts, dim=2)
    x = x.permute(0, 2, 3, 1).view(B, Fn, H, W, C)
    assert self.norm_type is None
    return x + residual if self.residual_connection else x


def main():
    torch.set_grad_enabled(False)
    d = os.path.join(ROOT, "sana_dit", "p122_b2_mask")
    model = SanaVideoTransformer3DModel.from_pretrained(d).eval()
    tsv.SanaLinearAttnProcessor3_0.__call__ = chunked_attention
    tsv.GLUMBTempConv.forward = chunked_ff
    cfg = model.config
    g = torch.Generator().manual_seed(21)
    B, Fr, H, W = 2, 8, 6, 10
    hidden = torch.randn(B, cfg.in_channels, Fr, H, W, generator=g)
    context = torch.randn(B, cfg.in_channels, Fr, H, W, generator=g)
    timestep = torch.tensor([888.0, 300.0])
    text = torch.randn(B, 7, cfg.caption_channels, generator=g)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3], dtype=torch.int64)
    starts = [0, 3, 6]
    Hp, Wp = H // cfg.patch_size[1], W // cfg.patch_size[2]
    outs = []
    for c, s in enumerate(starts):
        e = starts[c + 1] if c + 1 < len(starts) else Fr
        seq = torch.cat([context[:, :, :s], hidden[:, :, s:e]], dim=2)
        t = torch.zeros(B, 1, e, Hp, Wp)
        t[:, :, s:] = timestep.view(B, 1, 1, 1, 1)
        CHUNKS["frames"], CHUNKS["total"] = starts[:c + 1], e
        out = model(seq, encoder_hidden_states=text, timestep=t, encoder_attention_mask=mask).sample
        outs.append(out[:, :, s:e])
    out_dir = os.path.join(ROOT, "long")
    os.makedirs(out_dir, exist_ok=True)
    save_file({"hidden_states": hidden, "context_latents": context, "timestep": timestep,
               "encoder_hidden_states": text, "encoder_attention_mask": mask,
               "block_starts": torch.tensor(starts, dtype=torch.int64)}, os.path.join(out_dir, "inputs.safetensors"))
    sample = torch.cat(outs, dim=2).contiguous()
    save_file({"sample": sample}, os.path.join(out_dir, "expected.safetensors"))
    print("sample", tuple(sample.shape), float(sample.abs().max()))


if __name__ == "__main__":
    main()
