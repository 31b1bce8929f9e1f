"""sana-video: NVIDIA's SANA-Video on a native engine (CPU and CUDA), called like diffusers.

    import sana_video
    pipe = sana_video.SanaVideoPipeline.from_pretrained()   # the embedded toy model
    frames = pipe("a red circle moving left", generator=0).frames[0]
    sana_video.export_to_video(frames, "circle.mp4", fps=8)
"""

from ._core import CancelledError, cuda_device_count
from .convert import convert_checkpoint
from .pipeline import SanaVideoPipeline, SanaVideoPipelineOutput, default_model_dir
from .video import export_to_video

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
