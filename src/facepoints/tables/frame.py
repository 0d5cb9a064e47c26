"""``facepoints.to_dataframe``: results as a pandas DataFrame, one row per face (the
``[tables]`` extra installs pandas)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..results import Face, ImageResult
from .files import EXTRA_HINT
from .rows import COLUMNS, image_rows


def result_rows(results: Iterable[ImageResult] | Mapping[str, list[Face]]) -> list[dict]:
    """Rows (:mod:`facepoints.tables.rows`) of ``Landmarker.batch`` results (those with an
    ``error`` give none), or of a mapping image name -> faces (width and height then ``None``)."""
    if isinstance(results, Mapping):
        return [row for image, faces in results.items() for row in image_rows(image, None, None, faces)]
    rows = []
    for result in results:
        if not isinstance(result, ImageResult):
            raise TypeError(f"expected ImageResult items (Landmarker.batch), got {type(result).__name__}")
        if result.ok:
            rows += image_rows(result.source, result.width, result.height, result.faces)
    return rows


def to_dataframe(results: Iterable[ImageResult] | Mapping[str, list[Face]]):
    """A ``pandas.DataFrame`` with one row per face and the table columns (``face`` is a nullable
    integer, empty for an image without a face; ``box``, ``landmarks``, ``sigma`` lists and
    ``pose`` a dict, as in the JSON). ``results``: what ``Landmarker.batch`` yields (images that
    failed are left out), or a mapping image name -> list of ``Face``."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(f"to_dataframe needs pandas, which is not installed: {EXTRA_HINT}") from None
    frame = pd.DataFrame(result_rows(results), columns=list(COLUMNS))
    return frame.astype({"face": "Int64", "width": "Int64", "height": "Int64"})
