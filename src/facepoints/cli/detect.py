"""``facepoints detect``: landmarks for images, folders (``--recursive``) or glob patterns -> JSON +
overlay PNG per image, or one table (``--format jsonl|csv|parquet``), through ``Landmarker.batch``
(``--workers`` decode and detect at once; ``--batch-size`` images share a network call).

Nothing it reads is written over (refused before the first write), a folder's overlays from an
earlier run are not read back as images, existing files are replaced only when an earlier run
wrote them, and an image that cannot be read is reported on one line while the others go on
(exit code 2 when any failed)."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
from tqdm import tqdm

from ..pipeline.overwrite import OutputGuard
from ..samples import SAMPLES, sample_image
from ..tables.files import FORMATS, TableWriter
from ..tables.rows import error_rows, image_rows
from .common import (add_checkpoint_argument, add_face_search_arguments, add_model_arguments, model_name, one_line,
                     to_json)
from .detect_outputs import (TABLE_STEM, check_replaceable, check_table_replaceable, detect_record, output_paths,
                             write_overlay)
from .image_inputs import expand_inputs, unique_names
from .points_file import read_points_file
from .quiet import native_stderr_silenced

HELP = "find faces and landmarks in images or folders (writes JSON and an overlay PNG per image, or one table)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", type=Path, help="image files, folders of images and/or quoted glob "
                   "patterns ('photos/*.jpg', '**' for any depth), without the overlays an earlier run wrote")
    p.add_argument("--recursive", "-r", action="store_true", help="also read the images in subfolders of "
                   "folders (results keep their relative paths)")
    p.add_argument("--sample", choices=SAMPLES, help="run on a bundled public-domain portrait "
                   "(NASA's astronaut portrait, as in scikit-image)")
    p.add_argument("--out", type=Path, default=Path("facepoints_out"),
                   help="output folder (may be an input folder; files it holds are replaced only when an "
                        "earlier run wrote them)")
    add_model_arguments(p)
    add_checkpoint_argument(p)
    p.set_defaults(threads=1)  # measured: ONNX Runtime's default threads spin beside the workers (README)
    p.add_argument("--detector", default="default", help="face detector name (see facepoints.detectors)")
    p.add_argument("--box", action="append", metavar="X0,Y0,X1,Y1",
                   help="explicit tight face box in pixels (repeatable); skips the detector")
    add_face_search_arguments(p)
    p.add_argument("--no-overlay", action="store_true", help="write no overlay PNG")
    p.add_argument("--format", choices=("json",) + FORMATS, default="json",
                   help="json: NAME.json per image (default); jsonl, csv, parquet: one table "
                        f"{TABLE_STEM}.FORMAT with a row per face (facepoints.tables.rows)")
    p.add_argument("--workers", type=positive_int, default=2,
                   help="images decoded and searched for faces at once (default 2; they are the parallelism, so "
                        "the network runs one thread a call unless --threads says otherwise)")
    p.add_argument("--batch-size", type=positive_int, default=16,
                   help="images whose face crops share one network call (default 16)")
    p.add_argument("--stages", type=int, help="coarse-to-fine models (DSLPT): run this many stages "
                   "(fewer: faster, coarser; default: all)")
    p.add_argument("--points", type=Path, help="TUFA models: JSON list of [x, y] (or name -> [x, y]) points of "
                   "the canonical face plane to locate instead of the scheme's (see `facepoints plane`)")
    p.add_argument("--no-progress", action="store_true")


def parse_box(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise ValueError(f"--box {text!r}: expected four numbers X0,Y0,X1,Y1") from exc
    if len(values) != 4:
        raise ValueError(f"--box {text!r}: expected four numbers X0,Y0,X1,Y1")
    return values


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from ..landmarker import Landmarker
    from ..pipeline.images import max_pixels

    max_pixels()  # a bad $FACEPOINTS_MAX_PIXELS is one error for the command, not one per image
    if not args.inputs and not args.sample:
        raise ValueError("give image files, folders or glob patterns, or --sample astronaut")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out}: is a file; --out names the folder to write results to")
    files, skipped = expand_inputs(args.inputs, args.recursive)
    jobs: list[tuple[str, object]] = [(args.sample, sample_image(args.sample))] if args.sample else []
    jobs += [(f.name, f.path) for f in files]
    jobs = list(zip(unique_names([name for name, _ in jobs]), [source for _, source in jobs]))
    guard = OutputGuard([f.path for f in files] + [p for p in (args.points, args.checkpoint) if p])
    table = None if args.format == "json" else args.out / f"{TABLE_STEM}.{args.format}"
    if table is not None:
        check_table_replaceable(guard.claim(table))
    for name, _ in jobs:  # every output is checked before the first one is written
        for path in output_paths(args.out, name, not args.no_overlay, record=table is None):
            check_replaceable(guard.claim(path))
    boxes = [parse_box(b) for b in args.box] if args.box else None
    names, points = read_points_file(args.points) if args.points else (None, None)
    with tempfile.TemporaryDirectory(prefix="facepoints-") as tmp:  # a --checkpoint's weights, read once here
        lm = Landmarker(model_name(args, tmp), detector=args.detector, backend=args.backend, threads=args.threads,
                        stages=args.stages, points=points, min_face_size=args.min_face_size,
                        search_rotated=args.search_rotated)
    args.out.mkdir(parents=True, exist_ok=True)
    writer = TableWriter(table) if table is not None else None
    failed, summary = 0, []
    results = lm.batch([source for _, source in jobs], boxes=[boxes] * len(jobs), batch_size=args.batch_size,
                       workers=args.workers, keep_images=not args.no_overlay)
    try:
        with native_stderr_silenced() as stderr:  # decoders' chatter; our own lines go to `stderr`
            for (name, source), result in tqdm(zip(jobs, results), total=len(jobs), desc="detecting", unit="image",
                                               file=stderr, disable=args.no_progress or len(jobs) < 2):
                image = str(source) if isinstance(source, Path) else f"sample:{name}"
                try:  # one bad image is reported and skipped; the others are still processed
                    if result.error is not None:
                        raise ValueError(result.error)
                    write_results(args, lm, name, image, result, writer, (names, points))
                except (ValueError, OSError, RuntimeError, MemoryError, cv2.error) as exc:
                    tqdm.write(f"facepoints detect: error: {about(source, exc)}", file=stderr)
                    failed += 1
                    if writer is not None:  # the table records it too: no input is dropped silently
                        writer.write(error_rows(image, one_line(exc)))
                    continue
                summary.append(f"{image}: {len(result.faces)} face(s)")
    finally:
        if writer is not None:
            writer.close()
    for line in summary:
        print(line)
    if skipped:
        print(f"skipped {skipped} overlay(s) an earlier run wrote (NAME_overlay.png)")
    if summary:  # nothing was written when every image failed
        print(f"results in {table if table is not None else str(args.out) + '/'}")
    return 2 if failed else 0


def write_results(args: argparse.Namespace, lm, name: str, image: str, result, writer: TableWriter | None,
                  plane: tuple) -> None:
    """One image's outputs: its JSON record (or its table rows) and its overlay."""
    from ..drawing import draw_faces

    paths = output_paths(args.out, name, not args.no_overlay, record=writer is None)
    for path in paths:  # a subfolder's results keep its relative path
        path.parent.mkdir(parents=True, exist_ok=True)
    if not args.no_overlay:
        write_overlay(paths.pop(), draw_faces(result.image, result.faces))
    if writer is not None:
        writer.write(image_rows(image, result.faces))
        return
    record = detect_record(image, (result.height, result.width), lm.card.name, result.faces, *plane)
    paths[0].write_text(to_json(record))


def about(source: object, exc: BaseException) -> str:
    """One line saying what went wrong with ``source``, naming it."""
    text = one_line(exc) or type(exc).__name__
    name = str(source) if isinstance(source, Path) else "sample"
    return text if name in text else f"{name}: {text}"
