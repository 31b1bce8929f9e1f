#!/usr/bin/env python3
"""DiT forward on the CPU: sana-video vs diffusers, in the same run on the same machine.

Builds a random-weight SanaVideoTransformer3DModel (default: 4 layers, width 512 = 4 heads x 128,
mlp_ratio 3, caption 2304 x 300 tokens) on a 2 x 16 x 5 x 32 x 32 latent, saves it with
save_pretrained, then times diffusers (torch, fp32) and `sv-bench` on the same files, each in its own
process so peak RSS is per engine. Prints a JSON summary with the speed ratio.

--weights bf16 saves the checkpoint in bf16, as releases ship it: the engine keeps the weights bf16 and
widens them per GEMM; the peers are diffusers fp32 (from the fp32 weights) and diffusers bf16 (the bf16
checkpoint run in bf16). The summary also gives the forward's FLOPs (torch's FlopCounterMode on the
diffusers model), each engine's achieved GFLOP/s and the machine's SGEMM peak measured in the same run
(`sv-bench sgemm`, one 4096^3 product through the engine's GEMM path).

Usage: python tools/bench/bench_dit_cpu.py [--build build] [--threads 2] [--iters 5] [--weights fp32|bf16]
  the released width: --layers 2 --heads 20 --head-dim 112 --latent 2,16,3,30,52 --weights bf16
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import median_round, run_json  # noqa: E402

PEER = r"""
import json, resource, sys, time, torch
from diffusers import SanaVideoTransformer3DModel
from safetensors.torch import load_file
torch.set_num_threads(int(sys.argv[3])); torch.set_grad_enabled(False)
dt = torch.bfloat16 if sys.argv[6] == "bf16" else torch.float32
m = SanaVideoTransformer3DModel.from_pretrained(sys.argv[1], torch_dtype=dt).eval()
x = load_file(sys.argv[2])
f = lambda t: t.to(dt) if t.is_floating_point() else t
args = dict(hidden_states=f(x["hidden_states"]), encoder_hidden_states=f(x["encoder_hidden_states"]),
            timestep=x["timestep"], encoder_attention_mask=x["encoder_attention_mask"], return_dict=False)
flops = None
if sys.argv[7] == "1":
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:
        m(**args)
    flops = fc.get_total_flops()
for _ in range(int(sys.argv[5])): m(**args)
ts = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter(); m(**args); ts.append(time.perf_counter() - t)
s = sorted(ts)
print(json.dumps({"engine": "diffusers", "dtype": sys.argv[6], "flops": flops, "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "median_s": s[len(s) // 2], "all_s": ts,
                  "peak_rss_mib": [float(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")][0]}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--latent", default="2,16,5,32,32")
    ap.add_argument("--text-len", type=int, default=300)
    ap.add_argument("--json", help="also write the summary here")
    ap.add_argument("--rounds", type=int, default=3, help="alternate peer/ours this many times (noisy hosts)")
    ap.add_argument("--keep", help="write the model and inputs here and keep them")
    ap.add_argument("--weights", choices=["fp32", "bf16"], default="fp32", help="checkpoint dtype the engine loads")
    a = ap.parse_args()

    import torch
    from diffusers import SanaVideoTransformer3DModel
    from safetensors.torch import save_file

    torch.manual_seed(0)
    D = a.heads * a.head_dim
    cfg = dict(in_channels=16, out_channels=16, num_attention_heads=a.heads, attention_head_dim=a.head_dim,
               num_layers=a.layers, num_cross_attention_heads=a.heads, cross_attention_head_dim=a.head_dim,
               cross_attention_dim=D, caption_channels=2304, mlp_ratio=3.0, patch_size=(1, 2, 2))
    B, C, F, H, W = map(int, a.latent.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        if a.keep:
            tmp = a.keep
            os.makedirs(tmp, exist_ok=True)
        model = SanaVideoTransformer3DModel(**cfg)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.02)
        mdir = os.path.join(tmp, "transformer")
        model.save_pretrained(mdir)
        bdir = None
        if a.weights == "bf16":
            bdir = os.path.join(tmp, "transformer_bf16")
            model.to(torch.bfloat16).save_pretrained(bdir)
        del model
        mask = torch.ones(B, a.text_len, dtype=torch.int64)
        mask[1:, a.text_len // 3:] = 0
        inp = os.path.join(tmp, "inputs.safetensors")
        save_file({"hidden_states": torch.randn(B, C, F, H, W), "encoder_hidden_states": torch.randn(B, a.text_len, 2304),
                   "timestep": torch.tensor([999, 500][:B] + [250] * max(0, B - 2), dtype=torch.int64),
                   "encoder_attention_mask": mask}, inp)
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))

        def peer_run(d, dtype, count):
            return run_json([sys.executable, "-c", PEER, d, inp, str(a.threads), str(a.iters), str(a.warmup), dtype,
                             "1" if count else "0"], env)

        peers = {"fp32": []}
        if bdir:
            peers["bf16"] = []
        oursl = []
        flops = None
        for i in range(a.rounds):
            for dtype in peers:
                peers[dtype].append(peer_run(bdir if dtype == "bf16" else mdir, dtype, i == 0 and dtype == "fp32"))
            flops = flops or peers["fp32"][0]["flops"]
            oursl.append(run_json([os.path.join(a.build, "sv-bench"), "dit", "--model", bdir or mdir, "--inputs", inp,
                                   "--threads", str(a.threads), "--iters", str(a.iters), "--warmup", str(a.warmup)], env))
        sgemm = run_json([os.path.join(a.build, "sv-bench"), "sgemm", "--size", "4096", "--threads", str(a.threads),
                          "--iters", "3"], env)

    def med(runs):
        best = median_round(runs)
        best["gflops"] = flops / best["median_s"] / 1e9
        return best

    ours = med(oursl)
    ours["weights"] = a.weights
    summary = {"workload": f"dit_cpu {a.layers}L D{D} latent {a.latent} text {a.text_len}, {a.weights} weights",
               "threads": a.threads,
               "cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t"),
               "forward_gflop": flops / 1e9, "sgemm_peak_gflops": sgemm["gflops"],
               "sana_video": ours, "sana_video_share_of_sgemm_peak": ours["gflops"] / sgemm["gflops"]}
    for dtype, runs in peers.items():
        p = med(runs)
        summary["diffusers" if dtype == "fp32" else "diffusers_bf16"] = p
        summary["speedup_vs_diffusers" if dtype == "fp32" else "speedup_vs_diffusers_bf16"] = p["median_s"] / ours["median_s"]
    print(json.dumps(summary, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
