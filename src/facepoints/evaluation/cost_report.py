"""Cost of a coarse-to-fine model per landmark count and stage count (thesis tables 4.10, 5.19):
parameters, FLOPs and CPU milliseconds per face, on untrained copies of the architecture."""
from __future__ import annotations

import torch
from tqdm import tqdm

from ..models.cost import count_flops, count_parameters, cpu_ms_per_call
from ..registry import build_network

#: landmark counts of the thesis' benchmarks (WFLW, 300W, COFW, AFLW-19)
THESIS_POINT_COUNTS = (98, 68, 29, 19)


def cost_rows(architecture: str, config: dict, point_counts=THESIS_POINT_COUNTS, stages=(1, 2, 3),
              threads: int = 1, repeats: int = 20, progress: bool = True) -> list[dict]:
    """One row per (points, stages): ``params``, ``gflops`` (2 per multiply-add, torch's
    FlopCounterMode; patch sampling and norms not counted) and ``cpu_ms`` (median, batch 1,
    ``threads`` threads, PyTorch eager)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    rows = []
    try:
        jobs = [(n, s) for n in point_counts for s in stages if s <= config.get("stages", 1)]
        model, built_for = None, None
        for n, s in tqdm(jobs, desc="cost", disable=not progress, leave=False):
            if built_for != n:
                torch.manual_seed(0)
                model, built_for = build_network(architecture, {**config, "num_points": n}).eval(), n
            if hasattr(model, "set_inference_stages"):
                model.set_inference_stages(s)
            x = torch.rand(1, 3, config["input_size"], config["input_size"]) * 255
            rows.append({"points": n, "stages": s, "params": count_parameters(model),
                         "gflops": count_flops(model, x) / 1e9,
                         "cpu_ms": cpu_ms_per_call(lambda: model(x), repeats=repeats), "threads": threads})
    finally:
        torch.set_num_threads(previous)
    return rows


def format_cost_table(rows: list[dict]) -> str:
    """Markdown table of ``cost_rows``."""
    lines = ["| points | stages | params (M) | GFLOPs | CPU ms/face |", "|---|---|---|---|---|"]
    lines += [f"| {r['points']} | {r['stages']} | {r['params'] / 1e6:.2f} | {r['gflops']:.3f} | {r['cpu_ms']:.1f} |"
              for r in rows]
    return "\n".join(lines)
