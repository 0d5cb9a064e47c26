"""``facepoints serve``: the web page and its JSON API (``facepoints.web``; the ``[web]`` extra)."""
from __future__ import annotations

import argparse
import socket
import tempfile

from .common import add_checkpoint_argument, add_model_arguments, model_name

HELP = "serve a web page to try the models on photos (and its JSON API; needs the [web] extra)"
WEB_EXTRA = 'pip install "facepoints[web]"'


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free port, printed)")
    add_model_arguments(p)
    add_checkpoint_argument(p)


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; ``OSError`` in one line when the address is taken or bad."""
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {port}")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # from here on, connections wait for the server instead of being refused
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..web import create_app
    except ImportError as exc:
        raise ImportError(f"the web page needs {exc.name or 'starlette and uvicorn'}, which is not installed; "
                          f"install the [web] extra: {WEB_EXTRA}") from None
    with tempfile.TemporaryDirectory(prefix="facepoints-serve-") as tmp:  # a --checkpoint's weights
        app = create_app(model_name(args, tmp), backend=args.backend, threads=args.threads)
        sock = listening_socket(args.host, args.port)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"facepoints serve: http://{shown}:{port}/ (Ctrl+C to stop)", flush=True)
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    return 0
