#!/usr/bin/env python3
"""SANA-Video 2.0 transformer forward on the CPU: sana-video vs NVIDIA's official modules (PyTorch fp32),
in the same run on the same machine, each engine in its own process (so peak RSS is per engine).

Builds a random-weight official SanaVideo2 (default: width 512 = 4 linear heads x 128 / 2 softmax heads x
256, 8 layers with anchors at 3 and 7, attention-residual blocks of 4, SwiGLU x4, caption 2304 x 300
tokens) on a 2 x 32 x 5 x 16 x 16 latent (1,280 tokens per sample), saves it as the release ships
(torch.save .pth + config.yaml), converts it with `sana-video convert`, checks parity, then times the
official forward (eval, fp32 attention, the linear-attention normaliser switched off as upstream did
since, which is the engine's default) and `sv-bench sv2`, alternating for --rounds.

Usage: python tools/bench/bench_sv2_cpu.py --sana-src DIR [--build build] [--threads 2] [--iters 3]
(DIR: a checkout holding diffusion/model/nets/sana_video2.py; see tools/reference/make_sv2_goldens.py)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import alternate, median_round  # noqa: E402
PEER = r"""
import json, sys, time, torch
sys.path.insert(0, sys.argv[6])
from make_sv2_goldens import import_official, current_form
from safetensors.torch import load_file, save_file
torch.set_num_threads(int(sys.argv[3])); torch.set_grad_enabled(False)
sv2 = import_official(sys.argv[7])
kw = json.load(open(sys.argv[1] + ".json"))
m = sv2.SanaVideo2(**kw).float().eval()
m.load_state_dict(torch.load(sys.argv[1], weights_only=True)["state_dict"])
for mod in m.modules(): mod.fp32_attention = True
m.set_cross_attention_xformers(False)
current_form(m, True)  # the normaliser-free upstream form, the engine's default
x = load_file(sys.argv[2])
args = (x["hidden_states"], x["timestep"], x["encoder_hidden_states"][:, None])
kwargs = dict(mask=x["encoder_attention_mask"])
out = m(*args, **kwargs)
if len(sys.argv) > 8: save_file({"sample": out.contiguous()}, sys.argv[8])
for _ in range(int(sys.argv[5])): m(*args, **kwargs)
ts = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter(); m(*args, **kwargs); ts.append(time.perf_counter() - t)
s = sorted(ts)
print(json.dumps({"engine": "official SanaVideo2 (PyTorch)", "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "median_s": s[len(s) // 2], "all_s": ts,
                  "peak_rss_mib": [float(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")][0]}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sana-src", required=True)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--latent", default="2,32,5,16,16")
    ap.add_argument("--text-len", type=int, default=300)
    ap.add_argument("--json", help="also write the summary here")
    a = ap.parse_args()

    import torch
    sys.path.insert(0, os.path.join(HERE, "..", "reference"))
    from make_sv2_goldens import import_official, yaml_for
    from safetensors.torch import save_file, load_file

    B, C, F, H, W = map(int, a.latent.split(","))
    kw = dict(hidden_size=a.hidden, linear_head_dim=128, softmax_head_dim=256, num_heads=a.hidden // 128, depth=a.depth,
              softmax_ratio=0.25, attn_res_block_size=4, mlp_ratio=4.0, in_channels=C, caption_channels=2304,
              model_max_length=a.text_len, input_size=2, class_dropout_prob=0.0)
    sv2 = import_official(a.sana_src)
    torch.manual_seed(0)
    model = sv2.SanaVideo2(**kw).float().eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_((1.0 + 0.1 * torch.randn_like(p)) if (p.dim() == 1 and "norm" in n) else torch.randn_like(p) * 0.02)
    with tempfile.TemporaryDirectory() as tmp:
        pth = os.path.join(tmp, "model.pth")
        torch.save({"state_dict": model.state_dict()}, pth)
        json.dump(kw, open(pth + ".json", "w"))
        yaml = os.path.join(tmp, "config.yaml")
        open(yaml, "w").write(yaml_for(kw))
        del model
        conv = os.path.join(tmp, "converted")
        subprocess.run([os.path.join(a.build, "sana-video"), "convert", pth, "--config", yaml, "-o", conv], check=True,
                       capture_output=True)
        mask = torch.ones(B, a.text_len)
        mask[1:, a.text_len // 3:] = 0
        inp = os.path.join(tmp, "inputs.safetensors")
        save_file({"hidden_states": torch.randn(B, C, F, H, W), "encoder_hidden_states": torch.randn(B, a.text_len, 2304),
                   "timestep": torch.tensor([999.0, 500.0][:B] + [250.0] * max(0, B - 2)),
                   "encoder_attention_mask": mask}, inp)
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
        peer_cmd = [sys.executable, "-c", PEER, pth, inp, str(a.threads), str(a.iters), str(a.warmup),
                    os.path.join(HERE, "..", "reference"), a.sana_src]
        ours_cmd = [os.path.join(a.build, "sv-bench"), "sv2", "--model", os.path.join(conv, "transformer"), "--inputs", inp,
                    "--threads", str(a.threads), "--iters", str(a.iters), "--warmup", str(a.warmup)]
        # Parity of this very model first: the official output against ours.
        ref = os.path.join(tmp, "ref.safetensors")
        subprocess.run(peer_cmd[:6] + ["1", "0"] + peer_cmd[8:] + [ref], check=True, capture_output=True, env=env)
        got = os.path.join(tmp, "got.safetensors")
        subprocess.run([os.path.join(a.build, "sana-video"), "run", "transformer", "--model", conv, "--inputs", inp,
                        "--output", got, "--threads", str(a.threads)], check=True, capture_output=True, env=env)
        r, g = load_file(ref)["sample"], load_file(got)["sample"]
        parity = {"max_abs_diff": float((r - g).abs().max()), "max_abs_ref": float(r.abs().max())}
        parity["ratio"] = parity["max_abs_diff"] / parity["max_abs_ref"]
        runs = alternate(a.rounds, {"official": peer_cmd, "sana_video": ours_cmd}, env)
    peer, ours = median_round(runs["official"]), median_round(runs["sana_video"])
    summary = {"workload": f"sana_video2_cpu {a.depth}L D{a.hidden} latent {a.latent} text {a.text_len}",
               "threads": a.threads,
               "cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t"),
               "parity_fp32": parity, "sana_video": ours, "official": peer,
               "speedup_vs_official": peer["median_s"] / ours["median_s"]}
    print(json.dumps(summary, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
