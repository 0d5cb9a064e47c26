"""Per-face speed on this CPU, batch 1: the network alone on a crop (landmarks, plus pose and
face confidence when the model has those branches), and the whole per-face step of tracking
mode (crop warp from a frame + network + decoding)."""
from __future__ import annotations

import platform
import time

import numpy as np

from ..landmarker import Landmarker


def _timed(step, repeats: int, warmup: int) -> np.ndarray:
    """Milliseconds of ``step(i)`` for ``repeats`` calls after ``warmup`` untimed ones."""
    for i in range(warmup):
        step(i)
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - t0)
    return np.asarray(times) * 1000


def _row(landmarker: Landmarker, ms: np.ndarray, outputs: list[str], repeats: int) -> dict:
    return {"model": landmarker.card.name, "runtime": landmarker.runtime.name, "batch": 1,
            "outputs": outputs, "median_ms": round(float(np.median(ms)), 3),
            "p90_ms": round(float(np.percentile(ms, 90)), 3), "repeats": repeats,
            "cpu": platform.processor() or platform.machine()}


def network_outputs(landmarker: Landmarker) -> list[str]:
    """Names of what the landmarker's network returns for a crop."""
    size = landmarker.spec.size
    out = landmarker.runtime(np.zeros((1, size, size, 3), np.uint8))
    return ["landmarks"] + [k for k in ("pose", "face_prob") if getattr(out, k) is not None]


def time_landmark_stage(landmarker: Landmarker, repeats: int = 300, warmup: int = 30,
                        seed: int = 0) -> dict:
    """Time the runtime alone on random crops, batch 1: crop in, every output of the network out
    (landmarks, and pose / face probability for multitask models; ``outputs`` says which)."""
    size = landmarker.spec.size
    crops = np.random.default_rng(seed).integers(0, 256, (8, size, size, 3), dtype=np.uint8)
    ms = _timed(lambda i: landmarker.runtime(crops[i % 8][None]), repeats, warmup)
    return _row(landmarker, ms, network_outputs(landmarker), repeats)


def time_tracking_step(landmarker: Landmarker, repeats: int = 300, warmup: int = 30, seed: int = 0,
                       frame_size: tuple[int, int] = (480, 640)) -> dict:
    """Time one face's whole step in tracking mode, batch 1: warp the crop for a box out of a
    (480, 640) frame, run the network, decode landmarks / pose / confidence (``Landmarker.predict``)."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (2, *frame_size, 3), dtype=np.uint8)
    h, w = frame_size
    boxes = np.array([[w * 0.35, h * 0.3, w * 0.6, h * 0.65]], np.float32)
    ms = _timed(lambda i: landmarker._predict(frames[i % 2], boxes), repeats, warmup)
    return _row(landmarker, ms, network_outputs(landmarker), repeats)
