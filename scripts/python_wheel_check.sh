#!/usr/bin/env bash
# Builds the wheel with `pip wheel .` (scikit-build-core + nanobind from PyPI, the engine through CMake),
# installs it into a fresh virtual environment and generates a clip with the embedded toy model.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/build/wheel}"
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="/usr/local/cuda/bin:$PATH"
export CCACHE_BASEDIR="$ROOT"
rm -rf "$OUT" && mkdir -p "$OUT"
python3 -m pip wheel -q --no-deps -w "$OUT" "$ROOT"
WHEEL="$(ls "$OUT"/sana_video-*.whl)"
python3 -m venv "$OUT/venv"
"$OUT/venv/bin/python" -m pip install -q "$WHEEL"
cd "$OUT"  # not the checkout: the installed package must stand alone
"$OUT/venv/bin/python" - <<'PY'
import os, sana_video
pipe = sana_video.SanaVideoPipeline.from_pretrained(threads=2)
frames = pipe("a red circle moving left", generator=0, output_type="np").frames
assert frames.shape == (1, 17, 32, 32, 3), frames.shape
path = sana_video.export_to_video(frames[0], "circle.mp4", fps=8)
print(f"wheel ok: {os.path.basename(pipe.model_path)} -> {path} ({os.path.getsize(path)} bytes)")
PY
