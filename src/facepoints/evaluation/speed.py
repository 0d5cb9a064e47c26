"""Landmark-stage speed: median milliseconds per face, batch 1, on this CPU."""
from __future__ import annotations

import platform
import time

import numpy as np

from ..landmarker import Landmarker


def time_landmark_stage(landmarker: Landmarker, repeats: int = 300, warmup: int = 30,
                        seed: int = 0) -> dict:
    """Time the runtime alone (crop in, normalised landmarks out) on random crops, batch 1."""
    size = landmarker.spec.size
    crops = np.random.default_rng(seed).integers(0, 256, (8, size, size, 3), dtype=np.uint8)
    for i in range(warmup):
        landmarker.runtime(crops[i % 8][None])
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        landmarker.runtime(crops[i % 8][None])
        times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1000
    return {"model": landmarker.card.name, "runtime": landmarker.runtime.name, "batch": 1,
            "median_ms": round(float(np.median(ms)), 3), "p90_ms": round(float(np.percentile(ms, 90)), 3),
            "repeats": repeats, "cpu": platform.processor() or platform.machine()}


def time_full_image(landmarker: Landmarker, image: np.ndarray, repeats: int = 20) -> dict:
    """Median milliseconds for detection + landmarks on one RGB image."""
    landmarker(image)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        faces = landmarker(image)
        times.append(time.perf_counter() - t0)
    return {"median_ms": round(float(np.median(times) * 1000), 2), "faces": len(faces)}
