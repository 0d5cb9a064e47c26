"""A real ``facepoints serve`` for the web tests: a subprocess on a free port, with a tiny random
TUFA (built here, given by ``--checkpoint``) next to the shipped models."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
TINY_TUFA = {"num_points": 68, "input_size": 64, "dim": 32, "heads": 2, "layers": 1, "mlp_ratio": 2,
             "scheme": "300w"}


def write_tiny_tufa(path: Path) -> Path:
    """A training checkpoint of a tiny random TUFA (68 iBUG points, one extra landmark set)."""
    import torch

    from facepoints.models import TUFA, TUFAConfig
    from facepoints.schemes import get_scheme

    torch.manual_seed(0)
    mean = get_scheme("ibug68").mean_shape
    network = TUFA(TUFAConfig(**TINY_TUFA), mean)
    network.add_scheme("ytf68", mean)
    with torch.no_grad():
        for offsets in network.alignment.values():
            offsets.normal_(0, 0.03)
        network.head[-1].weight.normal_(0, 0.05)
    config = {"architecture": "tufa", "model": TUFAConfig(**TINY_TUFA).to_dict(), "scheme": "ibug68",
              "crop_margin": 1.25}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": config, "model": network.state_dict()}, path)
    return path


def cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``facepoints ARGS`` in a subprocess, with this worktree's code."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-m", "facepoints.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


@dataclass
class Server:
    url: str
    checkpoint: Path
    tufa: str          # the registry name `--checkpoint` gave the tiny TUFA
    process: subprocess.Popen

    def get(self, path: str) -> tuple[int, dict]:
        return send(urllib.request.Request(self.url + path))

    def post(self, path: str, fields: dict[str, str] | None = None,
             files: dict[str, tuple[str, bytes]] | None = None) -> tuple[int, dict]:
        body, content_type = multipart(fields or {}, files or {})
        request = urllib.request.Request(self.url + path, data=body, method="POST",
                                         headers={"Content-Type": content_type})
        return send(request)


def send(request: urllib.request.Request) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    for key, (name, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def start_server(folder: Path) -> Server:
    """``facepoints serve --port 0 --checkpoint tiny.pt`` (one thread), once it prints its address."""
    checkpoint = write_tiny_tufa(folder / "tiny_tufa" / "best.pt")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen([sys.executable, "-m", "facepoints.cli.main", "serve", "--port", "0", "--threads", "1",
                                "--checkpoint", str(checkpoint)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        pytest.fail(f"facepoints serve did not start: {line}{process.stderr.read()[-3000:]}")
    url = line.split("http://", 1)[1].split("/", 1)[0]
    return Server(f"http://{url}", checkpoint, "tiny_tufa-best", process)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def web_server(tmp_path_factory):
    """One ``facepoints serve`` for the web tests."""
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    server = start_server(tmp_path_factory.mktemp("web"))
    yield server
    stop_server(server)
