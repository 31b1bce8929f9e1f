"""export_to_video on the engine's own writer (FFmpeg: MP4/MKV/MOV H.264, WebP, GIF, or PNG frames)."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from . import _core
from ._convert import rgb8


def export_to_video(video_frames: Any, output_video_path: str | os.PathLike, fps: int = 10) -> str:
    """Writes frames as diffusers' ``export_to_video`` does (same arguments). Frames: a list of PIL images,
    a list of [H, W, 3] arrays, or an array [F, H, W, 3]; floats in [0, 1] are rounded to 8 bits (diffusers
    truncates; rounding is what the engine's own outputs use, so a pipeline's frames written here match the
    CLI's file). The file appears only when complete. Returns the path."""
    if isinstance(video_frames, np.ndarray):
        frames = video_frames
        if frames.ndim == 5 and frames.shape[0] == 1:
            frames = frames[0]
    else:
        items: Sequence[Any] = list(video_frames)
        if not items:
            raise ValueError("no frames to write")
        frames = np.stack([np.asarray(f.convert("RGB")) if hasattr(f, "convert") else np.asarray(f) for f in items])
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [F, H, W, 3], got shape {tuple(frames.shape)}")
    path = os.fspath(output_video_path)
    writer = _core.VideoWriter(path, int(frames.shape[2]), int(frames.shape[1]), int(fps))
    try:
        chunk = 16
        for i in range(0, frames.shape[0], chunk):
            writer.write(rgb8(frames[i : i + chunk]))
        writer.finish()
    finally:
        writer.close()
    return path
