#!/usr/bin/env bash
# The main job for now: set up, build, and run the SANA-Video transformer on a model directory
# written by diffusers' save_pretrained, checking the result against diffusers' own output.
# (The embedded default model and `sana-video generate` arrive with the pipeline issues.)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/setup.sh"
M="$ROOT/tests/golden/sana_dit/p122_b2_mask"
mkdir -p "$ROOT/out"
"$ROOT/build/sana-video" run transformer --model "$M" --inputs "$M/inputs.safetensors" --output "$ROOT/out/sample.safetensors"
echo "wrote out/sample.safetensors; parity against diffusers:"
"$ROOT/build/sana-video" compare "$ROOT/out/sample.safetensors" "$M/expected.safetensors" --tensor sample
