"""The ``local`` engine: a thread pool on this machine (ONNX Runtime and OpenCV release the GIL),
one shared ``Landmarker`` with one network thread per worker, a Parquet part per chunk."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .output import write_part
from .reading import annotate_one

if TYPE_CHECKING:
    from .run import AnnotateOptions


def run_local(images: list[str], out: Path, options: AnnotateOptions, advance: Callable[[int], None]) -> list[Path]:
    from ..landmarker import Landmarker

    landmarker = Landmarker(options.model, threads=1)
    written = []
    with ThreadPoolExecutor(max_workers=options.workers) as pool:
        for start in range(0, len(images), options.part_size):
            chunk = images[start:start + options.part_size]
            rows = []
            for image_rows in pool.map(lambda image: annotate_one(landmarker, image), chunk):
                rows += image_rows
                advance(1)
            written.append(write_part(out, rows))
    return written
