"""Runtimes that execute a landmark network on a batch of crops: PyTorch or ONNX Runtime.

Both return a ``NetworkOutput``: landmarks, plus head pose and face probability when the
network has those branches and per-point spread when it estimates one, as its declared
``capabilities`` say (``models.capabilities``); ONNX outputs are named ``landmarks``, ``pose``,
``face_prob``, ``sigma``.
PyTorch is imported only when a PyTorch runtime is made (it is the optional ``[train]`` extra).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..models.capabilities import OUTPUT_NAMES  # noqa: F401 - ONNX output names, re-exported
from ..torch_required import require_torch

if TYPE_CHECKING:
    import torch
    from torch import nn



@dataclass
class NetworkOutput:
    """What a network returns for (B, S, S, 3) crops, in network units.

    ``landmarks``: (B, N, 2) float32 in [-1, 1] crop coordinates; ``pose``: (B, 3) float32
    yaw, pitch, roll in radians (``facepoints.geometry.pose`` convention) or ``None`` without a
    pose branch; ``face_prob``: (B,) float32 face probability or ``None`` without a tracking branch;
    ``sigma``: (B, N, 2) float32 per-point, per-axis spread in the same units as ``landmarks``, or
    ``None`` for networks without uncertainty.
    """

    landmarks: np.ndarray
    pose: np.ndarray | None = None
    face_prob: np.ndarray | None = None
    sigma: np.ndarray | None = None

    @classmethod
    def from_named(cls, named: dict) -> "NetworkOutput":
        """From a name -> array mapping (extra names ignored, missing branches ``None``)."""
        def arr(key: str) -> np.ndarray | None:
            value = named.get(key)
            return None if value is None else np.asarray(value, np.float32)
        return cls(arr("landmarks"), arr("pose"), arr("face_prob"), arr("sigma"))


class TorchRuntime:
    """Runs a network on (B, 3, S, S) float RGB 0-255: its ``forward_multitask`` when it declares
    outputs besides the landmarks (``capabilities.multitask``), else ``forward``."""

    name = "torch"

    def __init__(self, module: nn.Module, threads: int | None = None) -> None:
        torch = require_torch("the PyTorch runtime")
        self.module = module.eval()
        if threads:
            torch.set_num_threads(threads)

    def __call__(self, crops: np.ndarray) -> NetworkOutput:
        """(B, S, S, 3) RGB crops -> ``NetworkOutput``."""
        import torch

        with torch.inference_mode():
            x = _as_tensor(crops)
            if self.module.capabilities.multitask:
                return NetworkOutput.from_named({k: v.numpy() for k, v in self.module.forward_multitask(x).items()})
            return NetworkOutput(self.module(x).numpy())


class PromptedTorchRuntime(TorchRuntime):
    """Runs a prompted network's ``forward_points`` (TUFA) with fixed plane points: landmarks
    (B, P, 2) are where the (P, 2) points of the canonical face plane fall in each crop."""

    name = "torch+points"

    def __init__(self, module: nn.Module, points: np.ndarray, threads: int | None = None) -> None:
        if not module.capabilities.takes_points:
            raise ValueError(f"{type(module).__name__} cannot be prompted with plane points")
        super().__init__(module, threads)
        import torch

        self.points = torch.from_numpy(np.asarray(points, np.float32).reshape(-1, 2).copy())

    def __call__(self, crops: np.ndarray) -> NetworkOutput:
        """(B, S, S, 3) RGB crops -> ``NetworkOutput`` with (B, P, 2) landmarks."""
        import torch

        with torch.inference_mode():
            return NetworkOutput(self.module.forward_points(_as_tensor(crops), self.points).numpy())


def _as_tensor(crops: np.ndarray) -> torch.Tensor:
    """(B, S, S, 3) crops -> (B, 3, S, S) float tensor."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2))).float()


#: ONNX metadata key of a prompted network's plane anchors: JSON {set name: [[x, y], ...]}, default set first
PLANE_ANCHORS_KEY = "facepoints.plane_anchors"


class OnnxRuntime:
    """Runs an exported ONNX file of the same network with ONNX Runtime (faster on CPU). A file
    with a ``points`` input (TUFA) locates its own landmark set's plane anchors (``anchors``, read
    from the file), or other plane points given to ``prompted``."""

    name = "onnx"

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inputs = [i.name for i in self.session.get_inputs()]
        self.input = inputs[0]
        self.outputs = [o.name for o in self.session.get_outputs()]
        if len(self.outputs) > 1 and "landmarks" not in self.outputs:
            raise ValueError(f"{path}: a multi-output model needs outputs named {OUTPUT_NAMES}, has {self.outputs}")
        self.path = Path(path)
        self.anchors: dict[str, np.ndarray] = {}
        self.points: np.ndarray | None = None
        if "points" in inputs:
            stored = self.session.get_modelmeta().custom_metadata_map.get(PLANE_ANCHORS_KEY)
            if stored is None:
                raise ValueError(f"{path}: a points input but no plane anchors ({PLANE_ANCHORS_KEY}) in its metadata")
            self.anchors = {k: np.asarray(v, np.float32).reshape(-1, 2) for k, v in json.loads(stored).items()}
            self.points = next(iter(self.anchors.values()))

    def prompted(self, points: np.ndarray) -> "OnnxRuntime":
        """This runtime locating ``points`` (P, 2) of the face plane instead of its own landmark set."""
        if not self.anchors:
            raise ValueError(f"{self.path.name}: this ONNX file takes no plane points (re-export it, or use "
                             "backend='torch')")
        self.points = np.ascontiguousarray(np.asarray(points, np.float32).reshape(-1, 2))
        return self

    def __call__(self, crops: np.ndarray) -> NetworkOutput:
        """(B, S, S, 3) RGB crops -> ``NetworkOutput`` (a single unnamed output is the landmarks)."""
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)
        feed = {self.input: x} if self.points is None else {self.input: x, "points": self.points}
        values = self.session.run(None, feed)
        if len(values) == 1:
            return NetworkOutput(np.asarray(values[0], np.float32))
        return NetworkOutput.from_named(dict(zip(self.outputs, values)))


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class FlipTestRuntime:
    """Test-time flip augmentation around another runtime: each crop and its mirror image go
    through the network as one batch; the mirrored prediction is mapped back (x negated, points
    re-ordered by the scheme's flip permutation; yaw and roll negated) and averaged in.

    Per-point spreads describe the equal mixture of the two predicted distributions, whose
    variance is the mean of their variances plus the variance of their means: per axis,
    ``s = sqrt((s1^2 + s2^2) / 2 + (d / 2)^2 / v)`` with ``d`` the distance between the two means
    and ``v`` the variance of a unit-spread distribution (1 Gaussian, 2 Laplace). So a point on
    which the two views disagree, e.g. an occluded one, is reported as less certain."""

    def __init__(self, inner, flip_permutation: tuple[int, ...], spread_variance: float = 1.0) -> None:
        self.inner = inner
        self.permutation = list(flip_permutation)
        self.spread_variance = float(spread_variance)
        self.name = f"{inner.name}+flip"

    def __call__(self, crops: np.ndarray) -> NetworkOutput:
        k = len(crops)
        out = self.inner(np.concatenate([crops, crops[:, :, ::-1]]))
        mirrored = out.landmarks[k:, self.permutation] * np.array([-1.0, 1.0], np.float32)
        landmarks = (out.landmarks[:k] + mirrored) / 2
        pose = None if out.pose is None else (out.pose[:k] + out.pose[k:] * np.array([-1, 1, -1], np.float32)) / 2
        prob = None if out.face_prob is None else (out.face_prob[:k] + out.face_prob[k:]) / 2
        sigma = None
        if out.sigma is not None:
            s1, s2 = out.sigma[:k], out.sigma[k:, self.permutation]
            half_gap = (out.landmarks[:k] - mirrored) / 2
            sigma = np.sqrt((s1 ** 2 + s2 ** 2) / 2 + half_gap ** 2 / self.spread_variance).astype(np.float32)
        return NetworkOutput(landmarks.astype(np.float32), pose, prob, sigma)
