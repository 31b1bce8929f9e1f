#!/usr/bin/env bash
# The main job: set up (Debian packages, build), then generate a video end to end with the embedded
# toy model (models/sana-video-toy, trained by tools/toy/train_toy.py): prompt -> Gemma tokenizer ->
# Gemma-2 -> Linear DiT -> DPM-Solver++ with CFG -> Wan VAE -> out/demo.mp4.
# Usage: scripts/demo.sh ["a green square moving up"]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/setup.sh"
mkdir -p "$ROOT/out"
"$ROOT/build/sana-video" generate -p "${1:-a red circle moving left}" -o "$ROOT/out/demo.mp4"
