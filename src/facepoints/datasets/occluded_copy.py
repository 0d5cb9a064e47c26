"""Occluded copies of image lists, for evaluation: ``write_occluded_copy`` paints one occluder
(``datasets.occlusion.occlude``) per face and writes the copy in the same layout (image + ``.pts``
per face, the list file, and ``occlusion.json`` with each image's occluder kind and per-point
flags), which ``read_occlusion_flags`` and ``read_occlusion_kinds`` read back. Image ``i`` uses
the generator seeded with ``(seed, i)``, so a copy is reproducible.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from ..pipeline.images import load_image
from .formats.pts import write_pts
from .image_list import read_image_list
from .occlusion import OccluderConfig, OcclusionResult, occlude
from .records import FaceRecord

SIDECAR = "occlusion.json"


def occlude_records(records: Iterable[FaceRecord], seed: int = 0, config: OccluderConfig | None = None,
                    donors: Sequence[np.ndarray] = ()) -> Iterator[tuple[FaceRecord, OcclusionResult]]:
    """Yield ``(record, result)`` for each record; image ``i`` uses the generator seeded with
    ``(seed, i)``, so a result does not depend on the others."""
    for i, record in enumerate(records):
        rng = np.random.default_rng([seed, i])
        yield record, occlude(load_image(record.image_path), record.landmarks, rng, config, donors)


def write_occluded_copy(list_path: str | Path, out_dir: str | Path, seed: int = 0,
                        config: OccluderConfig | None = None, root: str | Path | None = None,
                        progress: Callable[[Iterable], Iterable] | None = None,
                        select: Callable[[list[FaceRecord]], list[FaceRecord]] | None = None) -> Path:
    """Write an occluded copy of an iBUG-68 image list to ``out_dir``: each image (same relative
    path and format) with its ``.pts``, a list file of the same name, and ``occlusion.json``
    (seed, config and per image its kind and per-point flags). ``root`` is the images' base
    folder as in ``read_image_list``; ``progress`` may wrap the iteration (e.g. ``tqdm``);
    ``select`` keeps only the records it returns (e.g. a validation split).
    Returns the new list's path (its entries are relative to ``out_dir``)."""
    list_path, out_dir = Path(list_path), Path(out_dir)
    base = Path(root) if root is not None else list_path.parent
    records = read_image_list(list_path, "ibug68", base)
    if select is not None:
        records = select(records)
    src_root, out_root = base.resolve(), out_dir.resolve()
    if out_root == src_root:
        raise ValueError(f"{out_dir}: the occluded copy would overwrite the source images")
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = {}
    pairs = occlude_records(records, seed, config)
    for record, result in progress(pairs) if progress else pairs:
        line = record.image_path.relative_to(base).as_posix()
        target = (out_root / line).resolve()
        if not target.is_relative_to(out_root) or target == record.image_path.resolve():
            raise ValueError(f"{line}: image path leaves the output folder {out_dir} or is the source")
        target.parent.mkdir(parents=True, exist_ok=True)
        params = [cv2.IMWRITE_JPEG_QUALITY, 95] if target.suffix.lower() in (".jpg", ".jpeg") else []
        if not cv2.imwrite(str(target), cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR), params):
            raise OSError(f"{target}: could not write image")
        write_pts(target.with_suffix(".pts"), record.landmarks)
        entries[line] = {"kind": result.kind, "occluded": "".join("1" if f else "0" for f in result.occluded),
                         **result.details}
    sidecar = {"source": str(list_path), "seed": seed, "scheme": "ibug68",
               "config": asdict(config or OccluderConfig()), "images": entries}
    (out_dir / SIDECAR).write_text(json.dumps(sidecar, indent=1) + "\n")
    new_list = out_dir / list_path.name
    new_list.write_text("\n".join(entries) + "\n")
    return new_list


def _read_sidecar(out_dir: str | Path) -> dict:
    path = Path(out_dir) / SIDECAR
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no occlusion sidecar (write one with write_occluded_copy)")
    return json.loads(path.read_text())["images"]


def read_occlusion_flags(out_dir: str | Path) -> dict[str, np.ndarray]:
    """(N,) bool occlusion flags per image of an occluded copy, keyed by the image's path
    relative to ``out_dir`` as written in its list (the bare file name for a flat list)."""
    return {name: np.array([c == "1" for c in e["occluded"]], bool) for name, e in _read_sidecar(out_dir).items()}


def read_occlusion_kinds(out_dir: str | Path) -> dict[str, str]:
    """The occluder kind of each image of an occluded copy, keyed as ``read_occlusion_flags``."""
    return {name: e["kind"] for name, e in _read_sidecar(out_dir).items()}
