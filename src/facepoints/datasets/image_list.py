"""Image lists (one relative image path per line, a ``.pts`` beside each image; a ``.sigma`` there
too, from ``facepoints pseudo-label``, becomes the record's ``attributes["sigma"]``)."""
from __future__ import annotations

from pathlib import Path

from .formats.pts import read_pts
from .formats.sigma import read_sigma
from .records import FaceRecord


def read_image_list(list_path: str | Path, scheme: str = "ibug68", root: str | Path | None = None) -> list[FaceRecord]:
    """Records for every line of ``list_path``; paths are relative to ``root`` (default: the list's folder)."""
    list_path = Path(list_path)
    if not list_path.is_file():
        raise FileNotFoundError(f"{list_path}: no such image list")
    base = Path(root) if root is not None else list_path.parent
    records = []
    for line in list_path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        image = base / line
        record = FaceRecord(image, read_pts(image.with_suffix(".pts")), scheme)
        if image.with_suffix(".sigma").is_file():
            record.attributes["sigma"] = read_sigma(image.with_suffix(".sigma"), len(record.landmarks))
        records.append(record)
    return records


def list_tag(list_path: str | Path) -> str:
    """A file-name tag for an image list: its folder and stem (``300W/train.txt`` ->
    ``300W_train``), so results of equally named lists in different folders never collide."""
    path = Path(list_path)
    return "_".join(part for part in (path.parent.name, path.stem) if part)
