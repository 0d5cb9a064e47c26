"""WFLW annotation lists (``list_98pt_rect_attr_{train,test}.txt``).

One face per line: 196 coordinates (x0 y0 ... x97 y97), the face box
``x_min y_min x_max y_max``, six 0/1 attribute flags, then the image path relative
to ``WFLW_images``.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..records import FaceRecord
from ._common import data_lines, format_error, parse_flags, parse_floats

WFLW_ATTRIBUTES = ("pose", "expression", "illumination", "makeup", "occlusion", "blur")
_FIELDS = 196 + 4 + len(WFLW_ATTRIBUTES) + 1


def read_wflw(list_path: str | Path, images_root: str | Path | None = None) -> list[FaceRecord]:
    """Records (scheme ``wflw98``) with ``box`` and the six attribute flags as bools.

    Convention: WFLW gives float pixel coordinates that benchmarks use as 0-based;
    nothing is converted. Images are relative to ``images_root`` (default: the
    ``WFLW_images`` folder beside the list's ``WFLW_annotations`` parent, else the
    list's folder).
    """
    list_path = Path(list_path)
    root = Path(images_root) if images_root is not None else _default_root(list_path)
    records = []
    for line, text in data_lines(list_path):
        fields = text.split()
        if len(fields) != _FIELDS:
            raise format_error(list_path, line, f"{len(fields)} fields, a WFLW line has {_FIELDS}")
        numbers = parse_floats(fields[:200], list_path, line, "coordinate")
        flags = parse_flags(fields[200:206], list_path, line)
        records.append(FaceRecord(root / fields[206], numbers[:196].reshape(98, 2), "wflw98",
                                  box=numbers[196:200], attributes=dict(zip(WFLW_ATTRIBUTES, flags))))
    return records


def _default_root(list_path: Path) -> Path:
    for parent in list_path.parents[:3]:
        if (parent / "WFLW_images").is_dir():
            return parent / "WFLW_images"
    return list_path.parent


def wflw_subsets(records: Sequence[FaceRecord]) -> dict[str, list[int]]:
    """Indices of the records in each WFLW attribute subset (pose, expression, ... blur)."""
    return {name: [i for i, rec in enumerate(records) if rec.attributes.get(name)] for name in WFLW_ATTRIBUTES}
