"""Images per second through the whole pipeline (decode, detection, landmarks): the one-image
loop (``lm(path)`` per image) against ``Landmarker.batch``, measured side by side on the same
images, the order of the paths rotating from round to round (the machine may be shared:
compare rounds, not single runs). A second loop runs with a one-thread detector, as each batch
worker's is, to tell the gain of the worker threads and gathered network calls from that of
the detector's thread count (ONNX Runtime's idle threads spin, which costs a busy machine)."""
from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..landmarker import Landmarker

#: result keys of the timed paths, in the order of the first round
PATHS = ("loop", "loop_1thread_detector", "batch")


def _loop(lm: Landmarker, paths: Sequence[Path]) -> int:
    faces = 0
    for path in paths:
        try:
            faces += len(lm(path))
        except ValueError:  # a bad image: the batch path carries it as an error, the loop skips it
            pass
    return faces


def _batch(lm: Landmarker, paths: Sequence[Path], batch_size: int, workers: int) -> int:
    return sum(len(r.faces) for r in lm.batch(paths, batch_size=batch_size, workers=workers))


def time_throughput(lm: Landmarker, paths: Sequence[Path], workers: int = 2, batch_size: int = 16,
                    rounds: int = 3, lean: Landmarker | None = None) -> dict:
    """Images/s per round of the loop, of the loop with ``lean`` (the same model with a one-thread
    detector; skipped when ``None``) and of the batch path; the batch's ratio to each loop per
    round and the medians; faces found by each (they must agree); load average before and after."""
    if not paths:
        raise ValueError("no images to time")
    runs: dict[str, Callable[[], int]] = {"loop": lambda: _loop(lm, paths),
                                          "batch": lambda: _batch(lm, paths, batch_size, workers)}
    if lean is not None:
        runs["loop_1thread_detector"] = lambda: _loop(lean, paths)
    order = [k for k in PATHS if k in runs]
    warm = list(paths[:batch_size])
    for model in (lm, lean) if lean is not None else (lm,):
        _loop(model, warm[:2])
    _batch(lm, warm, batch_size, workers)  # every detector instance and buffer made before timing
    load_before = os.getloadavg()[0]
    rates: dict[str, list[float]] = {k: [] for k in order}
    faces: dict[str, int] = {}
    for r in range(rounds):
        for key in order[r % len(order):] + order[:r % len(order)]:
            start = time.perf_counter()
            faces[key] = runs[key]()
            rates[key].append(round(len(paths) / (time.perf_counter() - start), 2))
    row = {"images": len(paths), "workers": workers, "batch_size": batch_size, "rounds": rounds,
           "model": lm.card.name, "runtime": lm.runtime.name}
    for key in order:
        row[f"{key}_images_per_s"] = rates[key]
        row[f"median_{key}"] = statistics.median(rates[key])
        row[f"faces_{key}"] = faces[key]
        if key != "batch":
            ratios = [round(b / a, 3) for a, b in zip(rates[key], rates["batch"])]
            row[f"ratio_to_{key}_per_round"] = ratios
            row[f"median_ratio_to_{key}"] = statistics.median(ratios)
    row["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return row
