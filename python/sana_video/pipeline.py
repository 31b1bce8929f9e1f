"""The diffusers-shaped pipeline over the engine's C API (``sana_video._core``)."""

from __future__ import annotations

import os
import queue
import secrets
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, Union

import numpy as np

from . import _core
from ._convert import image_input, float32_array, frames_to_pil, to_output

PromptSchedule = Sequence[tuple[float, str]]

_HERE = Path(__file__).resolve().parent


def default_model_dir() -> str:
    """The model used when none is named: ``$SANA_VIDEO_MODEL``, else the embedded toy model."""
    env = os.environ.get("SANA_VIDEO_MODEL")
    if env:
        return env
    packaged = _HERE / "models" / "sana-video-toy"
    if (packaged / "model_index.json").exists():
        return str(packaged)
    found = _core.default_model_dir()
    if not found:
        raise FileNotFoundError("no model given and no embedded toy model found; pass a diffusers folder")
    return found


def seed_from(generator: Any) -> int:
    """A seed from an int, a freshly seeded ``torch.Generator("cpu")`` (or a one-element list of either), or
    None (a random seed, as diffusers draws fresh noise). The engine replays torch's CPU generator from its
    seed, so a generator that has already been drawn from is not reproduced."""
    if isinstance(generator, (list, tuple)):
        if len(generator) != 1:
            raise ValueError("one generator per call: the engine generates one video at a time")
        generator = generator[0]
    if generator is None:
        return secrets.randbits(63)
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        seed = int(generator)
    elif hasattr(generator, "initial_seed"):
        device = str(getattr(generator, "device", "cpu"))
        if device != "cpu":
            raise ValueError(f"the engine's noise is torch's CPU generator; got a generator on {device}")
        seed = int(generator.initial_seed())
    else:
        raise TypeError(f"generator must be an int seed or a torch.Generator, got {type(generator).__name__}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return seed


@dataclass
class SanaVideoPipelineOutput:
    """What a call returns, as diffusers' ``SanaVideoPipelineOutput``.

    ``frames``: ``np.ndarray`` float32 [1, F, H, W, 3] in [0, 1] (``output_type="np"``), a list holding
    one list of PIL images (``"pil"``), a torch tensor [1, F, 3, H, W] (``"pt"``) or the latents
    [1, C, T, h, w] (``"latent"``)."""

    frames: Any
    seed: int = 0
    timings: dict[str, float] = field(default_factory=dict)


class _VaeTiling:
    """``pipe.vae``: diffusers' tiling switches (``pipe.vae.enable_tiling()``), for VAEs that have tiling
    (LTX-2, the 720p model). Tiles are square here: one size and one stride for both sides."""

    def __init__(self):
        self.use_tiling = False
        self.tile_sample_min_size = 512
        self.tile_sample_stride = 448

    def enable_tiling(self, tile_sample_min_height=None, tile_sample_min_width=None, tile_sample_stride_height=None,
                      tile_sample_stride_width=None):
        size = {v for v in (tile_sample_min_height, tile_sample_min_width) if v}
        stride = {v for v in (tile_sample_stride_height, tile_sample_stride_width) if v}
        if len(size) > 1 or len(stride) > 1:
            raise ValueError("tiles must be square: give equal heights and widths")
        self.tile_sample_min_size = int(size.pop()) if size else self.tile_sample_min_size
        self.tile_sample_stride = int(stride.pop()) if stride else min(448, self.tile_sample_min_size)
        self.use_tiling = True

    def disable_tiling(self):
        self.use_tiling = False

    def _params(self) -> dict:
        return {"vae_tiling": self.use_tiling, "vae_tile": self.tile_sample_min_size,
                "vae_tile_stride": self.tile_sample_stride}


class SanaVideoPipeline:
    """SANA-Video text/image-to-video on the native engine, called like diffusers' ``SanaVideoPipeline``.

    >>> pipe = SanaVideoPipeline.from_pretrained()          # the embedded toy model
    >>> video = pipe("a red circle moving left", generator=0).frames[0]
    """

    def __init__(self, model: Any, path: str, device: str, dtype: str | None, threads: int):
        self._model = model
        self._path = path
        self._device_arg = device
        self._dtype = dtype
        self._threads = threads
        self._interrupt = False
        self._progress_bar_config: dict[str, Any] = {}
        self.vae = _VaeTiling()

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike | None = None,
        device: str = "cpu",
        dtype: str | None = None,
        threads: int = 0,
    ) -> "SanaVideoPipeline":
        """Loads a diffusers ``SanaVideoPipeline`` folder or a SANA-Video 2.0 release converted by
        ``sana_video.convert_checkpoint`` (None: ``$SANA_VIDEO_MODEL`` or the embedded toy
        model). device: "cpu", "cuda" or "cuda:N"; dtype: "fp32" or "bf16" (None: bf16 on a GPU, fp32 on
        the CPU; torch dtypes are accepted); threads: CPU threads, 0 = all cores."""
        folder = default_model_dir() if path is None else os.fspath(path)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{folder}: no such model folder")
        dtype_name = _dtype_name(dtype)
        model = _core.Model(folder, device or "", dtype_name or "", int(threads))
        return cls(model, folder, device, dtype_name, int(threads))

    def to(self, device: str) -> "SanaVideoPipeline":
        """Reloads the model on another device (diffusers' ``pipe.to("cuda")``); a no-op when already there."""
        if device != self._device_arg:
            self._model = _core.Model(self._path, device, self._dtype or "", self._threads)
            self._device_arg = device
        return self

    @property
    def device(self) -> str:
        """Where the model runs, e.g. ``"cpu, fp32"``."""
        return self._model.device

    @property
    def model_path(self) -> str:
        return self._path

    @property
    def interrupt(self) -> bool:
        """Set ``pipe._interrupt = True`` (e.g. in ``callback_on_step_end``) to stop at the next step."""
        return self._interrupt

    def set_progress_bar_config(self, **kwargs: Any) -> None:
        """As diffusers: tqdm options for the progress bar; ``disable=True`` turns it off."""
        self._progress_bar_config = dict(kwargs)

    def __repr__(self) -> str:
        return f"SanaVideoPipeline({self._path!r}, device={self.device!r})"

    def __call__(
        self,
        prompt: str | list[str] | None = None,
        negative_prompt: str | None = None,
        image: Any = None,
        height: int | None = None,
        width: int | None = None,
        num_frames: int | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        generator: Any = None,
        output_type: str = "pil",
        return_dict: bool = True,
        latents: Any = None,
        prompt_embeds: Any = None,
        prompt_attention_mask: Any = None,
        negative_prompt_embeds: Any = None,
        negative_prompt_attention_mask: Any = None,
        use_resolution_binning: bool | None = None,
        callback_on_step_end: Callable[..., Any] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        frames: int | None = None,
        num_videos_per_prompt: int = 1,
        motion_score: int | None = None,
        sampler: str | None = None,
        flow_shift: float | None = None,
        complex_human_instruction: Any = "default",
        output_path: str | os.PathLike | None = None,
        fps: int | None = None,
    ) -> SanaVideoPipelineOutput | tuple:
        """Generates one video. Arguments as diffusers' ``SanaVideoPipeline.__call__`` (``frames`` is
        accepted for ``num_frames``); None takes the model's defaults (its generation_defaults.json, else
        diffusers' 832 x 480, 81 frames, 50 steps, guidance 6).

        image: a first frame (path, PIL image, or uint8/[0, 1] float array [H, W, 3]) for image-to-video.
        generator: an int seed or a freshly seeded ``torch.Generator("cpu")`` (torch not needed for ints).
        use_resolution_binning: None = on where the model has a bucket table (480p/720p models).
        callback_on_step_end(pipe, step, timestep, callback_kwargs) runs after each step; its
        callback_kwargs is empty (tensors stay in the engine) and what it returns is ignored; setting
        ``pipe._interrupt = True`` stops the call with ``sana_video.CancelledError``.
        output_path: also write the video there (.mp4/.webm/.gif/.webp or DIR/ for PNG frames) while decoding.
        complex_human_instruction: "default" (the model's own: diffusers' for SANA-Video folders, the
        release's for SANA-Video 2.0), "diffusers", "official", or None for no instruction.
        """
        if num_videos_per_prompt != 1:
            raise ValueError("num_videos_per_prompt: the engine generates one video per call")
        if isinstance(prompt, (list, tuple)):
            if len(prompt) != 1:
                raise ValueError("one prompt per call: the engine generates one video at a time")
            prompt = prompt[0]
        if prompt is None and prompt_embeds is None:
            raise ValueError("give a prompt or prompt_embeds")
        if frames is not None and num_frames is not None and frames != num_frames:
            raise ValueError("give num_frames or frames, not both")
        if output_type not in ("np", "pil", "pt", "latent"):
            raise ValueError(f"output_type must be 'np', 'pil', 'pt' or 'latent', got {output_type!r}")
        seed = seed_from(generator)
        params: dict[str, Any] = {
            "prompt": prompt or "",
            "negative_prompt": negative_prompt,  # None: the model's own
            "height": height,
            "width": width,
            "frames": num_frames if num_frames is not None else frames,
            "steps": num_inference_steps,
            "guidance_scale": guidance_scale,
            "seed": seed,
            "motion_score": motion_score,
            "sampler": sampler,
            "shift": flow_shift,
            "chi": _chi_name(complex_human_instruction),
            "resolution_binning": -1 if use_resolution_binning is None else int(bool(use_resolution_binning)),
            "output_path": os.fspath(output_path) if output_path is not None else None,
            "fps": fps,
            **self.vae._params(),
        }
        params.update(image_input(image))
        if latents is not None:
            params["latents"] = float32_array(latents, "latents")
        if prompt_embeds is not None:
            if prompt_attention_mask is None:
                raise ValueError("prompt_embeds needs prompt_attention_mask")
            params["prompt_embeds"] = float32_array(prompt_embeds, "prompt_embeds")
            params["prompt_attention_mask"] = float32_array(prompt_attention_mask, "prompt_attention_mask")
            if negative_prompt_embeds is not None:
                if negative_prompt_attention_mask is None:
                    raise ValueError("negative_prompt_embeds needs negative_prompt_attention_mask")
                params["negative_prompt_embeds"] = float32_array(negative_prompt_embeds, "negative_prompt_embeds")
                params["negative_prompt_attention_mask"] = float32_array(
                    negative_prompt_attention_mask, "negative_prompt_attention_mask"
                )

        self._interrupt = False
        bars: list[Any] = []  # made at the first step, when the step count is known

        def on_step(step: int, total: int, timestep: float) -> None:
            if not bars:
                bars.append(self._progress_bar(total))
            if bars[0] is not None:
                bars[0].update(1)
            if callback_on_step_end is not None:
                callback_on_step_end(self, step - 1, timestep, {})

        decode = output_type != "latent"
        try:
            out = self._model.generate(
                params,
                collect_frames=decode,
                want_latents=not decode,
                on_step=on_step,
                cancel=lambda: self._interrupt,
            )
        finally:
            if bars and bars[0] is not None:
                bars[0].close()
        timings = {k: out[k] for k in ("seconds_encode", "seconds_denoise", "seconds_decode")}
        result = out["latents"] if not decode else to_output(out["frames"][None], output_type)
        if not return_dict:
            return (result,)
        return SanaVideoPipelineOutput(frames=result, seed=seed, timings=timings)

    def generate_long(
        self,
        prompt: str | PromptSchedule,
        seconds: float | None = None,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        fps: int | None = None,
        generator: Any = None,
        block_frames: int | None = None,
        window_blocks: int = 0,
        motion_score: int | None = None,
        exact_timesteps: bool = False,
        output_type: str = "np",
        output_path: str | os.PathLike | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[Any]:
        """Long video (LongSANA; a LongLive checkpoint): yields each block's frames as soon as the block is
        decoded, in order (``np``: float32 [n, H, W, 3] in [0, 1]; ``pil``: a list of images), and writes
        the whole video to output_path as it goes. prompt: one prompt, or [(start_seconds, prompt), ...]
        switching at block boundaries as the CLI's --prompt-at. The engine's memory stays flat in the
        length; closing the iterator early (or Ctrl-C) stops the engine and leaves no file."""
        if output_type not in ("np", "pil"):
            raise ValueError(f"output_type must be 'np' or 'pil', got {output_type!r}")
        params: dict[str, Any] = {
            "long_video": True,
            "seconds": seconds,
            "frames": num_frames,
            "height": height,
            "width": width,
            "fps": fps,
            "seed": seed_from(generator),
            "block_frames": block_frames,
            "window_blocks": window_blocks,
            "motion_score": motion_score,
            "exact_timesteps": exact_timesteps,
            "output_path": os.fspath(output_path) if output_path is not None else None,
        }
        if isinstance(prompt, str):
            params["prompt"] = prompt
        else:
            schedule = [(float(t), str(p)) for t, p in prompt]
            if not schedule:
                raise ValueError("the prompt schedule is empty")
            params["prompt_schedule"] = schedule
        return _LongStream(self._model, params, output_type, progress)

    def _progress_bar(self, total: int) -> Any:
        config = dict(self._progress_bar_config)
        if config.pop("disable", False):
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(total=total, **config)


class _LongRun:
    """The engine side of a generate_long iterator: a worker thread that runs the engine and hands each
    finished block over a bounded queue (two blocks), so a slow consumer holds the engine back instead of
    piling up frames. It holds no reference to the iterator, so dropping the iterator stops it."""

    DONE = object()

    def __init__(self, model: Any, params: dict[str, Any], progress: Any):
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.stop = threading.Event()
        self.pending: list[np.ndarray] = []
        self.progress = progress
        self.thread = threading.Thread(target=self.run, args=(model, params), daemon=True)
        self.thread.start()

    def put(self, item: Any) -> None:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def run(self, model: Any, params: dict[str, Any]) -> None:
        def on_frames(rgb: np.ndarray, first: int, total: int) -> None:
            self.pending.append(rgb)

        def on_progress(stage: str, step: int, total: int, elapsed: float, eta: float) -> None:
            if stage == "block" and step > 0:
                block = self.pending[0] if len(self.pending) == 1 else np.concatenate(self.pending)
                self.pending = []
                self.put(block)
                if self.progress is not None:
                    self.progress(step, total)

        try:
            model.generate(params, on_frames=on_frames, on_progress=on_progress, cancel=self.stop.is_set)
        except BaseException as e:  # handed to the consumer, unless it asked to stop
            if not self.stop.is_set():
                self.put(e)
        self.put(self.DONE)

    def close(self) -> None:
        self.stop.set()
        while self.thread.is_alive():
            try:
                self.queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self.thread.join()


class _LongStream:
    """The iterator generate_long returns (see there). Closing it, or dropping it, stops the engine."""

    def __init__(self, model: Any, params: dict[str, Any], output_type: str, progress: Any):
        self._run = _LongRun(model, params, progress)
        self._output_type = output_type
        self._finished = False
        self._finalizer = weakref.finalize(self, self._run.close)

    def __iter__(self) -> "_LongStream":
        return self

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        try:
            item = self._run.queue.get()
        except BaseException:
            self.close()
            raise
        if item is _LongRun.DONE:
            self._finished = True
            self._finalizer()
            raise StopIteration
        if isinstance(item, BaseException):
            self._finished = True
            self._finalizer()
            raise item
        return frames_to_pil(item) if self._output_type == "pil" else item

    def close(self) -> None:
        """Stops the engine at its next step; an unfinished output file is removed."""
        self._finished = True
        self._finalizer()

    def __enter__(self) -> "_LongStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _dtype_name(dtype: Any) -> str | None:
    if dtype is None:
        return None
    name = str(dtype).replace("torch.", "")
    aliases = {"float32": "fp32", "fp32": "fp32", "bfloat16": "bf16", "bf16": "bf16"}
    if name not in aliases:
        raise ValueError(f"dtype must be fp32 or bf16, got {dtype!r}")
    return aliases[name]


def _chi_name(chi: Any) -> str | None:
    if isinstance(chi, str) and chi == "default":
        return None
    if chi is None or (isinstance(chi, (list, tuple)) and not chi):
        return "none"
    if isinstance(chi, str) and chi in ("diffusers", "official", "none"):
        return chi
    raise ValueError("complex_human_instruction must be 'default', 'diffusers', 'official' or None "
                     "(custom lists are not supported)")
