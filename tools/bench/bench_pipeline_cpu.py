#!/usr/bin/env python3
"""The whole tiny text-to-video pipeline on the CPU, per stage: sana-video vs diffusers' SanaVideoPipeline,
same folder (tests/golden/pipeline/tiny_t2v), same prompt, size, steps and guidance, same run.
Stages: prompt encoding (CHI + Gemma2, positive and negative), denoising (DPM-Solver++ with CFG),
decoding (Wan VAE + conversion to 8-bit frames).

With --load N each comparison runs twice: on the idle machine, then beside `stress-ng --cpu N` (started by this
script for each engine's run and stopped after it), the shared-machine case: a browser, an IDE, other jobs.

Usage: python tools/bench/bench_pipeline_cpu.py [--build build] [--threads 2] [--width 256 --height 128 --frames 17 --steps 8]
       [--load 2]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

PEER = r"""
import json, sys, time, torch
from diffusers import SanaVideoPipeline
torch.set_num_threads(int(sys.argv[2])); torch.set_grad_enabled(False)
pipe = SanaVideoPipeline.from_pretrained(sys.argv[1])
pipe.text_encoder.config._attn_implementation = "eager"
W, H, F, S, iters = map(int, sys.argv[3:8]); cfg = float(sys.argv[8]); prompt = sys.argv[9]
import inspect
chi = inspect.signature(SanaVideoPipeline.__call__).parameters["complex_human_instruction"].default
res = []
for it in range(iters + 1):
    t0 = time.perf_counter()
    pe, pm, ne, nm = pipe.encode_prompt(prompt, True, negative_prompt="", device="cpu", complex_human_instruction=chi)
    t1 = time.perf_counter()
    lat = pipe(prompt=None, negative_prompt=None, prompt_embeds=pe, prompt_attention_mask=pm, negative_prompt_embeds=ne, negative_prompt_attention_mask=nm,
               height=H, width=W, frames=F, num_inference_steps=S, guidance_scale=cfg, use_resolution_binning=False,
               generator=torch.Generator("cpu").manual_seed(0), output_type="latent").frames
    t2 = time.perf_counter()
    mean = torch.tensor(pipe.vae.config.latents_mean).view(1, -1, 1, 1, 1)
    inv = 1.0 / torch.tensor(pipe.vae.config.latents_std).view(1, -1, 1, 1, 1)
    video = pipe.vae.decode(lat / inv + mean, return_dict=False)[0]
    frames = pipe.video_processor.postprocess_video(video, output_type="pil")
    t3 = time.perf_counter()
    if it > 0:
        res.append((t1 - t0, t2 - t1, t3 - t2))
m = lambda k: sorted(r[k] for r in res)[len(res) // 2]
print(json.dumps({"engine": "diffusers", "encode_s": m(0), "denoise_s": m(1), "decode_s": m(2),
                  "total_s": m(0) + m(1) + m(2)}))
"""


def main():
    ap = argparse.ArgumentParser()
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    ap.add_argument("--build", default=os.path.join(root, "build"))
    ap.add_argument("--model", default=os.path.join(root, "tests", "golden", "pipeline", "tiny_t2v"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--cfg", type=float, default=6.0)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--prompt", default="a red circle moving left")
    ap.add_argument("--json")
    ap.add_argument("--load", type=int, default=0, help="also measure beside stress-ng --cpu N")
    a = ap.parse_args()
    if a.load and not shutil.which("stress-ng"):
        sys.exit("--load needs stress-ng (scripts/setup.sh installs it)")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    peer_cmd = [sys.executable, "-c", PEER, a.model, str(a.threads), str(a.width), str(a.height), str(a.frames),
                str(a.steps), str(a.iters), str(a.cfg), a.prompt]
    ours_cmd = [os.path.join(a.build, "sv-bench"), "pipeline", "--model", a.model, "--threads", str(a.threads),
                "--prompt", a.prompt, "--width", str(a.width), "--height", str(a.height), "--frames",
                str(a.frames), "--steps", str(a.steps), "--cfg", str(a.cfg), "--iters", str(a.iters), "--warmup", "1"]

    def run(cmd, name, load):
        stress = None
        if load:
            # Bounded in time so a killed benchmark leaves no load behind.
            stress = subprocess.Popen(["stress-ng", "--cpu", str(load), "--timeout", "1200s", "--quiet"])
            time.sleep(1.0)
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        finally:
            if stress:
                stress.terminate()
                stress.wait()
        if r.returncode != 0:
            sys.exit(f"{name} run failed:\n" + r.stderr[-3000:])
        return json.loads(r.stdout.strip().splitlines()[-1])

    def compare(load):
        peer = run(peer_cmd, "diffusers", load)
        ours = run(ours_cmd, "sana-video", load)
        return {"sana_video": ours, "diffusers": peer,
                "speedup": {k: peer[k] / ours[k] for k in ("encode_s", "denoise_s", "decode_s", "total_s")}}

    summary = {"workload": f"tiny pipeline {a.width}x{a.height}, {a.frames} frames, {a.steps} steps, cfg {a.cfg}",
               "threads": a.threads, **compare(0)}
    if a.load:
        summary["loaded"] = {"load": f"stress-ng --cpu {a.load} on {os.cpu_count()} CPUs", **compare(a.load)}
    print(json.dumps(summary, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)

if __name__ == "__main__":
    main()
