"""CelebA landmark lists and MAFL image lists.

``list_landmarks_celeba.txt`` / ``list_landmarks_align_celeba.txt``: first line the
face count, second the header (``lefteye_x lefteye_y ... rightmouth_y``), then
``name x1 y1 ... x5 y5``. MAFL's ``training.txt`` / ``testing.txt`` list image names.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ..records import FaceRecord
from ._common import data_lines, format_error, parse_floats

CELEBA_COLUMNS = ("lefteye", "righteye", "nose", "leftmouth", "rightmouth")


def read_celeba_landmarks(path: str | Path, images_root: str | Path | None = None,
                          names: Iterable[str] | None = None) -> list[FaceRecord]:
    """Records (scheme ``celeba5``), in file order, optionally only the images in ``names``.

    Convention: integer pixel coordinates of the (aligned or in-the-wild) image,
    used as 0-based; nothing is converted. ``images_root`` defaults to the list's folder.
    """
    path = Path(path)
    root = Path(images_root) if images_root is not None else path.parent
    wanted = set(names) if names is not None else None
    lines = list(data_lines(path))
    if len(lines) < 2:
        raise format_error(path, 1, "need a count line and a header line")
    count_line, count_text = lines[0]
    if not count_text.isdigit():
        raise format_error(path, count_line, f"first line must be the face count, got {count_text!r}")
    header_line, header = lines[1]
    expected = [f"{name}_{axis}" for name in CELEBA_COLUMNS for axis in "xy"]
    if header.split() != expected:
        raise format_error(path, header_line, f"header must be {' '.join(expected)}")
    records = []
    for line, text in lines[2:]:
        fields = text.split()
        if len(fields) != 11:
            raise format_error(path, line, f"{len(fields)} fields, expected an image name and 10 coordinates")
        if wanted is None or fields[0] in wanted:
            points = parse_floats(fields[1:], path, line, "coordinate").reshape(5, 2)
            records.append(FaceRecord(root / fields[0], points, "celeba5"))
    if len(lines) - 2 != int(count_text):
        raise format_error(path, count_line, f"says {count_text} faces, file has {len(lines) - 2}")
    return records


def read_mafl_list(path: str | Path) -> list[str]:
    """Image names of a MAFL list (``training.txt`` / ``testing.txt``), one per line."""
    names = []
    for line, text in data_lines(path):
        if len(text.split()) != 1:
            raise format_error(path, line, f"expected one image name, got {text!r}")
        names.append(text)
    return names


def select_records(records: Sequence[FaceRecord], names: Iterable[str]) -> list[FaceRecord]:
    """The records whose image file name is in ``names``, in the order of ``names``."""
    names = list(names)
    by_name = {rec.image_path.name: rec for rec in records}
    missing = [n for n in names if Path(n).name not in by_name]
    if missing:
        raise KeyError(f"{len(missing)} names not in the records, e.g. {missing[0]!r}")
    return [by_name[Path(n).name] for n in names]
