"""What ``facepoints annotate INPUT`` means by INPUT: a folder (searched recursively), a glob, a
text file listing one image per line (relative to the list's folder), or one image; local paths,
or any URL fsspec reads (``s3://``, ``gs://``... with fsspec and its filesystem package installed)."""
from __future__ import annotations

import glob
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"})
LIST_SUFFIXES = frozenset({".txt", ".lst"})


class InputError(ValueError):
    """INPUT names nothing usable (no such path, an empty folder, an empty list)."""


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def _has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def expand_inputs(spec: str | Path) -> list[str]:
    """The images ``spec`` names, sorted, as strings (URLs keep their scheme)."""
    spec = str(spec)
    images = _remote(spec) if "://" in spec else _local(spec)
    if not images:
        raise InputError(f"{spec}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return images


def _local(spec: str) -> list[str]:
    if _has_magic(spec):
        return sorted(p for p in glob.glob(spec, recursive=True) if is_image_name(p) and Path(p).is_file())
    path = Path(spec)
    if path.is_dir():
        return sorted(str(p) for p in path.rglob("*") if is_image_name(p.name) and p.is_file())
    if not path.exists():
        raise InputError(f"{spec}: no such file or folder")
    if path.suffix.lower() in LIST_SUFFIXES:
        return _listed(path.read_text(errors="replace").splitlines(), path.parent)
    return [str(path)]


def _listed(lines: list[str], base: Path | str) -> list[str]:
    """A list file's entries: blank lines and ``#`` comments skipped; only the first
    whitespace-separated field is read (lists with annotations beside the path work too)."""
    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = line.split()[0]
        out.append(entry if "://" in entry or Path(entry).is_absolute() or not isinstance(base, Path)
                   else str(base / entry))
    return out


def _remote(spec: str) -> list[str]:
    try:
        import fsspec
    except ImportError:
        raise InputError(f"{spec}: reading URLs needs fsspec (pip install fsspec and the filesystem's "
                         "package, e.g. s3fs)") from None
    fs, path = fsspec.core.url_to_fs(spec)
    protocol = spec.split("://", 1)[0]

    def url(p: str) -> str:
        return p if "://" in p else f"{protocol}://{p}"

    if _has_magic(path):
        return sorted(url(p) for p in fs.glob(path) if is_image_name(p))
    if fs.isdir(path):
        return sorted(url(p) for p in fs.find(path) if is_image_name(p))
    if not fs.exists(path):
        raise InputError(f"{spec}: no such file or folder")
    if Path(path).suffix.lower() in LIST_SUFFIXES:
        with fs.open(path, "rt") as f:
            base = url(str(Path(path).parent))
            return [e if "://" in e else f"{base}/{e}" for e in _listed(f.read().splitlines(), "")]
    return [url(path)]
