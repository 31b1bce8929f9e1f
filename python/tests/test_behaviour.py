"""Errors, cancellation, progress and the streaming long-video iterator."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sana_video

from conftest import TOY

PROMPT = "a red circle moving left"


def test_engine_errors_are_python_exceptions(toy, tmp_path):
    with pytest.raises(ValueError, match="height 33 is not a multiple of"):
        toy(PROMPT, height=33)
    with pytest.raises(ValueError, match="unknown sampler"):
        toy(PROMPT, sampler="ddim")
    with pytest.raises(OSError, match="cannot|No such|open"):
        toy(PROMPT, output_path=tmp_path / "missing" / "dir" / "x.mp4")
    with pytest.raises(OSError):
        toy(PROMPT, image=str(tmp_path / "nope.png"))
    with pytest.raises(FileNotFoundError):
        sana_video.SanaVideoPipeline.from_pretrained(tmp_path / "no_model")
    with pytest.raises(RuntimeError, match="model_index.json"):
        sana_video.SanaVideoPipeline.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="device"):
        sana_video.SanaVideoPipeline.from_pretrained(TOY, device="tpu")
    with pytest.raises(TypeError, match="generator"):
        toy(PROMPT, generator="seed")
    with pytest.raises(ValueError, match="one prompt per call"):
        toy([PROMPT, PROMPT])
    # A failed call leaves the pipeline usable.
    assert toy(PROMPT, generator=0, output_type="latent").frames.ndim == 5


def test_interrupt_from_the_step_callback_stops_and_leaves_no_file(toy, tmp_path):
    seen = []

    def cb(pipe, step, timestep, kwargs):
        seen.append((step, timestep))
        if step == 2:
            pipe._interrupt = True
        return kwargs

    out = tmp_path / "x.mp4"
    with pytest.raises(sana_video.CancelledError):
        toy(PROMPT, generator=0, callback_on_step_end=cb, output_path=out)
    assert [s for s, _ in seen] == [0, 1, 2]
    assert seen[0][1] > seen[1][1] > seen[2][1]  # timesteps descend
    assert not out.exists() and not list(tmp_path.iterdir())
    assert toy.interrupt


def test_an_exception_in_a_callback_propagates_and_leaves_no_file(toy, tmp_path):
    def cb(pipe, step, timestep, kwargs):
        if step == 1:
            raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError, match="from the callback"):
        toy(PROMPT, generator=0, callback_on_step_end=cb, output_path=tmp_path / "x.gif")
    assert not list(tmp_path.iterdir())


def test_ctrl_c_raises_keyboard_interrupt_and_leaves_no_file(tmp_path):
    # In a child process: SIGINT arrives while the engine runs with the GIL released.
    code = f"""
import os, signal, threading, time, sana_video
pipe = sana_video.SanaVideoPipeline.from_pretrained({str(TOY)!r}, threads=2)
pipe.set_progress_bar_config(disable=True)
started = []
def cb(p, i, t, kw):
    if i == 0:
        started.append(time.monotonic())
        threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
out = {str(tmp_path / "x.mp4")!r}
try:
    pipe("a red circle", num_inference_steps=1000, callback_on_step_end=cb, output_path=out)
    print("finished")
except KeyboardInterrupt:
    print("interrupted after %.1f s" % (time.monotonic() - started[0]), os.path.exists(out), os.listdir(os.path.dirname(out)))
"""
    r = subprocess.run([os.environ.get("PYTHON", "python3") if False else __import__("sys").executable, "-c", code],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("interrupted after"), r.stdout + r.stderr
    assert r.stdout.rstrip().endswith("False []"), r.stdout
    assert float(r.stdout.split()[2]) < 5.0


def test_gil_is_released_while_the_engine_works(toy):
    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.005)

    t = threading.Thread(target=spin)
    t.start()
    try:
        start = time.monotonic()
        toy(PROMPT, generator=0, num_inference_steps=40, output_type="latent")
        end = time.monotonic()
    finally:
        stop.set()
        t.join()
    during = [x for x in ticks if start < x < end]
    # A thread holding no GIL would tick every 5 ms; with the GIL held it could not tick at all.
    assert len(during) >= 0.3 * (end - start) / 0.005, (len(during), end - start)


def test_progress_bar_and_step_callback(toy, capsys):
    pytest.importorskip("tqdm")
    toy.set_progress_bar_config(disable=False, desc="denoise")
    try:
        toy(PROMPT, generator=0, num_inference_steps=5, output_type="latent")
    finally:
        toy.set_progress_bar_config(disable=True)
    err = capsys.readouterr().err
    assert "denoise" in err and "5/5" in err


def test_generate_long_streams_blocks_in_order(cli, tiny, tmp_path):
    model = tiny.model_path
    run_cli = [cli, "generate", "-m", model, "-p", PROMPT, "--long", "-W", "64", "-H", "32", "--frames", "33",
               "--fps", "8", "--seed", "3", "--block-frames", "3", "--threads", "2", "-o", f"{tmp_path}/cli/"]
    r = subprocess.run(run_cli, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    progress = []
    blocks = []
    stream = tiny.generate_long(PROMPT, num_frames=33, height=32, width=64, fps=8, generator=3, block_frames=3,
                                output_path=tmp_path / "py.mp4", progress=lambda b, n: progress.append((b, n)))
    for block in stream:
        blocks.append(block)
        # Each block arrives before the next one is made.
        assert len(progress) <= len(blocks) + 1
    assert [b.shape[0] for b in blocks] == [9, 12, 12]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    video = np.concatenate(blocks)
    cli_frames = sorted((tmp_path / "cli").glob("*.png"))
    assert len(cli_frames) == 33
    for i, f in enumerate(cli_frames):
        assert np.array_equal(np.asarray(Image.open(f).convert("RGB")), sana_video._convert.rgb8(video[i])), i
    assert (tmp_path / "py.mp4").stat().st_size > 0


def test_generate_long_closed_early_stops_and_leaves_no_file(tiny, tmp_path):
    out = tmp_path / "long.mp4"
    stream = tiny.generate_long([(0.0, PROMPT), (1.5, "a blue square")], num_frames=33, height=32, width=64, fps=8,
                                generator=3, block_frames=3, output_path=out, output_type="pil")
    first = next(stream)
    assert len(first) == 9 and first[0].size == (64, 32)
    stream.close()
    assert not out.exists() and not list(tmp_path.iterdir())
    with pytest.raises(StopIteration):
        next(stream)


def test_generate_long_dropped_in_a_for_loop_frees_the_model(tiny, tmp_path):
    out = tmp_path / "long.mp4"
    for block in tiny.generate_long(PROMPT, num_frames=33, height=32, width=64, fps=8, generator=3, block_frames=3,
                                    output_path=out):
        break  # the iterator is dropped here: the engine stops and the model is free again
    assert tiny("a red circle", height=32, width=64, num_frames=9, num_inference_steps=2, generator=0,
                output_type="latent").frames.ndim == 5
    assert not out.exists() and not list(tmp_path.iterdir())


def test_generate_long_errors_surface_in_the_iterator(tiny):
    with pytest.raises(ValueError, match="long video mode takes prompts only|height"):
        list(tiny.generate_long(PROMPT, num_frames=33, height=33, width=64, generator=0))


def test_export_to_video_formats_and_errors(tmp_path):
    frames = np.random.default_rng(0).random((5, 16, 24, 3), dtype=np.float32)
    for name in ("a.mp4", "a.gif", "a.webp", "frames/"):
        path = sana_video.export_to_video(frames, f"{tmp_path}/{name}", fps=4)
        assert Path(path).exists()
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    assert len(pngs) == 5
    assert np.array_equal(np.asarray(Image.open(pngs[2])), sana_video._convert.rgb8(frames[2]))
    pil = [Image.fromarray(sana_video._convert.rgb8(f)) for f in frames]
    sana_video.export_to_video(pil, f"{tmp_path}/pil/", fps=4)
    assert [p.read_bytes() for p in sorted((tmp_path / "pil").glob("*.png"))] == [p.read_bytes() for p in pngs]
    with pytest.raises(OSError):
        sana_video.export_to_video(frames, str(tmp_path / "a.xyz"))
    assert not (tmp_path / "a.xyz").exists()
    with pytest.raises(ValueError):
        sana_video.export_to_video(frames[0], str(tmp_path / "b.mp4"))
    with pytest.raises(OSError, match="even width and height"):
        sana_video.export_to_video(frames[:, :15], str(tmp_path / "odd.mp4"))
    assert not (tmp_path / "odd.mp4").exists()
