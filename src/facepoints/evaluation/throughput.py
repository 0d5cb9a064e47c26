"""Images per second through the whole pipeline (decode, detection, landmarks): the one-image
loop (``lm(path)`` per image) against ``Landmarker.batch``, measured side by side on the same
images and the same Landmarker, alternating which goes first in each round (the machine may be
shared: compare rounds, not single runs)."""
from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from ..landmarker import Landmarker


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
                    rounds: int = 3) -> dict:
    """Images/s of the loop and of the batch path per round, their ratio per round and medians;
    faces found by each (they must agree) and the load average before and after."""
    if not paths:
        raise ValueError("no images to time")
    warm = list(paths[:batch_size])
    _loop(lm, warm[:2])
    _batch(lm, warm, batch_size, workers)  # every detector instance and buffer made before timing
    load_before = os.getloadavg()[0]
    loop, batch, faces = [], [], {}
    for r in range(rounds):
        for kind in (("loop", "batch") if r % 2 == 0 else ("batch", "loop")):
            start = time.perf_counter()
            found = _loop(lm, paths) if kind == "loop" else _batch(lm, paths, batch_size, workers)
            rate = len(paths) / (time.perf_counter() - start)
            (loop if kind == "loop" else batch).append(round(rate, 2))
            faces[kind] = found
    ratios = [round(b / a, 3) for a, b in zip(loop, batch)]
    return {"images": len(paths), "workers": workers, "batch_size": batch_size, "rounds": rounds,
            "loop_images_per_s": loop, "batch_images_per_s": batch, "ratio_per_round": ratios,
            "median_loop": statistics.median(loop), "median_batch": statistics.median(batch),
            "median_ratio": statistics.median(ratios), "faces_loop": faces["loop"], "faces_batch": faces["batch"],
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "model": lm.card.name, "runtime": lm.runtime.name}
