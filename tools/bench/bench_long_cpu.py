#!/usr/bin/env python3
"""LongSANA long-video memory on the CPU: `sana-video generate --long` for 2, 4, 8 and 16 blocks, each in
its own process; peak RSS (ru_maxrss of the child) must stay flat because the state is a constant-size
running sum, every finished block is decoded and written at once, and no whole-video tensor exists.

The model is a small random-weight pipeline built here: the tiny tokenizer, Gemma-2 and Wan VAE of
tests/golden/pipeline/tiny_t2v and a SanaVideoTransformer3DModel of width 256 (4 heads x 64, 4 layers).
Video: 64 x 128 pixels, blocks of 10 latent frames (40 pixel frames), written as H.264 MP4. There is no
PyTorch peer: diffusers has no LongSANA pipeline (the official one is research code in NVlabs/Sana).

Usage: python tools/bench/bench_long_cpu.py [--build build] [--threads 2] [--blocks 2,4,8,16] [--json OUT]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def make_pipeline(dst):
    import torch
    from diffusers import SanaVideoTransformer3DModel
    src = os.path.join(ROOT, "tests", "golden", "pipeline", "tiny_t2v")
    shutil.copytree(src, dst)
    with open(os.path.join(src, "text_encoder", "config.json")) as f:
        caption = json.load(f)["hidden_size"]
    torch.manual_seed(0)
    tr = SanaVideoTransformer3DModel(in_channels=16, out_channels=16, num_attention_heads=4, attention_head_dim=64,
                                     num_layers=4, num_cross_attention_heads=4, cross_attention_head_dim=64,
                                     cross_attention_dim=256, caption_channels=caption, patch_size=(1, 2, 2))
    with torch.no_grad():  # the temporal conv is zero-initialised; give it weights so it does work
        for p in tr.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    shutil.rmtree(os.path.join(dst, "transformer"))
    tr.save_pretrained(os.path.join(dst, "transformer"))


def run(cli, model, blocks, threads, out):
    frames = 4 * (10 * blocks - 1) + 1
    cmd = [cli, "generate", "-m", model, "--long", "--frames", str(frames), "-W", "128", "-H", "64", "--fps", "16",
           "--threads", str(threads), "-p", "a red circle moving left", "-o", out]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read()
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(cmd)}\n{err}")
    return {"blocks": blocks, "frames": frames, "wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024.0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--blocks", default="2,4,8,16")
    ap.add_argument("--json")
    ap.add_argument("--python", default=sys.executable, help="interpreter with torch + diffusers for the model")
    ap.add_argument("--make-model", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.make_model:
        make_pipeline(a.make_model)
        return
    cli = os.path.join(a.build, "sana-video")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model")
        # Built in a child process: Linux carries a parent's peak RSS into a forked child's ru_maxrss,
        # so this process must never load torch itself.
        subprocess.run([a.python, __file__, "--make-model", model], check=True, stdout=subprocess.DEVNULL)
        for b in map(int, a.blocks.split(",")):
            r = run(cli, model, b, a.threads, os.path.join(tmp, f"long{b}.mp4"))
            r["s_per_block"] = r["wall_s"] / b
            rows.append(r)
            print(f"{b:3d} blocks  {r['frames']:4d} frames  peak RSS {r['peak_rss_mib']:7.1f} MiB  "
                  f"{r['wall_s']:6.1f} s ({r['s_per_block']:.2f} s/block)", flush=True)
    rss = [r["peak_rss_mib"] for r in rows]
    spread = (max(rss) - min(rss)) / min(rss)
    per_block = rows[-1]["s_per_block"] / rows[0]["s_per_block"]
    print(f"peak RSS spread {100 * spread:.1f}% (bar: 5%); time per block at {rows[-1]['blocks']} vs "
          f"{rows[0]['blocks']} blocks: {per_block:.2f}x")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"runs": rows, "rss_spread": spread, "per_block_time_ratio": per_block,
                       "threads": a.threads, "machine": os.uname().machine}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
