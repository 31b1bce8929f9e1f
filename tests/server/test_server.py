"""`sana-video serve` through the official openai client and plain HTTP: the videos API, jobs, limits,
restarts and long videos with live prompt changes."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest

from conftest import TINY, TOY, cli_path

PROMPT = "a red circle moving left"


def client(server, key="test-key", **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, **kw)


def http(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(server.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def post_json(server, path, obj, key="test-key"):
    return http(server, "POST", path, json.dumps(obj).encode(),
                {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})


def cli(*args: str) -> None:
    r = subprocess.run([cli_path(), *args], capture_output=True, text=True, env={})
    assert r.returncode == 0, r.stderr


def wait(c: openai.OpenAI, vid: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = c.videos.retrieve(vid)
        if v.status in ("completed", "failed"):
            return v
        time.sleep(0.05)
    raise TimeoutError(vid)


def test_openai_client_creates_polls_and_downloads_the_cli_bytes(server_factory, tmp_path):
    s = server_factory("--api-key", "test-key")
    c = client(s)
    models = c.models.list()
    assert [m.id for m in models.data] == ["sana-video-toy"]
    v = c.videos.create(prompt=PROMPT, extra_body={"seed": 5})
    assert v.status in ("queued", "in_progress") and v.id.startswith("video_")
    assert v.model == "sana-video-toy" and v.size == "32x32"
    done = c.videos.poll(v.id, poll_interval_ms=50)
    assert done.status == "completed" and done.progress == 100 and done.completed_at >= done.created_at
    assert done.model_extra["sana_video"]["negative_prompt"] is None  # none given: the model's own default
    mp4 = c.videos.download_content(v.id).read()
    thumb = c.videos.download_content(v.id, variant="thumbnail").read()
    cli("generate", "-m", str(TOY), "-p", PROMPT, "--seed", "5", "--threads", "2", "-o", str(tmp_path / "cli.mp4"))
    cli("generate", "-m", str(TOY), "-p", PROMPT, "--seed", "5", "--threads", "2", "-o", f"{tmp_path}/frames/")
    assert mp4 == (tmp_path / "cli.mp4").read_bytes()
    assert thumb == (tmp_path / "frames" / "frame_00000.png").read_bytes()
    assert v.id in [x.id for x in c.videos.list()]
    deleted = c.videos.delete(v.id)
    assert deleted.deleted and deleted.id == v.id
    with pytest.raises(openai.NotFoundError):
        c.videos.retrieve(v.id)
    assert not list((s.cache / "videos").iterdir())


def test_bad_requests_get_openai_error_objects(server_factory):
    s = server_factory("--api-key", "test-key", "--max-body-mb", "1", "--max-pixels", "4096")
    c = client(s)
    with pytest.raises(openai.AuthenticationError):
        client(s, key="wrong").videos.list()
    code, body, _ = http(s, "GET", "/v1/videos")
    assert code == 401 and json.loads(body)["error"]["code"] == "invalid_api_key"
    cases = [
        (b"{not json", 400, "invalid_json", None),
        (json.dumps({"size": "32x32"}).encode(), 400, "missing_required_parameter", "prompt"),
        (json.dumps({"prompt": "x", "size": "100000x100000"}).encode(), 400, "invalid_value", "size"),
        (json.dumps({"prompt": "x", "size": "4096x4096"}).encode(), 400, "invalid_value", "size"),
        (json.dumps({"prompt": "x", "size": "big"}).encode(), 400, "invalid_value", "size"),
        (json.dumps({"prompt": "x", "size": "36x32"}).encode(), 400, "invalid_request", None),
        (json.dumps({"prompt": "x", "seconds": "-3"}).encode(), 400, "invalid_value", "seconds"),
        (json.dumps({"prompt": "x", "seconds": "lots"}).encode(), 400, "invalid_type", "seconds"),
        (json.dumps({"prompt": "x", "num_inference_steps": 5000}).encode(), 400, "invalid_value", "num_inference_steps"),
        (json.dumps({"prompt": "x", "model": "sora-2"}).encode(), 400, "model_not_found", "model"),
        (json.dumps({"prompt": "x", "input_reference": {"image_url": "https://example.com/a.png"}}).encode(), 400,
         "invalid_value", "input_reference"),
        (json.dumps(["prompt"]).encode(), 400, "invalid_json", None),
    ]
    for raw, status, code_, param in cases:
        got, body, _ = http(s, "POST", "/v1/videos", raw, {"Content-Type": "application/json", "Authorization": "Bearer test-key"})
        err = json.loads(body)["error"]
        assert got == status, (raw, body)
        assert err["code"] == code_ and err["param"] == param and err["type"] == "invalid_request_error", (raw, err)
        assert err["message"]
    # The engine's own message names the nearest valid size.
    _, body, _ = http(s, "POST", "/v1/videos", json.dumps({"prompt": "x", "size": "36x32"}).encode(),
                      {"Content-Type": "application/json", "Authorization": "Bearer test-key"})
    assert "nearest valid" in json.loads(body)["error"]["message"]
    big = b"{" + b" " * (2 << 20) + b"}"
    got, body, _ = http(s, "POST", "/v1/videos", big, {"Content-Type": "application/json", "Authorization": "Bearer test-key"})
    assert got == 413 and json.loads(body)["error"]["code"] == "payload_too_large"
    for path in ("/v1/videos/video_0123456789abcdef01234567", "/v1/videos/../../etc/passwd", "/v1/videos/x/content"):
        got, body, _ = http(s, "GET", path, headers={"Authorization": "Bearer test-key"})
        assert got == 404, path
    with pytest.raises(openai.NotFoundError):
        c.videos.download_content("video_0123456789abcdef01234567")
    with pytest.raises(openai.BadRequestError):
        c.videos.list(limit=1000)
    # Bytes that are not UTF-8, in a path and in a form field: an error object, and the server lives on.
    got, body, _ = http(s, "GET", "/%FF%FE")
    assert got == 404 and "error" in json.loads(body)
    boundary = "svboundary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n").encode() + b"\xff\xfe bad" + \
        f"\r\n--{boundary}--\r\n".encode()
    got, body, _ = http(s, "POST", "/v1/videos", form, {"Content-Type": f"multipart/form-data; boundary={boundary}",
                                                         "Authorization": "Bearer test-key"})
    assert got == 400 and json.loads(body)["error"]["message"] == "form fields must be UTF-8 text"
    assert http(s, "GET", "/health")[0] == 200
    # Unknown fields are ignored.
    got, body, _ = post_json(s, "/v1/videos", {"prompt": "x", "quality": "hd", "something": [1, 2]})
    assert got == 200, body
    assert len(c.videos.list().data) == 1  # no rejected request made a job


def test_queue_full_and_cancel_by_delete(server_factory):
    s = server_factory("--api-key", "test-key", "--max-queue", "2", "--max-steps", "1000")
    c = client(s)
    slow = {"num_inference_steps": 300, "seed": 1}
    first = c.videos.create(prompt=PROMPT, extra_body=slow)
    deadline = time.monotonic() + 30
    while c.videos.retrieve(first.id).status != "in_progress":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    queued = [c.videos.create(prompt=PROMPT, extra_body=slow) for _ in range(2)]
    with pytest.raises(openai.RateLimitError) as e:
        c.videos.create(prompt=PROMPT, extra_body=slow)
    assert e.value.response.headers.get("retry-after") == "1"
    # Cancel the running job and one queued job: the other queued job runs next.
    t0 = time.monotonic()
    assert c.videos.delete(first.id).deleted
    assert c.videos.delete(queued[0].id).deleted
    deadline = time.monotonic() + 30
    while True:
        v = c.videos.retrieve(queued[1].id)
        if v.status == "in_progress":
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert time.monotonic() - t0 < 10  # the running job stopped at its next step
    assert c.videos.delete(queued[1].id).deleted
    ids = [x.id for x in c.videos.list().data]
    assert ids == []
    time.sleep(0.5)
    assert not [p for p in (s.cache / "videos").iterdir()]


def test_restart_keeps_finished_videos_and_fails_interrupted_ones(server_factory, tmp_path):
    cache = tmp_path / "cache"
    s = server_factory("--api-key", "test-key", "--max-steps", "1000", cache=cache)
    c = client(s)
    done = c.videos.create(prompt=PROMPT, extra_body={"seed": 2, "negative_prompt": "blurry"})
    assert wait(c, done.id).status == "completed"
    before = c.videos.download_content(done.id).read()
    running = c.videos.create(prompt=PROMPT, extra_body={"seed": 3, "num_inference_steps": 400})
    while c.videos.retrieve(running.id).status != "in_progress":
        time.sleep(0.02)
    s.stop(signal.SIGKILL)  # a crash: nothing is cleaned up
    s2 = server_factory("--api-key", "test-key", "--max-steps", "1000", cache=cache)
    c2 = client(s2)
    assert c2.videos.retrieve(done.id).status == "completed"
    assert c2.videos.retrieve(done.id).model_extra["sana_video"]["negative_prompt"] == "blurry"
    assert c2.videos.retrieve(running.id).model_extra["sana_video"]["negative_prompt"] is None
    assert c2.videos.download_content(done.id).read() == before
    failed = c2.videos.retrieve(running.id)
    assert failed.status == "failed" and failed.error.code == "server_restarted"
    # Only the finished video's files are left; the crashed job's partial output is gone.
    assert sorted(p.name for p in (cache / "videos").iterdir()) == [f"{done.id}.mp4", f"{done.id}.png"]
    # A second server on the same port, or on the same cache directory, fails without touching the jobs.
    clash = subprocess.run([cli_path(), "serve", "-m", str(TOY), "--port", str(s2.port), "--cache-dir", str(tmp_path / "other")],
                           capture_output=True, text=True, timeout=60)
    assert clash.returncode == 1 and "cannot listen" in clash.stderr
    clash = subprocess.run([cli_path(), "serve", "-m", str(TOY), "--port", "0", "--cache-dir", str(cache)],
                           capture_output=True, text=True, timeout=60)
    assert clash.returncode == 1 and "in use by another sana-video server" in clash.stderr, clash.stderr
    assert c2.videos.retrieve(done.id).status == "completed"
    # A clean stop (SIGTERM) fails the running job at once and keeps the index.
    third = c2.videos.create(prompt=PROMPT, extra_body={"seed": 4, "num_inference_steps": 400})
    while c2.videos.retrieve(third.id).status != "in_progress":
        time.sleep(0.02)
    assert s2.stop() == 0
    s3 = server_factory("--api-key", "test-key", cache=cache)
    v = client(s3).videos.retrieve(third.id)
    assert v.status == "failed" and v.error.code in ("cancelled", "server_restarted")
    assert s3.stop() == 0
    # An unreadable index is moved aside; the cached files stay for a person to look at.
    (cache / "jobs.json").write_text("{ not json")
    s4 = server_factory("--api-key", "test-key", cache=cache)
    assert client(s4).videos.list().data == []
    assert (cache / "videos" / f"{done.id}.mp4").exists()
    assert list(cache.glob("jobs.json.unreadable-*"))


def test_cache_cap_drops_the_oldest_finished_videos(server_factory):
    s = server_factory("--api-key", "test-key", "--cache-max-mb", "0.006")  # about two toy videos
    c = client(s)
    ids = []
    for seed in range(4):
        v = c.videos.create(prompt=PROMPT, extra_body={"seed": seed})
        assert wait(c, v.id).status == "completed"
        ids.append(v.id)
    kept = {v.id for v in c.videos.list().data}
    assert ids[-1] in kept and ids[0] not in kept  # the newest stays, the oldest went first
    files = list((s.cache / "videos").iterdir())
    assert sum(f.stat().st_size for f in files) <= 0.006 * 1048576 or len(kept) == 1
    assert {f.name.split(".")[0] for f in files} == kept
    with pytest.raises(openai.NotFoundError):
        c.videos.download_content(ids[0])


def test_long_video_prompt_change_and_partial_file(server_factory, tmp_path):
    s = server_factory("--api-key", "test-key", "--long", model=TINY)
    c = client(s)
    job = {"prompt": PROMPT, "size": "64x32", "num_frames": 161, "seed": 3, "block_frames": 3}
    code, body, _ = post_json(s, "/v1/videos", job)
    assert code == 200, body
    vid = json.loads(body)["id"]
    deadline = time.monotonic() + 120
    while True:
        v = json.loads(http(s, "GET", f"/v1/videos/{vid}", headers={"Authorization": "Bearer test-key"})[1])
        if v["sana_video"]["blocks_done"] >= 2:
            break
        assert v["status"] in ("queued", "in_progress") and time.monotonic() < deadline, v
        time.sleep(0.01)
    code, body, _ = post_json(s, f"/v1/videos/{vid}/prompt", {"prompt": "a blue square moving up"})
    assert code == 200, body
    # The partial file: a playable MP4 of the blocks finished so far.
    code, partial, headers = http(s, "GET", f"/v1/videos/{vid}/content", headers={"Authorization": "Bearer test-key"})
    assert code == 200 and headers.get("X-Sana-Video-Partial") == "true"
    (tmp_path / "partial.mp4").write_bytes(partial)
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames", "-of", "csv=p=0", str(tmp_path / "partial.mp4")],
                           capture_output=True, text=True)
    frames_so_far = int(probe.stdout.strip().split(",")[0])
    assert 9 <= frames_so_far < 161, probe.stdout + probe.stderr
    v = wait(c, vid)
    assert v.status == "completed", v
    changes = v.model_extra["sana_video"]["prompt_changes"]
    assert len(changes) == 1 and changes[0]["block"] >= 3 and changes[0]["prompt"] == "a blue square moving up"
    final = c.videos.download_content(vid).read()
    # The same as the CLI with that change scheduled at the block where it took effect.
    at = changes[0]["at_seconds"]
    common = ["generate", "-m", str(TINY), "--long", "-W", "64", "-H", "32", "--frames", "161", "--seed", "3",
              "--block-frames", "3", "--threads", "2", "-p", PROMPT]
    cli(*common, "--prompt-at", f"{at!r}:a blue square moving up", "-o", str(tmp_path / "cli.mp4"))
    assert final == (tmp_path / "cli.mp4").read_bytes()
    # Earlier blocks are those of the unchanged video, later ones differ.
    cli(*common, "--prompt-at", f"{at!r}:a blue square moving up", "-o", f"{tmp_path}/changed/")
    cli(*common, "-o", f"{tmp_path}/plain/")
    changed = sorted((tmp_path / "changed").iterdir())
    plain = sorted((tmp_path / "plain").iterdir())
    first_changed_frame = round(at * 8)  # fps 8 (tiny_t2v's default)
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(changed[: first_changed_frame - 1], plain))
    assert any(a.read_bytes() != b.read_bytes() for a, b in zip(changed[first_changed_frame:], plain[first_changed_frame:]))
    # Finished: no more changes.
    code, body, _ = post_json(s, f"/v1/videos/{vid}/prompt", {"prompt": "late"})
    assert code == 409


def test_many_clients_at_once_all_complete(server_factory):
    s = server_factory("--api-key", "test-key", "--max-queue", "32")
    n = 12
    ids, errors = [], []

    def submit(i):
        try:
            v = client(s).videos.create(prompt=f"a blue triangle moving up {i}", extra_body={"seed": i, "num_inference_steps": 4})
            ids.append(v.id)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == n
    c = client(s)
    for vid in ids:
        assert wait(c, vid).status == "completed"
    listed = [v.id for v in c.videos.list(limit=100).data]
    assert sorted(listed) == sorted(ids)
