"""``facepoints detect``: landmarks for images or folders -> JSON + overlay PNG per image.

Nothing it reads is written over (refused before the first write), a folder's overlays from an
earlier run are not read back as images, existing files are replaced only when an earlier run
wrote them, and an image that cannot be read is reported on one line while the others go on
(exit code 2 when any failed)."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..pipeline.overwrite import OutputGuard
from ..samples import SAMPLES, sample_image
from .common import add_checkpoint_argument, add_model_arguments, model_name, one_line, to_json
from .detect_outputs import check_replaceable, detect_record, is_earlier_overlay, output_paths
from .points_file import read_points_file
from .quiet import native_stderr_silenced

HELP = "find faces and landmarks in images or folders (writes JSON and an overlay PNG per image)"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", type=Path, help="image files and/or folders of images (without the "
                   "NAME_overlay.png an earlier run wrote beside its NAME.json)")
    p.add_argument("--sample", choices=SAMPLES, help="run on a bundled public-domain portrait "
                   "(NASA's astronaut portrait, as in scikit-image)")
    p.add_argument("--out", type=Path, default=Path("facepoints_out"),
                   help="output folder (may be an input folder; files it holds are replaced only when an "
                        "earlier run wrote them)")
    add_model_arguments(p)
    add_checkpoint_argument(p)
    p.add_argument("--detector", default="default", help="face detector name (see facepoints.detectors)")
    p.add_argument("--box", action="append", metavar="X0,Y0,X1,Y1",
                   help="explicit tight face box in pixels (repeatable); skips the detector")
    p.add_argument("--min-face-size", type=float, default=None,
                   help="smallest face side (pixels) to search for: finds small faces in large photos, slower")
    p.add_argument("--search-rotated", action="store_true",
                   help="also search copies turned by 90/180/270 degrees (upside-down faces; ~4x detector time)")
    p.add_argument("--no-overlay", action="store_true", help="write JSON only")
    p.add_argument("--stages", type=int, help="coarse-to-fine models (DSLPT): run this many stages "
                   "(fewer: faster, coarser; default: all)")
    p.add_argument("--points", type=Path, help="TUFA models: JSON list of [x, y] (or name -> [x, y]) points of "
                   "the canonical face plane to locate instead of the scheme's (see `facepoints plane`)")
    p.add_argument("--no-progress", action="store_true")


def expand_inputs(inputs: list[Path]) -> tuple[list[Path], int]:
    """Files as given; folders expanded to their images (sorted, non-recursive), without the
    overlays an earlier run wrote there (``NAME_overlay.png`` beside its ``NAME.json`` record).
    Returns the files and how many overlays were skipped."""
    out: list[Path] = []
    skipped = 0
    for path in inputs:
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir())
            found = [p for p in images if not is_earlier_overlay(p)]
            skipped += len(images) - len(found)
            if not found:
                besides = f" besides {len(images)} overlay(s) an earlier run wrote" if images else ""
                raise FileNotFoundError(f"{path}: folder holds no images{besides} "
                                        f"({', '.join(sorted(IMAGE_SUFFIXES))})")
            out += found
        else:
            out.append(path)
    return out, skipped


def unique_stems(stems: list[str]) -> list[str]:
    """Output names: each stem, with ``_2``, ``_3``... added where an earlier input had it."""
    used: set[str] = set()
    out = []
    for stem in stems:
        name, n = stem, 1
        while name in used:
            n += 1
            name = f"{stem}_{n}"
        used.add(name)
        out.append(name)
    return out


def parse_box(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise ValueError(f"--box {text!r}: expected four numbers X0,Y0,X1,Y1") from exc
    if len(values) != 4:
        raise ValueError(f"--box {text!r}: expected four numbers X0,Y0,X1,Y1")
    return values


def run(args: argparse.Namespace) -> int:
    from ..drawing import draw_faces
    from ..landmarker import Landmarker
    from ..pipeline.images import as_rgb, max_pixels

    max_pixels()  # a bad $FACEPOINTS_MAX_PIXELS is one error for the command, not one per image
    if not args.inputs and not args.sample:
        raise ValueError("give image files or folders, or --sample astronaut")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out}: is a file; --out names the folder to write results to")
    files, skipped = expand_inputs(args.inputs)
    jobs: list[tuple[str, object]] = [(args.sample, sample_image(args.sample))] if args.sample else []
    jobs += [(p.stem, p) for p in files]
    jobs = list(zip(unique_stems([stem for stem, _ in jobs]), [source for _, source in jobs]))
    guard = OutputGuard(files + [p for p in (args.points, args.checkpoint) if p])
    for stem, _ in jobs:  # every output is checked before the first one is written
        for path in output_paths(args.out, stem, not args.no_overlay):
            check_replaceable(guard.claim(path))
    boxes = [parse_box(b) for b in args.box] if args.box else None
    names, points = read_points_file(args.points) if args.points else (None, None)
    with tempfile.TemporaryDirectory(prefix="facepoints-") as tmp:  # a --checkpoint's weights, read once here
        lm = Landmarker(model_name(args, tmp), detector=args.detector, backend=args.backend, threads=args.threads,
                        stages=args.stages, points=points, min_face_size=args.min_face_size,
                        search_rotated=args.search_rotated)
    args.out.mkdir(parents=True, exist_ok=True)
    failed, summary = 0, []
    for stem, source in tqdm(jobs, desc="detecting", unit="image", disable=args.no_progress or len(jobs) < 2):
        try:  # one bad image is reported and skipped; the others are still processed
            with native_stderr_silenced():
                rgb = as_rgb(source)
            faces = lm(rgb, boxes=boxes)
            record = detect_record(str(source) if isinstance(source, Path) else f"sample:{stem}", rgb.shape,
                                   lm.card.name, faces, names, points)
            json_path, *overlay = output_paths(args.out, stem, not args.no_overlay)
            json_path.write_text(to_json(record))
            if overlay and not cv2.imwrite(str(overlay[0]), cv2.cvtColor(draw_faces(rgb, faces), cv2.COLOR_RGB2BGR)):
                raise OSError(f"{overlay[0]}: could not write the overlay PNG")
        except (ValueError, OSError, RuntimeError, MemoryError, cv2.error) as exc:
            tqdm.write(f"facepoints detect: error: {about(source, exc)}", file=sys.stderr)
            failed += 1
            continue
        summary.append(f"{record['image']}: {len(faces)} face(s)")
    for line in summary:
        print(line)
    if skipped:
        print(f"skipped {skipped} overlay(s) an earlier run wrote (NAME_overlay.png beside its NAME.json)")
    if summary:  # nothing was written when every image failed
        print(f"results in {args.out}/")
    return 2 if failed else 0


def about(source: object, exc: BaseException) -> str:
    """One line saying what went wrong with ``source``, naming it."""
    text = one_line(exc) or type(exc).__name__
    name = str(source) if isinstance(source, Path) else "sample"
    return text if name in text else f"{name}: {text}"
