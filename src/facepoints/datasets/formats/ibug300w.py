"""The official 300W splits by folder, and folders of iBUG ``.pts`` files (300W, Menpo).

300W root layout: ``afw/``, ``helen/{trainset,testset}/``, ``lfpw/{trainset,testset}/``,
``ibug/`` and, for the private test set, ``01_Indoor/`` + ``02_Outdoor/`` (directly
under the root or under ``<root>/300W/``), each image with a ``.pts`` beside it.
"""
from __future__ import annotations

from pathlib import Path

from ..records import FaceRecord
from ._common import format_error, image_beside, scheme_for_count
from .pts import read_pts

SPLITS_300W: dict[str, tuple[str, ...]] = {
    "train": ("afw", "helen/trainset", "lfpw/trainset"),
    "common": ("helen/testset", "lfpw/testset"),
    "challenging": ("ibug",),
    "private": ("01_Indoor", "02_Outdoor"),
}
SPLITS_300W["full"] = SPLITS_300W["common"] + SPLITS_300W["challenging"]


def read_pts_folder(folder: str | Path, scheme: str | None = None) -> list[FaceRecord]:
    """A record per ``*.pts`` in ``folder`` (sorted), its image the ``.jpg``/``.jpeg``/``.png`` beside it.

    Coordinates: 1-based in the files, 0-based in the records (see `read_pts`). The
    scheme defaults by point count: 68 -> ``ibug68`` (300W, Menpo frontal), 39 ->
    ``menpo39`` (Menpo profile). Raises `FileNotFoundError` for a ``.pts`` with no image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such annotation folder")
    records = []
    for pts_path in sorted(folder.glob("*.pts")):
        image = image_beside(pts_path)
        if image is None:
            raise FileNotFoundError(f"{pts_path}: no .jpg/.jpeg/.png image beside it")
        points = read_pts(pts_path)
        records.append(FaceRecord(image, points, scheme or scheme_for_count(len(points), pts_path)))
    return records


def split_folders_300w(root: str | Path, split: str) -> list[Path]:
    """The existing folders of a 300W split; `ValueError` for an unknown split,
    `FileNotFoundError` naming every missing folder."""
    if split not in SPLITS_300W:
        raise ValueError(f"unknown 300W split {split!r}; known: {', '.join(SPLITS_300W)}")
    root = Path(root)
    base = root / "300W" if split == "private" and not (root / "01_Indoor").is_dir() else root
    folders = [base / sub for sub in SPLITS_300W[split]]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise FileNotFoundError(f"300W split {split!r} needs missing folder(s): {', '.join(missing)}")
    return folders


def read_300w_split(root: str | Path, split: str) -> list[FaceRecord]:
    """Records of a 300W split (``train``, ``common``, ``challenging``, ``full``, ``private``),
    folder by folder in the order above; ``attributes["subset"]`` is the folder, e.g. ``helen/testset``."""
    records = []
    for folder, sub in zip(split_folders_300w(root, split), SPLITS_300W[split]):
        for rec in read_pts_folder(folder, scheme="ibug68"):
            if len(rec.landmarks) != 68:
                raise format_error(rec.image_path.with_suffix(".pts"), None,
                                   f"{len(rec.landmarks)} points, 300W has 68")
            rec.attributes["subset"] = sub
            records.append(rec)
    return records
