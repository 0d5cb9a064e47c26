"""Runtimes that execute a landmark network on a batch of crops: PyTorch or ONNX Runtime."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn


class TorchRuntime:
    """Runs an ``nn.Module`` mapping (B, 3, S, S) float RGB 0-255 to (B, N, 2) coordinates."""

    name = "torch"

    def __init__(self, module: nn.Module, threads: int | None = None) -> None:
        self.module = module.eval()
        if threads:
            torch.set_num_threads(threads)

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2))).float()
            return self.module(x).numpy()


class OnnxRuntime:
    """Runs an exported ONNX file of the same network with ONNX Runtime (faster on CPU)."""

    name = "onnx"

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)
        return self.session.run(None, {self.input: x})[0]


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
