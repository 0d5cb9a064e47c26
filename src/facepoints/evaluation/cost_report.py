"""Cost of a coarse-to-fine model per landmark count and stage count (thesis tables 4.10, 5.19):
parameters, FLOPs and CPU milliseconds per face, on untrained copies of the architecture."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..models.cost import count_flops, count_parameters, cpu_ms_per_call
from ..registry.export import export_onnx
from ..pipeline.runtime import OnnxRuntime
from ..registry import build_network

#: landmark counts of the thesis' benchmarks (WFLW, 300W, COFW, AFLW-19)
THESIS_POINT_COUNTS = (98, 68, 29, 19)


def cost_rows(architecture: str, config: dict, point_counts=THESIS_POINT_COUNTS, stages=(1, 2, 3),
              threads: int = 1, repeats: int = 20, progress: bool = True, onnx: bool = False) -> list[dict]:
    """One row per (points, stages): ``params``, ``gflops`` (2 per multiply-add, torch's
    FlopCounterMode; patch sampling and norms not counted) and ``cpu_ms`` (median, batch 1,
    ``threads`` threads, PyTorch eager); with ``onnx`` also ``onnx_ms``, the same network
    exported and run by ONNX Runtime (how shipped models run by default)."""
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
            if model.capabilities.stages:
                model.set_inference_stages(s)
            x = torch.rand(1, 3, config["input_size"], config["input_size"]) * 255
            row = {"points": n, "stages": s, "params": count_parameters(model), "gflops": count_flops(model, x) / 1e9,
                   "cpu_ms": cpu_ms_per_call(lambda: model(x), repeats=repeats), "threads": threads}
            if onnx:
                row["onnx_ms"] = onnx_ms_per_call(model, config["input_size"], threads, repeats)
            rows.append(row)
    finally:
        torch.set_num_threads(previous)
    return rows


def onnx_ms_per_call(model: nn.Module, size: int, threads: int, repeats: int) -> float:
    """Median ms of ONNX Runtime on ``model`` exported as it is now (batch 1, ``threads`` threads)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        export_onnx(model, size, path)
        runtime = OnnxRuntime(path, threads)
    crops = (np.random.default_rng(0).random((1, size, size, 3)) * 255).astype(np.float32)
    return cpu_ms_per_call(lambda: runtime(crops), repeats=repeats)


def format_cost_table(rows: list[dict]) -> str:
    """Markdown table of ``cost_rows`` (with an ONNX Runtime column when measured)."""
    onnx = all("onnx_ms" in r for r in rows) and bool(rows)
    head = "| points | stages | params (M) | GFLOPs | CPU ms/face (PyTorch) |" + (" CPU ms/face (ONNX Runtime) |" if onnx else "")
    lines = [head, "|---|---|---|---|---|" + ("---|" if onnx else "")]
    lines += [f"| {r['points']} | {r['stages']} | {r['params'] / 1e6:.2f} | {r['gflops']:.3f} | {r['cpu_ms']:.1f} |"
              + (f" {r['onnx_ms']:.1f} |" if onnx else "") for r in rows]
    return "\n".join(lines)
