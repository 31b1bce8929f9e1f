#!/usr/bin/env python3
"""Reference frames of the embedded toy model from diffusers' SanaVideoPipeline, for the engine parity
test (tests/test_toy_model.cpp, PSNR >= 40 dB), and a preview picture of generated clips for the README.

Run from the repository root after train_toy.py:  python tools/toy/make_toy_goldens.py
Writes tests/golden/toy/{cases.json, <case>.safetensors} and docs/toy_samples.png.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from diffusers import SanaVideoPipeline
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from toy_data import analyse, matches  # noqa: E402
from train_toy import generate  # noqa: E402

CASES = [
    ("red_circle_left", "a red circle moving left", 0),
    ("blue_triangle_up", "a blue triangle moving up", 7),
    ("out_of_vocabulary", "A purple hexagon dancing at sunset, 4K!", 3),
]
PREVIEW = [("a red circle moving left", 0), ("a green square moving up", 1), ("a blue triangle moving right", 2),
           ("a yellow circle moving down", 3)]


def defaults(model):
    with open(os.path.join(model, "generation_defaults.json")) as f:
        return json.load(f)


def run(pipe, d, prompt, seed):
    return generate(pipe, d, [prompt], seed)[0]  # [F, H, W, 3] uint8


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/sana-video-toy")
    ap.add_argument("--goldens", default="tests/golden/toy")
    ap.add_argument("--picture", default="docs/toy_samples.png")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(args.threads)
    pipe = SanaVideoPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    d = defaults(args.model)
    os.makedirs(args.goldens, exist_ok=True)
    meta = {}
    for name, prompt, seed in CASES:
        frames = run(pipe, d, prompt, seed)
        save_file({"frames": torch.from_numpy(frames).contiguous()}, os.path.join(args.goldens, name + ".safetensors"))
        meta[name] = dict(prompt=prompt, seed=seed, **d)
        print(name, frames.shape, analyse(frames))
    with open(os.path.join(args.goldens, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    from PIL import Image
    rows = []
    for prompt, seed in PREVIEW:
        frames = run(pipe, d, prompt, seed)
        words = prompt.split()
        print(prompt, analyse(frames), matches(words[1], words[-1], *analyse(frames)))
        rows.append(np.concatenate(list(frames[::4]), axis=1))  # frames 0, 4, 8, 12, 16
    grid = np.concatenate(rows, axis=0)
    Image.fromarray(grid).resize((grid.shape[1] * 4, grid.shape[0] * 4), Image.NEAREST).save(args.picture)


if __name__ == "__main__":
    main()
