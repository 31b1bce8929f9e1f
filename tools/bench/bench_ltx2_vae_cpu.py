#!/usr/bin/env python3
"""LTX-2 VAE decode on the CPU: sana-video vs diffusers AutoencoderKLLTX2Video.decode, same run, same
machine, each in its own process so peak RSS (VmHWM) is per engine.

Model: the released block structure (down: spatial, temporal, 2x spatiotemporal; 3 residual spatiotemporal
ups; depths 4,6,6,2,2 / 5,5,5,5; patch 4; 128 latent channels; non-causal reflect decoder) at 1/--div of
the released widths, random weights. For each clip length: our streamed decode (one latent frame at a time,
frames converted to RGB bytes and dropped as a writer would take them), our whole-clip decode, optionally
our tiled streamed decode, and diffusers' decode. The released decoder looks ~22 latent frames ahead, so a
short clip's frames all come out at its last push; the streamed decoder's memory still stays flat because
each conv holds only two frames.

Usage: python tools/bench/bench_ltx2_vae_cpu.py [--build build] [--threads 2] [--frames 3,9] [--div 8]
       [--size 4x6] [--tile 64:32] [--json docs/bench_ltx2_vae_cpu.json]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vae_cpu import peer_script  # noqa: E402

PEER = peer_script("AutoencoderKLLTX2Video")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--frames", default="3,9", help="latent frames per clip (video frames = 8 (T - 1) + 1)")
    ap.add_argument("--div", type=int, default=8, help="divide the released widths by this")
    ap.add_argument("--size", default="4x6", help="latent height x width")
    ap.add_argument("--tile", default="", help="also run our tiled streamed decode, TILE:STRIDE pixels")
    ap.add_argument("--iters", type=int, default=1)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()

    import torch
    from diffusers import AutoencoderKLLTX2Video
    from safetensors.torch import save_file

    h, w = map(int, a.size.split("x"))
    d = a.div
    torch.manual_seed(0)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        vae = AutoencoderKLLTX2Video(block_out_channels=(256 // d, 512 // d, 1024 // d, 2048 // d),
                                     decoder_block_out_channels=(256 // d, 512 // d, 1024 // d), decoder_causal=False,
                                     spatial_compression_ratio=32, temporal_compression_ratio=8)
        mdir = os.path.join(tmp, "vae")
        vae.save_pretrained(mdir)
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
        sv_bench = os.path.join(a.build, "sv-bench")
        for t in map(int, a.frames.split(",")):
            inp = os.path.join(tmp, f"z{t}.safetensors")
            save_file({"latents": torch.randn(1, 128, t, h, w)}, inp)
            row = {"latent_frames": t, "video_frames": 1 + 8 * (t - 1), "pixels": f"{32 * w}x{32 * h}"}
            runs = [("sana_video_streamed", ["--stream", "1"]), ("sana_video_whole", ["--stream", "0"])]
            if a.tile:
                tile, stride = a.tile.split(":")
                runs.append(("sana_video_tiled_streamed", ["--stream", "1", "--tile", tile, "--tile-stride", stride]))
            for name, extra in runs:
                r = subprocess.run([sv_bench, "vae-decode", "--model", mdir, "--inputs", inp, "--threads",
                                    str(a.threads), "--iters", str(a.iters), "--warmup", "0", *extra],
                                   check=True, capture_output=True, text=True, env=env)
                row[name] = json.loads(r.stdout.strip().splitlines()[-1])
            if not a.no_peer:
                r = subprocess.run([sys.executable, "-c", PEER, mdir, inp, str(a.threads), str(a.iters)], check=True,
                                   capture_output=True, text=True, env=env)
                peer = json.loads(r.stdout.strip().splitlines()[-1])
                row["diffusers"] = peer
                row["speedup_streamed_vs_diffusers"] = peer["median_s"] / row["sana_video_streamed"]["median_s"]
                row["speedup_whole_vs_diffusers"] = peer["median_s"] / row["sana_video_whole"]["median_s"]
            results.append(row)
            print(json.dumps(row), flush=True)
    rss = [r["sana_video_streamed"]["peak_rss_mib"] for r in results]
    summary = {"workload": f"ltx2 vae decode, released structure at 1/{d} width, latent {h}x{w}x128",
               "threads": a.threads, "runs": results, "sana_video_streamed_rss_mib": rss,
               "sana_video_streamed_rss_spread": (max(rss) - min(rss)) / min(rss)}
    if not a.no_peer:
        prss = [r["diffusers"]["peak_rss_mib"] for r in results]
        summary["diffusers_rss_mib"] = prss
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
