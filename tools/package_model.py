"""Package a training run as a shipped model: weights (.pt + .onnx), sha256s, model card.

Works for every registry architecture (ATPN, DSLPT, TUFA); the architecture comes from the checkpoint's config.

Usage:
  python tools/package_model.py runs/atpn_lite0_68/best.pt --name atpn_lite0_68 \
      --summary "..." [--metrics eval.json] [--speed speed.json]

  # landmark model + pose / face-confidence branches (``facepoints train-branches``):
  python tools/package_model.py runs/atpn_lite0_68_branches/best.pt --name atpn_lite0_68 \
      [--branch-metrics evaluation/branches.json] [--speed speed.json]

A few-shot checkpoint (``facepoints finetune``) records its faces and command in the card, and
a new point set's scheme definition is written to ``schemes/data/<scheme>.json`` (ship it too).

A combined checkpoint (it has a ``branches`` record) exports a multi-output ONNX file
(``landmarks``, ``pose``, ``face_prob``) and adds ``training.branches`` and
``metrics.pose`` / ``metrics.tracking`` to the card; a landmark checkpoint works as before.
Needs the ``onnx`` package for the export (a development dependency only).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from facepoints.pipeline.export import export_model_files
from facepoints.registry import sha256_of
from facepoints.training.checkpoint import checkpoint_network, training_checkpoint

ROOT = Path(__file__).resolve().parents[1] / "src/facepoints/registry"
LICENCE = ("Code: Apache-2.0. Weights: trained on 300W (iBUG; LFPW, HELEN, AFW), whose images and "
           "annotations are for non-commercial research only; use these weights under the same terms.")


def training_minutes(log: Path) -> float | None:
    """Sum of the epoch times in a run's log.jsonl (wall minutes of training + validation)."""
    if not log.is_file():
        return None
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return round(sum(r.get("seconds", 0) for r in rows) / 60, 1)


def training_chain(run_dir: Path, cfg: dict) -> list[Path]:
    """The run folders behind a checkpoint, first stage first: each fine-tuning run
    (``init_checkpoint``) is preceded by the run it started from (read from its config.json)."""
    chain = [run_dir]
    while cfg.get("init_checkpoint"):
        parent = Path(cfg["init_checkpoint"]).parent
        chain.insert(0, parent)
        config_file = parent / "config.json"
        cfg = json.loads(config_file.read_text()) if config_file.is_file() else {}
    return chain


def landmark_training(state: dict, args: argparse.Namespace, old: dict) -> dict:
    """The card's training record of a landmark checkpoint from ``facepoints train``."""
    cfg = state["config"]
    run_dirs = training_chain(Path(args.checkpoint).parent, cfg)
    return {
        "data": cfg["train_lists"], "data_root": cfg["data_root"],
        "validation": f"{cfg['val_fraction']:.0%} of the first list, split by file-name hash",
        "config": {**cfg, "model": {k: v for k, v in cfg["model"].items() if k not in ("pose", "tracking")}},
        "epochs_completed": state["epoch"] + 1,
        "best_val_nme": state["best"],
        "wall_minutes": round(sum(training_minutes(Path(d) / "log.jsonl") or 0 for d in run_dirs), 1),
        "machine": "2 CPU cores (x86_64), PyTorch CPU build, no GPU",
        "command": " && ".join(f"facepoints train configs/{Path(d).name}.yaml" for d in run_dirs),
        "notes": args.training_notes or old.get("training", {}).get("notes", ""),
    }


def few_shot_training(state: dict, training: dict) -> dict:
    """A ``facepoints finetune`` checkpoint's record: its faces, settings and command."""
    record = state["finetune"]
    c = record["config"]
    shots = f" --shots {c['limit']} --draw-seed {c['draw_seed']}" if c["limit"] is not None else ""
    like = f" --like {c['like']}" if c["like"] else ""
    command = (f"facepoints finetune {c['base']} --data {c['data']} --scheme {c['scheme']}{like}{shots} "
               f"--epochs {c['epochs']}{' --from-scratch' if c['from_scratch'] else ''}")
    base_commands = training["command"].split(" && ")[:-1] if record["base_checkpoint"] else []
    return {**training, "validation": c["val_list"] or "none",
            "command": " && ".join(base_commands + [command]),
            "few_shot": {"faces": record["faces"], "points": record["points"], "base": c["base"]}}


def ship_scheme(state: dict) -> Path | None:
    """A few-shot checkpoint's own landmark scheme, written to ``schemes/data`` (the card names it)."""
    if "scheme_definition" not in state:
        return None
    path = ROOT.parent / "schemes" / "data" / f"{state['scheme_definition']['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state["scheme_definition"], indent=1) + "\n")
    return path


def half_precision(state: dict) -> dict:
    """Float tensors of more than 1,024 values as float16 (``load_state_dict`` copies them back
    into the float32 parameters); small ones (mean shape, norms, scalars) stay exact."""
    return {k: v.half() if v.is_floating_point() and v.numel() > 1024 else v for k, v in state.items()}


def main() -> int:
    """Entry point: exit code 0, or 2 with one ``package_model: error: ...`` line on bad input."""
    try:
        package()
    except (OSError, ValueError, KeyError) as exc:
        print(f"package_model: error: {exc.args[0] if isinstance(exc, KeyError) and exc.args else exc}",
              file=sys.stderr)
        return 2
    return 0


def package() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--name", required=True)
    ap.add_argument("--summary", default="")
    ap.add_argument("--metrics", help="JSON written by `facepoints evaluate --json`")
    ap.add_argument("--speed", help="JSON written by `facepoints benchmark --json`")
    ap.add_argument("--branch-metrics", help="JSON written by `facepoints evaluate-branches` (combined checkpoints)")
    ap.add_argument("--extra-metrics", action="append", default=[], metavar="KEY=FILE",
                    help="store another `facepoints evaluate` JSON under metrics[KEY] (repeatable), "
                         "e.g. detector_boxes=evaluation/..._detector.json")
    ap.add_argument("--training-notes", default="", help="free text: wall time, machine, data notes")
    ap.add_argument("--half", action="store_true",
                    help="store the weights (.pt and .onnx) as float16: half the size; both runtimes "
                         "still compute in float32")
    ap.add_argument("--no-onnx", action="store_true", help="ship PyTorch weights only (no .onnx file)")
    ap.add_argument("--keep-weights", action="store_true",
                    help="only rewrite the card (metrics/speed/notes); leave the exported weights as they are")
    args = ap.parse_args()

    state = training_checkpoint(args.checkpoint)
    cfg = state["config"]
    architecture, model = checkpoint_network(state, args.checkpoint)
    (ROOT / "weights").mkdir(exist_ok=True)
    pt = ROOT / "weights" / f"{args.name}.pt"
    card_path = ROOT / "cards" / f"{args.name}.json"
    old = json.loads(card_path.read_text()) if card_path.exists() else {}
    # ONNX files: <name>.onnx, plus <name>_stagesK.onnx per other stage count of a coarse-to-fine model
    onnx_weights = {k: v for k, v in old.get("weights", {}).items() if k.startswith("onnx")}
    if not args.keep_weights:
        torch.save(half_precision(model.state_dict()) if args.half else model.state_dict(), pt)
        for entry in onnx_weights.values():
            (ROOT / "weights" / entry["file"]).unlink(missing_ok=True)
        onnx_weights = {} if args.no_onnx else \
            export_model_files(model, cfg["model"]["input_size"], ROOT / "weights", args.name, args.half)
    weights = {"torch": {"file": pt.name, "sha256": sha256_of(pt)}, **onnx_weights}
    if "branches" in state:
        training = {**(state.get("landmark_training") or landmark_training(state, args, old)),
                    "branches": state["branches"]}
        if args.training_notes:
            training["notes"] = args.training_notes
        metrics = {k: v for k, v in old.get("metrics", {}).items() if k not in ("pose", "tracking")}
        if args.metrics:
            metrics = json.loads(Path(args.metrics).read_text())
        if args.branch_metrics:
            metrics.update(json.loads(Path(args.branch_metrics).read_text())["metrics"])
    else:
        training = landmark_training(state, args, old)
        if "finetune" in state:
            training = few_shot_training(state, training)
        metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else \
            {k: v for k, v in old.get("metrics", {}).items() if k not in ("pose", "tracking")}
    for item in args.extra_metrics:
        key, _, file = item.partition("=")
        metrics[key] = json.loads(Path(file).read_text())
    card = {
        "name": args.name,
        "architecture": architecture,
        "summary": args.summary or old.get("summary", ""),
        "config": cfg["model"],
        "scheme": cfg["scheme"],
        "crop": {"size": cfg["model"]["input_size"], "margin": cfg["crop_margin"]},
        "weights": weights,
        "training": training,
        "metrics": metrics,
        "speed": json.loads(Path(args.speed).read_text()) if args.speed else old.get("speed", {}),
        "licence": LICENCE,
    }
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    scheme_path = ship_scheme(state)
    print(f"wrote {pt} ({pt.stat().st_size / 1e6:.2f} MB), {', '.join(w['file'] for w in weights.values())}, {card_path}"
          f"{f', {scheme_path}' if scheme_path else ''}")


if __name__ == "__main__":
    sys.exit(main())
