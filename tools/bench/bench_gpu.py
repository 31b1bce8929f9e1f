#!/usr/bin/env python3
"""GPU benchmark: sana-video's CUDA backend against its PyTorch peers, in one run on one machine.

Stages (each under try/except: a failure is recorded and the rest still run; the JSON is rewritten
after every stage, so a run killed at its time limit still leaves what it measured):
  dit      released SANA-Video 2B transformer config (20 layers, 20 heads x 112, patch (1,2,2),
           caption 2304), random seeded weights, bf16, save_pretrained; 480p-81f inputs
           hidden_states [2,16,21,60,104], encoder_hidden_states [2,300,2304], timestep [500,500],
           encoder_attention_mask ones [2,300]. diffusers eager bf16 (one CFG step = one batch-2
           forward; median, warm-up excluded, CUDA-synchronised; peak GPU memory), diffusers fp32
           (reference), `sv-bench dit --device cuda --dtype bf16`, then numerics: ours bf16 / fp32
           (`sana-video run transformer`) against diffusers bf16 / fp32 (relative L2 ||a-b|| / ||b||).
           Achieved TFLOP/s counts 121 TFLOP per sample forward (242 per CFG step). Target for ours:
           <= 0.40 s per CFG step.
  gemma2   Gemma-2-2B text encoder config (2304 wide, 26 layers, 8 heads / 4 KV heads x 256,
           GeGLU 9216, vocab 256000, sliding window 4096, softcaps 50 / 30), random weights, bf16;
           two prompts of 300 random tokens, full mask: transformers eager (bf16, and fp32 as the
           reference), `sv-bench gemma2 --device cuda --dtype bf16`, numerics as above.
  vae      Wan2.1 VAE (diffusers AutoencoderKLWan default config: base_dim 96, z_dim 16, dim_mult
           [1,2,4,4], 2 res blocks, temporal downsample [F,T,T]), random seeded weights saved fp32;
           decode of latents [1,16,21,60,104] (480p, 81 frames): diffusers fp32 (its warm-up run, TF32
           off, is the numerics reference; timed runs with PyTorch's defaults) and bf16, vs ours
           `sv-bench vae-decode --stream 1` fp32 and bf16 (frames streamed to the host as RGB bytes);
           numerics: ours vs diffusers (`sana-video run vae-decode`). Target for ours (bf16): <= 1.5 s and
           <= 3 GiB (PyTorch on an H100: 3.24 s fp32 at 9.3 GiB, 2.25 s bf16).
  pipeline the whole 480p 81-frame 50-step CFG-6 text-to-video with the folders above (DiT, Gemma2, VAE;
           toy tokenizer, DPM-Solver++ flow scheduler with flow_shift 8) assembled as a SanaVideoPipeline
           folder: ours `sv-bench pipeline --iters 1 --warmup 0` (stage times) vs diffusers
           SanaVideoPipeline eager bf16, output_type "np", end to end with a CUDA sync (encode / decode
           timed through wrappers). When the budget is short both run the same smaller step count
           (pipeline.steps_note says so). Target for ours: <= 25 s at 50 steps.
  long_video LongSANA block-wise video with the same pipeline folder (ours only: no PyTorch stack runs
           LongSANA's cached mode): `sv-bench long --seconds 10` and `--seconds 60` at 480p, frames/s
           and peak GPU memory (frames converted to RGB bytes, no file). Target: >= 40 frames/s and
           peak memory equal within 5% between the two lengths.
  ltx2_vae the released LTX-2 video VAE config (SANA-Video 720p: AutoencoderKLLTX2Video defaults with
           decoder_causal False and compression 32/8), random seeded weights saved fp32; decode of latents
           [1,128,11,22,40] (704 x 1280, 81 frames, 92.9 TFLOP): diffusers bf16 (fp32 when the budget allows)
           vs ours `sv-bench vae-decode --stream 1` bf16 (frames streamed to the host), seconds and peak GPU
           memory; numerics ours bf16 vs diffusers. Runs after the stages above, within the budget.
  compile  torch.compile (default mode) of the same transformer, last, and only when the time budget
           still allows (compiling takes ~2 minutes; with the stages above it usually does not).

Usage:
  python3 tools/bench/bench_gpu.py --out DIR            full run (GPU machine; ~5-6 minutes on an H200)
  python3 tools/bench/bench_gpu.py --tiny --out DIR     tiny configs on whatever device is there
  python3 tools/bench/bench_gpu.py --dry-run --out DIR  argument check + tiny end to end where torch and
      diffusers import (engine on the CPU, fp32, without a GPU), and always an engine-only smoke test on
      the repository's golden DiT / Gemma2 / toy VAE folders that needs neither torch nor numpy. Exit 1 if
      it fails.
Writes DIR/bench_gpu.json (one file). Our binaries come from --bin-dir (default: $SV_GPU_BIN_DIR, else
.gpu/unpacked/bin, else build/), run with LD_LIBRARY_PATH=--ld-path (default $SV_GPU_LD_PATH) prepended;
the PyTorch side never sees that path. diffusers comes from --py-dir (default $SV_GPU_PY_DIR, else .gpu/py,
where scripts/gpu_check.sh unpacks the carried wheel) or $DIFFUSERS_SRC, else the installed package.
Standard library + torch/safetensors/numpy (+ diffusers/transformers) only.
"""
import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time
import traceback
from array import array

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TFLOP_PER_SAMPLE = 121.0        # released 2B transformer, 480p 81 frames (32760 tokens), one sample
TARGET_S = 0.40                 # ours, seconds per CFG step (batch-2 forward)
SEED = 1234
MIB = 1 << 20

DIT_RELEASED = dict(in_channels=16, out_channels=16, num_attention_heads=20, attention_head_dim=112, num_layers=20,
                    num_cross_attention_heads=20, cross_attention_head_dim=112, cross_attention_dim=2240,
                    caption_channels=2304, mlp_ratio=3.0, attention_bias=False, norm_elementwise_affine=False,
                    norm_eps=1e-6, qk_norm="rms_norm_across_heads", rope_max_seq_len=1024, sample_size=30,
                    patch_size=(1, 2, 2))
DIT_TINY = dict(DIT_RELEASED, num_attention_heads=2, attention_head_dim=12, num_layers=2, num_cross_attention_heads=2,
                cross_attention_head_dim=12, cross_attention_dim=24, caption_channels=32, sample_size=8)
GEMMA_2B = dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
                num_attention_heads=8, num_key_value_heads=4, head_dim=256, query_pre_attn_scalar=256,
                sliding_window=4096, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
                hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6, max_position_embeddings=8192,
                pad_token_id=0, bos_token_id=2, eos_token_id=1)
VAE_WAN21 = dict(base_dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                 temperal_downsample=[False, True, True], dropout=0.0)   # = AutoencoderKLWan() defaults
VAE_TINY = dict(VAE_WAN21, base_dim=8, num_res_blocks=1)
VAE_TARGET_S, VAE_TARGET_MIB = 1.5, 3072   # ours, bf16, 480p 81 frames
LTX2_RELEASED = dict(decoder_causal=False, spatial_compression_ratio=32, temporal_compression_ratio=8)  # + class defaults
LTX2_TINY = dict(LTX2_RELEASED, latent_channels=8, block_out_channels=(8, 16, 16, 16), decoder_block_out_channels=(8, 16, 32),
                 layers_per_block=(1, 1, 1, 1, 2), decoder_layers_per_block=(1, 1, 2, 2))
PIPE_TARGET_S = 25.0                        # ours, whole 480p 81-frame 50-step generation
PIPE_PROMPT = "A golden retriever runs along a sunny beach at sunset, waves rolling in, cinematic tracking shot"
LONG_SKIP = "not measured: no pipeline folder (an earlier stage failed or was skipped)"
GEMMA_TINY = dict(GEMMA_2B, vocab_size=600, hidden_size=32, intermediate_size=48, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=8, query_pre_attn_scalar=16, sliding_window=6,
                  max_position_embeddings=512)


# ---------------------------------------------------------------- helpers without torch

def st_read(path):
    """Minimal safetensors reader (standard library): {name: (dtype, shape, array of float or int)}."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        raw, dt = data[s:e], v["dtype"]
        if dt == "F32":
            vals = array("f")
            vals.frombytes(raw)
        elif dt == "F64":
            vals = array("d")
            vals.frombytes(raw)
        elif dt == "BF16":
            u = array("H")
            u.frombytes(raw)
            vals = array("f")
            vals.frombytes(array("I", (x << 16 for x in u)).tobytes())
        elif dt == "F16":
            vals = array("f", struct.unpack(f"<{len(raw) // 2}e", raw))
        elif dt in ("I64", "I32", "I16", "I8", "U8", "BOOL"):
            vals = array({"I64": "q", "I32": "i", "I16": "h", "I8": "b", "U8": "B", "BOOL": "B"}[dt])
            vals.frombytes(raw)
        else:
            raise ValueError(f"{path}: {k}: dtype {dt} not handled")
        out[k] = (dt, v["shape"], vals)
    return out


def rel_l2_py(a, b):
    if len(a) != len(b):
        raise ValueError(f"size mismatch {len(a)} vs {len(b)}")
    num = sum((x - y) ** 2 for x, y in zip(a, b))
    den = sum(y * y for y in b)
    r = math.sqrt(num) / math.sqrt(den) if den > 0 else math.sqrt(num)
    return r if math.isfinite(r) else float("inf")


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


class Bench:
    def __init__(self, a):
        self.a = a
        self.t0 = time.time()
        self.res = {"meta": {"argv": sys.argv[1:], "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                             "budget_s": a.budget_s, "tiny": a.tiny or a.dry_run, "dry_run": a.dry_run,
                             "bin_dir": a.bin_dir, "ld_path": a.ld_path}}
        self.failures = []
        os.makedirs(a.out, exist_ok=True)
        self.json_path = os.path.join(a.out, "bench_gpu.json")

    # -- bookkeeping
    def left(self):
        return self.a.budget_s - (time.time() - self.t0)

    def save(self):
        self.res["meta"]["elapsed_s"] = round(time.time() - self.t0, 1)
        tmp = self.json_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.res, f, indent=1, default=str)
        os.replace(tmp, self.json_path)

    def put(self, path, value):
        d = self.res
        keys = path.split(".")
        for k in keys[:-1]:
            d = d.setdefault(k, {})
        d[keys[-1]] = value

    def stage(self, path, fn, need_s=0.0):
        if self.left() < need_s:
            msg = f"time budget: {self.left():.0f} s left, this stage needs ~{need_s:.0f} s"
            print(f"[bench] {path}: skipped ({msg})", flush=True)
            self.put(path, {"skipped": msg})
            self.save()
            return None
        t = time.time()
        print(f"[bench] {path} ... ({self.left():.0f} s left)", flush=True)
        try:
            r = fn()
            if isinstance(r, dict):
                r.setdefault("stage_s", round(time.time() - t, 1))
                self.put(path, r)
            print(f"[bench] {path}: {short(r)}", flush=True)
            return r
        except Exception as e:  # noqa: BLE001 - every stage is isolated on purpose
            err = {"error": f"{type(e).__name__}: {e}"[:1500], "trace": traceback.format_exc()[-2500:],
                   "stage_s": round(time.time() - t, 1)}
            self.put(path, err)
            self.failures.append(path)
            print(f"[bench] {path}: FAILED {err['error'][:400]}", flush=True)
            return None
        finally:
            self.save()

    # -- our binaries
    def ours(self, args, timeout):
        exe = os.path.join(self.a.bin_dir, args[0])
        if not os.access(exe, os.X_OK):
            raise FileNotFoundError(f"{exe} not found (build, or run scripts/gpu_check.sh to unpack the package)")
        env = dict(os.environ)
        if self.a.ld_path:
            env["LD_LIBRARY_PATH"] = self.a.ld_path + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        timeout = max(5.0, min(timeout, self.left() - 5))
        t = time.time()
        try:
            r = subprocess.run([exe] + [str(x) for x in args[1:]], capture_output=True, text=True, env=env,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{args[0]} {args[1]}: timed out after {timeout:.0f} s") from None
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, args[:2]))} exited {r.returncode}: {(r.stderr or r.stdout).strip()[-1200:]}")
        return r.stdout, time.time() - t

    def ours_json(self, args, timeout):
        out, wall = self.ours(args, timeout)
        lines = [ln for ln in out.strip().splitlines() if ln.startswith("{")]
        if not lines:
            raise RuntimeError(f"{args[0]} printed no JSON: {out[-500:]}")
        d = json.loads(lines[-1])
        d["process_wall_s"] = round(wall, 2)
        return d


def short(r):
    if not isinstance(r, dict):
        return str(r)[:200]
    keys = [k for k in ("median_s", "tflops", "peak_gpu_mib", "compile_s", "rel_l2", "params", "passed", "steps",
                        "encode_s", "denoise_s", "decode_s", "load_s", "skipped") if k in r]
    s = ", ".join(f"{k}={r[k]:.4g}" if isinstance(r[k], float) else f"{k}={r[k]}" for k in keys)
    return s or json.dumps(r, default=str)[:300]


# ---------------------------------------------------------------- engine-only smoke (no torch)

def engine_smoke(b):
    """Our binaries on the repository's golden folders, CPU fp32: exercises the sv-bench JSON and the
    run-and-compare plumbing that the GPU run uses, without torch or numpy."""
    g = os.path.join(ROOT, "tests", "golden")
    cases = [("dit", os.path.join(g, "sana_dit", "p122_b2_mask"), "transformer", "sample"),
             ("gemma2", os.path.join(g, "text", "gemma_a"), "gemma2", "last_hidden_state"),
             ("vae-decode", os.path.join(g, "wan_vae", "attn_b2"), "vae-decode", "sample")]
    for mode, d, run, key in cases:
        def one(mode=mode, d=d, run=run, key=key):
            if not os.path.isdir(d):
                return {"skipped": f"{d} missing"}
            inp = os.path.join(d, "inputs.safetensors")
            r = b.ours_json(["sv-bench", mode, "--model", d, "--inputs", inp, "--iters", 2, "--warmup", 1,
                             "--device", "cpu", "--dtype", "fp32", "--threads", 2]
                            + (["--stream", 1] if mode == "vae-decode" else []), 120)
            for k in ("median_s", "all_s", "peak_rss_mib"):
                if k not in r:
                    raise RuntimeError(f"sv-bench {mode}: JSON lacks {k}: {r}")
            outp = os.path.join(b.work, f"smoke_{mode}.safetensors")
            b.ours(["sana-video", "run", run, "--model", d, "--inputs", inp, "--output", outp, "--device", "cpu",
                    "--dtype", "fp32", "--threads", 2], 120)
            got, ref = st_read(outp)[key], st_read(os.path.join(d, "expected.safetensors"))[key]
            if got[1] != ref[1]:
                raise RuntimeError(f"shape {got[1]} vs expected {ref[1]}")
            err = rel_l2_py(got[2], ref[2])
            r.update(rel_l2=err, passed=err < 1e-3)
            if not err < 1e-3:
                raise RuntimeError(f"ours vs golden rel L2 {err:.3g} >= 1e-3")
            return r
        b.stage(f"engine_smoke.{mode}", one)

    def pipe_smoke():
        """`sv-bench pipeline` on the tiny golden pipeline folder: the stage-time JSON the GPU run reads."""
        d = os.path.join(g, "pipeline", "tiny_t2v")
        if not os.path.isdir(d):
            return {"skipped": f"{d} missing"}
        r = b.ours_json(["sv-bench", "pipeline", "--model", d, "--prompt", "a red circle moving left", "--width", 64,
                         "--height", 32, "--frames", 5, "--steps", 2, "--cfg", 6, "--iters", 1, "--warmup", 0,
                         "--device", "cpu", "--dtype", "fp32", "--threads", 2], 120)
        for k in ("encode_s", "denoise_s", "decode_s", "total_s"):
            if k not in r:
                raise RuntimeError(f"sv-bench pipeline: JSON lacks {k}: {r}")
        r["median_s"] = r["total_s"]
        return r
    b.stage("engine_smoke.pipeline", pipe_smoke)


# ---------------------------------------------------------------- PyTorch side

def import_stack(a):
    # No network on the GPU machine: never let the hub libraries try; keep their logs short.
    for k, v in (("HF_HUB_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
                 ("TRANSFORMERS_VERBOSITY", "error"), ("DIFFUSERS_VERBOSITY", "error"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(k, v)
    for p in filter(None, [os.environ.get("DIFFUSERS_SRC"), a.py_dir]):
        if os.path.isdir(p) and p not in sys.path:
            sys.path.insert(0, p)
    import torch  # noqa: F401
    return torch


def run_torch(b, torch):
    a = b.a
    tiny = a.tiny or a.dry_run
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    on_gpu = dev == "cuda"
    pdt = torch.bfloat16 if on_gpu else torch.float32            # the peer's working dtype
    odev, odt = ("cuda", "bf16") if on_gpu else ("cpu", "fp32")  # ours
    if a.engine_device:
        odev = a.engine_device
    if a.engine_dtype:
        odt = a.engine_dtype
    meta = b.res["meta"]
    meta.update(torch=torch.__version__, torch_cuda=torch.version.cuda, device=dev, peer_dtype=str(pdt),
                engine_device=odev, engine_dtype=odt)
    if on_gpu:
        p = torch.cuda.get_device_properties(0)
        meta.update(gpu=p.name, sm_count=p.multi_processor_count, gpu_mem_gib=round(p.total_memory / 2**30, 1))
    torch.set_grad_enabled(False)

    def sync():
        if on_gpu:
            torch.cuda.synchronize()

    def timeit(fn, iters, warmup):
        for _ in range(warmup):
            fn()
        sync()
        ts = []
        for _ in range(iters):
            t = time.perf_counter()
            fn()
            sync()
            ts.append(time.perf_counter() - t)
        return median(ts), ts

    def peak_reset():
        if on_gpu:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

    def peak():
        return round(torch.cuda.max_memory_allocated() / MIB, 1) if on_gpu else None

    def free():
        import gc
        gc.collect()
        if on_gpu:
            torch.cuda.empty_cache()

    def rel(x, y):
        x, y = x.double().flatten(), y.double().flatten()
        d = float(torch.linalg.vector_norm(x - y) / torch.linalg.vector_norm(y))
        return d if math.isfinite(d) else float("inf")

    class fp32_exact:
        """The fp32 reference: no TF32 in matmuls or convolutions."""
        def __enter__(self):
            self.s = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False

        def __exit__(self, *exc):
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.s

    from safetensors.torch import load_file, save_file
    S = {}

    if on_gpu and not tiny:
        def gemm():
            x = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
            y = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
            med, _ = timeit(lambda: x @ y, 10, 3)
            return {"median_s": med, "tflops": 2 * 8192**3 / med / 1e12}
        b.stage("ceilings.bf16_gemm_8192", gemm)
        free()

    # ------------------------------------------------------------ DiT
    cfg = dict(DIT_TINY if tiny else DIT_RELEASED)
    shape = (2, 16, 3, 6, 10) if tiny else (2, 16, 21, 60, 104)
    L = 8 if tiny else 300
    custom = bool(a.latent or a.text_len)
    if a.latent:
        shape = tuple(int(v) for v in a.latent.split(","))
        if len(shape) != 5 or shape[0] not in (1, 2):
            raise SystemExit("--latent B,C,F,H,W with B 1 or 2")
    if a.text_len:
        L = a.text_len
    iters, warm = (2, 1) if tiny else (a.iters, a.warmup)
    flop_step = None if tiny or custom else 2 * TFLOP_PER_SAMPLE * 1e12   # 121 TFLOP counts the 480p-81f shape
    b.res["dit"] = {"config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
                    "inputs": {"hidden_states": list(shape), "encoder_hidden_states": [shape[0], L, cfg["caption_channels"]],
                               "timestep": [500.0, 500.0], "encoder_attention_mask": f"ones [{shape[0]}, {L}]"},
                    "tflop_per_cfg_step": flop_step / 1e12 if flop_step else None, "target_s": TARGET_S if flop_step else None}
    mdir, inp = os.path.join(b.work, "transformer"), os.path.join(b.work, "dit_inputs.safetensors")

    def dit_build():
        from diffusers import SanaVideoTransformer3DModel
        import diffusers
        b.res["meta"]["diffusers"] = diffusers.__version__
        b.res["meta"]["diffusers_from"] = os.path.dirname(os.path.dirname(diffusers.__file__))
        torch.manual_seed(SEED)
        t = time.time()
        with torch.device(dev):
            m = SanaVideoTransformer3DModel(**cfg)
            gen = torch.Generator(device=dev).manual_seed(SEED)
            for p in m.parameters():   # 1-D parameters (norm weights, biases, tables) off their neutral init
                if p.dim() <= 1 or tiny:
                    p.add_(torch.randn(p.shape, generator=gen, device=dev, dtype=p.dtype) * (0.1 if tiny else 0.01))
        m = m.to(pdt).eval()
        init_s = time.time() - t
        t = time.time()
        m.save_pretrained(mdir)
        save_s = time.time() - t
        gen = torch.Generator().manual_seed(SEED + 1)
        x = {"hidden_states": torch.randn(*shape, generator=gen),
             "encoder_hidden_states": torch.randn(shape[0], L, cfg["caption_channels"], generator=gen),
             "timestep": torch.tensor([500.0, 500.0][:shape[0]]),
             "encoder_attention_mask": torch.ones(shape[0], L, dtype=torch.int64)}
        save_file(x, inp)
        S["dit"], S["dit_x"] = m, x
        return {"params": sum(p.numel() for p in m.parameters()), "init_s": round(init_s, 1),
                "save_s": round(save_s, 1), "dir": mdir,
                "weights_mib": round(sum(os.path.getsize(os.path.join(mdir, f)) for f in os.listdir(mdir)) / MIB, 1)}

    def dit_args(m_dtype):
        x = S["dit_x"]
        return dict(hidden_states=x["hidden_states"].to(dev, m_dtype), encoder_hidden_states=x["encoder_hidden_states"].to(dev, m_dtype),
                    timestep=x["timestep"].to(dev), encoder_attention_mask=x["encoder_attention_mask"].to(dev),
                    return_dict=False)

    def dit_eager():
        m, kw = S["dit"], dit_args(pdt)
        peak_reset()
        med, ts = timeit(lambda: m(**kw)[0], iters, warm)
        y = m(**kw)[0]
        S["y_peer"] = y.float().cpu()
        return {"dtype": str(pdt), "median_s": med, "all_s": ts, "peak_gpu_mib": peak(),
                "tflops": flop_step / med / 1e12 if flop_step else None, "finite": bool(torch.isfinite(y).all())}

    def dit_fp32():
        if on_gpu:
            need = sum(p.numel() for p in S["dit"].parameters()) * 4 * 3
            free_b, _ = torch.cuda.mem_get_info()
            if free_b < need:
                return {"skipped": f"not enough GPU memory ({free_b / 2**30:.0f} GiB free, ~{need / 2**30:.0f} needed)"}
        m = S["dit"].float()
        kw = dit_args(torch.float32)
        peak_reset()
        with fp32_exact():
            t = time.perf_counter()
            y = m(**kw)[0]
            sync()
            s = time.perf_counter() - t
        S["y_ref"] = y.float().cpu()
        r = {"seconds": s, "peak_gpu_mib": peak(), "finite": bool(torch.isfinite(y).all())}
        if "y_peer" in S and pdt != torch.float32:
            r["diffusers_bf16_vs_fp32_rel_l2"] = rel(S["y_peer"], S["y_ref"])
        return r

    b.stage("dit.build", dit_build, need_s=0)
    if "dit" in S:
        b.stage("dit.diffusers_eager", dit_eager)
        if pdt != torch.float32:
            b.stage("dit.diffusers_fp32", dit_fp32, need_s=30)
        else:
            S["y_ref"] = S.get("y_peer")
        S.pop("dit", None)
        free()

    def dit_ours():
        r = b.ours_json(["sv-bench", "dit", "--model", mdir, "--inputs", inp, "--iters", iters, "--warmup", warm,
                         "--device", odev, "--dtype", odt], 300)
        if flop_step:
            r["tflops"] = flop_step / r["median_s"] / 1e12
            r["meets_target"] = r["median_s"] <= TARGET_S
        return r

    def dit_numerics():
        r = {}
        for dt in ([odt] + (["fp32"] if odt != "fp32" and not a.no_fp32_ours else [])):
            outp = os.path.join(b.work, f"dit_ours_{dt}.safetensors")
            _, wall = b.ours(["sana-video", "run", "transformer", "--model", mdir, "--inputs", inp, "--output", outp,
                              "--device", odev, "--dtype", dt], 240)
            y = load_file(outp)["sample"].float()
            r[f"ours_{dt}_finite"] = bool(torch.isfinite(y).all())
            r[f"ours_{dt}_process_wall_s"] = round(wall, 1)
            if "y_peer" in S:
                r[f"ours_{dt}_vs_diffusers_{'bf16' if pdt == torch.bfloat16 else 'fp32'}"] = rel(y, S["y_peer"])
            if "y_ref" in S and pdt != torch.float32:
                r[f"ours_{dt}_vs_diffusers_fp32"] = rel(y, S["y_ref"])
        return r

    if os.path.exists(inp):
        b.stage("dit.ours", dit_ours, need_s=20)
        b.stage("dit.numerics", dit_numerics, need_s=25)

    # ------------------------------------------------------------ Gemma2
    if not a.skip_gemma:
        gcfg = dict(GEMMA_TINY if tiny else GEMMA_2B)
        gL = a.gemma_tokens or (12 if tiny else 300)
        gdir, ginp = os.path.join(b.work, "text_encoder"), os.path.join(b.work, "gemma2_inputs.safetensors")
        b.res["gemma2"] = {"config": gcfg, "inputs": {"input_ids": [2, gL], "attention_mask": f"ones [2, {gL}]"}}

        def g_build():
            import transformers
            from transformers import Gemma2Config, Gemma2Model
            b.res["meta"]["transformers"] = transformers.__version__
            c = Gemma2Config(**gcfg)
            c._attn_implementation = "eager"   # as SanaVideoPipeline's text encoder runs (softcapping)
            torch.manual_seed(SEED)
            t = time.time()
            with torch.device(dev):
                m = Gemma2Model(c)
            m = m.to(pdt).eval()
            if hasattr(m, "set_attn_implementation"):
                try:
                    m.set_attn_implementation("eager")
                except Exception:  # noqa: BLE001
                    pass
            init_s = time.time() - t
            t = time.time()
            m.save_pretrained(gdir, max_shard_size="50GB")
            save_s = time.time() - t
            gen = torch.Generator().manual_seed(SEED + 2)
            ids = torch.randint(3, gcfg["vocab_size"], (2, gL), generator=gen)
            ids[:, 0] = 2
            x = {"input_ids": ids, "attention_mask": torch.ones(2, gL, dtype=torch.int64)}
            save_file(x, ginp)
            S["g"], S["g_x"] = m, x
            return {"params": sum(p.numel() for p in m.parameters()), "init_s": round(init_s, 1), "save_s": round(save_s, 1),
                    "attn_implementation": getattr(m.config, "_attn_implementation", "?"),
                    "files": sorted(os.listdir(gdir))}

        def g_eager():
            m, x = S["g"], S["g_x"]
            ids, mask = x["input_ids"].to(dev), x["attention_mask"].to(dev)
            peak_reset()
            med, ts = timeit(lambda: m(input_ids=ids, attention_mask=mask).last_hidden_state, 2 if tiny else 10, 1 if tiny else 3)
            y = m(input_ids=ids, attention_mask=mask).last_hidden_state
            S["gy_peer"] = y.float().cpu()
            r = {"dtype": str(pdt), "median_s": med, "all_s": ts, "peak_gpu_mib": peak(), "finite": bool(torch.isfinite(y).all())}
            if pdt != torch.float32:
                mf = m.float()
                with fp32_exact():
                    S["gy_ref"] = mf(input_ids=ids, attention_mask=mask).last_hidden_state.float().cpu()
                r["transformers_bf16_vs_fp32_rel_l2"] = rel(S["gy_peer"], S["gy_ref"])
            else:
                S["gy_ref"] = S["gy_peer"]
            return r

        def g_ours():
            return b.ours_json(["sv-bench", "gemma2", "--model", gdir, "--inputs", ginp, "--iters", 2 if tiny else 10,
                                "--warmup", 1 if tiny else 3, "--device", odev, "--dtype", odt], 240)

        def g_numerics():
            outp = os.path.join(b.work, "gemma2_ours.safetensors")
            _, wall = b.ours(["sana-video", "run", "gemma2", "--model", gdir, "--inputs", ginp, "--output", outp,
                              "--device", odev, "--dtype", odt], 180)
            y = load_file(outp)["last_hidden_state"].float()
            r = {f"ours_{odt}_finite": bool(torch.isfinite(y).all()), "process_wall_s": round(wall, 1)}
            if "gy_peer" in S and pdt != torch.float32:
                r[f"ours_{odt}_vs_transformers_bf16"] = rel(y, S["gy_peer"])
            if "gy_ref" in S:
                r[f"ours_{odt}_vs_transformers_fp32"] = rel(y, S["gy_ref"])
            return r

        b.stage("gemma2.build", g_build, need_s=30)
        if "g" in S:
            b.stage("gemma2.transformers_eager", g_eager)
            S.pop("g", None)
            free()
        if os.path.exists(ginp):
            b.stage("gemma2.ours", g_ours, need_s=20)
            b.stage("gemma2.numerics", g_numerics, need_s=20)

    # ------------------------------------------------------------ Wan VAE decode (480p, 81 frames)
    vcfg = dict(VAE_TINY if tiny else VAE_WAN21)
    zshape = (1, 16, 3, 4, 6) if tiny else (1, 16, 21, 60, 104)
    viters, vwarm = (1, 1) if tiny else (2, 1)
    vdir, vinp = os.path.join(b.work, "vae"), os.path.join(b.work, "vae_latents.safetensors")
    o_dts = ["fp32", "bf16"] if odev.startswith("cuda") and not a.engine_dtype else [odt]
    if not a.skip_vae:
        b.res["vae"] = {"config": vcfg, "inputs": {"latents": list(zshape)},
                        "frames_out": 1 + 4 * (zshape[2] - 1), "size_out": [zshape[3] * 8, zshape[4] * 8],
                        "iters": viters, "warmup": vwarm,
                        "target": None if tiny else {"ours_bf16_s": VAE_TARGET_S, "ours_peak_gpu_mib": VAE_TARGET_MIB},
                        "note": "diffusers: vae.decode(z) only; ours: decode + frames streamed to the host as RGB bytes"}

        def v_build():
            from diffusers import AutoencoderKLWan
            torch.manual_seed(SEED)
            t = time.time()
            with torch.device(dev):
                m = AutoencoderKLWan(**vcfg)
                gen = torch.Generator(device=dev).manual_seed(SEED + 3)
                for p in m.parameters():   # norm gains and biases off their neutral init
                    if p.dim() <= 1:
                        p.add_(torch.randn(p.shape, generator=gen, device=dev, dtype=p.dtype) * (0.1 if tiny else 0.01))
            m = m.float().eval()
            init_s = time.time() - t
            t = time.time()
            m.save_pretrained(vdir)    # fp32: ours and the pipeline convert at load time
            save_s = time.time() - t
            gen = torch.Generator().manual_seed(SEED + 4)
            save_file({"latents": torch.randn(*zshape, generator=gen)}, vinp)
            S["vae"] = m
            return {"params": sum(p.numel() for p in m.parameters()),
                    "decoder_params": sum(p.numel() for n, p in m.named_parameters() if not n.startswith(("encoder.", "quant_conv."))),
                    "init_s": round(init_s, 1), "save_s": round(save_s, 1), "dir": vdir}

        def v_peer(dt):
            import copy
            m = S["vae"] if dt == torch.float32 else copy.deepcopy(S["vae"]).to(dt)
            z = load_file(vinp)["latents"].to(dev, dt)
            dec = lambda: m.decode(z, return_dict=False)[0]   # noqa: E731
            peak_reset()
            t = time.perf_counter()
            if dt == torch.float32:   # warm-up = the reference: strict fp32 (no TF32 in cuDNN's conv3d)
                with fp32_exact():
                    y = dec()
            else:
                y = dec()
            sync()
            first_s = time.perf_counter() - t
            S["vy_ref" if dt == torch.float32 else "vy_bf16"] = y.float().cpu()
            del y
            med, ts = timeit(dec, viters, vwarm - 1 if vwarm else 0)
            r = {"dtype": str(dt), "median_s": med, "all_s": ts, "first_s": first_s, "peak_gpu_mib": peak(),
                 "finite": bool(torch.isfinite(S["vy_ref" if dt == torch.float32 else "vy_bf16"]).all())}
            if dt == torch.float32:
                r["first_run_strict_fp32"] = True
                r["timed_runs"] = "PyTorch defaults (cuDNN TF32 allowed)"
            else:
                del m
                if "vy_ref" in S:
                    r["diffusers_bf16_vs_fp32_rel_l2"] = rel(S["vy_bf16"], S["vy_ref"])
            return r

        def v_ours(dt):
            r = b.ours_json(["sv-bench", "vae-decode", "--model", vdir, "--inputs", vinp, "--iters", viters,
                             "--warmup", vwarm, "--stream", 1, "--device", odev, "--dtype", dt], 240)
            if not tiny and dt == "bf16" and "median_s" in r:
                r["meets_target"] = r["median_s"] <= VAE_TARGET_S and (r.get("peak_gpu_mib") or 0) <= VAE_TARGET_MIB
            return r

        def v_numerics():
            r = {}
            for dt in o_dts[::-1][:1 if a.no_fp32_ours else 2]:   # bf16 first on the GPU
                outp = os.path.join(b.work, f"vae_ours_{dt}.safetensors")
                _, wall = b.ours(["sana-video", "run", "vae-decode", "--model", vdir, "--inputs", vinp, "--output", outp,
                                  "--device", odev, "--dtype", dt], 180)
                y = load_file(outp)["sample"].float()
                os.remove(outp)
                r[f"ours_{dt}_finite"] = bool(torch.isfinite(y).all())
                r[f"ours_{dt}_process_wall_s"] = round(wall, 1)
                if "vy_ref" in S:
                    if tuple(y.shape) != tuple(S["vy_ref"].shape):
                        raise RuntimeError(f"ours {tuple(y.shape)} vs diffusers {tuple(S['vy_ref'].shape)}")
                    r[f"ours_{dt}_vs_diffusers_fp32"] = rel(y, S["vy_ref"])
                if "vy_bf16" in S:
                    r[f"ours_{dt}_vs_diffusers_bf16"] = rel(y, S["vy_bf16"])
                del y
                if b.left() < 60:
                    break
            return r

        b.stage("vae.build", v_build, need_s=20)
        if "vae" in S:
            b.stage("vae.diffusers_fp32", lambda: v_peer(torch.float32), need_s=25)
            b.stage("vae.diffusers_bf16", lambda: v_peer(torch.bfloat16), need_s=20)
            S.pop("vae", None)
            free()
        if os.path.exists(vinp):
            for dt in o_dts:
                b.stage(f"vae.ours_{dt}", lambda dt=dt: v_ours(dt), need_s=20)
            b.stage("vae.numerics", v_numerics, need_s=25)
        for k in ("vy_ref", "vy_bf16"):
            S.pop(k, None)
        free()

    # ------------------------------------------------------------ whole text-to-video (480p, 81 frames, 50 steps)
    pdir = os.path.join(b.work, "pipeline")
    PW, PH, PF = (64, 32, 9) if tiny else (832, 480, 81)
    steps_req = a.pipeline_steps or (2 if tiny else 50)
    if not a.skip_pipeline:
        b.res["pipeline"] = {"width": PW, "height": PH, "frames": PF, "steps_requested": steps_req, "cfg": 6.0,
                             "prompt": PIPE_PROMPT, "negative_prompt": "", "use_resolution_binning": False,
                             "target_s": None if tiny else PIPE_TARGET_S}

        def p_build():
            parts = {"transformer": mdir, "text_encoder": os.path.join(b.work, "text_encoder"), "vae": vdir}
            miss = [k for k, d in parts.items() if not d or not os.path.exists(os.path.join(d, "config.json"))]
            if miss and (a.skip_gemma or a.skip_vae):
                return {"skipped": f"--skip-gemma / --skip-vae: no {', '.join(miss)} folder"}
            if miss:
                raise RuntimeError(f"no {', '.join(miss)} folder from the stages above (failed or skipped)")
            toy = os.path.join(ROOT, "models", "sana-video-toy")
            shutil.rmtree(pdir, ignore_errors=True)
            os.makedirs(os.path.join(pdir, "scheduler"))
            for k, d in parts.items():
                os.symlink(d, os.path.join(pdir, k))
            shutil.copytree(os.path.join(toy, "tokenizer"), os.path.join(pdir, "tokenizer"))
            with open(os.path.join(toy, "model_index.json")) as f:
                idx = json.load(f)
            with open(os.path.join(pdir, "model_index.json"), "w") as f:
                json.dump(idx, f, indent=1)
            with open(os.path.join(toy, "scheduler", "scheduler_config.json")) as f:
                sc = json.load(f)
            sc["flow_shift"] = 8.0   # the released 480p model
            with open(os.path.join(pdir, "scheduler", "scheduler_config.json"), "w") as f:
                json.dump(sc, f, indent=1)
            return {"dir": pdir, "parts": sorted(os.listdir(pdir)), "flow_shift": 8.0}

        def p_plan():
            """Steps for both: the requested count unless the budget (estimated from the DiT stage) is short."""
            dd = b.res.get("dit", {})
            ps_o = (dd.get("ours") or {}).get("median_s") or (0.05 if tiny else 0.8)
            ps_p = (dd.get("diffusers_eager") or {}).get("median_s") or (0.1 if tiny else 1.2)
            fixed_o, fixed_p = (5, 10) if tiny else (30, 45)   # load + encode + decode (+ process start)
            avail = b.left() - 15
            steps, note = steps_req, None
            need = fixed_o + fixed_p + steps * (ps_o + ps_p)
            if need > avail and not a.pipeline_steps:
                steps = max(2, int((avail - fixed_o - fixed_p) / (ps_o + ps_p)))
                note = (f"time budget: {steps} steps instead of {steps_req} for both engines (estimated {need:.0f} s "
                        f"needed, {avail:.0f} s left; {ps_o:.2f} / {ps_p:.2f} s per step ours / diffusers)")
            S["p_steps"] = steps
            S["p_est"] = (fixed_o + steps * ps_o, fixed_p + steps * ps_p)
            r = {"steps": steps, "estimate_s": {"ours": round(S["p_est"][0]), "diffusers": round(S["p_est"][1])}}
            if note:
                r["steps_note"] = note
                b.res["pipeline"]["steps_note"] = note
            b.res["pipeline"]["steps"] = steps
            return r

        def p_ours():
            st = S["p_steps"]
            r = b.ours_json(["sv-bench", "pipeline", "--model", pdir, "--prompt", PIPE_PROMPT, "--width", PW, "--height", PH,
                             "--frames", PF, "--steps", st, "--cfg", 6, "--iters", 1, "--warmup", 0,
                             "--device", odev, "--dtype", odt], max(120, 3 * S["p_est"][0]))
            r["steps"] = st
            r["median_s"] = r["total_s"]
            r["denoise_s_per_step"] = r["denoise_s"] / st
            if not tiny and st == 50:
                r["meets_target"] = r["total_s"] <= PIPE_TARGET_S
            return r

        def p_peer():
            from diffusers import SanaVideoPipeline
            st = S["p_steps"]
            free()
            t = time.perf_counter()
            try:
                from diffusers.utils import logging as dlog
                dlog.disable_progress_bar()
            except Exception:  # noqa: BLE001
                pass
            try:
                pipe = SanaVideoPipeline.from_pretrained(pdir, dtype=pdt)
            except TypeError:   # older diffusers: torch_dtype only
                pipe = SanaVideoPipeline.from_pretrained(pdir, torch_dtype=pdt)
            pipe = pipe.to(dev)
            load_s = time.perf_counter() - t
            pipe.set_progress_bar_config(disable=True)
            te = pipe.text_encoder
            if hasattr(te, "set_attn_implementation"):   # as the text encoder benchmark above (softcapping)
                try:
                    te.set_attn_implementation("eager")
                except Exception:  # noqa: BLE001
                    pass
            tm = {"encode_s": 0.0, "decode_s": 0.0}

            def timed(fn, key):
                def w(*args, **kw):
                    sync()
                    t0 = time.perf_counter()
                    out = fn(*args, **kw)
                    sync()
                    tm[key] += time.perf_counter() - t0
                    return out
                return w
            pipe.encode_prompt = timed(pipe.encode_prompt, "encode_s")
            pipe.vae.decode = timed(pipe.vae.decode, "decode_s")
            peak_reset()
            sync()
            t = time.perf_counter()
            out = pipe(prompt=PIPE_PROMPT, negative_prompt="", height=PH, width=PW, frames=PF, num_inference_steps=st,
                       guidance_scale=6.0, use_resolution_binning=False, output_type="np",
                       generator=torch.Generator(device=dev).manual_seed(0))
            sync()
            total = time.perf_counter() - t
            v = out.frames
            shp = list(getattr(v, "shape", []) or [len(v)])
            r = {"dtype": str(pdt), "steps": st, "total_s": total, "median_s": total, "encode_s": tm["encode_s"],
                 "decode_s": tm["decode_s"], "denoise_s": total - tm["encode_s"] - tm["decode_s"],
                 "denoise_note": "the rest: latent set-up, the steps and the postprocess to numpy",
                 "load_s": load_s, "peak_gpu_mib": peak(), "frames_shape": shp,
                 "text_encoder_attn": getattr(te.config, "_attn_implementation", "?")}
            r["denoise_s_per_step"] = r["denoise_s"] / st
            del pipe, out, v
            free()
            return r

        b.stage("pipeline.build", p_build)
        if os.path.exists(os.path.join(pdir, "model_index.json")):
            b.stage("pipeline.plan", p_plan)
            # ours first: the number with a target; diffusers after it with the same step count
            b.stage("pipeline.ours", p_ours, need_s=(10 if tiny else 40))
            b.stage("pipeline.diffusers_eager", p_peer, need_s=(10 if tiny else 60))
    # ------------------------------------------------------------ LongSANA (ours only), two lengths
    if os.path.exists(os.path.join(pdir, "model_index.json")):
        b.res["long_video"] = {"width": PW, "height": PH, "target_frames_per_s": None if tiny else 40.0}
        lens = (1, 2) if tiny else (10, 60)

        def l_run(sec):
            return b.ours_json(["sv-bench", "long", "--model", pdir, "--seconds", sec, "--width", PW, "--height", PH,
                                "--fps", 16, "--device", odev, "--dtype", odt], 60 if tiny else 240)

        for sec in lens:
            b.stage(f"long_video.ours_{sec}s", lambda sec=sec: l_run(sec), need_s=(5 if tiny else 15 + sec))
        lv = b.res["long_video"]
        r0, r1 = lv.get(f"ours_{lens[0]}s", {}), lv.get(f"ours_{lens[1]}s", {})
        if r0.get("peak_gpu_mib") and r1.get("peak_gpu_mib"):
            lv["peak_gpu_growth"] = r1["peak_gpu_mib"] / r0["peak_gpu_mib"] - 1.0
        if "frames_per_s" in r1 and not tiny:
            lv["meets_target"] = r1["frames_per_s"] >= 40.0 and abs(lv.get("peak_gpu_growth", 1.0)) <= 0.05
    else:
        b.res["long_video"] = {"skipped": LONG_SKIP}
    b.save()

    # ------------------------------------------------------------ LTX-2 VAE decode (720p, 81 frames)
    if not a.skip_ltx2:
        lcfg = dict(LTX2_TINY if tiny else LTX2_RELEASED)
        lshape = (1, 8, 3, 2, 3) if tiny else (1, 128, 11, 22, 40)
        ldir, linp = os.path.join(b.work, "ltx2_vae"), os.path.join(b.work, "ltx2_latents.safetensors")
        b.res["ltx2_vae"] = {"config": {k: list(v) if isinstance(v, tuple) else v for k, v in lcfg.items()},
                             "inputs": {"latents": list(lshape)}, "frames_out": 1 + 8 * (lshape[2] - 1),
                             "size_out": [lshape[3] * 32, lshape[4] * 32], "tflop": None if tiny else 92.87,
                             "note": "diffusers: vae.decode(z) once after a warm-up; ours: streamed decode + frames "
                                     "to the host as RGB bytes"}

        def l_build():
            from diffusers import AutoencoderKLLTX2Video
            torch.manual_seed(SEED)
            with torch.device(dev):
                m = AutoencoderKLLTX2Video(**lcfg).float().eval()
            m.save_pretrained(ldir)
            save_file({"latents": torch.randn(*lshape, generator=torch.Generator().manual_seed(SEED + 7))}, linp)
            S["ltx2"] = m
            return {"params": sum(p.numel() for p in m.parameters())}

        def l_peer(dt):
            m = S["ltx2"].to(dt)
            z = load_file(linp)["latents"].to(dev, dt)
            dec = lambda: m.decode(z, return_dict=False)[0]   # noqa: E731
            peak_reset()
            y = dec()
            sync()
            S["ly_" + str(dt)] = y.float().cpu()
            del y
            med, ts = timeit(dec, 1, 0)
            return {"dtype": str(dt), "median_s": med, "all_s": ts, "peak_gpu_mib": peak()}

        def l_ours():
            return b.ours_json(["sv-bench", "vae-decode", "--model", ldir, "--inputs", linp, "--iters", 1, "--warmup", 1,
                                "--stream", 1, "--device", odev, "--dtype", odt], 240)

        def l_numerics():
            outp = os.path.join(b.work, "ltx2_ours.safetensors")
            b.ours(["sana-video", "run", "vae-decode", "--model", ldir, "--inputs", linp, "--output", outp,
                    "--device", odev, "--dtype", odt], 180)
            y = load_file(outp)["sample"].float()
            os.remove(outp)
            return {f"ours_{odt}_vs_diffusers_{k[3:].replace('torch.', '')}": rel(y, v)
                    for k, v in S.items() if k.startswith("ly_")}

        b.stage("ltx2_vae.build", l_build, need_s=40)
        if "ltx2" in S:
            if b.left() > 150:   # fp32 first: .to() converts the module in place
                b.stage("ltx2_vae.diffusers_fp32", lambda: l_peer(torch.float32), need_s=60)
            b.stage("ltx2_vae.diffusers_bf16", lambda: l_peer(torch.bfloat16), need_s=40)
            S.pop("ltx2", None)
            free()
        if os.path.exists(linp):
            b.stage(f"ltx2_vae.ours_{odt}", l_ours, need_s=40)
            b.stage("ltx2_vae.numerics", l_numerics, need_s=40)
        for k in [k for k in S if k.startswith("ly_")]:
            S.pop(k, None)
        free()

    # ------------------------------------------------------------ torch.compile (last: ~2 minutes)
    def dit_compile():
        from diffusers import SanaVideoTransformer3DModel
        m = SanaVideoTransformer3DModel.from_pretrained(mdir, torch_dtype=pdt).to(dev).eval()
        S["dit_x"] = S.get("dit_x") or load_file(inp)
        kw = dit_args(pdt)
        mc = torch.compile(m)
        peak_reset()
        t = time.perf_counter()
        y = mc(**kw)[0]
        sync()
        compile_s = time.perf_counter() - t
        med, ts = timeit(lambda: mc(**kw)[0], iters, 1)
        r = {"mode": "default", "compile_s": compile_s, "median_s": med, "all_s": ts, "peak_gpu_mib": peak(),
             "tflops": flop_step / med / 1e12 if flop_step else None}
        if "y_peer" in S:
            r["compiled_vs_eager_rel_l2"] = rel(y.float().cpu(), S["y_peer"])
        return r

    if os.path.exists(inp) and on_gpu and not a.no_compile:
        b.stage("dit.diffusers_compile", dit_compile, need_s=a.compile_min_s)
        free()

    # ------------------------------------------------------------ headline
    d = b.res.get("dit", {})
    hl = {}
    eager, comp, ours = (d.get(k, {}) for k in ("diffusers_eager", "diffusers_compile", "ours"))
    for name, r in (("diffusers_eager", eager), ("diffusers_compile", comp), ("ours", ours)):
        if "median_s" in r:
            hl[f"dit_{name}_s_per_cfg_step"] = r["median_s"]
            if r.get("tflops"):
                hl[f"dit_{name}_tflops"] = r["tflops"]
    if "median_s" in ours:
        if "median_s" in eager:
            hl["dit_speedup_vs_eager"] = eager["median_s"] / ours["median_s"]
        if "median_s" in comp:
            hl["dit_speedup_vs_compile"] = comp["median_s"] / ours["median_s"]
        if flop_step:
            hl["dit_ours_meets_0.40s_target"] = ours["median_s"] <= TARGET_S
    gg = b.res.get("gemma2", {})
    if "median_s" in gg.get("ours", {}) and "median_s" in gg.get("transformers_eager", {}):
        hl["gemma2_ours_s"] = gg["ours"]["median_s"]
        hl["gemma2_transformers_s"] = gg["transformers_eager"]["median_s"]
        hl["gemma2_speedup"] = gg["transformers_eager"]["median_s"] / gg["ours"]["median_s"]
    for k, v in d.get("numerics", {}).items():
        if "_vs_" in k:
            hl[f"dit_{k}"] = v
    for k, v in gg.get("numerics", {}).items():
        if "_vs_" in k:
            hl[f"gemma2_{k}"] = v
    vv = b.res.get("vae", {})
    for k in ("diffusers_fp32", "diffusers_bf16", "ours_fp32", "ours_bf16"):
        r = vv.get(k, {})
        if "median_s" in r:
            hl[f"vae_{k}_s"] = r["median_s"]
            if r.get("peak_gpu_mib"):
                hl[f"vae_{k}_peak_gpu_mib"] = r["peak_gpu_mib"]
    vo = vv.get(f"ours_{odt}", {})
    if "median_s" in vo:
        for k in ("diffusers_fp32", "diffusers_bf16"):
            if "median_s" in vv.get(k, {}):
                hl[f"vae_speedup_vs_{k}"] = vv[k]["median_s"] / vo["median_s"]
        if "meets_target" in vo:
            hl["vae_ours_bf16_meets_1.5s_3GiB_target"] = vo["meets_target"]
    for k, v in vv.get("numerics", {}).items():
        if "_vs_" in k:
            hl[f"vae_{k}"] = v
    pp = b.res.get("pipeline", {})
    po, pd = pp.get("ours", {}), pp.get("diffusers_eager", {})
    if "total_s" in po or "total_s" in pd:
        hl["pipeline_steps"] = pp.get("steps")
        if pp.get("steps_note"):
            hl["pipeline_steps_note"] = pp["steps_note"]
    for name, r in (("ours", po), ("diffusers", pd)):
        for k in ("total_s", "encode_s", "denoise_s", "decode_s"):
            if k in r:
                hl[f"pipeline_{name}_{k}"] = r[k]
    if "total_s" in po and "total_s" in pd:
        hl["pipeline_speedup"] = pd["total_s"] / po["total_s"]
    if "meets_target" in po:
        hl["pipeline_ours_meets_25s_target"] = po["meets_target"]
    lv = b.res.get("long_video", {})
    for k, r in lv.items():
        if k.startswith("ours_") and isinstance(r, dict) and "frames_per_s" in r:
            hl[f"long_video_{k}_frames_per_s"] = r["frames_per_s"]
            if r.get("peak_gpu_mib"):
                hl[f"long_video_{k}_peak_gpu_mib"] = r["peak_gpu_mib"]
    for k in ("peak_gpu_growth", "meets_target", "skipped"):
        if k in lv:
            hl[f"long_video_{k}"] = lv[k]
    lx = b.res.get("ltx2_vae", {})
    for k, r in lx.items():
        if isinstance(r, dict) and "median_s" in r:
            hl[f"ltx2_vae_{k}_s"] = r["median_s"]
            if r.get("peak_gpu_mib"):
                hl[f"ltx2_vae_{k}_peak_gpu_mib"] = r["peak_gpu_mib"]
    b.res["headline"] = hl
    b.save()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT") or os.path.join(ROOT, "out", "bench_gpu"))
    ap.add_argument("--dry-run", action="store_true", help="tiny end to end where torch imports + engine smoke; no GPU needed")
    ap.add_argument("--tiny", action="store_true", help="tiny configs on whatever device is there")
    ap.add_argument("--bin-dir", default=None)
    ap.add_argument("--ld-path", default=os.environ.get("SV_GPU_LD_PATH", ""))
    ap.add_argument("--py-dir", default=os.environ.get("SV_GPU_PY_DIR") or os.path.join(ROOT, ".gpu", "py"))
    ap.add_argument("--work", default=None, help="scratch folder for the saved models (default: /dev/shm or /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--budget-s", type=float, default=330.0, help="skip stages that would run past this (seconds)")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--compile-min-s", type=float, default=170.0, help="run torch.compile only with this much budget left")
    ap.add_argument("--no-fp32-ours", action="store_true", help="skip our fp32 numerics run")
    ap.add_argument("--skip-gemma", action="store_true", help="(the pipeline stage is then skipped: no text encoder)")
    ap.add_argument("--skip-vae", action="store_true", help="(the pipeline stage is then skipped: no VAE)")
    ap.add_argument("--skip-pipeline", action="store_true")
    ap.add_argument("--skip-ltx2", action="store_true", help="skip the LTX-2 (720p) VAE decode stage")
    ap.add_argument("--pipeline-steps", type=int, default=None,
                    help="steps for both engines (default 50, 2 tiny; fewer when the budget is short)")
    ap.add_argument("--latent", default=None, help="override the DiT latent B,C,F,H,W (TFLOP/s and the target then go unreported)")
    ap.add_argument("--text-len", type=int, default=None, help="override the DiT text length (default 300)")
    ap.add_argument("--gemma-tokens", type=int, default=None, help="override the tokens per prompt (default 300)")
    ap.add_argument("--engine-device", default=None, help="override our --device (default cuda where torch sees a GPU, else cpu)")
    ap.add_argument("--engine-dtype", default=None, choices=[None, "bf16", "fp32"])
    a = ap.parse_args()
    if a.iters < 1 or a.warmup < 0 or a.budget_s <= 0:
        ap.error("--iters >= 1, --warmup >= 0, --budget-s > 0")
    if a.bin_dir is None:
        cands = [os.environ.get("SV_GPU_BIN_DIR"), os.path.join(ROOT, ".gpu", "unpacked", "bin"), os.path.join(ROOT, "build")]
        a.bin_dir = next((c for c in cands if c and os.access(os.path.join(c, "sv-bench"), os.X_OK)), cands[-1])
    b = Bench(a)
    tiny = a.tiny or a.dry_run
    if a.work:
        b.work = a.work
    else:
        base = "/tmp"
        try:
            st = os.statvfs("/dev/shm")
            if st.f_bavail * st.f_frsize > (2 if tiny else 24) * 2**30:
                base = "/dev/shm"
        except OSError:
            pass
        b.work = os.path.join(base, f"sv_bench_gpu_{os.getpid()}")
    os.makedirs(b.work, exist_ok=True)
    b.res["meta"]["work"] = b.work
    print(f"[bench] out {a.out}, work {b.work}, binaries {a.bin_dir}, budget {a.budget_s:.0f} s"
          + (" (dry run)" if a.dry_run else " (tiny)" if a.tiny else ""), flush=True)
    try:
        if a.dry_run:
            engine_smoke(b)
        try:
            torch = import_stack(a)
            import diffusers  # noqa: F401
            import safetensors.torch  # noqa: F401
        except Exception as e:  # noqa: BLE001
            msg = f"torch/diffusers/safetensors not importable here ({type(e).__name__}: {e})"
            if a.dry_run:
                print(f"[bench] {msg}: skipped the tiny PyTorch end-to-end run (engine smoke above still ran)", flush=True)
                b.res["torch_stack"] = {"skipped": msg}
            else:
                print(f"[bench] FAILED: {msg}", flush=True)
                b.res["torch_stack"] = {"error": msg}
                b.failures.append("torch_stack")
            b.save()
        else:
            run_torch(b, torch)
    finally:
        if not a.keep:
            shutil.rmtree(b.work, ignore_errors=True)
        b.save()
    print(f"[bench] wrote {b.json_path} in {time.time() - b.t0:.0f} s; failed stages: {', '.join(b.failures) or 'none'}", flush=True)
    if a.dry_run and b.failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
