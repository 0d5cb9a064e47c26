"""Pseudo-labels for distillation: a teacher model (e.g. ``dslpt_lite0_68``, flip-averaged) run over
image lists, each face cropped from the tight box of its list's own points (the benchmark
protocol), written as a new list in the data's own format under a folder of the user's choice: a
``.pts`` per face beside a symbolic link to (or a copy of) the image, so a training config reads
it as one more ``train_lists`` entry. A teacher with a per-point sigma also writes it beside the
``.pts`` (``<stem>.sigma``: one ``sx sy`` line per point, pixels), and ``max_sigma`` leaves out
faces whose mean sigma is above that fraction of the inter-ocular distance."""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..datasets.formats.pts import write_pts
from ..datasets.formats.sigma import write_sigma
from ..datasets.image_list import list_tag, read_image_list
from ..datasets.splits import split_records
from ..geometry import box_from_points
from ..pipeline.images import load_image
from ..pipeline.overwrite import OverwriteError

MANIFEST = "pseudo_labels.json"


class PseudoLabelError(ValueError):
    """Bad pseudo-labelling input (one line)."""


@dataclass(frozen=True)
class PseudoLabelled:
    """One written list: its path, faces written, faces left out (``max_sigma``) and unreadable."""

    source: str
    list_path: str
    written: int
    left_out: int
    unreadable: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PseudoLabelRun:
    """What ``pseudo_label`` did: the teacher, its options, each list written and the wall time."""

    teacher: str
    flip_test: bool
    max_sigma: float | None
    lists: list[PseudoLabelled]
    seconds: float
    split: str = "all"

    def to_dict(self) -> dict:
        return asdict(self)


def _check_out(out: Path, sources: list[Path]) -> None:
    """Refuse a folder inside (or holding) an input list's data root (the folder above the list's
    folder: ``data`` of ``data/ytf68/train.txt``), or one already used."""
    resolved = out.resolve()
    for source in sources:
        data = source.resolve().parent.parent
        if resolved.is_relative_to(data) or data.is_relative_to(resolved):
            raise PseudoLabelError(f"--out {out} overlaps the data folder {data} of {source}; write pseudo-labels "
                                   "to a folder of their own")
    if (out / MANIFEST).exists():
        raise OverwriteError(f"{out / MANIFEST} exists; refusing to replace earlier pseudo-labels (choose another "
                             "--out)")
    for source in sources:
        listed = out / f"{list_tag(source)}.txt"
        if listed.exists() or (out / list_tag(source)).exists():
            raise OverwriteError(f"{listed} exists; refusing to replace it (choose another --out)")


def _place_image(image: Path, target: Path, copy: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        shutil.copyfile(image, target)
    else:
        os.symlink(image.resolve(), target)


def pseudo_label(sources: list[str | Path], out: str | Path, teacher: str, flip_test: bool = True,
                 max_sigma: float | None = None, copy: bool = False, limit: int | None = None,
                 threads: int | None = 1, backend: str = "auto", teacher_label: str | None = None,
                 split: str = "all", val_fraction: float = 0.1,
                 progress: Callable[[int, int], None] | None = None) -> PseudoLabelRun:
    """Run registry model ``teacher`` (mirror-averaged with ``flip_test``) over every face of
    ``sources`` and write ``out/<tag>.txt`` with ``out/<tag>/<image path>`` (+ ``.pts``, ``.sigma``)
    per face, and ``out/pseudo_labels.json`` (naming the teacher ``teacher_label``, e.g. the checkpoint
    a temporary registration came from); ``split``: only each list's training or validation part, split
    as ``facepoints train`` does; ``limit``: the first faces of each list (or part) only."""
    from ..landmarker import Landmarker

    sources, out = [Path(s) for s in sources], Path(out)
    landmarker = Landmarker(teacher, detector=None, flip_test=flip_test, threads=threads, backend=backend)
    if max_sigma is not None and not max_sigma > 0:
        raise PseudoLabelError(f"max_sigma must be > 0, got {max_sigma}")
    if max_sigma is not None and "sigma" not in landmarker.capabilities.outputs:
        raise PseudoLabelError(f"max_sigma needs a teacher with a per-point sigma; {landmarker.card.name} has none")
    _check_out(out, sources)
    records = {source: split_records(read_image_list(source, landmarker.scheme.name), split, val_fraction)[:limit]
               for source in sources}
    empty = [str(source) for source, faces in records.items() if not faces]
    if empty:
        raise PseudoLabelError(f"no faces to label in {', '.join(empty)}"
                               + ("" if split == "all" else f" (its {split} part at val_fraction {val_fraction:g})"))
    left, right = landmarker.scheme.interocular
    start, written = time.perf_counter(), []
    out.mkdir(parents=True, exist_ok=True)
    total, done = sum(len(r) for r in records.values()), 0
    for source, faces in records.items():
        tag, lines, dropped, unreadable = list_tag(source), [], 0, []
        for record in faces:
            done += 1
            try:
                rgb = load_image(record.image_path)
            except ValueError as exc:
                unreadable.append(f"{record.image_path}: {exc}")
                continue
            face = landmarker.landmarks_for_boxes(rgb, box_from_points(record.landmarks)[None], refine=0)[0]
            if max_sigma is not None:
                iod = np.linalg.norm(face.landmarks[list(left)].mean(0) - face.landmarks[list(right)].mean(0))
                if float(np.mean(face.sigma)) > max_sigma * iod:
                    dropped += 1
                    continue
            relative = Path(tag) / record.image_path.relative_to(source.parent)
            _place_image(record.image_path, out / relative, copy)
            write_pts(out / relative.with_suffix(".pts"), face.landmarks)
            if face.sigma is not None:
                write_sigma(out / relative.with_suffix(".sigma"), face.sigma)
            lines.append(relative.as_posix())
            if progress:
                progress(done, total)
        (out / f"{tag}.txt").write_text("".join(f"{line}\n" for line in lines))
        written.append(PseudoLabelled(str(source), str(out / f"{tag}.txt"), len(lines), dropped, unreadable))
    run = PseudoLabelRun(teacher_label or landmarker.card.name, flip_test, max_sigma, written,
                         round(time.perf_counter() - start, 1), split)
    (out / MANIFEST).write_text(json.dumps(run.to_dict(), indent=1) + "\n")
    return run
