#!/usr/bin/env bash
# libFuzzer targets for every parser (tests/fuzz): builds them with clang + ASan + UBSan in build-fuzz,
# seeds each corpus from the committed goldens, replays the kept regression inputs, then fuzzes each
# target for SECONDS. Prints one totals line per target (executions, coverage, corpus, findings).
# Usage: scripts/fuzz.sh [--seconds 20] [--jobs 1] [--build-dir DIR] [--only TARGET]
# A finding is a crash file under DIR/findings/TARGET: fix it and keep it in tests/fuzz/regressions/TARGET.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$ROOT/build-fuzz"; SECONDS_EACH=20; ONLY=""; JOBS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_EACH="$2"; shift 2 ;;
    --build-dir) BUILD="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
"$ROOT/scripts/setup.sh" --no-build
for p in clang libclang-rt-14-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$p" >/dev/null; }
done
export CCACHE_BASEDIR="$ROOT"
# The build has debug info (for symbolized reports); without this ccache would key it on the checkout's
# path and a fresh clone (CI) would rebuild everything.
export CCACHE_NOHASHDIR=1
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSV_FUZZ=ON -DSV_CUDA=OFF -DSV_NATIVE=OFF -DSV_BUILD_TESTS=OFF -DSV_BUILD_BENCH=OFF \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
TARGETS="safetensors torch_pth configs tokenizer_json tokenize_text sentencepiece image prompt_schedule"
[ -n "$ONLY" ] && TARGETS="$ONLY"
cmake --build "$BUILD" -j"$(nproc)" --target $(for t in $TARGETS; do printf 'fuzz_%s ' "$t"; done)

G="$ROOT/tests/golden"
seed() {  # target -> files that start its corpus
  case "$1" in
    safetensors) find "$G" -name '*.safetensors' -size -64k ;;
    torch_pth) find "$G/pth" -name '*.pth' ;;
    configs) find "$G" "$ROOT/models" -name '*.json' -size -64k ;;
    tokenizer_json) find "$G/text" -name 'tokenizer.json' ;;
    tokenize_text) printf '%s\n' "$G/text/tokenizer_cases.json" ;;
    sentencepiece) find "$G/text" -name 'tokenizer.model' ;;
    image) find "$G/images" -type f \( -name '*.png' -o -name '*.jpg' \) ;;
    prompt_schedule) ;;
  esac
}
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1"
status=0
for t in $TARGETS; do
  corpus="$BUILD/corpus/$t"; findings="$BUILD/findings/$t"; reg="$ROOT/tests/fuzz/regressions/$t"
  mkdir -p "$corpus" "$findings"
  for f in $(seed "$t"); do cp -f "$f" "$corpus/seed_$(echo "$f" | md5sum | cut -c1-12)"; done
  [ "$t" = prompt_schedule ] && printf '0 a red fox\n20: it runs\n# c\n\n40 jumps\n' > "$corpus/seed_schedule"
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then  # kept findings must stay fixed
    "$BUILD/fuzz_$t" -rss_limit_mb=2048 -timeout=10 "$reg"/* >"$BUILD/regress_$t.log" 2>&1 || { echo "fuzz $t: a kept regression input fails again (see $BUILD/regress_$t.log)"; status=1; }
  fi
  log="$BUILD/fuzz_$t.log"
  PAR=""; [ "$JOBS" -gt 1 ] && PAR="-fork=$JOBS"
  "$BUILD/fuzz_$t" "$corpus" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
    $PAR -artifact_prefix="$findings/" -print_final_stats=1 >"$log" 2>&1 || true
  execs=$( (grep -h "stat::number_of_executed_units" "$log" || true) | awk '{s+=$2} END {print s+0}')
  if [ "$execs" = 0 ]; then  # -fork mode reports "#N: cov: ..." progress lines instead
    execs=$( (grep -o "#[0-9]*: cov" "$log" || true) | tr -dc '0-9\n' | sort -n | tail -1)
  fi
  cov=$( (grep -ho "cov: [0-9]*" "$log" || true) | awk '{print $2}' | sort -n | tail -1)
  found=$(find "$findings" -type f | wc -l)
  echo "fuzz $t: ${SECONDS_EACH}s, $execs executions, coverage ${cov:-0} edges, corpus $(ls "$corpus" | wc -l), findings $found"
  if [ "$found" -gt 0 ]; then status=1; ls "$findings"; grep -m3 -h "ERROR\|SUMMARY" "$log" || true; fi
done
exit $status
