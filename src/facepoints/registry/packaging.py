"""Packaging a training run as a shipped model (``facepoints package RUN --name NAME``): weights
(.pt + one .onnx per stage count, or with ``single_file`` one .onnx holding both), their sha256s and the model card, built by
``ModelCard.from_checkpoint``. Works for every registry architecture. Needs PyTorch and, for the
ONNX export, the ``onnx`` package (both in the ``[train]`` extra).

A few-shot checkpoint (``facepoints finetune``) records its faces and command in the card, and a
new point set's scheme definition is written beside the shipped schemes (ship it too). A combined
checkpoint (``facepoints train-branches``: it has a ``branches`` record) exports a multi-output ONNX
file and adds ``training.branches`` and its pose / face-confidence metrics to the card.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..home import check_name
from . import _shipped, get_card, list_models
from .export import export_model_files
from .card import ModelCard, sha256_of
from .checkpoint import Checkpoint
from .trained import checkpoint_file

#: the installed registry folder (cards/ and weights/): where shipped models live
REGISTRY_DIR = Path(__file__).resolve().parent
LICENCE = ("Code: Apache-2.0. Weights: trained on 300W (iBUG; LFPW, HELEN, AFW), whose images and "
           "annotations are for non-commercial research only; use these weights under the same terms.")
BRANCH_METRICS = ("pose", "tracking")


@dataclass
class PackageOptions:
    """What ``package_run`` adds to the checkpoint: JSON files of measured figures, notes, storage."""

    summary: str = ""
    metrics: str | None = None  # `facepoints evaluate --json`
    speed: str | None = None  # `facepoints benchmark --json`
    branch_metrics: str | None = None  # `facepoints evaluate-branches` (combined checkpoints)
    extra_metrics: dict[str, str] = field(default_factory=dict)  # metrics[KEY] = another evaluate JSON
    training_notes: str = ""
    half: bool = False  # float16 weights in both files
    onnx: bool = True
    single_file: bool = False  # one .onnx that also holds the PyTorch weights, no .pt (registry.onnx_state)
    keep_weights: bool = False  # only rewrite the card
    replace: bool = False  # an existing model of that name may be rewritten


def training_minutes(log: Path) -> float | None:
    """Sum of the epoch times in a run's log.jsonl (wall minutes of training + validation)."""
    if not log.is_file():
        return None
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return round(sum(r.get("seconds", 0) for r in rows) / 60, 1)


def training_chain(run_dir: Path, cfg: dict) -> tuple[list[Path], str | None]:
    """The run folders behind a checkpoint, first stage first: each fine-tuning run
    (``init_checkpoint``) is preceded by the run it started from (read from its config.json); and
    the registered model the first run started from (``init_checkpoint: atpn_lite0_68``), if any."""
    chain = [run_dir]
    while cfg.get("init_checkpoint"):
        start = str(cfg["init_checkpoint"])
        if not Path(start).exists() and start in list_models():
            return chain, start
        parent = Path(start).parent
        chain.insert(0, parent)
        config_file = parent / "config.json"
        cfg = json.loads(config_file.read_text()) if config_file.is_file() else {}
    return chain, None


def config_path(run_dir: Path) -> str:
    """The config a run folder was trained from: ``configs/<name>.yaml`` for a shipped model's
    run, ``configs/experiments/<name>.yaml`` when only that exists."""
    shipped = f"configs/{run_dir.name}.yaml"
    experiment = f"configs/experiments/{run_dir.name}.yaml"
    return experiment if Path(experiment).is_file() and not Path(shipped).is_file() else shipped


def landmark_training(checkpoint: Checkpoint, notes: str, old: dict) -> dict:
    """The card's training record of a landmark checkpoint from ``facepoints train``."""
    cfg = checkpoint.config
    run_dirs, base = training_chain(checkpoint.path.parent, cfg)
    commands = [f"facepoints train {config_path(Path(d))}" for d in run_dirs]
    minutes = sum(training_minutes(Path(d) / "log.jsonl") or 0 for d in run_dirs)
    if base:  # the registered model's own chain comes first
        before = get_card(base).training
        commands.insert(0, before.get("command", f"(the registered model {base})"))
        minutes += before.get("wall_minutes") or 0
    return {
        "data": cfg.get("train_lists", []), "data_root": cfg.get("data_root"),
        "validation": (f"{cfg['val_fraction']:.0%} of the first list, split by file-name hash"
                       if cfg.get("val_fraction") else "none recorded"),
        "config": {**cfg, "model": {k: v for k, v in cfg["model"].items() if k not in BRANCH_METRICS}},
        "epochs_completed": None if checkpoint.epoch is None else checkpoint.epoch + 1,
        "best_val_nme": checkpoint.best,
        "wall_minutes": round(minutes, 1),
        "machine": "2 CPU cores (x86_64), PyTorch CPU build, no GPU",
        "command": " && ".join(commands),
        **({"started_from": base} if base else {}),
        "notes": notes or old.get("training", {}).get("notes", ""),
    }


def few_shot_training(record: dict, training: dict) -> dict:
    """A ``facepoints finetune`` checkpoint's record: its faces, settings and command."""
    c = record["config"]
    shots = f" --shots {c['limit']} --draw-seed {c['draw_seed']}" if c["limit"] is not None else ""
    like = f" --like {c['like']}" if c["like"] else ""
    command = (f"facepoints finetune {c['base']} --data {c['data']} --scheme {c['scheme']}{like}{shots} "
               f"--epochs {c['epochs']}{' --from-scratch' if c['from_scratch'] else ''}")
    base_commands = training["command"].split(" && ")[:-1] if record["base_checkpoint"] else []
    return {**training, "validation": c["val_list"] or "none",
            "command": " && ".join(base_commands + [command]),
            "few_shot": {"faces": record["faces"], "points": record["points"], "base": c["base"]}}


def half_precision(state: dict) -> dict:
    """Float tensors of more than 1,024 values as float16 (``load_state_dict`` copies them back
    into the float32 parameters); small ones (mean shape, norms, scalars) stay exact."""
    return {k: v.half() if v.is_floating_point() and v.numel() > 1024 else v for k, v in state.items()}


def _read_json(path: str) -> dict:
    return json.loads(Path(path).read_text())


def training_and_metrics(checkpoint: Checkpoint, options: PackageOptions, old: dict) -> tuple[dict, dict]:
    """The card's ``training`` and ``metrics`` for ``checkpoint`` (old card's metrics kept unless given)."""
    extras = checkpoint.extras
    kept = {k: v for k, v in old.get("metrics", {}).items() if k not in BRANCH_METRICS}
    metrics = _read_json(options.metrics) if options.metrics else kept
    if "branches" in extras:
        training = {**(extras.get("landmark_training") or landmark_training(checkpoint, options.training_notes, old)),
                    "branches": extras["branches"]}
        if options.training_notes:
            training["notes"] = options.training_notes
        if options.branch_metrics:
            metrics.update(_read_json(options.branch_metrics)["metrics"])
    else:
        training = landmark_training(checkpoint, options.training_notes, old)
        if "finetune" in extras:
            training = few_shot_training(extras["finetune"], training)
    for key, file in options.extra_metrics.items():
        metrics[key] = _read_json(file)
    return training, metrics


def ship_scheme(checkpoint: Checkpoint, registry_dir: Path) -> Path | None:
    """A few-shot checkpoint's own landmark scheme, written to ``schemes/data`` beside the registry."""
    definition = checkpoint.extras.get("scheme_definition")
    if definition is None:
        return None
    path = registry_dir.parent / "schemes" / "data" / f"{definition['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(definition, indent=1) + "\n")
    return path


def _saved_in(registry_dir: Path) -> set[str]:
    cards = registry_dir / "cards"
    return {p.name[:-5] for p in cards.glob("*.json")} if cards.is_dir() else set()


def package_run(run: str | Path, name: str, options: PackageOptions | None = None,
                registry_dir: str | Path = REGISTRY_DIR) -> list[Path]:
    """Package ``run`` (a run folder, its ``best.pt``, or any training checkpoint) as model ``name``
    in ``registry_dir`` (``cards/<name>.json`` and ``weights/<name>*``; the installed registry to
    ship a model, the user folder ``facepoints.home.user_registry_dir()`` for one's own); returns
    the files written. A name taken by another model (shipped, or in the user folder) is refused.
    An existing model of that name is rewritten only with ``options.replace`` (``ValueError``
    otherwise, before anything is written); its card keeps what is not given again (summary,
    notes, metrics, speed)."""
    options = options or PackageOptions()
    registry_dir = Path(registry_dir)
    check_name(name)
    if name in list_models() and registry_dir.resolve() != REGISTRY_DIR and name not in _saved_in(registry_dir):
        raise ValueError(f"{name!r} is already a model ({'shipped' if name in _shipped() else 'in the user folder'}); "
                         "choose another --name")
    if (registry_dir / "cards" / f"{name}.json").exists() and not options.replace:
        raise ValueError(f"model {name!r} exists in {registry_dir} (cards/{name}.json); give --replace to "
                         "rewrite it, or another --name")
    checkpoint = Checkpoint.load(checkpoint_file(run))
    model = checkpoint.network()
    weights_dir, card_path = registry_dir / "weights", registry_dir / "cards" / f"{name}.json"
    weights_dir.mkdir(parents=True, exist_ok=True)
    card_path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(card_path.read_text()) if card_path.exists() else {}
    pt = weights_dir / f"{name}.pt"
    # ONNX files: <name>.onnx, plus <name>_stagesK.onnx per other stage count of a coarse-to-fine model
    weights = old.get("weights", {})
    if not options.keep_weights:
        if options.single_file and not options.onnx:
            raise ValueError("a single-file model is its ONNX file: --single-file and --no-onnx exclude each other")
        for entry in weights.values():
            (weights_dir / entry["file"]).unlink(missing_ok=True)
        weights = export_model_files(model, checkpoint.crop.size, weights_dir, name, options.half,
                                     single_file=options.single_file) if options.onnx else {}
        if options.single_file:  # the PyTorch weights are read from the ONNX file (registry.model_state)
            weights = {"torch": weights["onnx"], **weights}
        else:
            torch.save(half_precision(model.state_dict()) if options.half else model.state_dict(), pt)
            weights = {"torch": {"file": pt.name, "sha256": sha256_of(pt)}, **weights}
    training, metrics = training_and_metrics(checkpoint, options, old)
    card = ModelCard.from_checkpoint(
        checkpoint, name, weights, summary=options.summary or old.get("summary", ""), training=training,
        metrics=metrics, speed=_read_json(options.speed) if options.speed else old.get("speed", {}),
        licence=LICENCE)
    card_path.write_text(json.dumps(card.to_json(), indent=1) + "\n")
    scheme_path = ship_scheme(checkpoint, registry_dir)
    files = dict.fromkeys(weights_dir / w["file"] for w in weights.values())
    return [*files, card_path, *([scheme_path] if scheme_path else [])]
