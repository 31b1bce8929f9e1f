#!/usr/bin/env python3
"""Wan VAE decode on the CPU: sana-video (streaming) vs diffusers AutoencoderKLWan.decode, same run, same
machine, each in its own process so peak RSS (VmHWM) is per engine.

Default model: the Wan2.1 layout at a reduced width (base_dim 32, dim_mult [1,2,4,4], z 16, 2 res blocks)
with random weights; latents at a fixed 8 x 8 (64 x 64 pixels) for 5, 21 and 41 latent frames. Our
decoder hands frames out as it goes (a writer would encode them), so its memory must not grow with the
number of frames; diffusers concatenates the whole video.

Usage: python tools/bench/bench_vae_cpu.py [--build build] [--threads 2] [--frames 5,21,41] [--base-dim 32]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def peer_script(cls: str) -> str:
    """The diffusers side, run as `python -c`: argv = model dir, latents file, threads, iterations."""
    return r"""
import json, sys, time, torch
from diffusers import CLS
from safetensors.torch import load_file
torch.set_num_threads(int(sys.argv[3])); torch.set_grad_enabled(False)
vae = CLS.from_pretrained(sys.argv[1]).eval()
z = load_file(sys.argv[2])["latents"]
ts = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter(); vae.decode(z); ts.append(time.perf_counter() - t)
s = sorted(ts)
print(json.dumps({"engine": "diffusers", "median_s": s[len(s) // 2], "all_s": ts,
                  "peak_rss_mib": [float(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")][0]}))
""".replace("CLS", cls)


PEER = peer_script("AutoencoderKLWan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--frames", default="5,21,41")
    ap.add_argument("--base-dim", type=int, default=32)
    ap.add_argument("--size", type=int, default=8, help="latent height and width")
    ap.add_argument("--iters", type=int, default=1)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()

    import torch
    from diffusers import AutoencoderKLWan
    from safetensors.torch import save_file

    torch.manual_seed(0)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        vae = AutoencoderKLWan(base_dim=a.base_dim, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                               temperal_downsample=[False, True, True])
        mdir = os.path.join(tmp, "vae")
        vae.save_pretrained(mdir)
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
        for t in map(int, a.frames.split(",")):
            inp = os.path.join(tmp, f"z{t}.safetensors")
            save_file({"latents": torch.randn(1, 16, t, a.size, a.size)}, inp)
            r = subprocess.run([os.path.join(a.build, "sv-bench"), "vae-decode", "--model", mdir, "--inputs", inp,
                                "--threads", str(a.threads), "--iters", str(a.iters), "--warmup", "0"],
                               check=True, capture_output=True, text=True, env=env)
            ours = json.loads(r.stdout.strip().splitlines()[-1])
            row = {"latent_frames": t, "video_frames": 1 + 4 * (t - 1), "sana_video": ours}
            if not a.no_peer:
                r = subprocess.run([sys.executable, "-c", PEER, mdir, inp, str(a.threads), str(a.iters)], check=True,
                                   capture_output=True, text=True, env=env)
                peer = json.loads(r.stdout.strip().splitlines()[-1])
                row["diffusers"] = peer
                row["speedup_vs_diffusers"] = peer["median_s"] / ours["median_s"]
            results.append(row)
            print(json.dumps(row), flush=True)
    rss = [r["sana_video"]["peak_rss_mib"] for r in results]
    summary = {"workload": f"wan vae decode base_dim {a.base_dim}, latent {a.size}x{a.size}", "threads": a.threads,
               "runs": results, "sana_video_rss_spread": (max(rss) - min(rss)) / min(rss)}
    print(json.dumps({"sana_video_rss_mib": rss, "rss_spread": summary["sana_video_rss_spread"]}))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
