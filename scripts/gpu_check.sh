#!/usr/bin/env bash
# One GPU session for the CUDA backend: package here, run there, one summary.
#
#   bash scripts/gpu_check.sh [--skip-build]        package (here): binaries + libraries + diffusers wheel
#                                                   into .gpu/carry, check the transfer size, print the call
#   bash scripts/gpu_check.sh --dry-run [--skip-build] [--out DIR]
#        package + size check + self checks (bash -n, py_compile) + the device step rehearsed on this
#        machine: unpack, load check, sv-tests --gtest_filter='*Cuda*' (all GPU tests must skip, none fail),
#        tools/bench/bench_gpu.py --dry-run. Exit 0 on success. No GPU and no network needed (pip is
#        tried once for the diffusers wheel and its absence only noted). Under ~1 minute once cached.
#   bash scripts/gpu_check.sh --on-device --out "$OUT"
#        what the device tool runs on the GPU machine, from the repo root, with carry [".gpu/carry"]:
#        probe, unpack, load check, sv-tests *Cuda* (gtest JSON), bench_gpu.py (PyTorch peer + ours), and
#        with SV_SANA_SRC set when packaging, bench_gpu_sv2.py (SANA-Video 2.0 vs NVIDIA's modules, bf16),
#        OUT/summary.json and a short table printed last. Ends inside --deadline-s (default 420 s: the bench
#        covers DiT, Gemma2, Wan VAE decode and the whole 480p text-to-video; torch.compile only if time is left).
#
# Options: --out DIR  --build-dir DIR (default build)  --pkg-dir DIR (default .gpu; a CTest run should use
#   its own, e.g. the build tree, so it never replaces the package meant for the device)  --no-pip
#   --no-strip  --deadline-s N  --bench-args "ARGS" (extra bench_gpu.py arguments, device step)
#   Env SV_BENCH_PYTHON: the interpreter for bench_gpu.py (default python3; e.g. a venv with torch + transformers
#   to rehearse the tiny PyTorch end to end in --dry-run).
# Files: OUT/{gpu_check.log, gpu_probe.txt, gtest_cuda.json, bench_gpu.json, summary.json[, bench_gpu_sv2.json]}.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SELF="$ROOT/scripts/gpu_check.sh"
MODE=prepare; OUT=""; SKIP_BUILD=0; BUILD="$ROOT/build"; PKG="$ROOT/.gpu"; NO_PIP=0; NO_STRIP=""
DEADLINE_S=""; BENCH_ARGS=""; BUDGET_MIB=64
DIFFUSERS_VERSION=0.42.1    # has SanaVideoTransformer3DModel; needs huggingface-hub>=1.32, safetensors>=0.8
SHARED="${SV_SHARED:-$ROOT/../shared}"
CACHE="${SV_GPU_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/sana-video-gpu}"

die() { echo "gpu_check: ERROR: $*" >&2; exit 1; }
say() { echo "gpu_check: $*"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) MODE=dry; shift ;;
    --on-device) MODE=device; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --build-dir) BUILD="$(cd "$2" 2>/dev/null && pwd || echo "$2")"; shift 2 ;;
    --pkg-dir) mkdir -p "$2"; PKG="$(cd "$2" && pwd)"; shift 2 ;;
    --no-pip) NO_PIP=1; shift ;;
    --no-strip) NO_STRIP="--no-strip"; shift ;;
    --deadline-s) DEADLINE_S="$2"; shift 2 ;;
    --bench-args) BENCH_ARGS="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$SELF"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
START=$SECONDS
elapsed() { echo $((SECONDS - START)); }

# ------------------------------------------------------------------------------------ here: packaging
prepare() {
  if [ "$SKIP_BUILD" -eq 0 ]; then
    [ -x /usr/local/cuda/bin/nvcc ] && export PATH="/usr/local/cuda/bin:$PATH"
    if [ -f "$BUILD/CMakeCache.txt" ]; then
      say "building sana-video sv-bench sv-tests in $BUILD"
      cmake --build "$BUILD" --target sana-video sv-bench sv-tests -j"$(nproc)"
    else
      bash "$ROOT/scripts/setup.sh" --build-dir "$BUILD"
    fi
  fi
  for b in sana-video sv-bench sv-tests; do
    [ -x "$BUILD/$b" ] || die "$BUILD/$b missing: build first (bash scripts/setup.sh --build-dir $BUILD) or drop --skip-build"
  done
  if ! grep -q '^SV_CUDA:BOOL=ON$' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    [ "$MODE" = dry ] || die "$BUILD is not a CUDA build (SV_CUDA=OFF): nothing to check on a GPU; install nvcc and rebuild"
    say "WARNING: $BUILD has SV_CUDA=OFF: rehearsing the packaging anyway (useless on the device)"
  fi
  mkdir -p "$PKG/carry/py" "$PKG/carry/tools"
  python3 "$ROOT/tools/gpu/pack.py" stage --build "$BUILD" --pkg "$PKG" --budget-mib "$BUDGET_MIB" $NO_STRIP

  # diffusers, pure Python (the GPU machine has torch and transformers but no diffusers and no network)
  local whl="diffusers-$DIFFUSERS_VERSION-py3-none-any.whl"
  if [ ! -f "$CACHE/$whl" ] && [ "$NO_PIP" -eq 0 ]; then
    mkdir -p "$CACHE"
    say "pip download diffusers==$DIFFUSERS_VERSION (wheel only, no dependencies)"
    timeout 120 python3 -m pip download --no-deps --only-binary=:all: --quiet --disable-pip-version-check \
      --timeout 15 --retries 1 -d "$CACHE" "diffusers==$DIFFUSERS_VERSION" >"$CACHE/pip.log" 2>&1 \
      || say "NOTE: pip could not fetch diffusers ($(tail -1 "$CACHE/pip.log")); continuing without it"
  fi
  find "$PKG/carry/py" -name 'diffusers-*.whl' ! -name "$whl" -delete
  if [ -f "$CACHE/$whl" ]; then
    cmp -s "$CACHE/$whl" "$PKG/carry/py/$whl" || cp "$CACHE/$whl" "$PKG/carry/py/$whl"
  elif [ -f "$PKG/carry/py/$whl" ]; then
    :
  else
    say "NOTE: no diffusers wheel carried: the bench's PyTorch peer (diffusers) will fail on the device; the rest runs"
  fi
  # Copies of the shared tools (shared/ does not travel to the device).
  local t
  for t in peer_baseline.py gpu_probe.sh; do
    if [ -f "$SHARED/tools/$t" ]; then cp "$SHARED/tools/$t" "$PKG/carry/tools/$t"
    else say "NOTE: $SHARED/tools/$t not found: not carried"; fi
  done
  # NVIDIA's SANA-Video 2.0 model files, for the 2.0 benchmark's peer (not in this repository; from the
  # checkout SV_SANA_SRC names, see tools/reference/make_sv2_goldens.py). Without it that step is skipped.
  rm -rf "$PKG/carry/sana_src"
  if [ -n "${SV_SANA_SRC:-}" ] && [ -f "$SV_SANA_SRC/diffusion/model/nets/sana_video2.py" ]; then
    local f
    for f in model/nets/sana_video2.py model/nets/sana_video2_blocks.py model/nets/sana_blocks.py model/norms.py \
             model/utils.py utils/import_utils.py; do
      mkdir -p "$(dirname "$PKG/carry/sana_src/diffusion/$f")"
      cp "$SV_SANA_SRC/diffusion/$f" "$PKG/carry/sana_src/diffusion/$f"
    done
  else
    say "NOTE: SV_SANA_SRC not set: the SANA-Video 2.0 benchmark (official modules as the peer) is not carried"
  fi
  say "package sizes:"
  python3 "$ROOT/tools/gpu/pack.py" size --pkg "$PKG" --budget-mib "$BUDGET_MIB"
}

self_checks() {
  bash -n "$SELF"
  python3 - "$ROOT" tools/bench/bench_gpu.py tools/gpu/pack.py tools/gpu/summarize.py <<'PY'
import os, py_compile, sys, tempfile
with tempfile.TemporaryDirectory() as d:   # byte-compile into a scratch folder, not the tree
    for f in sys.argv[2:]:
        py_compile.compile(os.path.join(sys.argv[1], f), cfile=os.path.join(d, "x.pyc"), doraise=True)
PY
  python3 "$ROOT/tools/bench/bench_gpu.py" --help >/dev/null
  say "self checks: bash -n, py_compile, bench_gpu.py --help: ok"
}

# ------------------------------------------------------------------------------ the device step
step() {  # step NAME TIMEOUT_S CMD... : runs CMD with a timeout, records rc and seconds in steps.tsv
  local name="$1" to="$2"; shift 2
  local t0=$SECONDS rc=0
  if [ "$to" -lt 5 ]; then
    printf '%s\t%s\t%s\t%s\n' "$name" 124 0 "skipped: deadline" >>"$STATE/steps.tsv"
    say "step $name: skipped (deadline)"; return 0
  fi
  say "step $name (timeout ${to}s)"
  timeout --kill-after=10 "$to" "$@" || rc=$?
  local note=""
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then note="timed out after ${to}s"; fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$note" >>"$STATE/steps.tsv"
  say "step $name: rc $rc in $((SECONDS - t0))s"
  return 0
}
left() { echo $((DEADLINE_S - $(elapsed))); }
# cap MAX: a step's timeout, at most MAX and never eating into the time kept for the benchmark (BENCH_MIN)
cap() { local b=$(( $(left) - BENCH_MIN )); [ "$1" -lt "$b" ] && echo "$1" || echo "$b"; }

find_cuda_libdir() {  # the folder holding the toolkit's cuBLAS the binaries were linked against
  local want="$1" d
  for d in ${CUDA_HOME:+$CUDA_HOME/lib64 $CUDA_HOME/lib} /usr/local/cuda/lib64 /usr/local/cuda/lib \
           /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 /usr/lib/x86_64-linux-gnu; do
    [ -e "$d/$want" ] && { echo "$d"; return 0; }
  done
  d=$(ldconfig -p 2>/dev/null | awk -v w="$want" '$1 == w {print $NF; exit}')
  [ -n "$d" ] && { dirname "$d"; return 0; }
  d=$(python3 - "$want" <<'PY' 2>/dev/null
import glob, os, site, sys
for sp in site.getsitepackages():
    for p in glob.glob(os.path.join(sp, "nvidia", "**", sys.argv[1]), recursive=True):
        print(os.path.dirname(p)); raise SystemExit
PY
)
  [ -n "$d" ] && { echo "$d"; return 0; }
  return 1
}

binaries_load() {  # binaries_load BIN_DIR LD_PATH: all three start (loader errors are printed)
  local bin="$1" lp="$2${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" out b
  out=$(LD_LIBRARY_PATH="$lp" timeout 60 "$bin/sv-tests" --gtest_list_tests 2>&1 >/dev/null) || { echo "sv-tests: $out"; return 1; }
  for b in sana-video sv-bench; do
    [ -x "$bin/$b" ] || { echo "$bin/$b missing"; return 1; }
    out=$(LD_LIBRARY_PATH="$lp" timeout 60 "$bin/$b" 2>&1 >/dev/null || true)
    if echo "$out" | grep -qE 'error while loading shared libraries|symbol lookup error|version `[^ ]+'"'"' not found|cannot execute|Exec format error'; then
      echo "$b: $out" | head -5; return 1
    fi
  done
}

device_step() {
  local dry="$1"
  BENCH_MIN=$([ "$dry" = 1 ] && echo 60 || echo 240)   # seconds always kept for bench_gpu.py
  STATE="$(mktemp -d /tmp/sv_gpu_check.XXXXXX)"
  : >"$STATE/steps.tsv"
  local UNP="$PKG/unpacked" MAN="$PKG/carry/MANIFEST.json"
  [ -f "$MAN" ] || die "$MAN missing: package first (bash scripts/gpu_check.sh here) and carry .gpu/carry"

  # 1. probe (GPU, driver, toolkit, where cuBLAS lives, Python packages)
  local gpu="" driver="" nvccv=""
  if command -v nvidia-smi >/dev/null; then
    gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
    driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1 || true)
  fi
  nvccv=$( (nvcc --version 2>/dev/null || /usr/local/cuda/bin/nvcc --version 2>/dev/null) | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -1 || true)
  if [ -f "$PKG/carry/tools/gpu_probe.sh" ]; then
    # its output goes to OUT/gpu_probe.txt only, so the device tool's reply tail keeps the table
    step gpu_probe "$(cap "$([ "$dry" = 1 ] && echo 30 || echo 40)")" bash -c 'bash "$1" "$2" >/dev/null 2>&1' _ \
      "$PKG/carry/tools/gpu_probe.sh" "$OUT"
  else
    say "no gpu_probe.sh carried: short probe only"
  fi
  {
    echo "== gpu_check extra probe"
    nvidia-smi 2>&1 | head -20 || echo "nvidia-smi: not available"
    (nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>&1 | tail -2 || true
    echo "-- ldconfig -p | cublas/cudart/libcuda"; ldconfig -p 2>/dev/null | grep -E 'libcublas|libcudart|libcuda\.so' | head -12 || true
    echo "-- libcublasLt.so.* under /usr/local/cuda*"; ls -1 /usr/local/cuda*/lib*/libcublasLt.so* /usr/local/cuda*/targets/*/lib/libcublasLt.so* 2>/dev/null | head -6 || true
    echo "-- glibc: $(ldd --version 2>&1 | head -1)"; (. /etc/os-release 2>/dev/null && echo "-- os: $PRETTY_NAME") || true
  } >>"$OUT/gpu_probe.txt" 2>&1 || true

  # 2. unpack the package (binaries + libraries) and the diffusers wheel
  step unpack "$(cap 90)" python3 "$ROOT/tools/gpu/pack.py" unpack --pkg "$PKG" --dest "$UNP"
  local BIN="$UNP/bin" LIB="$UNP/lib"

  # 3. the tests read goldens at the source path compiled in (SV_TEST_DATA); link it to this checkout
  local src; src=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("source_dir",""))' "$MAN")
  local link_note="same checkout"
  if [ -n "$src" ] && [ "$(readlink -f "$src" 2>/dev/null)" != "$(readlink -f "$ROOT")" ]; then
    if [ ! -e "$src" ] && [ ! -L "$src" ]; then
      if mkdir -p "$(dirname "$src")" 2>/dev/null && ln -s "$ROOT" "$src" 2>/dev/null; then link_note="linked $src -> $ROOT"
      else link_note="could not link $src -> $ROOT: golden-data tests will fail"; fi
    else
      link_note="WARNING: $src exists and is not this checkout: the tests read goldens from there"
    fi
  fi
  say "test data: $link_note"

  # 4. can the binaries load here? (glibc / libstdc++ / cuBLAS)
  local need cudadir="" ldp="" err="" ok=false tried=""
  need=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1])).get("device_libs", [])))' "$MAN")
  local want=libcublasLt.so.13; for l in $need; do case $l in libcublasLt*) want=$l;; esac; done
  cudadir=$(find_cuda_libdir "$want" || true)
  [ -n "$cudadir" ] || say "WARNING: $want not found (toolkit lib64, ldconfig, Python nvidia wheels)"
  if [ -x "$BIN/sv-tests" ]; then
    # our libstdc++/libgcc_s first (the device's may be older); without them if ours need a newer glibc
    for cand in "$LIB:$LIB/compat${cudadir:+:$cudadir}" "$LIB${cudadir:+:$cudadir}"; do
      tried="$tried $cand"
      if err=$(binaries_load "$BIN" "$cand"); then ldp="$cand"; ok=true; break; fi
    done
  else
    err="$BIN/sv-tests missing after unpack"
  fi
  local missing=""
  if [ "$ok" != true ] && command -v ldd >/dev/null && [ -x "$BIN/sv-tests" ]; then
    missing=$(LD_LIBRARY_PATH="$LIB:$LIB/compat${cudadir:+:$cudadir}" ldd "$BIN/sv-tests" 2>&1 | grep -E 'not found|version' | head -10 || true)
  fi
  [ "$ok" = true ] && say "binaries load with LD_LIBRARY_PATH=$ldp" || say "ERROR: the packaged binaries do not load here: $err $missing"
  python3 - "$STATE" "$ok" "$ldp" "$cudadir" "$want" "$err" "$missing" "$tried" "$gpu" "$driver" "$nvccv" "$link_note" <<'PY'
import json, os, platform, sys
st, ok, ldp, cudadir, want, err, missing, tried, gpu, driver, nvcc, link = sys.argv[1:13]
json.dump({"ok": ok == "true", "ld_path": ldp, "cuda_libdir": cudadir, "cublasLt": want,
           "error": (err.strip() + ("\n" + missing if missing else ""))[-1500:] if ok != "true" else "",
           "tried": tried.split(), "fallback": "none: building on the device is not possible (no OpenBLAS, FFmpeg, "
           "sentencepiece, nlohmann-json, GoogleTest there); fix the package here" if ok != "true" else ""},
          open(os.path.join(st, "loader.json"), "w"), indent=1)
json.dump({"gpu": gpu, "driver": driver, "nvcc": nvcc, "glibc": platform.libc_ver()[1], "python": platform.python_version(),
           "test_data": link}, open(os.path.join(st, "host.json"), "w"), indent=1)
PY

  # 5. the CUDA tests (from the repo root)
  if [ "$ok" = true ]; then
    step sv_tests_cuda "$(cap "$([ "$dry" = 1 ] && echo 60 || echo 180)")" \
      env LD_LIBRARY_PATH="$ldp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$BIN/sv-tests" --gtest_filter='*Cuda*' \
      --gtest_brief=1 --gtest_output="json:$OUT/gtest_cuda.json"
  else
    printf 'sv_tests_cuda\t127\t0\tbinaries do not load\n' >>"$STATE/steps.tsv"
  fi

  # 6. the benchmark (PyTorch peers and ours); ours run with the package's LD_LIBRARY_PATH only. With the
  # official 2.0 modules carried, SV2_S seconds are kept for the SANA-Video 2.0 step after it.
  local SV2_S=0
  [ -d "$PKG/carry/sana_src" ] && SV2_S=$([ "$dry" = 1 ] && echo 60 || echo 150)
  local bto=$(( $(left) - 10 - SV2_S ))
  if [ "$bto" -gt 380 ]; then bto=380; fi
  local bargs=(--out "$OUT" --bin-dir "$BIN" --ld-path "${ldp:-$LIB:$LIB/compat${cudadir:+:$cudadir}}" --py-dir "$PKG/py"
               --budget-s "$((bto - 15 > 10 ? bto - 15 : 10))")
  [ "$dry" = 1 ] && bargs+=(--dry-run)
  # shellcheck disable=SC2206
  [ -n "$BENCH_ARGS" ] && bargs+=($BENCH_ARGS)
  step bench "$bto" "${SV_BENCH_PYTHON:-python3}" "$ROOT/tools/bench/bench_gpu.py" "${bargs[@]}"
  if [ "$SV2_S" -gt 0 ]; then
    local s2args=(--sana-src "$PKG/carry/sana_src" --out "$OUT" --bin-dir "$BIN" --ld-path "${ldp:-$LIB:$LIB/compat${cudadir:+:$cudadir}}")
    [ "$dry" = 1 ] && s2args+=(--dry-run)
    step bench_sv2 "$(( $(left) - 5 ))" "${SV_BENCH_PYTHON:-python3}" "$ROOT/tools/bench/bench_gpu_sv2.py" "${s2args[@]}"
  fi

  # 7. summary.json and the table (last)
  python3 "$ROOT/tools/gpu/summarize.py" --out "$OUT" --mode "$([ "$dry" = 1 ] && echo dry-run || echo device)" \
    --state "$STATE" --manifest "$MAN"
}

case "$MODE" in
  prepare)
    prepare
    say "ready. Device tool call:"
    say "  run(command='bash scripts/gpu_check.sh --on-device --out \$OUT', carry=['.gpu/carry'], timeout_s=480)"
    say "  (then read \$OUT/summary.json; \$OUT also holds gtest_cuda.json, bench_gpu.json, gpu_probe.txt, gpu_check.log)"
    [ "$PKG" = "$ROOT/.gpu" ] || say "NOTE: --pkg-dir $PKG is not .gpu: the device call above carries .gpu/carry only"
    ;;
  dry)
    OUT="${OUT:-$ROOT/out/gpu_check_dry}"; DEADLINE_S="${DEADLINE_S:-240}"
    rm -rf "$OUT"; mkdir -p "$OUT"
    exec > >(tee "$OUT/gpu_check.log") 2>&1
    prepare
    self_checks
    say "rehearsing the device step on this machine (no GPU: every GPU test must skip)"
    device_step 1
    rc=0
    python3 - "$OUT" "$STATE" <<'PY' || rc=$?
import json, os, sys
out, st = sys.argv[1:3]
s = json.load(open(os.path.join(out, "summary.json")))
t = s["tests_cuda"]
steps = {l.split("\t")[0]: int(l.split("\t")[1]) for l in open(os.path.join(st, "steps.tsv")) if l.strip()}
bad = []
if not s["loader"].get("ok"): bad.append("packaged binaries do not load: " + str(s["loader"].get("error"))[:300])
if not t.get("ran"): bad.append("sv-tests *Cuda* wrote no JSON")
elif t["failed"]: bad.append(f"{t['failed']} *Cuda* test(s) failed: {', '.join(t['failures'])}")
elif not t["skipped"] and not s["host"].get("gpu"): bad.append("no *Cuda* test skipped on a machine without a GPU")
if steps.get("bench", 1) != 0: bad.append(f"bench_gpu.py --dry-run exited {steps.get('bench')}")
if steps.get("unpack", 1) != 0: bad.append("unpacking the package failed")
for b in bad: print("gpu_check: DRY RUN FAILED:", b)
print("gpu_check: dry run " + ("FAILED" if bad else f"OK: {t['passed']} *Cuda* tests passed (run everywhere), "
      f"{t['skipped']} skipped (need a GPU), 0 failed; bench dry run ok"))
sys.exit(1 if bad else 0)
PY
    say "dry run finished in $(elapsed)s"
    exit $rc
    ;;
  device)
    OUT="${OUT:-$ROOT/out/gpu_check}"; DEADLINE_S="${DEADLINE_S:-420}"
    mkdir -p "$OUT"
    exec > >(tee -a "$OUT/gpu_check.log") 2>&1
    say "on device: $(hostname 2>/dev/null || true), repo $ROOT, out $OUT, deadline ${DEADLINE_S}s"
    device_step 0
    say "device step finished in $(elapsed)s"
    ;;
esac
