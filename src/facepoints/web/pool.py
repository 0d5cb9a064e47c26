"""The models the web page offers: one ``Landmarker`` per model, created on first use and shared by
the request threads (``Landmarker`` is thread-safe), and a few prompted ones per plane-point set."""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ..landmarker import Landmarker
from ..models.capabilities import capabilities
from ..registry import get_card, list_models
from ..schemes import get_scheme
from .errors import RequestError

#: prompted Landmarkers (one per plane-point set) kept for reuse, most recent first out last
PROMPTED_KEPT = 8


class ModelPool:
    """Landmarkers by model name (``default`` first in the page's list), created under a lock."""

    def __init__(self, default: str, backend: str = "auto", threads: int | None = None) -> None:
        self.default = default
        self.backend = backend
        self.threads = threads
        self._plain: dict[str, Landmarker] = {}
        self._prompted: OrderedDict[tuple[str, bytes], Landmarker] = OrderedDict()
        self._anchors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
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
        with self._lock:
            if points is None:
                if name not in self._plain:
                    self._plain[name] = Landmarker(name, backend=self.backend, threads=self.threads)
                return self._plain[name]
            key = (name, np.asarray(points, np.float32).tobytes())
            if key not in self._prompted:
                backend = "auto" if self.backend == "onnx" else self.backend
                self._prompted[key] = Landmarker(name, backend=backend, threads=self.threads, points=points)
                while len(self._prompted) > PROMPTED_KEPT:
                    self._prompted.popitem(last=False)
            self._prompted.move_to_end(key)
            return self._prompted[key]

    def anchors(self, name: str) -> np.ndarray:
        """(N, 2) plane anchors of a model that takes plane points; ``RequestError`` for other models."""
        self.check(name)
        card = get_card(name)
        if not capabilities(card.architecture, card.config).takes_points:
            raise RequestError(f"model {name} ({card.architecture}) takes no plane points; pick a TUFA model", 400)
        lm = self.landmarker(name)
        with self._lock:
            if name not in self._anchors:
                self._anchors[name] = lm.plane_points()
            return self._anchors[name]
