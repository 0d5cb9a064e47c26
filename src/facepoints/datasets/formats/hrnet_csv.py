"""HRNet-style landmark CSVs (``face_landmarks_{300w,wflw,aflw,cofw}_*.csv`` of HRNet-Facial-Landmark-Detection).

Header ``image_name,scale,[box_size,]center_w,center_h,original_0_x,original_0_y,...``;
one face per row. HRNet's face box is the square of side ``scale * 200`` px centred
on (center_w, center_h).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from ..records import FaceRecord
from ._common import format_error, parse_floats, read_text, scheme_for_count

HRNET_BOX_UNIT = 200.0  # HRNet's ``scale`` is the face box side in units of 200 px
_META = ("image_name", "scale", "box_size", "center_w", "center_h")
_POINT_COLUMN = re.compile(r"original_(\d+)_([xy])$")


def hrnet_box(center: tuple[float, float], scale: float) -> np.ndarray:
    """The xyxy square of side ``scale * 200`` px centred on ``center``."""
    half = scale * HRNET_BOX_UNIT / 2
    cx, cy = center
    return np.asarray([cx - half, cy - half, cx + half, cy + half], dtype=np.float32)


def read_hrnet_csv(path: str | Path, images_root: str | Path | None = None, scheme: str | None = None,
                   one_based: bool = False) -> list[FaceRecord]:
    """Records for every row; image paths are relative to ``images_root`` (default: the CSV's folder).

    Convention: HRNet copies each dataset's coordinates unchanged and uses them as
    0-based pixel positions, so nothing is converted by default; pass
    ``one_based=True`` for a CSV built from 1-based ``.pts`` files (subtracts 1 from
    points and centre). ``box`` = the ``scale * 200`` px square; ``attributes`` hold
    ``scale``, ``center`` and, where the CSV has it (AFLW), ``box_size``. ``scheme``
    defaults to the shipped scheme with the row's point count.
    """
    path = Path(path)
    root = Path(images_root) if images_root is not None else path.parent
    rows = list(csv.reader(read_text(path).splitlines()))
    if not rows or not rows[0]:
        raise format_error(path, 1, "missing CSV header")
    header = [h.strip() for h in rows[0]]
    columns = _column_layout(header, path)
    shift = 1.0 if one_based else 0.0
    numeric = [name for name in columns["meta"] if name != "image_name"]
    records = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise format_error(path, line, f"{len(row)} columns, header has {len(header)}")
        values = parse_floats([row[columns["meta"][name]] for name in numeric], path, line)
        info = dict(zip(numeric, values.tolist()))
        points = parse_floats([row[i] for i in columns["points"]], path, line, "coordinate").reshape(-1, 2) - shift
        image_name = row[columns["meta"]["image_name"]].strip()
        if not image_name:
            raise format_error(path, line, "empty image_name")
        center = (info["center_w"] - shift, info["center_h"] - shift)
        attributes = {"scale": float(info["scale"]), "center": [float(center[0]), float(center[1])]}
        if "box_size" in info:
            attributes["box_size"] = float(info["box_size"])
        records.append(FaceRecord(root / image_name, points,
                                  scheme or scheme_for_count(len(points), path),
                                  box=hrnet_box(center, info["scale"]), attributes=attributes))
    return records


def _column_layout(header: list[str], path: Path) -> dict:
    """Indices of the metadata columns and of the x/y point columns (in point order)."""
    missing = [name for name in ("image_name", "scale", "center_w", "center_h") if name not in header]
    if missing:
        raise format_error(path, 1, f"header lacks {', '.join(missing)}")
    meta = {name: header.index(name) for name in _META if name in header}
    points = [i for i, name in enumerate(header) if name not in _META]
    if not points or len(points) % 2:
        raise format_error(path, 1, f"need x,y column pairs after the metadata, found {len(points)} columns")
    for k, i in enumerate(points):
        match = _POINT_COLUMN.match(header[i])
        if match and (int(match.group(1)) != k // 2 or match.group(2) != "xy"[k % 2]):
            raise format_error(path, 1, f"column {header[i]!r} out of order (expected original_{k // 2}_{'xy'[k % 2]})")
    return {"meta": meta, "points": points}
