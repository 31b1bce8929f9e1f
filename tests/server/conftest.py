"""A `sana-video serve` process per test module: started on a free loopback port with its own cache
directory, stopped (SIGTERM) afterwards."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(os.environ.get("SV_TEST_DATA", REPO / "tests" / "golden"))
TOY = REPO / "models" / "sana-video-toy"
TINY = GOLDEN / "pipeline" / "tiny_t2v"


def pytest_configure(config):
    # The openai client deprecates its hosted Sora endpoints; the API shape is what we serve.
    config.addinivalue_line("filterwarnings", "ignore:The Sora API:DeprecationWarning")


def cli_path() -> str:
    path = os.environ.get("SV_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("SV_CLI (the sana-video binary) is not set; CTest sets it")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, cache: Path, *args: str, model: Path = TOY):
        self.port = free_port()
        self.cache = cache
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cache.parent / f"serve_{self.port}.log"
        env = dict(os.environ)
        cmd = [cli_path(), "serve", "-m", str(model), "--port", str(self.port), "--cache-dir", str(cache),
               "--threads", "2", *args]
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "w"), stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if json.load(r)["status"] == "ok":
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {self.log.read_text()}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def server_factory(tmp_path):
    servers = []

    def make(*args: str, cache: Path | None = None, model: Path = TOY) -> Server:
        s = Server(cache or tmp_path / "cache", *args, model=model)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
