"""Conversions between what diffusers users pass around (numpy, PIL, torch) and the engine's arrays."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def float32_array(x: Any, name: str) -> np.ndarray:
    """A C-contiguous float32 numpy array from numpy or torch (any float/int dtype); no copy when it
    already is one."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor, without importing torch
        x = x.detach().cpu().float().numpy()
    a = np.ascontiguousarray(x, dtype=np.float32)
    if a.ndim == 0:
        raise ValueError(f"{name} must be an array, got a scalar")
    return a


def rgb8(frames: np.ndarray) -> np.ndarray:
    """[..., 3] frames as uint8: floats in [0, 1] are rounded half to even of x * 255, as the engine's
    writer and diffusers' numpy_to_pil do."""
    if frames.dtype == np.uint8:
        return np.ascontiguousarray(frames)
    f = np.asarray(frames, dtype=np.float32)
    return np.ascontiguousarray(np.round(np.clip(f, 0.0, 1.0) * np.float32(255.0)).astype(np.uint8))


def image_input(image: Any) -> dict[str, Any]:
    """The first frame for image-to-video as engine parameters: a path (decoded by the engine, as the CLI
    does), a PIL image, or an array [H, W, 3] (uint8, or floats in [0, 1])."""
    if image is None:
        return {}
    if isinstance(image, (str, os.PathLike)):
        return {"image_path": os.fspath(image)}
    if isinstance(image, (list, tuple)):
        if len(image) != 1:
            raise ValueError("one image per call")
        image = image[0]
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL.Image
        image = np.asarray(image.convert("RGB"))
    elif hasattr(image, "detach"):  # torch [3, H, W] or [H, W, 3]
        image = image.detach().cpu().float().numpy()
        if image.ndim == 3 and image.shape[0] == 3 and image.shape[2] != 3:
            image = image.transpose(1, 2, 0)
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"image must be [H, W, 3] RGB, got shape {tuple(a.shape)}")
    return {"image": rgb8(a)}


def frames_to_pil(frames: np.ndarray) -> list[Any]:
    """[n, H, W, 3] frames as a list of PIL images."""
    from PIL import Image

    return [Image.fromarray(f) for f in rgb8(frames)]


def to_output(frames: np.ndarray, output_type: str) -> Any:
    """[1, F, H, W, 3] float frames in [0, 1] as diffusers' output types."""
    if output_type == "np":
        return frames
    if output_type == "pil":
        return [frames_to_pil(frames[0])]
    if output_type == "pt":
        import torch

        return torch.from_numpy(frames).permute(0, 1, 4, 2, 3)
    raise ValueError(f"unknown output_type {output_type!r}")
