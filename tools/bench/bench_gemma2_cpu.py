#!/usr/bin/env python3
"""Gemma2 text encoder on the CPU: sana-video vs transformers, in the same run on the same machine.

Builds a random-weight mid-size Gemma2Model (default: full 256000 vocabulary, width 1152, 8 layers,
8 heads x 128 with 4 KV heads, GeGLU 4608, alternating sliding/global layers), saves it with
save_pretrained (fp32 or --dtype bf16), and times last_hidden_state for one 300-token prompt with each
engine in its own process (so peak RSS is per engine). transformers runs eager attention, as
SanaVideoPipeline gets. Our engine maps the weights; with the full vocabulary only the looked-up
embedding rows become resident.

Usage: python tools/bench/bench_gemma2_cpu.py [--build build] [--threads 2] [--dtype float32|bfloat16]
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import alternate, median_round  # noqa: E402

PEER = r"""
import json, sys, time, torch
from transformers import Gemma2Model
from safetensors.torch import load_file
torch.set_num_threads(int(sys.argv[3])); torch.set_grad_enabled(False)
m = Gemma2Model.from_pretrained(sys.argv[1], attn_implementation="eager", dtype=torch.float32).eval()
x = load_file(sys.argv[2])
for _ in range(int(sys.argv[5])): m(x["input_ids"], attention_mask=x["attention_mask"])
ts = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter(); m(x["input_ids"], attention_mask=x["attention_mask"]); ts.append(time.perf_counter() - t)
s = sorted(ts)
print(json.dumps({"engine": "transformers", "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "median_s": s[len(s) // 2], "all_s": ts,
                  "peak_rss_mib": [float(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")][0]}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=300)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--json")
    a = ap.parse_args()

    import torch
    from safetensors.torch import save_file
    from transformers import Gemma2Config, Gemma2Model

    torch.manual_seed(0)
    cfg = Gemma2Config(vocab_size=256000, hidden_size=1152, intermediate_size=4608, num_hidden_layers=8,
                       num_attention_heads=8, num_key_value_heads=4, head_dim=128, query_pre_attn_scalar=128,
                       sliding_window=4096)
    with tempfile.TemporaryDirectory() as tmp:
        m = Gemma2Model(cfg).to(getattr(torch, a.dtype))
        mdir = os.path.join(tmp, "text_encoder")
        m.save_pretrained(mdir)
        del m
        ids = torch.randint(5, 256000, (1, a.tokens))
        ids[0, 0] = 2
        mask = torch.ones(1, a.tokens, dtype=torch.int64)
        inp = os.path.join(tmp, "inputs.safetensors")
        save_file({"input_ids": ids, "attention_mask": mask}, inp)
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
        runs = alternate(a.rounds, {
            "transformers": [sys.executable, "-c", PEER, mdir, inp, str(a.threads), str(a.iters), str(a.warmup)],
            "sana_video": [os.path.join(a.build, "sv-bench"), "gemma2", "--model", mdir, "--inputs", inp,
                           "--threads", str(a.threads), "--iters", str(a.iters), "--warmup", str(a.warmup)]}, env)
    peer, mine = median_round(runs["transformers"]), median_round(runs["sana_video"])
    summary = {"workload": f"gemma2 8L D1152 vocab 256000, {a.tokens} tokens, weights {a.dtype}", "threads": a.threads,
               "sana_video": mine, "transformers": peer, "speedup_vs_transformers": peer["median_s"] / mine["median_s"]}
    print(json.dumps(summary, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
