"""The files ``facepoints detect`` writes (``NAME.json`` and ``NAME_overlay.png`` per image, or
one ``detections.FORMAT`` table), and recognising the ones an earlier run left in a folder: they
are never read back as inputs, and they are the only existing files a run replaces. Overlays
carry a PNG text chunk naming facepoints, so they are recognised without a JSON beside them."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..pipeline.overwrite import OverwriteError
from ..results import Face
from ..tables.files import is_table_file

OVERLAY_SUFFIX = "_overlay.png"
#: the table file's name without suffix (``--format jsonl|csv|parquet``)
TABLE_STEM = "detections"
#: the PNG text chunk (key, value) that marks an overlay ``facepoints detect`` wrote
OVERLAY_TAG = ("Software", "facepoints detect")
#: a detect record is a few KB per face; larger JSON beside an overlay is not ours
MAX_RECORD_BYTES = 50_000_000


def output_paths(out: Path, name: str, overlay: bool, record: bool = True) -> list[Path]:
    """The files written for one image (``name`` may hold subfolders): its JSON record (unless
    the results go to a table), then its overlay PNG (when drawn)."""
    return ([out / f"{name}.json"] if record else []) + ([out / f"{name}{OVERLAY_SUFFIX}"] if overlay else [])


def write_overlay(path: Path, rgb: np.ndarray) -> None:
    """Write an overlay PNG with the text chunk that marks it as ours."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(*OVERLAY_TAG)
    Image.fromarray(np.ascontiguousarray(rgb)).save(path, format="PNG", pnginfo=info, compress_level=1)


def is_tagged_overlay(path: Path) -> bool:
    """Whether ``path`` is a PNG with the text chunk :func:`write_overlay` writes."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.info.get(OVERLAY_TAG[0]) == OVERLAY_TAG[1]
    except (OSError, ValueError, SyntaxError):
        return False


def detect_record(image: str, shape: tuple[int, ...], model: str, faces: Sequence[Face],
                  names: list[str] | None = None, points: np.ndarray | None = None) -> dict:
    """The JSON record of one image (``NAME.json``; also ``POST /api/detect``'s answer): image name,
    width, height, model, faces, and the plane points asked for (``names`` may be ``None``)."""
    record = {"image": image, "width": int(shape[1]), "height": int(shape[0]), "model": model,
              "faces": [f.to_dict() for f in faces]}
    if points is not None:
        record["plane_points"] = {"names": names, "points": np.asarray(points).astype(float).round(5).tolist()}
    return record


def is_detect_record(path: Path) -> bool:
    """Whether ``path`` is a JSON record ``facepoints detect`` wrote (an object with "image" and "faces")."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_RECORD_BYTES:
            return False
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "image" in data and isinstance(data.get("faces"), list)


def is_earlier_overlay(path: Path) -> bool:
    """Whether ``path`` is an overlay an earlier run wrote: ``NAME_overlay.png`` beside the
    detect record ``NAME.json``, or with the text chunk that marks our overlays."""
    name = path.name
    if not name.lower().endswith(OVERLAY_SUFFIX) or len(name) == len(OVERLAY_SUFFIX):
        return False
    return is_detect_record(path.with_name(name[:-len(OVERLAY_SUFFIX)] + ".json")) or is_tagged_overlay(path)


def check_replaceable(path: Path) -> None:
    """``OverwriteError`` when ``path`` exists and is not an output of an earlier run (e.g. a
    ``NAME.json`` annotation beside an image, with ``--out`` in the image folder)."""
    if not path.exists() and not path.is_symlink():
        return
    ours = is_earlier_overlay(path) if path.name.lower().endswith(OVERLAY_SUFFIX) else is_detect_record(path)
    if not ours or path.is_symlink() or not path.is_file():
        raise OverwriteError(f"{path} exists and is not a result of facepoints detect; refusing to replace it "
                             "(choose another --out folder)")


def check_table_replaceable(path: Path) -> None:
    """``OverwriteError`` when ``path`` exists and is not empty or a table an earlier run wrote."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_file() or not is_table_file(path):
        raise OverwriteError(f"{path} exists and is not a table facepoints detect wrote; refusing to replace it "
                             "(choose another --out folder)")
