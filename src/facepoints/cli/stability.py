"""``facepoints stability``: tracking-mode NME, jitter, detector share and speed on synthetic clips."""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path

from ..pipeline.overwrite import check_folder_writable
from .common import add_checkpoint_argument, add_model_arguments, input_guard, with_checkpoint

HELP = ("video stability benchmark: synthetic clips of still test faces (motion, noise, brightness "
        "drift, occluder) -> NME and jitter raw vs smoothed, detector share, ms per face per frame")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..datasets.synthetic_video import ClipSpec
    from ..tracking import TrackerConfig

    p.add_argument("data", type=Path, help="image list with .pts beside each image (e.g. 300W/test_common.txt)")
    p.add_argument("--clips", type=int, default=20, help="number of clips (default %(default)s)")
    p.add_argument("--frames", type=int, help=f"frames per clip (default {ClipSpec.frames}, 60 with --bands)")
    p.add_argument("--seed", type=int, default=0)
    add_model_arguments(p)
    add_checkpoint_argument(p)
    p.set_defaults(threads=1)
    p.add_argument("--detector", default="default", help="face detector name (see facepoints.detectors)")
    p.add_argument("--smoothing", default="strong", choices=["off", "light", "strong"],
                   help="smoothing preset the options below adjust (default %(default)s, the tracker's default)")
    p.add_argument("--mode", choices=["kalman", "rigid_shape", "points"],
                   help="kalman: Kalman-filtered rigid motion + One Euro shape; rigid_shape: One Euro on both; "
                   "points: One Euro per point")
    for flag, field, text in (("--measurement-noise", "measurement_noise",
                               "kalman: noise of the fitted motion, face sizes"),
                              ("--motion-noise", "motion_noise", "kalman: acceleration noise, face sizes"),
                              ("--motion-beta", "motion_beta", "kalman: acceleration noise per face size a second"),
                              ("--min-cutoff", "min_cutoff", "One Euro min cutoff of the motion (other modes), Hz"),
                              ("--beta", "beta", "One Euro speed coefficient (other modes)"),
                              ("--shape-cutoff", "shape_cutoff", "One Euro min cutoff of the face-frame shape, Hz")):
        p.add_argument(flag, type=float, dest=field, help=text)
    p.add_argument("--trust", choices=["auto", "sigma", "residual", "uniform"],
                   help="per-point trust source (see facepoints.tracking.point_trust)")
    p.add_argument("--motion-prediction", type=float, default=TrackerConfig.motion_prediction,
                   help="share of the last frame-to-frame shift added to the next ROI (0 = none)")
    p.add_argument("--bands", action="store_true", help="motion-band benchmark: still/slow/medium/fast heads on "
                   "640x480 (full-frame and small faces, mouth movement, occluders) and cuts; a table per band")
    p.add_argument("--per-band", type=int, default=6, help="clips per band with --bands (default %(default)s)")
    p.add_argument("--tune", action="store_true", help="also grid-search the One Euro parameters on these "
                   "clips (use training faces: the result sets the defaults)")
    p.add_argument("--out", type=Path, default=Path("stability"), help="folder for the JSON and the PNG")
    p.add_argument("--no-progress", action="store_true")


@with_checkpoint
def run(args: argparse.Namespace) -> int:
    from ..datasets.image_list import list_tag, read_image_list
    from ..datasets.synthetic_video import ClipSpec
    from ..drawing.stability_plot import plot_stability
    from ..evaluation.stability import per_frame_curves, stability_benchmark, tune_smoothing
    from ..landmarker import Landmarker
    from ..schemes import get_scheme
    from ..tracking import TrackerConfig
    from ..tracking.smoothing import smoothing_preset

    if args.clips < 1 or args.per_band < 1:
        raise ValueError(f"--clips and --per-band must be >= 1, got {args.clips} and {args.per_band}")
    if args.frames is not None and args.frames < 2:
        raise ValueError(f"--frames must be >= 2, got {args.frames}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    check_folder_writable(args.out, f"--out {args.out}")  # a file there, or no right to write: refused now
    records = read_image_list(args.data)
    if not records:
        raise ValueError(f"{args.data}: the list names no images")
    smoothing = replace(smoothing_preset(args.smoothing), **{k: getattr(args, k) for k in SMOOTHING_OPTIONS
                                                              if getattr(args, k) is not None})
    config = TrackerConfig(motion_prediction=args.motion_prediction, smoothing=smoothing)
    if args.bands:
        return run_bands(args, records, config)
    args.frames = args.frames or ClipSpec.frames
    lm = Landmarker(args.model, detector=args.detector, backend=args.backend, threads=args.threads)
    stem = f"{lm.card.name}_{list_tag(args.data)}_stability"
    guard = input_guard(args, records)
    for suffix in (".png", ".json"):  # refused before the benchmark runs
        guard.claim(args.out / f"{stem}{suffix}")
    report = stability_benchmark(lm, records, args.clips, ClipSpec(frames=args.frames), args.seed, config,
                                 progress=not args.no_progress)
    report.extra["model"] = lm.card.name
    report.extra["runtime"] = f"{lm.runtime.name}, {args.threads} thread(s)"
    report.extra["data"] = str(args.data)
    report.extra["command"] = command_line(args)
    print(report.table())
    if args.tune:
        best, rows = tune_smoothing(report.traces, get_scheme(report.scheme), smoothing)
        report.extra["tuning"] = {"best": asdict(best), "rows": rows}
        print(f"tuned: --mode {best.mode} --min-cutoff {best.min_cutoff:g} --beta {best.beta:g} --trust {best.trust} "
              f"--shape-cutoff {best.shape_cutoff:g} "
              f"(NME change {100 * rows[0]['nme_change']:+.2f} %, jitter ratio {100 * rows[0]['jitter_ratio']:.1f} %)")
    args.out.mkdir(parents=True, exist_ok=True)
    png = plot_stability(per_frame_curves(report.traces, get_scheme(report.scheme)), args.out / f"{stem}.png",
                         title=f"{lm.card.name}: {args.clips} synthetic clips from {args.data.name}")
    (args.out / f"{stem}.json").write_text(json.dumps(report.to_json(), indent=1, allow_nan=False))
    print(f"wrote {png} and {args.out / (stem + '.json')}")
    return 0


#: SmoothingConfig fields settable from the command line (None: the preset's value)
SMOOTHING_OPTIONS = ("mode", "measurement_noise", "motion_noise", "motion_beta", "min_cutoff", "beta",
                     "shape_cutoff", "trust")


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run (for the JSON)."""
    parts = [f"facepoints stability {args.data}", f"--seed {args.seed}", f"--model {args.model}",
             f"--smoothing {args.smoothing}", f"--motion-prediction {args.motion_prediction:g}"]
    parts.append(f"--bands --per-band {args.per_band}" if args.bands else f"--clips {args.clips}")
    if args.frames:
        parts.append(f"--frames {args.frames}")
    parts += [f"--{k.replace('_', '-')} {getattr(args, k)}" for k in SMOOTHING_OPTIONS if getattr(args, k) is not None]
    return " ".join(parts) + (" --tune" if args.tune else "")


def run_bands(args: argparse.Namespace, records: list, config) -> int:
    """``--bands``: the motion-band benchmark (:mod:`facepoints.evaluation.motion_bands`)."""
    from ..datasets.image_list import list_tag
    from ..drawing.band_plot import plot_bands
    from ..evaluation.motion_bands import band_curves, band_table, format_table, record_bands, tune_bands
    from ..evaluation.stability import _json_safe
    from ..landmarker import Landmarker
    from ..schemes import get_scheme

    lm = Landmarker(args.model, detector=args.detector, backend=args.backend, threads=args.threads)
    stem = f"{lm.card.name}_{list_tag(args.data)}_bands"
    guard = input_guard(args, records)
    for suffix in (".png", ".json", ".md"):  # refused before the benchmark runs
        guard.claim(args.out / f"{stem}{suffix}")
    scheme = get_scheme(records[0].scheme)
    recorded = record_bands(lm, records, args.per_band, args.frames or 60, seed=args.seed, config=config,
                            progress=not args.no_progress)
    table = band_table(recorded, scheme)
    text = format_table(table)
    print(text)
    out = {"command": command_line(args), "model": lm.card.name,
           "runtime": f"{lm.runtime.name}, {args.threads} thread(s)",
           "smoothing": config.smoothing.to_dict(), "bands": table, "images": recorded.images,
           "faces_skipped_undetected": recorded.skipped}
    if args.tune:
        best, rows = tune_bands(recorded, scheme, base=config.smoothing)
        out["tuning"] = {"best": best.to_dict(), "rows": rows}
        print(f"tuned: --measurement-noise {best.measurement_noise:g} --motion-noise {best.motion_noise:g} "
              f"--motion-beta {best.motion_beta:g} --shape-cutoff {best.shape_cutoff:g} (mean jitter ratio over the "
              f"motion bands {rows[0]['score']:.3f})")
    args.out.mkdir(parents=True, exist_ok=True)
    png = plot_bands(band_curves(recorded, scheme), args.out / f"{stem}.png",
                     f"{lm.card.name}, smoothing {args.smoothing}: {args.per_band} clips per band "
                     f"from {args.data.name}")
    (args.out / f"{stem}.json").write_text(json.dumps(_json_safe(out), indent=1, allow_nan=False))
    (args.out / f"{stem}.md").write_text(f"`{out['command']}`\n\n{text}\n")
    print(f"wrote {png}, {args.out / (stem + '.json')} and {args.out / (stem + '.md')}")
    return 0
