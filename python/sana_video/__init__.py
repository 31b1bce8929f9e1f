"""sana-video: NVIDIA's SANA-Video on a native engine (CPU and CUDA), called like diffusers.

    import sana_video
    pipe = sana_video.SanaVideoPipeline.from_pretrained()   # the embedded toy model
    frames = pipe("a red circle moving left", generator=0).frames[0]
    sana_video.export_to_video(frames, "circle.mp4", fps=8)
"""

import os as _os


def _blas_kernels():
    """OpenBLAS picks its kernels from the CPU model when _core loads it; a model newer than the library
    (e.g. Emerald Rapids under Debian 12's OpenBLAS 0.3.21) falls back to SSE3 kernels, 2-3x slower. The
    engine's executables re-exec with OPENBLAS_CORETYPE set when that happens (src/core/blas_kernels.h);
    a Python process cannot, so on an Intel CPU with AVX-512 the variable is set before the import, to the
    kernels OpenBLAS uses for every AVX-512 Intel core. An existing OPENBLAS_CORETYPE is left alone."""
    if "OPENBLAS_CORETYPE" in _os.environ:
        return
    try:
        with open("/proc/cpuinfo") as f:
            lines = [l for l in f if l.startswith(("flags", "vendor_id"))][:2]
    except OSError:
        return
    info = " ".join(lines).split()
    if "GenuineIntel" in info and all(f in info for f in ("avx512f", "avx512bw", "avx512vl", "avx512dq")):
        _os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"


_blas_kernels()

from ._core import CancelledError, cuda_device_count  # noqa: E402
from .convert import convert_checkpoint  # noqa: E402
from .pipeline import SanaVideoPipeline, SanaVideoPipelineOutput, default_model_dir  # noqa: E402
from .video import export_to_video  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "CancelledError",
    "SanaVideoPipeline",
    "SanaVideoPipelineOutput",
    "convert_checkpoint",
    "cuda_device_count",
    "default_model_dir",
    "export_to_video",
]
