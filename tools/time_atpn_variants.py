#!/usr/bin/env python
"""ONNX ms/face of ATPN head / backbone / input-size variants beside the shipped atpn_lite0_68.

Each variant is built with random weights (speed does not depend on them) and the pose and
face-confidence branches, exported to ONNX as `facepoints package` does, and run by the
pipeline's OnnxRuntime on one thread, batch 1, on random crops: the `landmark_stage` of
`facepoints benchmark`. Rounds alternate between the models so load on a shared machine
falls on all of them alike; the median over all rounds is printed, with its ratio to the shipped
model's and to the first variant's (random weights of the shipped architecture: the fair
reference, since random weights run at a slightly different speed than trained ones).

    python tools/time_atpn_variants.py                       # the default variant list
    python tools/time_atpn_variants.py --variant head=simcc,input_size=96,backbone=mobilenetv3
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from facepoints.models import ATPN, ATPNConfig
from facepoints.pipeline.runtime import OnnxRuntime
from facepoints.registry import get_card, weights_path
from facepoints.registry.export import export_onnx
from tool_options import key_value_option

DEFAULT_VARIANTS = [
    {},
    {"head": "simcc"},
    {"input_size": 96},
    {"input_size": 128},
    {"head": "simcc", "input_size": 96},
    {"head": "simcc", "input_size": 128},
    {"backbone": "mobilenetv3"},
    {"backbone": "mobilenetv3", "input_size": 96},
    {"backbone": "mobilenetv3", "input_size": 80},
    {"backbone": "mobilenetv3", "head": "simcc", "input_size": 96},
    {"backbone": "mobilenetv3", "head": "simcc", "input_size": 80},
    {"backbone": "mobilenetv3", "head": "simcc", "input_size": 96, "width": 32, "embed": 128},
    {"input_size": 80},
    {"head": "simcc", "input_size": 80},
    {"head": "simcc", "input_size": 64},
    {"head": "simcc", "input_size": 80, "pose": False, "tracking": False},
    {"backbone": "mobilenetv3", "head": "simcc", "input_size": 96, "width": 32, "embed": 128, "pose": False,
     "tracking": False},
    {"head": "heatmap"},
    {"head": "heatmap", "input_size": 96},
    {"head": "heatmap", "input_size": 80},
    {"backbone": "mobilenetv3", "head": "heatmap", "input_size": 96, "width": 32},
]


def variant(text: str) -> dict:
    """``key=value,key=value`` -> an ATPNConfig override mapping."""
    return dict(key_value_option(part) for part in text.split(",") if part)


def label(overrides: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in overrides.items()) or "regression,112,efficientnet_lite0"


def export_variant(overrides: dict, folder: Path) -> Path:
    cfg = ATPNConfig(**{"pose": True, "tracking": True, **overrides})
    torch.manual_seed(0)
    path = folder / f"{label(overrides).replace(',', '_').replace('=', '-')}.onnx"
    export_onnx(ATPN(cfg).eval(), cfg.input_size, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", type=variant, action="append", help="key=value,... (ATPNConfig fields)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=60, help="timed calls per model per round")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    variants = args.variant or DEFAULT_VARIANTS
    with tempfile.TemporaryDirectory() as tmp:
        models = {"shipped atpn_lite0_68": (OnnxRuntime(weights_path(get_card("atpn_lite0_68"), "onnx"), threads=1),
                                            get_card("atpn_lite0_68").crop.size)}
        for overrides in variants:
            cfg = ATPNConfig(**overrides)
            models[label(overrides)] = (OnnxRuntime(export_variant(overrides, Path(tmp)), threads=1), cfg.input_size)
        rng = np.random.default_rng(0)
        times: dict[str, list[float]] = {name: [] for name in models}
        for _ in range(args.rounds):
            for name, (runtime, size) in models.items():
                crops = rng.integers(0, 256, (4, 1, size, size, 3), dtype=np.uint8)
                for i in range(10):
                    runtime(crops[i % 4])
                for i in range(args.repeats):
                    t0 = time.perf_counter()
                    runtime(crops[i % 4])
                    times[name].append((time.perf_counter() - t0) * 1000)
    base = float(np.median(times["shipped atpn_lite0_68"]))
    reference = float(np.median(times[label(variants[0])]))
    rows = []
    for name, ms in times.items():
        median = float(np.median(ms))
        rows.append({"model": name, "median_ms": round(median, 3), "p90_ms": round(float(np.percentile(ms, 90)), 3),
                     "ratio_to_shipped": round(median / base, 3), "ratio_to_first": round(median / reference, 3),
                     "calls": len(ms)})
        print(f"{name:60s} {median:6.2f} ms/face (p90 {rows[-1]['p90_ms']:.2f}), x{median / base:.2f} shipped, "
              f"x{median / reference:.2f} first")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
