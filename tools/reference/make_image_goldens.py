#!/usr/bin/env python3
"""Golden data for image-to-video preprocessing: synthetic PNG/JPEG files and what diffusers'
VideoProcessor.preprocess (PIL LANCZOS resize to (width, height), /255, *2-1) makes of them.
Writes tests/golden/images/. Needs numpy, pillow, torch, diffusers, safetensors.
"""
import os

import numpy as np
import torch
from diffusers.video_processor import VideoProcessor
from PIL import Image
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "images")


def synth(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1), 127 + 100 * np.sin(x / 3.0 + y / 5.0)], -1)
    img = img + rng.normal(0, 25, img.shape)
    img[h // 3: h // 2, w // 4: w // 2] = [250, 10, 10]  # a hard edge for ringing
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def main():
    os.makedirs(OUT, exist_ok=True)
    vp = VideoProcessor(vae_scale_factor=8)
    cases = [("up.png", synth(37, 23, 1), 48, 64), ("down.png", synth(100, 80, 2), 40, 56),
             ("photo.jpg", synth(90, 70, 3), 32, 48)]
    tensors = {}
    for name, img, h, w in cases:
        path = os.path.join(OUT, name)
        if name.endswith(".jpg"):
            img.save(path, quality=90)
        else:
            img.save(path)
        loaded = Image.open(path)
        tensors[name + ".decoded"] = torch.from_numpy(np.array(loaded.convert("RGB"))).contiguous()
        tensors[name + ".preprocessed"] = vp.preprocess(loaded, height=h, width=w).contiguous()
        print(name, tuple(tensors[name + ".preprocessed"].shape))
    save_file(tensors, os.path.join(OUT, "expected.safetensors"))
    with open(os.path.join(OUT, "corrupt.png"), "wb") as f:
        f.write(open(os.path.join(OUT, "up.png"), "rb").read()[:60])
    with open(os.path.join(OUT, "corrupt.jpg"), "wb") as f:
        f.write(open(os.path.join(OUT, "photo.jpg"), "rb").read()[:200])


if __name__ == "__main__":
    main()
