#!/usr/bin/env bash
# The main job: set up, build, and generate a video end to end (tokenizer -> Gemma-2 -> Linear DiT
# -> DPM-Solver++ -> Wan VAE -> MP4) with the tiny random-weight SanaVideoPipeline folder the tests
# use (written by diffusers' save_pretrained), then check the latents against diffusers' own run.
# Random weights give a noise-like clip; the trained embedded default model arrives with issue 7.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/setup.sh"
M="$ROOT/tests/golden/pipeline/tiny_t2v"
mkdir -p "$ROOT/out"
"$ROOT/build/sana-video" generate -m "$M" -p "A Red Circle moving left" -W 64 -H 32 --frames 9 --steps 4 --cfg 4.5 \
  --seed 0 -o "$ROOT/out/demo.mp4" --output-latents "$ROOT/out/demo_latents.safetensors"
echo "parity of the final latents with diffusers' SanaVideoPipeline (same prompt, seed 0):"
"$ROOT/build/sana-video" compare "$ROOT/out/demo_latents.safetensors" "$ROOT/tests/golden/pipeline/t2v_dpm.safetensors" \
  --tensor latents --tol 1e-3
