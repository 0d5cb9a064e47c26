"""``facepoints.to_dataframe``: results as a pandas DataFrame, one row per face (the
``[tables]`` extra installs pandas)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..results import Face, ImageResult
from .files import EXTRA_HINT
from .rows import COLUMNS, error_rows, image_rows


def result_rows(results: Iterable[ImageResult] | Mapping[str, list[Face]]) -> list[dict]:
    """Rows (:mod:`facepoints.tables.rows`) of ``Landmarker.batch`` results (an image that failed
    gets its ``error`` row), or of a mapping image name -> faces."""
    if isinstance(results, Mapping):
        return [row for image, faces in results.items() for row in image_rows(str(image), faces)]
    rows = []
    for result in results:
        if not isinstance(result, ImageResult):
            raise TypeError(f"expected ImageResult items (Landmarker.batch), got {type(result).__name__}")
        rows += image_rows(result.source, result.faces) if result.ok else error_rows(result.source, result.error)
    return rows


def to_dataframe(results: Iterable[ImageResult] | Mapping[str, list[Face]]):
    """A ``pandas.DataFrame`` with one row per face and the table columns (``face`` -1 and
    ``status`` ``no_face`` / ``error`` with its ``reason`` for an image without a face or that
    failed; ``box``, ``landmarks``, ``sigma`` lists). ``results``: what ``Landmarker.batch``
    yields, or a mapping image name -> list of ``Face``."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(f"to_dataframe needs pandas, which is not installed: {EXTRA_HINT}") from None
    return pd.DataFrame(result_rows(results), columns=list(COLUMNS))
