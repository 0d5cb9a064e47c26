"""Which benchmark subsets a record belongs to (300W common/challenging, WFLW attributes, folders)."""
from __future__ import annotations

from pathlib import Path

from ..datasets.records import FaceRecord

_300W_COMMON = ("helen/testset", "lfpw/testset")
_300W_CHALLENGING = ("ibug",)


def subsets_of(record: FaceRecord, root: Path | None = None) -> list[str]:
    """Subset names: the 300W group (``300W-common``/``300W-challenging``), the record's top
    folder below ``root`` and every true attribute flag (e.g. WFLW ``occlusion``)."""
    path = record.image_path.as_posix()
    names = []
    if any(f"/{p}/" in f"/{path}" for p in _300W_COMMON):
        names.append("300W-common")
    if any(f"/{p}/" in f"/{path}" for p in _300W_CHALLENGING):
        names.append("300W-challenging")
    if root is not None:
        try:
            rel = record.image_path.resolve().relative_to(Path(root).resolve())
            if len(rel.parts) > 1:
                names.append(rel.parts[0])
        except ValueError:
            pass
    names += [k for k, v in record.attributes.items() if v is True]
    return names
