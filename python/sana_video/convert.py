"""PyTorch checkpoints into what the engine loads, without running their pickle (the C API's
sv_convert_checkpoint)."""
from __future__ import annotations

import os

from . import _core


def convert_checkpoint(path: str | os.PathLike, out: str | os.PathLike, config: str | os.PathLike | None = None,
                       key: str | None = None) -> str:
    """Converts a ``torch.save`` checkpoint (.pth/.pt, zip or legacy format). Anything but tensors, dicts and
    plain values in its pickle is refused (ValueError/RuntimeError) before a tensor byte is read.

    config: the official ``config.yaml`` of a SANA-Video 2.0 release: ``out`` becomes a model folder
    (``transformer/``, ``generation_defaults.json``, ``model_index.json``; it must not exist yet) that
    ``SanaVideoPipeline.from_pretrained`` loads once ``vae/``, ``text_encoder/`` and ``tokenizer/`` sit
    beside it. Without it, ``out`` is one safetensors file with the state dict's tensors under their names.
    key: the checkpoint's entry holding the state dict ("state_dict", "state_dict_ema", ...).
    Returns ``out``.
    """
    _core.convert_checkpoint(os.fspath(path), None if config is None else os.fspath(config), os.fspath(out), key)
    return os.fspath(out)
