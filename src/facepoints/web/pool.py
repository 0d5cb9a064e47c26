"""The models the web page offers: one ``Landmarker`` per model, created on first use and shared by
the request threads (``Landmarker`` is thread-safe), and a few prompted ones per plane-point set."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from ..landmarker import Landmarker
from ..models.capabilities import capabilities
from ..registry import get_card, list_models
from ..schemes import get_scheme
from .errors import RequestError

#: prompted Landmarkers (one per plane-point set) kept for reuse, the least recently used dropped first
PROMPTED_KEPT = 8
T = TypeVar("T")


class ModelPool:
    """Landmarkers by model name (``default`` first in the page's list), each created once."""

    def __init__(self, default: str, backend: str = "auto", threads: int | None = None) -> None:
        self.default = default
        self.backend = backend
        self.threads = threads
        self._plain: OrderedDict[str, Landmarker] = OrderedDict()
        self._prompted: OrderedDict[tuple[str, bytes], Landmarker] = OrderedDict()
        self._anchors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # guards the caches; each value is made under its own lock
        self._making: dict[tuple, threading.Lock] = {}
        self.check(default)

    @staticmethod
    def check(name: str) -> str:
        """``name`` when it is a known model; ``RequestError`` (404) naming the known ones otherwise."""
        known = list_models()
        if name not in known:
            raise RequestError(f"unknown model {name!r}; known models: {', '.join(known)}", 404)
        return name

    def describe(self, name: str) -> dict:
        """What the page needs to know of a model: name, scheme, point groups, capabilities."""
        card = get_card(name)
        caps = capabilities(card.architecture, card.config)
        try:
            groups = {k: list(v) for k, v in get_scheme(card.scheme).groups.items()}
        except KeyError:
            groups = {}
        return {"name": name, "architecture": card.architecture, "scheme": card.scheme, "summary": card.summary,
                "groups": groups, "capabilities": {"outputs": list(caps.outputs), "takes_points": caps.takes_points,
                                                   "stages": caps.stages}}

    def listing(self) -> dict:
        """``GET /api/models``: the default model's name and every model described."""
        names = [self.default] + [n for n in list_models() if n != self.default]
        return {"default": self.default, "models": [self.describe(n) for n in names]}

    def landmarker(self, name: str, points: np.ndarray | None = None) -> Landmarker:
        """The shared ``Landmarker`` of ``name`` (prompted with ``points`` when given)."""
        self.check(name)
        if points is None:
            return self._cached(self._plain, name, lambda: Landmarker(name, backend=self.backend,
                                                                       threads=self.threads))
        key = (name, np.asarray(points, np.float32).tobytes())  # ONNX files of TUFA take the points
        return self._cached(self._prompted, key, lambda: Landmarker(name, backend=self.backend, threads=self.threads,
                                                                     points=points), keep=PROMPTED_KEPT)

    def anchors(self, name: str) -> np.ndarray:
        """(N, 2) plane anchors of a model that takes plane points; ``RequestError`` for other models."""
        self.check(name)
        card = get_card(name)
        if not capabilities(card.architecture, card.config).takes_points:
            raise RequestError(f"model {name} ({card.architecture}) takes no plane points; pick a TUFA model", 400)
        return self._cached(self._anchors, name, lambda: self.landmarker(name).plane_points())

    def _cached(self, cache: OrderedDict, key, make: Callable[[], T], keep: int | None = None) -> T:
        """``cache[key]``, made by ``make()`` once: other keys are served while it is made (a model
        loading does not hold up the others). With ``keep``, the least recently used go beyond it."""
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
            making = self._making.setdefault((id(cache), key), threading.Lock())
        with making:
            with self._lock:
                if key in cache:
                    return cache[key]
            value = make()
            with self._lock:
                cache[key] = value
                self._making.pop((id(cache), key), None)
                while keep is not None and len(cache) > keep:
                    cache.popitem(last=False)
            return value
