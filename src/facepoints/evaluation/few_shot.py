"""The few-shot protocol (thesis ch. 6.2.4): fine-tune a pretrained TUFA on 1, 10, 50 and all
training faces (5 random draws per size up to 50), and train the same architecture from scratch
on the same faces; score each run on the test list (inter-ocular NME / FR / AUC, ground-truth
boxes, as ``facepoints evaluate``).

Layout under ``output_dir``: ``runs/<run>/`` (training; ``last.pt`` is dropped once scored),
``results/<run>.json`` (one per run; a run whose JSON exists is skipped, so a rerun resumes),
``summary.json`` and ``summary.md`` (mean ± std over draws per mode and size) and ``summary.png``
(NME against the number of faces, per mode).
Run names: ``<finetune|scratch>_n<size|all>_d<draw>``.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..drawing import plot_few_shot
from ..landmarker import Landmarker
from ..registry import unregister_model
from ..registry.trained import register_checkpoint
from ..training.finetune import FinetuneConfig, finetune
from ..training.finetune_setup import read_faces
from .evaluate import evaluate

MODES = ("finetune", "scratch")


@dataclass
class FewShotConfig:
    """``template``: the fine-tuning settings (``base``, ``data`` = the training list, ``scheme``,
    ``like``, epochs...); its ``limit``, ``draw_seed``, ``from_scratch``, ``output_dir`` and
    ``name`` are set per run. ``sizes``: face counts, ``None`` = all (one run)."""

    template: FinetuneConfig
    test_list: str
    output_dir: str = "evaluation/few_shot"
    sizes: list[int | None] = field(default_factory=lambda: [1, 10, 50, None])
    draws: int = 5
    modes: tuple[str, ...] = MODES
    threshold: float = 0.08


@dataclass(frozen=True)
class Run:
    mode: str
    size: int | None
    draw: int

    @property
    def name(self) -> str:
        return f"{self.mode}_n{'all' if self.size is None else self.size}_d{self.draw}"


def planned_runs(cfg: FewShotConfig) -> list[Run]:
    """Every (mode, size, draw); one draw for ``None`` (all faces)."""
    bad = set(cfg.modes) - set(MODES)
    if bad:
        raise ValueError(f"unknown modes {sorted(bad)}; known: {', '.join(MODES)}")
    return [Run(mode, size, draw) for mode in cfg.modes for size in cfg.sizes
            for draw in range(1 if size is None else cfg.draws)]


def run_one(cfg: FewShotConfig, run: Run, progress: bool = False) -> dict:
    """Train, score and record one run; an existing result JSON is read instead."""
    out = Path(cfg.output_dir)
    result_path = out / "results" / f"{run.name}.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    ft = replace(cfg.template, limit=run.size, draw_seed=run.draw, from_scratch=run.mode == "scratch",
                 output_dir=str(out / "runs"), name=run.name)
    best = finetune(ft, progress)
    scores = score(best, cfg, ft.threads, progress)
    faces = json.loads((ft.run_dir / "finetune.json").read_text())["faces"]
    result = {"run": run.name, **asdict(run), "faces": faces, "checkpoint": str(best), **scores}
    result_path.parent.mkdir(parents=True, exist_ok=True)
    result_path.write_text(json.dumps(result, indent=1) + "\n")
    (ft.run_dir / "last.pt").unlink(missing_ok=True)  # best.pt keeps the weights
    return result


def score(checkpoint: Path, cfg: FewShotConfig, threads: int, progress: bool = False) -> dict:
    """Test-list metrics of a checkpoint through the pipeline (ground-truth boxes)."""
    work = checkpoint.parent / "scoring"
    name = register_checkpoint(checkpoint, work, name=f"few_shot-{checkpoint.parent.name}", onnx=False)
    try:
        template = cfg.template
        records = read_faces(cfg.test_list, template.like or template.scheme)
        landmarker = Landmarker(name, detector=None, backend="torch", threads=threads)
        result = evaluate(landmarker, records, threshold=cfg.threshold, progress=progress)
    finally:
        unregister_model(name)
        shutil.rmtree(work, ignore_errors=True)
    return {"test": result.overall.to_dict(), "normalisation": result.normalisation}


def summarise_runs(results: list[dict]) -> list[dict]:
    """One row per (mode, size): mean and std (over draws) of NME, FR and AUC."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        groups.setdefault((r["mode"], "all" if r["size"] is None else str(r["size"])), []).append(r["test"])
    rows = []
    for (mode, size), tests in groups.items():
        row = {"mode": mode, "size": size, "runs": len(tests)}
        for key in ("nme", "fr", "auc"):
            values = np.array([t[key] for t in tests if t[key] is not None], np.float64)
            row[key] = float(values.mean()) if values.size else None
            row[f"{key}_std"] = float(values.std()) if values.size else None
        rows.append(row)
    return rows


def summary_table(rows: list[dict], threshold: float) -> str:
    """A Markdown table of ``summarise_runs`` rows (NME and FR in %)."""
    lines = [f"| mode | faces | runs | NME % | FR@{threshold:g} % | AUC@{threshold:g} |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['size']} | {r['runs']} | {_pm(r['nme'], r['nme_std'], 100)} | "
                     f"{_pm(r['fr'], r['fr_std'], 100)} | {_pm(r['auc'], r['auc_std'], 1)} |")
    return "\n".join(lines)


def _pm(mean: float | None, std: float | None, scale: float) -> str:
    return "n/a" if mean is None else f"{scale * mean:.3f} ± {scale * std:.3f}"


def plot_runs(results: list[dict], path: str | Path, title: str = "Few-shot") -> Path:
    """``plot_few_shot`` of run results: test NME per draw against the number of faces it used."""
    runs: dict[str, dict[int, list[float]]] = {}
    for r in results:
        if r["test"]["nme"] is not None:
            runs.setdefault(r["mode"], {}).setdefault(len(r["faces"]), []).append(r["test"]["nme"])
    return plot_few_shot(runs, path, title=title)


def run_protocol(cfg: FewShotConfig, progress: bool = False) -> list[dict]:
    """Every planned run (skipping finished ones), then the summary files; returns the rows."""
    results = []
    for run in planned_runs(cfg):
        result = run_one(cfg, run, progress)
        nme = result["test"]["nme"]
        print(f"{run.name}: test NME {'n/a' if nme is None else f'{100 * nme:.3f} %'}", flush=True)
        results.append(result)
    return write_summary(cfg, results)


def finished_results(cfg: FewShotConfig) -> list[dict]:
    """The result JSONs already written for ``cfg``'s planned runs (e.g. by parallel protocol
    processes, each given some modes or sizes), in plan order; unfinished runs are left out."""
    folder = Path(cfg.output_dir) / "results"
    paths = [folder / f"{run.name}.json" for run in planned_runs(cfg)]
    return [json.loads(p.read_text()) for p in paths if p.is_file()]


def write_summary(cfg: FewShotConfig, results: list[dict]) -> list[dict]:
    """``summary.json``, ``summary.md`` and ``summary.png`` of ``results``; prints and returns the rows."""
    if not results:
        raise ValueError(f"no finished few-shot runs in {cfg.output_dir}")
    rows = summarise_runs(results)
    out = Path(cfg.output_dir)
    (out / "summary.json").write_text(json.dumps({"rows": rows, "test_list": cfg.test_list,
                                                  "template": asdict(cfg.template)}, indent=1) + "\n")
    table = summary_table(rows, cfg.threshold)
    (out / "summary.md").write_text(table + "\n")
    plot_runs(results, out / "summary.png", title=f"Few-shot on {Path(cfg.test_list).name}")
    print(table)
    return rows
