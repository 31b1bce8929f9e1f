"""Fixtures for the Python package's tests: the engine's CLI (for same-seed comparisons), the committed
goldens, and pipelines on the embedded toy model and on the tiny test pipeline."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

import sana_video

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(os.environ.get("SV_TEST_DATA", REPO / "tests" / "golden"))
TOY = REPO / "models" / "sana-video-toy"


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The few dtypes our goldens use, read with numpy only."""
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[8 + n + begin : 8 + n + end]
        if info["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, dtype=dtypes[info["dtype"]])
        out[name] = a.reshape(info["shape"]).copy()
    return out


@pytest.fixture(scope="session")
def cli() -> str:
    path = os.environ.get("SV_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("SV_CLI (the sana-video binary) is not set; CTest sets it")
    return path


@pytest.fixture(scope="session")
def toy() -> sana_video.SanaVideoPipeline:
    pipe = sana_video.SanaVideoPipeline.from_pretrained(TOY, threads=2)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="session")
def tiny() -> sana_video.SanaVideoPipeline:
    pipe = sana_video.SanaVideoPipeline.from_pretrained(GOLDEN / "pipeline" / "tiny_t2v", threads=2)
    pipe.set_progress_bar_config(disable=True)
    return pipe
