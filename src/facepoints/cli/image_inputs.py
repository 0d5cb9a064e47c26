"""The images a command reads: files as given, folders expanded to their images (``recursive``:
their subfolders too, hidden ones left out), glob patterns (``photos/*.jpg``, ``**`` for any
depth); each with the name its results get: its path relative to the folder (or the pattern's
fixed part) it was found under, without suffix, so equal names in different subfolders never
collide. Overlays an earlier ``facepoints detect`` wrote are never read back as images."""
from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from .detect_outputs import is_earlier_overlay

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
_MAGIC = set("*?[")


@dataclass(frozen=True)
class ImageFile:
    """One image to read, and the name (a relative POSIX path without suffix) of its results."""

    path: Path
    name: str


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def _folder_images(folder: Path, recursive: bool) -> list[Path]:
    """Image files in ``folder`` (and, when ``recursive``, in its non-hidden subfolders), sorted."""
    if not recursive:
        return sorted(p for p in folder.iterdir() if _is_image(p))
    return sorted(p for p in folder.rglob("*") if _is_image(p)
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts[:-1]))


def _name(path: Path, base: Path) -> str:
    return path.relative_to(base).with_suffix("").as_posix()


def _glob_base(pattern: str) -> Path:
    """The leading part of ``pattern`` without wildcards (names are relative to it)."""
    parts = Path(pattern).parts
    fixed = [p for p in parts[:next((i for i, p in enumerate(parts) if _MAGIC & set(p)), len(parts))]]
    return Path(*fixed) if fixed else Path(".")


def _from_folder(folder: Path, recursive: bool, base: Path) -> tuple[list[ImageFile], int]:
    images = _folder_images(folder, recursive)
    found = [p for p in images if not is_earlier_overlay(p)]
    if not found:
        besides = f" besides {len(images)} overlay(s) an earlier run wrote" if images else ""
        where = " or its subfolders" if recursive else " (--recursive also searches its subfolders)"
        raise FileNotFoundError(f"{folder}: folder holds no images{besides}{where} "
                                f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    return [ImageFile(p, _name(p, base)) for p in found], len(images) - len(found)


def _from_pattern(pattern: str, recursive: bool) -> tuple[list[ImageFile], int]:
    base = _glob_base(pattern)
    matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
    out, skipped = [], 0
    for match in matches:
        if match.is_dir():
            files, n = _from_folder(match, recursive, base)
            out, skipped = out + files, skipped + n
        elif _is_image(match):
            if is_earlier_overlay(match):
                skipped += 1
            else:
                out.append(ImageFile(match, _name(match, base)))
    if not out:
        raise FileNotFoundError(f"{pattern}: no image matches ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return out, skipped


def expand_inputs(inputs: list[Path], recursive: bool = False) -> tuple[list[ImageFile], int]:
    """The images of ``inputs`` in order, with unique result names (``_2``, ``_3``... added where
    an earlier image has the name), and how many earlier overlays were left out."""
    out: list[ImageFile] = []
    skipped = 0
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files, n = _from_folder(path, recursive, path)
        elif not path.exists() and _MAGIC & set(str(item)):
            files, n = _from_pattern(str(item), recursive)
        else:
            files, n = [ImageFile(path, path.stem)], 0
        out += files
        skipped += n
    names = unique_names([f.name for f in out])
    return [ImageFile(f.path, name) for f, name in zip(out, names)], skipped


def unique_names(names: list[str]) -> list[str]:
    """Each name, with ``_2``, ``_3``... added where an earlier one had it."""
    used: set[str] = set()
    out = []
    for stem in names:
        name, n = stem, 1
        while name in used:
            n += 1
            name = f"{stem}_{n}"
        used.add(name)
        out.append(name)
    return out
