#!/usr/bin/env bash
# The test command: release build + all CPU tests, then the unit tests once more under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/setup.sh" --build-dir "$ROOT/build"
(cd "$ROOT/build" && ctest --output-on-failure -j2)
if [ "${SV_SKIP_SANITIZE:-0}" != "1" ]; then
  "$ROOT/scripts/setup.sh" --build-dir "$ROOT/build-asan" --sanitize
  (cd "$ROOT/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j2)
fi
