"""``facepoints stability``: tracking-mode NME, jitter, detector share and speed on synthetic clips."""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path

from .common import add_model_arguments, input_guard

HELP = ("video stability benchmark: synthetic clips of still test faces (motion, noise, brightness "
        "drift, occluder) -> NME and jitter raw vs smoothed, detector share, ms per face per frame")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..datasets.synthetic_video import ClipSpec
    from ..tracking import SmoothingConfig, TrackerConfig

    p.add_argument("data", type=Path, help="image list with .pts beside each image (e.g. 300W/test_common.txt)")
    p.add_argument("--clips", type=int, default=20, help="number of clips (default %(default)s)")
    p.add_argument("--frames", type=int, default=ClipSpec.frames, help="frames per clip (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    add_model_arguments(p)
    p.set_defaults(threads=1)
    p.add_argument("--detector", default="default", help="face detector name (see facepoints.detectors)")
    p.add_argument("--min-cutoff", type=float, default=SmoothingConfig.min_cutoff, help="One Euro min cutoff, Hz")
    p.add_argument("--beta", type=float, default=SmoothingConfig.beta, help="One Euro speed coefficient")
    p.add_argument("--trust", default=SmoothingConfig.trust, choices=["auto", "sigma", "residual", "uniform"],
                   help="per-point trust source (see facepoints.tracking.point_trust)")
    p.add_argument("--mode", default=SmoothingConfig.mode, choices=["points", "rigid_shape"],
                   help="smooth each point alone, or the face's rigid motion and its shape separately")
    p.add_argument("--shape-cutoff", type=float, default=SmoothingConfig.shape_cutoff,
                   help="One Euro min cutoff of the face-frame shape (rigid_shape mode), Hz")
    p.add_argument("--motion-prediction", type=float, default=TrackerConfig.motion_prediction,
                   help="share of the last frame-to-frame shift added to the next ROI (0 = none)")
    p.add_argument("--tune", action="store_true", help="also grid-search the One Euro parameters on these "
                   "clips (use training faces: the result sets the defaults)")
    p.add_argument("--out", type=Path, default=Path("stability"), help="folder for the JSON and the PNG")
    p.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..datasets.image_list import list_tag, read_image_list
    from ..datasets.synthetic_video import ClipSpec
    from ..drawing.stability_plot import plot_stability
    from ..evaluation.stability import per_frame_curves, stability_benchmark, tune_smoothing
    from ..landmarker import Landmarker
    from ..schemes import get_scheme
    from ..tracking import SmoothingConfig, TrackerConfig

    if args.clips < 1:
        raise ValueError(f"--clips must be >= 1, got {args.clips}")
    records = read_image_list(args.data)
    if not records:
        raise ValueError(f"{args.data}: the list names no images")
    smoothing = replace(SmoothingConfig(), min_cutoff=args.min_cutoff, beta=args.beta, trust=args.trust,
                        mode=args.mode, shape_cutoff=args.shape_cutoff)
    config = TrackerConfig(motion_prediction=args.motion_prediction, smoothing=smoothing)
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
    report.extra["command"] = (f"facepoints stability {args.data} --clips {args.clips} --frames {args.frames} "
                               f"--seed {args.seed} --model {args.model} --min-cutoff {args.min_cutoff:g} "
                               f"--beta {args.beta:g} --trust {args.trust} --mode {args.mode} "
                               f"--shape-cutoff {args.shape_cutoff:g} --motion-prediction "
                               f"{args.motion_prediction:g}" + (" --tune" if args.tune else ""))
    print(report.table())
    if args.tune:
        best, rows = tune_smoothing(report.traces, get_scheme(report.scheme), smoothing)
        report.extra["tuning"] = {"best": asdict(best), "rows": rows}
        print(f"tuned: --min-cutoff {best.min_cutoff:g} --beta {best.beta:g} --trust {best.trust} "
              f"--mode {best.mode} --shape-cutoff {best.shape_cutoff:g} "
              f"(NME change {100 * rows[0]['nme_change']:+.2f} %, jitter ratio {100 * rows[0]['jitter_ratio']:.1f} %)")
    args.out.mkdir(parents=True, exist_ok=True)
    png = plot_stability(per_frame_curves(report.traces, get_scheme(report.scheme)), args.out / f"{stem}.png",
                         title=f"{lm.card.name}: {args.clips} synthetic clips from {args.data.name}")
    (args.out / f"{stem}.json").write_text(json.dumps(report.to_json(), indent=1, allow_nan=False))
    print(f"wrote {png} and {args.out / (stem + '.json')}")
    return 0
