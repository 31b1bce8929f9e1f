"""The diffusers-shaped pipeline: same frames as the CLI and as diffusers, in-memory inputs and outputs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sana_video
from sana_video._convert import rgb8

from conftest import GOLDEN, TOY, read_safetensors

PROMPT = "a blue triangle moving up"


def run_cli(cli: str, *args: str) -> None:
    r = subprocess.run([cli, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def png_frames(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.png"))
    assert files, f"no frames in {folder}"
    return files


def test_same_seed_gives_the_cli_bytes(cli, toy, tmp_path):
    run_cli(cli, "generate", "-m", str(TOY), "-p", PROMPT, "--seed", "5", "--threads", "2", "-o", f"{tmp_path}/cli/")
    out = toy(PROMPT, generator=5, output_type="np")
    frames = out.frames
    assert frames.shape == (1, 17, 32, 32, 3) and frames.dtype == np.float32
    assert 0.0 <= frames.min() and frames.max() <= 1.0
    sana_video.export_to_video(frames[0], f"{tmp_path}/py/", fps=8)
    cli_files, py_files = png_frames(tmp_path / "cli"), png_frames(tmp_path / "py")
    assert [f.name for f in cli_files] == [f.name for f in py_files]
    for a, b in zip(cli_files, py_files):
        assert a.read_bytes() == b.read_bytes(), a.name
    # The PIL output is the same pixels.
    pil = toy(PROMPT, generator=5, output_type="pil").frames[0]
    assert len(pil) == 17
    for img, f in zip(pil, cli_files):
        assert np.array_equal(np.asarray(img), np.asarray(Image.open(f).convert("RGB")))


def test_writing_while_generating_matches_the_cli_mp4(cli, toy, tmp_path):
    run_cli(cli, "generate", "-m", str(TOY), "-p", PROMPT, "--seed", "9", "--threads", "2", "-o", str(tmp_path / "cli.mp4"))
    toy(PROMPT, generator=9, output_path=tmp_path / "py.mp4")
    assert (tmp_path / "py.mp4").read_bytes() == (tmp_path / "cli.mp4").read_bytes()
    # Latents handed back and the video written: the file is the same.
    lat = toy(PROMPT, generator=9, output_type="latent", output_path=tmp_path / "py2.mp4").frames
    assert lat.ndim == 5
    assert (tmp_path / "py2.mp4").read_bytes() == (tmp_path / "cli.mp4").read_bytes()


def test_toy_model_matches_the_diffusers_goldens(toy):
    cases = json.loads((GOLDEN / "toy" / "cases.json").read_text())
    assert len(cases) == 3
    for name, c in cases.items():
        ref = read_safetensors(GOLDEN / "toy" / f"{name}.safetensors")["frames"]  # uint8 [F, H, W, 3]
        out = toy(
            c["prompt"], generator=c["seed"], height=c["height"], width=c["width"], num_frames=c["frames"],
            num_inference_steps=c["steps"], guidance_scale=c["guidance_scale"], output_type="np",
        ).frames[0]
        got = rgb8(out).astype(np.float64)
        mse = np.mean((got - ref.astype(np.float64)) ** 2)
        psnr = np.inf if mse == 0 else 10 * np.log10(255.0**2 / mse)
        assert psnr >= 40.0, f"{name}: PSNR {psnr:.1f} dB"


def test_a_torch_style_generator_is_its_seed(toy):
    class Gen:  # what the engine reads off torch.Generator("cpu").manual_seed(n)
        device = "cpu"

        def initial_seed(self):
            return 11

    a = toy(PROMPT, generator=Gen(), output_type="latent").frames
    b = toy(PROMPT, generator=[11], output_type="latent").frames
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="CPU generator"):
        Gen.device = "cuda:0"
        toy(PROMPT, generator=Gen())


def test_latents_round_trip_through_the_cli(cli, toy, tmp_path):
    # Latents out equal the CLI's --output-latents, and given latents replace the seed's noise.
    run_cli(cli, "generate", "-m", str(TOY), "-p", PROMPT, "--seed", "4", "--threads", "2",
            "--output-latents", str(tmp_path / "cli.safetensors"), "-o", f"{tmp_path}/frames/")
    lat = toy(PROMPT, generator=4, output_type="latent").frames
    cli_lat = read_safetensors(tmp_path / "cli.safetensors")["latents"]
    assert lat.shape == cli_lat.shape and lat.dtype == np.float32
    assert np.array_equal(lat, cli_lat)

    noise = np.random.default_rng(0).standard_normal(lat.shape).astype(np.float32)
    a = toy(PROMPT, generator=1, latents=noise, output_type="latent").frames
    b = toy(PROMPT, generator=2, latents=noise.astype(np.float64), output_type="latent").frames
    assert np.array_equal(a, b)
    assert not np.array_equal(a, lat)
    with pytest.raises(ValueError, match="initial latents must be"):
        toy(PROMPT, latents=noise[:, :, :2])


def test_prompt_embeds_round_trip(cli, toy, tmp_path):
    run_cli(cli, "run", "text-encoder", "--model", str(TOY), "--prompt", PROMPT, "--negative", "",
            "--output", str(tmp_path / "emb.safetensors"), "--threads", "2")
    e = read_safetensors(tmp_path / "emb.safetensors")
    by_prompt = toy(PROMPT, generator=3, output_type="np").frames
    by_embeds = toy(
        prompt_embeds=e["prompt_embeds"], prompt_attention_mask=e["prompt_attention_mask"],
        negative_prompt_embeds=e["negative_prompt_embeds"],
        negative_prompt_attention_mask=e["negative_prompt_attention_mask"], generator=3, output_type="np",
    ).frames
    assert np.array_equal(by_prompt, by_embeds)
    # Without the negative pair the engine encodes negative_prompt itself.
    by_half = toy(prompt_embeds=e["prompt_embeds"], prompt_attention_mask=e["prompt_attention_mask"],
                  generator=3, output_type="np").frames
    assert np.array_equal(by_prompt, by_half)
    with pytest.raises(ValueError, match="prompt_embeds must be"):
        toy(prompt_embeds=e["prompt_embeds"][:, :, :3], prompt_attention_mask=e["prompt_attention_mask"])


def test_image_to_video_from_memory_equals_from_file(tiny, tmp_path):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(40, 70, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "first.png")
    kw = dict(height=32, width=64, num_frames=9, num_inference_steps=3, generator=2, output_type="np")
    from_file = tiny("a red circle", image=str(tmp_path / "first.png"), **kw).frames
    from_array = tiny("a red circle", image=img, **kw).frames
    from_pil = tiny("a red circle", image=Image.fromarray(img), **kw).frames
    t2v = tiny("a red circle", **kw).frames
    assert np.array_equal(from_file, from_array) and np.array_equal(from_file, from_pil)
    assert not np.array_equal(from_file, t2v)


def test_output_types(toy):
    np_frames = toy(PROMPT, generator=6, output_type="np").frames
    pil = toy(PROMPT, generator=6, output_type="pil", return_dict=False)[0]
    assert isinstance(pil, list) and len(pil) == 1 and len(pil[0]) == 17
    assert np.array_equal(np.stack([np.asarray(i) for i in pil[0]]), rgb8(np_frames[0]))
    with pytest.raises(ValueError, match="output_type"):
        toy(PROMPT, output_type="mp4")


def test_pt_output_is_the_np_frames_channels_first(toy):
    torch = pytest.importorskip("torch")
    np_frames = toy(PROMPT, generator=8, output_type="np").frames
    pt = toy(PROMPT, generator=8, output_type="pt").frames
    assert isinstance(pt, torch.Tensor) and tuple(pt.shape) == (1, 17, 3, 32, 32)
    assert np.array_equal(pt.permute(0, 1, 3, 4, 2).numpy(), np_frames)


def test_vae_tiling_on_the_720p_layout_matches_the_cli(cli, tmp_path):
    # pipe.vae.enable_tiling() is diffusers' switch; the same tiles through the CLI give the same bytes.
    folder = GOLDEN / "ltx2_pipeline" / "tiny_720"
    pipe = sana_video.SanaVideoPipeline.from_pretrained(folder, threads=2)
    kw = dict(height=128, width=128, num_frames=9, num_inference_steps=2, guidance_scale=1.0, generator=3,
              output_type="np", use_resolution_binning=False)  # the CLI's default; None = on for 720p models
    plain = pipe(PROMPT, **kw).frames
    pipe.vae.enable_tiling(tile_sample_min_height=96, tile_sample_min_width=96, tile_sample_stride_height=64,
                           tile_sample_stride_width=64)
    tiled = pipe(PROMPT, **kw).frames
    assert plain.shape == tiled.shape == (1, 9, 128, 128, 3)
    assert np.abs(plain - tiled).max() > 1e-3  # the tiles' seams are blended, not the untiled decode
    run_cli(cli, "generate", "-m", str(folder), "-p", PROMPT, "-W", "128", "-H", "128", "--frames", "9", "--steps",
            "2", "--cfg", "1", "--seed", "3", "--threads", "2", "--vae-tile", "96", "--vae-tile-stride", "64",
            "-o", f"{tmp_path}/cli/")
    sana_video.export_to_video(tiled[0], f"{tmp_path}/py/", fps=8)
    for a, b in zip(png_frames(tmp_path / "cli"), png_frames(tmp_path / "py")):
        assert a.read_bytes() == b.read_bytes(), a.name
    pipe.vae.disable_tiling()
    with pytest.raises(ValueError):
        pipe.vae.enable_tiling(tile_sample_min_height=96, tile_sample_min_width=128)


def test_sana_video2_release_converts_and_generates_as_the_reference(tmp_path):
    """The SANA-Video 2.0 path from Python: convert the release (.pth + config.yaml), put the VAE and text
    encoder beside it, generate; the final latents match the composed reference run
    (tools/reference/make_sv2_pipeline_goldens.py)."""
    folder = tmp_path / "sv2"
    g = GOLDEN.resolve()
    assert sana_video.convert_checkpoint(g / "sana_video2" / "tiny" / "model.pth", folder,
                                         config=g / "sana_video2" / "pipeline" / "config.yaml") == str(folder)
    (folder / "vae").symlink_to(g / "ltx2_vae" / "c")
    (folder / "text_encoder").symlink_to(g / "ltx2_pipeline" / "tiny_720" / "text_encoder")
    (folder / "tokenizer").symlink_to(g / "ltx2_pipeline" / "tiny_720" / "tokenizer")
    case = json.loads((g / "sana_video2" / "pipeline" / "cases.json").read_text())["t2v_dpm"]
    pipe = sana_video.SanaVideoPipeline.from_pretrained(folder)
    out = pipe(prompt=case["prompt"], negative_prompt=case["negative_prompt"], height=case["height"],
               width=case["width"], num_frames=case["frames"], num_inference_steps=case["steps"],
               guidance_scale=case["guidance_scale"], flow_shift=case["shift"], motion_score=case["motion_score"],
               generator=case["seed"], output_type="latent")
    ref = read_safetensors(g / "sana_video2" / "pipeline" / "t2v_dpm.safetensors")["latents"]
    got = np.asarray(out.frames).reshape(ref.shape)
    assert np.abs(got - ref).max() <= 1e-3 * np.abs(ref).max()
    # A hostile checkpoint is an exception, and nothing is written.
    with pytest.raises((ValueError, RuntimeError), match="posix.system"):
        sana_video.convert_checkpoint(g / "pth" / "hostile_os_system.pth", tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()
