"""The web page (``facepoints serve``, the ``[web]`` extra): a Starlette app serving one plain
HTML/JS/CSS page from this package (no build step, nothing fetched from elsewhere) and a JSON API:

- ``GET /api/models``: each model's name, scheme, point groups and capabilities;
- ``GET /api/models/{name}/plane``: a TUFA model's plane anchors (to click new points on);
- ``GET /api/sample``: the shipped sample portrait (JPEG);
- ``POST /api/detect``: multipart ``image``, optional ``model`` and ``points`` (JSON, as
  ``detect --points`` reads) -> the record ``facepoints detect`` writes.

Bad requests get HTTP 4xx and ``{"error": "<one line>"}``. A top layer, like ``facepoints.cli``.
"""
from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
