#!/usr/bin/env python3
"""Overhead of the Python package: the same toy-model generation through `sana-video generate` (CLI) and
through sana_video.SanaVideoPipeline, same run, same machine, interleaved.

Measured per round (median over rounds):
  cli          wall time of `sana-video generate ... -o out.mp4` (process start, model load, generation, file)
  py_process   wall time of `python -c "from_pretrained(); pipe(..., output_path=out.mp4)"` (same work,
               plus the interpreter and numpy/PIL imports)
  py_call      one pipe() call on a loaded pipeline, frames handed back as numpy
  engine       the engine's own stage seconds (encode + denoise + decode) inside that call
py_call - engine is what the binding adds to a call (parameter conversion, callbacks, frames to numpy).

Usage: python tools/bench/bench_python_binding.py [--build build] [--rounds 5] [--threads 2] [--steps 20]
       (PYTHONPATH must reach the sana_video package: <build>/python, or an installed wheel)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMPT = "a red circle moving left"

PY_PROCESS = r"""
import sys, sana_video
pipe = sana_video.SanaVideoPipeline.from_pretrained(sys.argv[1], threads=int(sys.argv[2]))
pipe.set_progress_bar_config(disable=True)
pipe(sys.argv[3], generator=0, num_inference_steps=int(sys.argv[4]), output_type="latent", output_path=sys.argv[5])
"""


def timed(cmd, env):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "sana-video-toy"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", os.path.join(a.build, "python"))
    sys.path.insert(0, env["PYTHONPATH"])
    import sana_video

    cli = os.path.join(a.build, "sana-video")
    pipe = sana_video.SanaVideoPipeline.from_pretrained(a.model, threads=a.threads)
    pipe.set_progress_bar_config(disable=True)
    res = {"cli": [], "py_process": [], "py_call": [], "engine": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.mp4")
        pipe(PROMPT, generator=0, num_inference_steps=a.steps, output_type="np")  # warm-up
        for _ in range(a.rounds):
            res["cli"].append(timed([cli, "generate", "-m", a.model, "-p", PROMPT, "--seed", "0", "--steps", str(a.steps),
                                     "--threads", str(a.threads), "-o", out], env))
            res["py_process"].append(timed([sys.executable, "-c", PY_PROCESS, a.model, str(a.threads), PROMPT,
                                            str(a.steps), out], env))
            t0 = time.perf_counter()
            o = pipe(PROMPT, generator=0, num_inference_steps=a.steps, output_type="np")
            res["py_call"].append(time.perf_counter() - t0)
            res["engine"].append(sum(o.timings.values()))
    med = {k: statistics.median(v) for k, v in res.items()}
    report = {
        "model": os.path.basename(a.model),
        "threads": a.threads,
        "steps": a.steps,
        "rounds": a.rounds,
        "median_seconds": {k: round(v, 4) for k, v in med.items()},
        "py_process_over_cli": round(med["py_process"] / med["cli"], 3),
        "binding_overhead_per_call_s": round(med["py_call"] - med["engine"], 4),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
