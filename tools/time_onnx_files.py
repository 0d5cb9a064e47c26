#!/usr/bin/env python
"""ms per crop of ONNX landmark files, timed in alternating rounds on one thread, batch 1.

Rounds alternate between the files, so load on a shared machine falls on all of them alike. Printed
per file: the median of all calls, the fastest round's median (the best estimate of a quiet
machine) and both as a ratio to the first file. Random crops: speed does not depend on content.

    git show HEAD~1:src/facepoints/registry/weights/atpn_lite0_68.onnx > /tmp/before.onnx
    python tools/time_onnx_files.py /tmp/before.onnx src/facepoints/registry/weights/atpn_lite0_68.onnx
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from facepoints.pipeline.runtime import OnnxRuntime


def interleaved_ms(runtimes: list[OnnxRuntime], crop: np.ndarray, rounds: int = 6,
                   calls: int = 40) -> list[np.ndarray]:
    """(rounds, calls) milliseconds of each runtime on the (1, 3, S, S) ``crop``, rounds alternating."""
    times = np.zeros((len(runtimes), rounds, calls))
    for r in range(rounds):
        for k, rt in enumerate(runtimes):
            feed = {rt.input: crop}
            for _ in range(5):  # warm the caches after the other file ran
                rt.session.run(None, feed)
            for c in range(calls):
                start = time.perf_counter()
                rt.session.run(None, feed)
                times[k, r, c] = (time.perf_counter() - start) * 1000
    return list(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", type=Path, help="ONNX files with a `crops` input of one size")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--calls", type=int, default=100)
    args = p.parse_args()
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise SystemExit(f"error: no such file: {', '.join(missing)}")
    runtimes = [OnnxRuntime(f, threads=1) for f in args.files]
    size = runtimes[0].session.get_inputs()[0].shape[-1]
    crop = (np.random.default_rng(0).random((1, 3, size, size)) * 255).astype(np.float32)
    results = interleaved_ms(runtimes, crop, args.rounds, args.calls)
    median0, best0 = float(np.median(results[0])), float(np.median(results[0], axis=1).min())
    print("| file | median ms | fastest round ms | x first (median / fastest) |\n|---|---|---|---|")
    for path, ms in zip(args.files, results):
        median, best = float(np.median(ms)), float(np.median(ms, axis=1).min())
        print(f"| {path} | {median:.2f} | {best:.2f} | {median / median0:.2f} / {best / best0:.2f} |")


if __name__ == "__main__":
    main()
