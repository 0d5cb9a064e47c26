"""Face detectors by name: built-ins, ones registered at run time, and plugins.

Plugins declare an entry point in the group ``facepoints.detectors`` whose name is the
detector name and whose object is a factory (a `FaceDetector` subclass or any callable
returning a detector), e.g. in a plugin's ``pyproject.toml``::

    [project.entry-points."facepoints.detectors"]
    my_cnn = "my_package.detector:MyCnnDetector"

Entry points are listed on the first registry call and imported only when that detector
is created; a broken plugin gives a warning (listing) or a `DetectorUnavailableError`
(creating), never breaks the other detectors.
"""
from __future__ import annotations

import importlib
import threading
import warnings
from importlib import metadata
from typing import Any, Callable

from .base import DetectorUnavailableError, FaceDetector

__all__ = ["ENTRY_POINT_GROUP", "register_detector", "unregister_detector", "create_detector",
           "list_detectors", "default_detector", "rescan_plugins"]

ENTRY_POINT_GROUP = "facepoints.detectors"

Factory = Callable[..., FaceDetector]

_BUILTINS: dict[str, str] = {
    "dlib_hog": "facepoints.detectors.dlib_hog:DlibHogDetector",
    "opencv_haar": "facepoints.detectors.opencv_haar:OpenCVHaarDetector",
    "blazeface": "facepoints.detectors.blazeface:BlazeFaceDetector",
    "blazeface_full": "facepoints.detectors.blazeface:full_range_detector",
}

_lock = threading.RLock()
_factories: dict[str, Factory | str] = dict(_BUILTINS)  # str = "module:attr", imported on use
_plugins: dict[str, metadata.EntryPoint] = {}  # listed, imported on first create
_loaded: dict[tuple[str, str], Factory] = {}  # (name, "module:attr") -> imported factory
_plugins_scanned = False


def _scan_plugins() -> None:
    with _lock:
        if not _plugins_scanned:
            rescan_plugins()


def rescan_plugins() -> None:
    """List the ``facepoints.detectors`` entry points again (e.g. after installing a plugin)."""
    global _plugins_scanned
    with _lock:
        _plugins_scanned = True
        _plugins.clear()
        try:
            eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
        except Exception as exc:  # noqa: BLE001 - broken metadata must not break detectors
            warnings.warn(f"could not list '{ENTRY_POINT_GROUP}' plugins: {exc}", stacklevel=2)
            return
        for ep in eps:
            if ep.name in _factories or ep.name in _plugins:
                warnings.warn(f"detector plugin {ep.value!r} ignored: the name {ep.name!r} is "
                              "already taken", stacklevel=2)
                continue
            _plugins[ep.name] = ep


def register_detector(name: str, factory: Factory, *, overwrite: bool = False) -> None:
    """Make ``create_detector(name, **kw)`` call ``factory(**kw)``.

    ``factory`` is a `FaceDetector` subclass or any callable returning a detector. A taken
    name raises ``ValueError`` unless ``overwrite=True``.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"detector name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory for {name!r} must be callable, got {type(factory).__name__}")
    _scan_plugins()
    with _lock:
        if not overwrite and (name in _factories or name in _plugins):
            raise ValueError(f"a detector named {name!r} is already registered "
                             "(pass overwrite=True to replace it)")
        _plugins.pop(name, None)
        _factories[name] = factory


def unregister_detector(name: str) -> None:
    """Forget a detector (``KeyError`` if unknown)."""
    _scan_plugins()
    with _lock:
        if name in _factories:
            del _factories[name]
        elif name in _plugins:
            del _plugins[name]
        else:
            raise KeyError(_unknown(name))


def list_detectors() -> list[str]:
    """Names of all known detectors (built-in, registered and plugins), sorted."""
    _scan_plugins()
    with _lock:
        return sorted(set(_factories) | set(_plugins))


def _unknown(name: str) -> str:
    return f"unknown detector {name!r}; known detectors: {', '.join(list_detectors())}"


def _resolve(name: str) -> Factory:
    _scan_plugins()
    with _lock:
        factory = _factories.get(name)
        ep = _plugins.get(name)
    if factory is None and ep is None:
        raise KeyError(_unknown(name))
    if isinstance(factory, str):
        module, attr = factory.split(":")
        factory = getattr(importlib.import_module(module), attr)
    elif factory is None:
        key = (name, ep.value)
        factory = _loaded.get(key)
        if factory is None:
            try:
                factory = ep.load()
            except Exception as exc:  # noqa: BLE001 - any plugin import error
                raise DetectorUnavailableError(
                    f"detector plugin {name!r} ({ep.value}) failed to load: {exc!r}") from exc
            if not callable(factory):
                raise DetectorUnavailableError(f"detector plugin {name!r} ({ep.value}) is not callable")
            _loaded[key] = factory
    return factory


def create_detector(name: str, **kwargs: Any) -> FaceDetector:
    """A new detector by name; ``kwargs`` go to its factory.

    Raises ``KeyError`` (naming the known detectors) for an unknown name, and
    `DetectorUnavailableError` when the detector's backend is missing.
    """
    detector = _resolve(name)(**kwargs)
    if not callable(getattr(detector, "detect", None)):
        raise TypeError(f"factory for detector {name!r} returned {type(detector).__name__}, "
                        "which has no detect(image) method")
    return detector


def default_detector(**kwargs: Any) -> FaceDetector:
    """BlazeFace (short range, shipped, ONNX Runtime) when it can run, else OpenCV's Haar cascade.

    dlib's HOG detector (``"dlib_hog"``) is an optional extra: ``pip install facepoints[dlib]``."""
    try:
        return create_detector("blazeface", **kwargs)
    except DetectorUnavailableError as blaze_error:
        try:
            return create_detector("opencv_haar", **kwargs)
        except DetectorUnavailableError as haar_error:
            raise DetectorUnavailableError(
                f"no face detector available: {blaze_error}; {haar_error}") from haar_error
