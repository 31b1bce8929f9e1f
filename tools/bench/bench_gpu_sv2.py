#!/usr/bin/env python3
"""SANA-Video 2.0 transformer on a GPU: one CFG step (batch 2) at the released shape, sana-video against
NVIDIA's official modules in PyTorch bf16, in the same run on the same machine.

The released SanaVideo2_5B (32 layers, width 2560, anchors every 4th layer) with random bf16 weights is
built once with the official code, saved as the release ships (`torch.save` .pth + config.yaml) and
converted by `sana-video convert`; both engines then run forwards on the same 2 x 128 x 25 x 23 x 40
latent (2 x 23,000 tokens, 736 x 1280 x 193 frames) with 300 caption tokens. The official module runs
with fp32 attention as the release configures it, in the normaliser-free form (the engine's default).
Reports seconds per CFG step, TFLOP/s (459 TFLOP per step, shared/reference/sana_video2_reference.md
section 7), peak GPU memory and the relative L2 between the two outputs.

Usage (GPU machine): python tools/bench/bench_gpu_sv2.py --sana-src DIR [--bin-dir build] [--out DIR]
  --dry-run: a tiny config on the CPU (no GPU needed; what scripts/gpu_check.sh --dry-run rehearses)
DIR: a checkout holding diffusion/model/nets/sana_video2.py (see tools/reference/make_sv2_goldens.py).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sana-src", required=True)
    ap.add_argument("--bin-dir", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--out", default=os.environ.get("OUT") or os.path.join(HERE, "..", "..", "out", "bench_gpu_sv2"))
    ap.add_argument("--ld-path", default=os.environ.get("SV_GPU_LD_PATH", ""))
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--latent", default="2,128,25,23,40")
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()

    import torch
    sys.path.insert(0, os.path.join(HERE, "..", "reference"))
    from make_sv2_goldens import current_form, import_official, yaml_for

    dev = "cuda" if torch.cuda.is_available() and not a.dry_run else "cpu"
    dtype = torch.bfloat16 if dev == "cuda" else torch.float32
    if a.dry_run:
        kw = dict(hidden_size=256, linear_head_dim=128, softmax_head_dim=256, num_heads=2, depth=4, softmax_ratio=0.25,
                  attn_res_block_size=2, mlp_ratio=4.0, in_channels=8, caption_channels=2304, model_max_length=300,
                  input_size=2, class_dropout_prob=0.0)
        latent = (2, 8, 3, 4, 5)
    else:
        kw = dict(hidden_size=2560, linear_head_dim=128, softmax_head_dim=256, num_heads=20, depth=32,
                  softmax_ratio=0.25, attn_res_block_size=8, mlp_ratio=4.0, in_channels=128, caption_channels=2304,
                  model_max_length=300, input_size=15, class_dropout_prob=0.0)
        latent = tuple(map(int, a.latent.split(",")))
    sv2 = import_official(a.sana_src)
    torch.manual_seed(0)
    with torch.device(dev):
        model = sv2.SanaVideo2(**kw).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_((1.0 + 0.1 * torch.randn_like(p)) if (p.dim() == 1 and "norm" in n) else torch.randn_like(p) * 0.02)
    model = model.to(dtype)
    for m in model.modules():
        m.fp32_attention = True
    model.set_cross_attention_xformers(False)
    current_form(model, True)
    os.makedirs(a.out, exist_ok=True)
    res = {"workload": f"SanaVideo2 {kw['depth']}L D{kw['hidden_size']} latent {latent} text 300",
           "device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu (dry run)", "torch": torch.__version__}
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") and dev == "cuda" else None) as tmp:
        pth, yaml, conv = (os.path.join(tmp, n) for n in ("model.pth", "config.yaml", "converted"))
        torch.save({"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, pth)
        open(yaml, "w").write(yaml_for(kw))
        env = dict(os.environ)
        if a.ld_path:
            env["LD_LIBRARY_PATH"] = a.ld_path + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        t0 = time.perf_counter()
        subprocess.run([os.path.join(a.bin_dir, "sana-video"), "convert", pth, "--config", yaml, "-o", conv], check=True,
                       env=env, capture_output=True)
        res["convert_s"] = time.perf_counter() - t0
        os.unlink(pth)
        g = torch.Generator().manual_seed(1)
        B = latent[0]
        x = torch.randn(latent, generator=g)
        y = torch.randn(B, 300, 2304, generator=g)
        mask = torch.ones(B, 300)
        mask[0, 100:] = 0
        t = torch.tensor([999.0] * B)
        from safetensors.torch import save_file, load_file
        inp = os.path.join(tmp, "inputs.safetensors")
        save_file({"hidden_states": x, "encoder_hidden_states": y, "timestep": t, "encoder_attention_mask": mask}, inp)

        with torch.no_grad():
            args = (x.to(dev, dtype), t.to(dev), y[:, None].to(dev, dtype))
            ref = model(*args, mask=mask.to(dev)).float().cpu()
            if dev == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            ts = []
            for _ in range(a.iters):
                t1 = time.perf_counter()
                model(*args, mask=mask.to(dev))
                if dev == "cuda":
                    torch.cuda.synchronize()
                ts.append(time.perf_counter() - t1)
        res["official"] = {"median_s": sorted(ts)[len(ts) // 2], "all_s": ts,
                           "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if dev == "cuda" else None}
        del model
        if dev == "cuda":
            torch.cuda.empty_cache()
        devargs = ["--device", "cuda", "--dtype", "bf16"] if dev == "cuda" else []
        r = subprocess.run([os.path.join(a.bin_dir, "sv-bench"), "sv2", "--model", os.path.join(conv, "transformer"),
                            "--inputs", inp, "--iters", str(a.iters), "--warmup", "1"] + devargs,
                           check=True, env=env, capture_output=True, text=True)
        res["sana_video"] = json.loads(r.stdout.strip().splitlines()[-1])
        got = os.path.join(tmp, "got.safetensors")
        subprocess.run([os.path.join(a.bin_dir, "sana-video"), "run", "transformer", "--model", conv, "--inputs", inp,
                        "--output", got] + devargs, check=True, env=env, capture_output=True)
        out = load_file(got)["sample"]
        res["rel_l2_vs_official"] = float((out - ref).norm() / ref.norm())
    if not a.dry_run:
        step_tflop = 459.0 * B / 2
        for k in ("official", "sana_video"):
            res[k]["tflops"] = step_tflop / res[k]["median_s"]
        res["speedup_vs_official"] = res["official"]["median_s"] / res["sana_video"]["median_s"]
    json.dump(res, open(os.path.join(a.out, "bench_gpu_sv2.json"), "w"), indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
