#!/usr/bin/env python3
"""`sana-video serve` against the CLI on the embedded toy model, same run, same machine.

  latency: one job at a time, R rounds, interleaved:
    cli         wall time of `sana-video generate ... -o out.mp4` (process, model load, generation, file)
    server      submit (POST /v1/videos) -> poll every 20 ms -> download the MP4, with the openai client
    engine      the engine's stage seconds inside that job (encode + denoise + decode, from the job)
    server - engine is what the server adds to a job (queue hand-off, polling granularity, HTTP, file)
  throughput: N jobs submitted at once by N client threads (each polling every 200 ms, the server's
    openai-poll-after-ms), until all are downloaded -> jobs per minute, against N CLI runs one after another.

Usage: python tools/bench/bench_server.py [--build build] [--rounds 5] [--jobs 12] [--threads 2]
       (needs the openai client: the test command's .venv has it)
"""
import argparse
import warnings
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMPT = "a red circle moving left"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    import openai

    warnings.filterwarnings("ignore", message="The Sora API")

    cli = os.path.join(a.build, "sana-video")
    env = dict(os.environ)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        srv = subprocess.Popen([cli, "serve", "--port", str(port), "--cache-dir", os.path.join(tmp, "cache"),
                                "--threads", str(a.threads), "--max-queue", str(max(16, a.jobs))],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    urllib.request.urlopen(url + "/health", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.05)
            client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0)

            def job(seed, poll_s=0.02):
                v = client.videos.create(prompt=PROMPT, extra_body={"seed": seed})
                while v.status not in ("completed", "failed"):
                    time.sleep(poll_s)
                    v = client.videos.retrieve(v.id)
                assert v.status == "completed", v
                client.videos.download_content(v.id).read()
                return v

            def run_cli(seed):
                subprocess.run([cli, "generate", "-p", PROMPT, "--seed", str(seed), "--threads", str(a.threads),
                                "-o", os.path.join(tmp, "cli.mp4")], check=True, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            job(0)  # warm-up
            res = {"cli": [], "server": [], "engine": []}
            for r in range(a.rounds):
                t0 = time.perf_counter()
                run_cli(r)
                res["cli"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                v = job(r)
                res["server"].append(time.perf_counter() - t0)
                res["engine"].append(sum(v.model_extra["sana_video"]["timings"].values()))
            med = {k: statistics.median(x) for k, x in res.items()}

            t0 = time.perf_counter()
            # Many clients poll at the interval the server asks for (openai-poll-after-ms: 200).
            threads = [threading.Thread(target=job, args=(100 + i, 0.2)) for i in range(a.jobs)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            server_all = time.perf_counter() - t0
            t0 = time.perf_counter()
            for i in range(a.jobs):
                run_cli(100 + i)
            cli_all = time.perf_counter() - t0
        finally:
            srv.send_signal(signal.SIGTERM)
            srv.wait(timeout=60)
    print(json.dumps({
        "model": "sana-video-toy (32x32, 17 frames, 20 steps)",
        "threads": a.threads,
        "latency_median_s": {k: round(v, 4) for k, v in med.items()},
        "server_added_s": round(med["server"] - med["engine"], 4),
        "server_over_cli": round(med["server"] / med["cli"], 3),
        "throughput": {"jobs": a.jobs, "server_s": round(server_all, 2), "cli_s": round(cli_all, 2),
                       "server_jobs_per_min": round(60 * a.jobs / server_all, 1),
                       "cli_jobs_per_min": round(60 * a.jobs / cli_all, 1)},
    }, indent=1))


if __name__ == "__main__":
    sys.exit(main())
