#!/usr/bin/env python
"""Probe (issue 16): what post-training int8 quantization (ONNX Runtime, static, per-channel
weights) does to a shipped model's validation NME and speed.

Calibration: the crops of 200 faces of the training part of 300W's list (never the validation
faces), cut as the pipeline cuts them. Scored on the validation part with ground-truth boxes
(inter-ocular NME, as `facepoints evaluate --split val`). Timed in alternating rounds against the
float32 file, one thread, batch 1. Nothing here ships; the outcome is in docs/experiments.md.

    python tools/int8_probe.py --model atpn_lite0_68 [--keep-float /head/]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from facepoints import Landmarker
from facepoints.datasets.image_list import read_image_list
from facepoints.datasets.splits import split_records
from facepoints.geometry.boxes import box_from_points
from facepoints.pipeline.images import load_image
from facepoints.pipeline.runtime import OnnxRuntime
from facepoints.registry import get_card, weights_path
from time_onnx_files import interleaved_ms


def network_crops(landmarker: Landmarker, records: list) -> np.ndarray:
    """(N, 3, S, S) float32 network inputs of ``records`` (ground-truth boxes), as the pipeline feeds them."""
    crops: list[np.ndarray] = []
    runtime = landmarker.runtime

    def record(batch: np.ndarray):
        crops.extend(np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32))
        return runtime(batch)

    landmarker.runtime = record
    try:
        for rec in records:
            landmarker(load_image(rec.image_path), boxes=[box_from_points(rec.landmarks)])
    finally:
        landmarker.runtime = runtime
    return np.stack(crops)


class Crops(CalibrationDataReader):
    def __init__(self, name: str, crops: np.ndarray) -> None:
        self.items = iter(crops)
        self.name = name

    def get_next(self) -> dict | None:
        crop = next(self.items, None)
        return None if crop is None else {self.name: crop[None]}


def val_nme(landmarker: Landmarker, faces: list) -> float:
    errors = [np.linalg.norm(landmarker(img, boxes=[box_from_points(pts)])[0].landmarks - pts, axis=1).mean()
              / np.linalg.norm(pts[36] - pts[45]) for img, pts in faces]
    return float(np.mean(errors))


def median_ms(runtimes: list[OnnxRuntime], crop: np.ndarray, rounds: int = 6, calls: int = 40) -> list[float]:
    return [float(np.median(ms)) for ms in interleaved_ms(runtimes, crop, rounds, calls)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="atpn_lite0_68")
    p.add_argument("--data", default="../shared/data/300W/train.txt")
    p.add_argument("--calibration", type=int, default=200)
    p.add_argument("--keep-float", default="", help="nodes whose name starts with this stay float (e.g. /head/)")
    args = p.parse_args()

    source = weights_path(get_card(args.model), "onnx")
    records = read_image_list(args.data)
    train, val = split_records(records, "train", 0.1), split_records(records, "val", 0.1)
    float_lm = Landmarker(args.model, detector=None, backend="onnx", threads=1)
    picks = np.random.default_rng(0).choice(len(train), min(args.calibration, len(train)), replace=False)
    crops = network_crops(float_lm, [train[i] for i in picks])
    with tempfile.TemporaryDirectory() as tmp:
        pre, quantized = Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(source), str(pre), skip_symbolic_shape=True)
        keep = [n.name for n in onnx.load(str(pre)).graph.node if args.keep_float and n.name.startswith(args.keep_float)]
        quantize_static(str(pre), str(quantized), Crops(float_lm.runtime.input, crops), quant_format=QuantFormat.QOperator,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=keep)
        int8_lm = Landmarker(args.model, detector=None, backend="onnx", threads=1)
        int8_lm.runtime = OnnxRuntime(quantized, threads=1)
        faces = [(load_image(r.image_path), r.landmarks) for r in val]
        nmes = [val_nme(float_lm, faces), val_nme(int8_lm, faces)]
        ms = median_ms([float_lm.runtime, int8_lm.runtime], crops[:1])
        size = quantized.stat().st_size
    print(f"{args.model}: {len(val)} validation faces, {len(crops)} calibration crops, {len(keep)} nodes kept float")
    print(f"float32: val NME {100 * nmes[0]:.3f} %, {ms[0]:.2f} ms/crop, {source.stat().st_size / 1e6:.1f} MB")
    print(f"int8:    val NME {100 * nmes[1]:.3f} %, {ms[1]:.2f} ms/crop ({ms[1] / ms[0]:.2f}x), {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
