#!/usr/bin/env bash
# Installs the Debian packages the build needs (only those missing), configures and builds.
# Usage: scripts/setup.sh [--build-dir DIR] [--sanitize] [--no-build] [--cuda ON|OFF] [--python]
# --python: also a virtual environment in .venv (nanobind, scikit-build-core, numpy, Pillow, pytest, tqdm,
# and for the server's tests the openai client and selenium, from PyPI) and the Python module built into
# the build tree (what the test command needs).
# The CUDA backend is built whenever nvcc is found (no GPU needed); the sanitizer build leaves it out
# (ASan and the CUDA runtime do not mix), so one pass covers each variant.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$ROOT/build"; SAN=OFF; DO_BUILD=1; CUDA=""; PY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD="$2"; shift 2 ;;
    --sanitize) SAN=ON; shift ;;
    --no-build) DO_BUILD=0; shift ;;
    --cuda) CUDA="$2"; shift 2 ;;
    --python) PY=1; shift ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

PKGS="build-essential cmake ninja-build pkg-config libdnnl-dev nlohmann-json3-dev libsentencepiece-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libjpeg62-turbo-dev ffmpeg libgtest-dev googletest ccache python3-venv python3-dev libcpp-httplib-dev libyaml-cpp-dev stress-ng"
# The test command's extras: a headless browser for the server's web page test.
[ $PY -eq 1 ] && PKGS="$PKGS chromium chromium-driver"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "setup: installing$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

if [ $DO_BUILD -eq 1 ]; then
  # nvcc ships in /usr/local/cuda on these machines; put it on PATH so the CUDA variant is found.
  [ -x /usr/local/cuda/bin/nvcc ] && export PATH="/usr/local/cuda/bin:$PATH"
  [ "$SAN" = ON ] && CUDA=OFF
  CUDA_FLAG=""; [ -n "$CUDA" ] && CUDA_FLAG="-DSV_CUDA=$CUDA"
  PY_FLAG=""
  if [ $PY -eq 1 ] && [ "$SAN" = OFF ]; then
    VENV="$ROOT/.venv"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade nanobind scikit-build-core numpy pillow pytest tqdm openai selenium
    PY_FLAG="-DSV_PYTHON=ON -DPython_EXECUTABLE=$VENV/bin/python"
  fi
  LAUNCH="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache"
  # Paths relative to the checkout, so a fresh clone elsewhere (CI) hits the same cache entries.
  export CCACHE_BASEDIR="$ROOT"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSV_SANITIZE=$SAN $CUDA_FLAG $PY_FLAG $LAUNCH >/dev/null
  cmake --build "$BUILD" -j"$(nproc)"
fi
