#!/usr/bin/env bash
# The test command: release build + all CPU tests, then the unit tests once more under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/setup.sh" --build-dir "$ROOT/build" --python
(cd "$ROOT/build" && ctest --output-on-failure -j2)
# The Python package as users get it: a wheel from `pip wheel .`, installed into a fresh virtual
# environment, generating with the embedded model.
"$ROOT/scripts/python_wheel_check.sh"
# Every parser under libFuzzer (clang, ASan + UBSan): kept findings replayed, then 15 s per target.
"$ROOT/scripts/fuzz.sh" --seconds "${SV_FUZZ_SECONDS:-15}"
if [ "${SV_SKIP_SANITIZE:-0}" != "1" ]; then
  "$ROOT/scripts/setup.sh" --build-dir "$ROOT/build-asan" --sanitize
  # The release pass already ran the slowest functional tests (144 toy generations; two models at once);
  # the memory estimates are calibrated on release builds (ASan adds shadow memory and redzones).
  (cd "$ROOT/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j2 \
     -E "ToyModel.GeneratesTheAskedColourAndDirection|CApiThreads.TwoModelsAtOnceEqualOneAfterTheOther|memory_estimate")
fi
