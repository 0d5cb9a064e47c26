"""The ``local`` engine: ``Landmarker.batch`` on this machine (``workers`` threads decode and
detect, the network sees many images' crops at once), a Parquet part per chunk of images."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..tables.rows import error_rows, image_rows
from .output import write_part
from .reading import read_bytes

if TYPE_CHECKING:
    from .run import AnnotateOptions


def _source(image: str) -> Path | bytes | OSError:
    """What ``Landmarker.batch`` reads for ``image``: a local path, or a URL's bytes (or why not)."""
    if "://" not in image:
        return Path(image)
    try:
        return read_bytes(image)
    except OSError as exc:
        return exc


def run_local(images: list[str], out: Path, options: AnnotateOptions, advance: Callable[[int], None]) -> list[Path]:
    from ..landmarker import Landmarker

    landmarker = Landmarker(options.model, threads=1)  # the workers are the parallelism
    written = []
    for start in range(0, len(images), options.part_size):
        chunk = images[start:start + options.part_size]
        sources = [_source(image) for image in chunk]
        readable = [s for s in sources if not isinstance(s, OSError)]
        results = iter(landmarker.batch(readable, batch_size=options.batch_size, workers=options.workers))
        rows = []
        for image, source in zip(chunk, sources):
            if isinstance(source, OSError):
                rows += error_rows(image, f"{image}: {source}")
            else:
                result = next(results)
                rows += error_rows(image, result.error) if result.error else image_rows(image, result.faces)
            advance(1)
        written.append(write_part(out, rows))
    return written
