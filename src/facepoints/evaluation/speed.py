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
    ms = _timed(_crop_step(landmarker, seed), repeats, warmup)
    return _row(landmarker, ms, network_outputs(landmarker), repeats)


def _crop_step(landmarker: Landmarker, seed: int = 0):
    """``step(i)``: the runtime alone on one of 8 random crops."""
    size = landmarker.spec.size
    crops = np.random.default_rng(seed).integers(0, 256, (8, size, size, 3), dtype=np.uint8)
    return lambda i: landmarker.runtime(crops[i % 8][None])


def time_tracking_step(landmarker: Landmarker, repeats: int = 300, warmup: int = 30, seed: int = 0,
                       frame_size: tuple[int, int] = (480, 640)) -> dict:
    """Time one face's whole step in tracking mode, batch 1: warp the crop for a box out of a
    (480, 640) frame, run the network, decode landmarks / pose / confidence (``Landmarker.predict``)."""
    ms = _timed(_tracking_step(landmarker, seed, frame_size), repeats, warmup)
    return _row(landmarker, ms, network_outputs(landmarker), repeats)


def _tracking_step(landmarker: Landmarker, seed: int = 0, frame_size: tuple[int, int] = (480, 640)):
    """``step(i)``: one face's crop warp + network + decoding on one of 2 random frames."""
    frames = np.random.default_rng(seed).integers(0, 256, (2, *frame_size, 3), dtype=np.uint8)
    h, w = frame_size
    boxes = np.array([[w * 0.35, h * 0.3, w * 0.6, h * 0.65]], np.float32)
    return lambda i: landmarker._predict(frames[i % 2], boxes)


STEPS = {"landmark_stage": _crop_step, "tracking_step": _tracking_step}


def time_side_by_side(landmarkers: list[Landmarker], repeats: int = 300, rounds: int = 6,
                      warmup: int = 30) -> dict[str, list[dict]]:
    """Each step of ``STEPS`` for every landmarker in alternating rounds (``repeats / rounds``
    calls each), so load on a shared machine falls on all alike; per step, one row per landmarker
    with the median over all its calls, ``median_per_round`` and ``ratio`` (its median over the
    first landmarker's: the figure to carry to another machine)."""
    if rounds < 1 or repeats < rounds:
        raise ValueError(f"need 1 <= rounds <= repeats, got rounds={rounds}, repeats={repeats}")
    result: dict[str, list[dict]] = {}
    for key, make_step in STEPS.items():
        steps = [make_step(lm) for lm in landmarkers]
        for step in steps:
            _timed(step, 0, warmup)
        times: list[list[np.ndarray]] = [[] for _ in landmarkers]
        for _ in range(rounds):
            for k, step in enumerate(steps):
                times[k].append(_timed(step, repeats // rounds, 0))
        rows = [_row(lm, np.concatenate(ms), network_outputs(lm), len(np.concatenate(ms)))
                | {"median_per_round": [round(float(np.median(m)), 3) for m in ms]}
                for lm, ms in zip(landmarkers, times)]
        for row in rows:
            row["ratio"] = round(row["median_ms"] / rows[0]["median_ms"], 3)
        result[key] = rows
    return result
