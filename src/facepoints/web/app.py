"""The Starlette app: the page (``static/``) and the JSON API (see ``facepoints.web``)."""
from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..cli.detect_outputs import detect_record
from ..registry import DEFAULT_MODEL
from ..samples import SAMPLES
from . import uploads
from .errors import RequestError
from .pool import ModelPool

log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]


def one_line_errors(endpoint: Endpoint) -> Endpoint:
    """Any failure becomes ``{"error": "<one line>"}``: 4xx for the request's faults, 500 otherwise
    (logged); the server goes on serving."""
    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except RequestError as exc:
            return error(str(exc), exc.status)
        except HTTPException as exc:  # a malformed multipart body, from Starlette's parser
            return error(f"bad form data: {exc.detail}", exc.status_code)
        except ValueError as exc:  # a model refusing what it was asked (e.g. points for a plain model)
            return error(str(exc), 400)
        except Exception as exc:  # noqa: BLE001 - the server must keep serving
            log.exception("facepoints web: %s failed", request.url.path)
            return error(f"internal error: {type(exc).__name__}: {exc}", 500)
    return wrapped


def error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split())}, status_code=status)


def create_app(default_model: str = DEFAULT_MODEL, backend: str = "auto", threads: int | None = None) -> Starlette:
    """The app serving the page at ``/`` and the API under ``/api`` (``default_model``: the model the
    page selects first; unknown names raise ``RequestError``)."""
    pool = ModelPool(default_model, backend, threads)
    static = resources.files(__package__).joinpath("static")

    async def index(request: Request) -> Response:
        return FileResponse(str(static.joinpath("index.html")), media_type="text/html")

    @one_line_errors
    async def models(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(pool.listing))

    @one_line_errors
    async def plane(request: Request) -> Response:
        name = request.path_params["name"]
        anchors = await run_in_threadpool(pool.anchors, name)
        return JSONResponse({"model": name, "anchors": anchors.astype(float).round(5).tolist(),
                             **{k: v for k, v in pool.describe(name).items() if k in ("scheme", "groups")}})

    async def sample(request: Request) -> Response:
        path = resources.files("facepoints.samples").joinpath("assets", f"{SAMPLES[0]}.jpg")
        return Response(path.read_bytes(), media_type="image/jpeg")

    @one_line_errors
    async def detect(request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > uploads.MAX_UPLOAD_BYTES + 2**20:
            async for _ in request.stream():  # read it all, so the client gets the answer, not a reset
                pass
            raise RequestError(f"request of {int(length)} bytes is over the "
                               f"{uploads.MAX_UPLOAD_BYTES // 2**20} MB upload limit", 413)
        async with request.form(max_files=1, max_fields=8) as form:
            image = form.get("image")
            if not isinstance(image, UploadFile):
                raise RequestError("no image: send the photo as the multipart file field 'image'")
            name = uploads.upload_name(image.filename)
            data = await image.read()
            model = str(form.get("model") or pool.default)
            points_text = form.get("points")
        names, points = uploads.read_points(points_text if isinstance(points_text, str) else None)
        record = await run_in_threadpool(run_detect, pool, data, name, model, names, points)
        return JSONResponse(record)

    routes = [Route("/", index), Route("/api/models", models), Route("/api/models/{name:path}/plane", plane),
              Route("/api/sample", sample), Route("/api/detect", detect, methods=["POST"]),
              Mount("/static", StaticFiles(packages=[(__package__, "static")]), name="static")]
    async def http_error(request: Request, exc: Exception) -> Response:  # e.g. 404 for a path, 405 for a method
        return error(str(getattr(exc, "detail", exc)), getattr(exc, "status_code", 500))

    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})


def run_detect(pool: ModelPool, data: bytes, name: str, model: str, names, points) -> dict:
    """The ``facepoints detect`` record of one uploaded image (runs in a worker thread)."""
    rgb = uploads.decode_upload(data, name)
    lm = pool.landmarker(model, points)
    return detect_record(name, rgb.shape, lm.card.name, lm(rgb), names, points)
