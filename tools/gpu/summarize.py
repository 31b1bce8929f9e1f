#!/usr/bin/env python3
"""Folds one scripts/gpu_check.sh session into OUT/summary.json and prints a short table (last).

  summarize.py --out OUT --mode device|dry-run [--state STATE_DIR] [--manifest MANIFEST.json]
Reads OUT/gtest_cuda.json, OUT/bench_gpu.json and, from STATE_DIR, host.json, loader.json and
steps.tsv (one `name<TAB>rc<TAB>seconds<TAB>note` line per step). Standard library only.
Exit status 0 always: `ok` in summary.json says whether the session passed.
"""
import argparse
import json
import os


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def gtest_counts(path):
    d = load(path)
    if d is None:
        return {"ran": False, "note": f"{os.path.basename(path)} missing or unreadable"}
    passed = failed = skipped = 0
    failures, skipped_names = {}, []
    for suite in d.get("testsuites", []):
        for t in suite.get("testsuite", []):
            name = f"{suite.get('name')}.{t.get('name')}"
            if t.get("result") == "SKIPPED" or t.get("status") == "NOTRUN":
                skipped += 1
                skipped_names.append(name)
            elif t.get("failures"):
                failed += 1
                failures[name] = " | ".join(f.get("failure", "")[:400] for f in t["failures"])[:800]
            else:
                passed += 1
    return {"ran": True, "total": passed + failed + skipped, "passed": passed, "failed": failed, "skipped": skipped,
            "failures": failures, "skipped_names": skipped_names[:40], "time": d.get("time")}


def fmt(v, unit="", nd=3):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        return f"{v:.{nd}g}{unit}"
    return f"{v}{unit}"


def numerics_lines(num):
    """A stage's numerics: its error, or one line of the relative L2 comparisons."""
    if isinstance(num, dict) and "error" in num:
        return [stage_line("numerics", num)]
    if num:
        return ["  rel L2: " + ", ".join(f"{k.replace('_vs_', ' vs ')} {fmt(v)}" for k, v in num.items() if "_vs_" in k)]
    return []


def stage_line(name, r, extra=""):
    if not isinstance(r, dict):
        return f"  {name:<34s} -"
    if "error" in r:
        return f"  {name:<34s} FAILED: {r['error'][:110]}"
    if "skipped" in r:
        return f"  {name:<34s} skipped: {r['skipped'][:100]}"
    parts = []
    if "median_s" in r:
        parts.append(f"{r['median_s']:.4f} s")
    elif "seconds" in r:
        parts.append(f"{r['seconds']:.3f} s")
    if r.get("tflops"):
        parts.append(f"{r['tflops']:.0f} TFLOP/s")
    if r.get("compile_s"):
        parts.append(f"compile {r['compile_s']:.0f} s")
    if r.get("peak_gpu_mib"):
        parts.append(f"peak {r['peak_gpu_mib'] / 1024:.1f} GiB")
    return f"  {name:<34s} " + ", ".join(parts) + extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", default="device")
    ap.add_argument("--state", default=None)
    ap.add_argument("--manifest", default=None)
    a = ap.parse_args()
    st = a.state or a.out
    host = load(os.path.join(st, "host.json"), {})
    loader = load(os.path.join(st, "loader.json"), {})
    man = load(a.manifest, {}) if a.manifest else {}
    steps = {}
    try:
        for line in open(os.path.join(st, "steps.tsv")):
            p = line.rstrip("\n").split("\t")
            if len(p) >= 3:
                steps[p[0]] = {"rc": int(p[1]), "seconds": float(p[2]), "note": p[3] if len(p) > 3 else ""}
    except OSError:
        pass
    tests = gtest_counts(os.path.join(a.out, "gtest_cuda.json"))
    bench = load(os.path.join(a.out, "bench_gpu.json"), {})
    bench_fail = {}

    def walk(d, pre=""):
        for k, v in d.items():
            if isinstance(v, dict):
                if "error" in v:
                    bench_fail[pre + k] = v["error"][:300]
                else:
                    walk(v, pre + k + ".")
    walk({k: v for k, v in bench.items() if k != "meta"})
    ok = bool(loader.get("ok")) and tests.get("ran") and tests.get("failed", 1) == 0 and not bench_fail \
        and steps.get("bench", {}).get("rc", 1) == 0
    summary = {
        "ok": bool(ok), "mode": a.mode, "host": host, "loader": loader,
        "package": {k: man.get(k) for k in ("git_head", "git_dirty", "created", "built_on", "needs_glibc", "sv_cuda",
                                            "pkg_tar_bytes")} | {"ffmpeg_carried": man.get("ffmpeg", {}).get("carried"),
                                                                 "ffmpeg_note": man.get("ffmpeg", {}).get("note")},
        "steps": steps, "tests_cuda": tests, "bench_failed_stages": bench_fail,
        "bench_headline": bench.get("headline", {}), "bench_meta": bench.get("meta", {}),
    }
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)

    # ---- the table (printed last: the device tool's reply carries the tail)
    L = []
    gpu = host.get("gpu") or bench.get("meta", {}).get("gpu") or "no GPU"
    L.append(f"== sana-video GPU check ({a.mode}): {gpu}; driver {host.get('driver') or '-'}; nvcc {host.get('nvcc') or '-'}; "
             f"package {man.get('git_head', '?')}{'+dirty' if man.get('git_dirty') else ''}")
    for n, s in steps.items():
        L.append(f"  step {n:<28s} rc {s['rc']:<4d} {s['seconds']:7.1f} s  {s['note'][:70]}")
    if loader:
        L.append(f"  binaries load: {'yes' if loader.get('ok') else 'NO'}"
                 + (f" (LD_LIBRARY_PATH {loader.get('ld_path')})" if loader.get("ok") else f": {str(loader.get('error'))[:200]}"))
    if tests.get("ran"):
        L.append(f"  sv-tests *Cuda*: {tests['passed']} passed, {tests['failed']} failed, {tests['skipped']} skipped")
        for n, m in list(tests["failures"].items())[:8]:
            L.append(f"    FAILED {n}: {m[:150]}")
    else:
        L.append(f"  sv-tests *Cuda*: not run ({tests.get('note')})")
    d, g = bench.get("dit", {}), bench.get("gemma2", {})
    if d or g:
        meta = bench.get("meta", {})
        shp = "x".join(map(str, d.get("inputs", {}).get("hidden_states", []))) or "?"
        L.append(f"-- DiT {'tiny' if meta.get('tiny') else '2B'} latent {shp}, seconds per CFG step; "
                 f"torch {meta.get('torch', '-')}, diffusers {meta.get('diffusers', '-')}")
        L.append(stage_line("diffusers eager", d.get("diffusers_eager")))
        L.append(stage_line("diffusers fp32 (reference)", d.get("diffusers_fp32")))
        L.append(stage_line("diffusers torch.compile", d.get("diffusers_compile")))
        ours = d.get("ours")
        tgt = ""
        if isinstance(ours, dict) and "median_s" in ours and d.get("target_s"):
            tgt = f"  target <= {d['target_s']} s: {'MET' if ours['median_s'] <= d['target_s'] else 'missed'}"
        L.append(stage_line(f"ours ({meta.get('engine_device', '?')} {meta.get('engine_dtype', '?')})", ours, tgt))
        num = d.get("numerics", {})
        L.extend(numerics_lines(num))
        if g:
            L.append("-- Gemma2 " + ("tiny" if meta.get("tiny") else "2B") + ", 2 prompts")
            L.append(stage_line("transformers eager", g.get("transformers_eager")))
            L.append(stage_line(f"ours ({meta.get('engine_device', '?')} {meta.get('engine_dtype', '?')})", g.get("ours")))
            gn = g.get("numerics", {})
            L.extend(numerics_lines(gn))
    v, pl = bench.get("vae", {}), bench.get("pipeline", {})
    meta = bench.get("meta", {})
    if v:
        z = v.get("inputs", {}).get("latents", [])
        L.append(f"-- Wan VAE decode {'tiny' if meta.get('tiny') else '2.1'} latents {'x'.join(map(str, z)) or '?'} -> "
                 f"{v.get('frames_out', '?')} frames {'x'.join(map(str, v.get('size_out', []))) or '?'}, seconds per decode")
        if isinstance(v.get("build"), dict) and ("error" in v["build"] or "skipped" in v["build"]):
            L.append(stage_line("build", v["build"]))
        L.append(stage_line("diffusers fp32", v.get("diffusers_fp32")))
        L.append(stage_line("diffusers bf16", v.get("diffusers_bf16")))
        tg = v.get("target") or {}
        for dt in ("fp32", "bf16"):
            r = v.get(f"ours_{dt}")
            if r is None:
                continue
            extra = ""
            if isinstance(r, dict) and "meets_target" in r:
                extra = (f"  target <= {tg.get('ours_bf16_s')} s, <= {tg.get('ours_peak_gpu_mib', 0) / 1024:.0f} GiB: "
                         f"{'MET' if r['meets_target'] else 'missed'}")
            L.append(stage_line(f"ours {dt} (streamed to RGB)", r, extra))
        vn = v.get("numerics", {})
        L.extend(numerics_lines(vn))
    lx = bench.get("ltx2_vae", {})
    if lx:
        z = lx.get("inputs", {}).get("latents", [])
        L.append(f"-- LTX-2 VAE decode (720p model) latents {'x'.join(map(str, z)) or '?'} -> {lx.get('frames_out', '?')} "
                 f"frames {'x'.join(map(str, lx.get('size_out', []))) or '?'}, seconds per decode")
        for k in ("build", "diffusers_fp32", "diffusers_bf16", "ours_bf16", "ours_fp32"):
            if isinstance(lx.get(k), dict) and (k != "build" or "error" in lx[k] or "skipped" in lx[k]):
                L.append(stage_line(k.replace("_", " "), lx[k]))
        L.extend(numerics_lines(lx.get("numerics", {})))
    if pl:
        st = pl.get("steps", pl.get("steps_requested"))
        L.append(f"-- text-to-video {pl.get('width')}x{pl.get('height')} {pl.get('frames')} frames, {st} steps, cfg "
                 f"{pl.get('cfg')}: seconds (encode / denoise / decode)")
        if pl.get("steps_note"):
            L.append(f"  NOTE {pl['steps_note'][:150]}")
        for k in ("build", "plan"):
            if isinstance(pl.get(k), dict) and ("error" in pl[k] or "skipped" in pl[k]):
                L.append(stage_line(k, pl[k]))

        def pline(name, r, extra=""):
            if not isinstance(r, dict) or "total_s" not in r:
                return stage_line(name, r)
            parts = [f"{r['total_s']:.1f} s ({fmt(r.get('encode_s'), nd=2)} / {fmt(r.get('denoise_s'), nd=3)} / "
                     f"{fmt(r.get('decode_s'), nd=2)})"]
            if r.get("denoise_s_per_step"):
                parts.append(f"{r['denoise_s_per_step']:.3f} s/step")
            if r.get("peak_gpu_mib"):
                parts.append(f"peak {r['peak_gpu_mib'] / 1024:.1f} GiB")
            if r.get("load_s") is not None:
                parts.append(f"load {r['load_s']:.1f} s")
            elif r.get("process_wall_s") is not None:
                parts.append(f"process {r['process_wall_s']:.1f} s")
            return f"  {name:<34s} " + ", ".join(parts) + extra
        L.append(pline("diffusers eager", pl.get("diffusers_eager")))
        po = pl.get("ours")
        tgt = ""
        if isinstance(po, dict) and "meets_target" in po:
            tgt = f"  target <= {pl.get('target_s')} s: {'MET' if po['meets_target'] else 'missed'}"
        L.append(pline(f"ours ({meta.get('engine_device', '?')} {meta.get('engine_dtype', '?')})", po, tgt))
    lvd = bench.get("long_video")
    if isinstance(lvd, dict) and "skipped" in lvd:
        L.append(stage_line("-- LongSANA", lvd).replace("  -- LongSANA", "-- LongSANA  ", 1))
    elif isinstance(lvd, dict):
        L.append("-- LongSANA (ours; no PyTorch peer runs it)")
        for k, r in lvd.items():
            if not k.startswith("ours_"):
                continue
            if isinstance(r, dict) and "frames_per_s" in r:
                pk = f", peak {r['peak_gpu_mib'] / 1024:.2f} GiB" if r.get("peak_gpu_mib") else ""
                L.append(f"  {k[5:]:<34s} {r['frames']} frames in {r['total_s']:.1f} s = {r['frames_per_s']:.1f} frames/s{pk}")
            else:
                L.append(stage_line(k[5:], r))
        if "peak_gpu_growth" in lvd:
            tgt = f"  target >= 40 frames/s, <= 5%: {'MET' if lvd.get('meets_target') else 'missed'}" if "meets_target" in lvd else ""
            L.append(f"  peak memory growth between the lengths: {100 * lvd['peak_gpu_growth']:+.1f}%{tgt}")
    if bench:
        hl = bench.get("headline", {})
        if "dit_speedup_vs_eager" in hl or "dit_speedup_vs_compile" in hl:
            L.append(f"  DiT speed-up: {fmt(hl.get('dit_speedup_vs_eager'), 'x')} vs eager, "
                     f"{fmt(hl.get('dit_speedup_vs_compile'), 'x')} vs torch.compile; "
                     f"Gemma2: {fmt(hl.get('gemma2_speedup'), 'x')}")
        if any(k in hl for k in ("vae_speedup_vs_diffusers_bf16", "pipeline_speedup")):
            L.append(f"  VAE speed-up: {fmt(hl.get('vae_speedup_vs_diffusers_fp32'), 'x')} vs fp32, "
                     f"{fmt(hl.get('vae_speedup_vs_diffusers_bf16'), 'x')} vs bf16; "
                     f"text-to-video: {fmt(hl.get('pipeline_speedup'), 'x')} vs diffusers eager "
                     f"({hl.get('pipeline_steps', '?')} steps)")
        es = bench.get("engine_smoke", {})
        if es:
            L.append("  engine smoke (CPU, goldens): " + ", ".join(
                f"{k} " + ("FAILED" if "error" in v else f"{v.get('median_s', 0):.3f} s"
                           + (f" rel L2 {fmt(v.get('rel_l2'))}" if "rel_l2" in v else ""))
                for k, v in es.items() if isinstance(v, dict) and "skipped" not in v))
        if "torch_stack" in bench:
            L.append(f"  PyTorch side: {json.dumps(bench['torch_stack'])[:160]}")
    for n, e in list(bench_fail.items())[:6]:
        L.append(f"  bench FAILED {n}: {e[:140]}")
    L.append(f"== {'OK' if ok else 'NOT OK'}: summary in {os.path.join(a.out, 'summary.json')}")
    print("\n".join(L))


if __name__ == "__main__":
    main()
