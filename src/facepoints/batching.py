"""Many images through one ``Landmarker``: ``Landmarker.batch`` (see :func:`batch_results`).

Images go in chunks of ``batch_size``, one thread per image, so each image follows exactly the
single-image path (``Landmarker.__call__``); two chunks are in flight, so the next chunk is
decoded and searched while the current one finishes. Decoding and face detection run
``workers`` at a time, each worker with its own detector instance (a detector runs one call at
a time per instance); the network calls of a chunk's images are gathered into calls of up to
``batch_size`` crops (:class:`facepoints.pipeline.gather.Gatherer`). OpenCV and ONNX Runtime
release the GIL while they compute, so threads use every core. The workers' detectors run one ONNX
Runtime thread each.
"""
from __future__ import annotations

import copy
import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .detectors import Detection, FaceDetector, create_detector
from .pipeline.gather import Gatherer
from .pipeline.images import as_rgb
from .results import ImageResult

if TYPE_CHECKING:
    from .landmarker import Landmarker

#: errors that make one image's result carry ``error`` instead of stopping the batch
IMAGE_ERRORS = (ValueError, OSError, RuntimeError, MemoryError, cv2.error)


class DetectorPool:
    """Up to ``size`` instances of a detector, each lent to one call at a time; ``make`` creates
    the others on demand (``None``: one shared instance). Other attributes are the first's."""

    def __init__(self, first: FaceDetector, make: Callable[[], FaceDetector] | None, size: int) -> None:
        self.first = first
        self._make = make
        self._size = max(1, int(size)) if make is not None else 1
        self._made = 1
        self._free: queue.Queue = queue.Queue()
        self._free.put(first)
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[Detection]:
        detector = self._take()
        try:
            return detector.detect(image)
        finally:
            self._free.put(detector)

    def _take(self) -> FaceDetector:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._made < self._size
            self._made += grow
        return self._make() if grow else self._free.get()

    def __getattr__(self, name: str):
        return getattr(self.first, name)


def _worker_detector(lm: Landmarker) -> FaceDetector:
    """A new instance of ``lm``'s detector (by its name, with ``lm``'s ``min_face_size``), with one
    ONNX Runtime thread where the detector takes ``threads``: the workers are the parallelism,
    and idle runtime threads spinning beside them would only take cores from them."""
    name = lm.detector.name
    options = {} if lm.min_face_size is None else {"min_face_size": lm.min_face_size}
    try:
        return create_detector(name, **options, threads=1)
    except TypeError:  # a detector without a threads option
        return create_detector(name, **options)


def _source_name(image: object) -> str:
    if isinstance(image, np.ndarray):
        return "<array>"
    if isinstance(image, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return str(image) if isinstance(image, str) or hasattr(image, "__fspath__") else "<PIL image>"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class _Batch:
    """One ``batch`` call: the worker limits, the detector pool and the per-chunk views."""

    def __init__(self, lm: Landmarker, batch_size: int, workers: int, color_order: str, keep_images: bool) -> None:
        self.lm = lm
        self.batch_size = batch_size
        self.color_order = color_order
        self.keep_images = keep_images
        self.decode_slots = threading.Semaphore(workers)
        self.pool: DetectorPool | None = None
        if lm._detector_arg is not None:
            first = lm.detector  # created (and calibrated) once, as a single call would
            if isinstance(lm._detector_arg, FaceDetector):  # the caller's instance: shared, one call at a time
                self.pool = DetectorPool(first, None, 1)
            else:
                self.pool = DetectorPool(_worker_detector(lm), lambda: _worker_detector(lm), workers)

    def view(self, gatherer: Gatherer) -> Landmarker:
        """``lm`` with its network calls gathered and its detector pooled (for one chunk)."""
        view = copy.copy(self.lm)
        view.runtime = gatherer.wrap(self.lm.runtime)
        view._box_runtime = view.runtime if self.lm._box_runtime is self.lm.runtime \
            else gatherer.wrap(self.lm._box_runtime)
        if self.pool is not None:
            view._detector = self.pool
        return view

    def one(self, view: Landmarker, gatherer: Gatherer, index: int, image: object, boxes) -> ImageResult:
        """The result for one image (an error on it becomes the result's ``error``)."""
        name = _source_name(image)
        try:
            with self.decode_slots:
                rgb = as_rgb(image, self.color_order)
            faces = view(rgb, boxes=boxes)
            return ImageResult(index, name, faces, rgb.shape[1], rgb.shape[0],
                               image=rgb if self.keep_images else None)
        except IMAGE_ERRORS as exc:
            text = _one_line(exc)
            return ImageResult(index, name, [], error=text if name in text or name.startswith("<")
                               else f"{name}: {text}")
        finally:
            gatherer.leave()

    def chunk(self, executor: ThreadPoolExecutor, items: list[tuple[int, tuple]]) -> list[Future]:
        if not items:
            return []
        gatherer = Gatherer(len(items), max_batch=self.batch_size)
        view = self.view(gatherer)
        return [executor.submit(self.one, view, gatherer, i, image, boxes) for i, (image, boxes) in items]


def batch_results(lm: Landmarker, images: Iterable, boxes: Iterable | None = None, batch_size: int = 16,
                  workers: int = 2, color_order: str = "RGB", keep_images: bool = False) -> Iterator[ImageResult]:
    """:class:`ImageResult` per image of ``images``, in input order (see ``Landmarker.batch``)."""
    for label, value in (("batch_size", batch_size), ("workers", workers)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{label} must be a whole number >= 1, got {value!r}")
    if color_order not in ("RGB", "BGR"):
        raise ValueError(f"color_order must be 'RGB' or 'BGR', got {color_order!r}")
    run = _Batch(lm, int(batch_size), int(workers), color_order, keep_images)
    pairs = zip(images, itertools.repeat(None)) if boxes is None else zip(images, boxes, strict=True)
    items = enumerate(pairs)
    # every submitted image gets a thread at once (two chunks in flight): a gatherer waits for all
    # its members, so none may sit in the executor's queue
    with ThreadPoolExecutor(max_workers=2 * run.batch_size, thread_name_prefix="facepoints-batch") as executor:
        current = run.chunk(executor, list(itertools.islice(items, run.batch_size)))
        while current:
            ahead = run.chunk(executor, list(itertools.islice(items, run.batch_size)))
            for future in current:
                yield future.result()
            current = ahead
