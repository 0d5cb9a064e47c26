#!/usr/bin/env python
"""Fuzz ``facepoints detect`` with mutated JPEG, PNG, TIFF and WebP files (issue 20).

Makes ``--count`` mutants of real photos (``tools/fuzz_mutations.py``: truncations, bit flips,
byte runs, header edits of width/height fields, chunk and segment lengths, IFD entries), runs
them through the real command line in batches (many files per ``facepoints detect`` call) and
counts, per file:

* ok: results written (``<stem>.json``); refused: exactly one ``facepoints detect: error:``
  line naming the file (the expected answer to a broken file);
* traceback: a Python traceback on stderr; crash: the process died of a signal; hang: no answer
  within ``--timeout`` seconds per file; lost: neither results nor an error line for the file.

A batch that shows a traceback, a crash, a hang, another exit code or a lost file is rerun one
file per process, so each problem is pinned to its file (and its mutation). Each batch's peak
RSS is measured (``os.wait4``). Other stderr lines (library warnings beside our error line) are
counted as noise. Exit code 1 when any traceback, crash, hang or lost file remains.

    python tools/fuzz_images.py --count 2000 --work /tmp/fuzz      # the acceptance run
    python tools/fuzz_images.py --count 50 --batch 25              # quick
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_mutations import make_mutants  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PROBLEMS = ("traceback", "crash", "hang", "lost")


@dataclass
class Outcome:
    """What happened to one file."""

    name: str
    mutation: str
    result: str = "lost"  # ok | refused | traceback | crash | hang | lost
    detail: str = ""


@dataclass
class Report:
    files: int = 0
    outcomes: Counter = field(default_factory=Counter)
    by_format: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    noise_lines: Counter = field(default_factory=Counter)
    batches: int = 0
    reruns: int = 0
    peak_rss_mb: float = 0.0
    seconds: float = 0.0


def run_cli(files: list[Path], out: Path, timeout: float) -> tuple[int | None, str, float]:
    """``facepoints detect FILES --out OUT``: (exit code, negative for a signal, None for a
    timeout; stderr; peak RSS in MB)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), PYTHONFAULTHANDLER="1")
    command = [sys.executable, "-m", "facepoints.cli.main", "detect", *map(str, files), "--out", str(out),
               "--no-progress"]
    err_path = out.with_suffix(".stderr")
    with open(err_path, "w") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=REPO,
                                start_new_session=True)
        deadline, code, usage = time.monotonic() + timeout, None, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                _, _, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = code if code is not None else -9  # reaped here, not by Popen
    return code, err_path.read_text(errors="replace"), usage.ru_maxrss / 1024


def classify(batch: list[tuple[Path, Outcome]], out: Path, code: int | None, stderr: str,
             report: Report) -> bool:
    """Fill each file's outcome from one CLI call; ``True`` when the batch needs one-by-one reruns."""
    error_lines = [line for line in stderr.splitlines() if line.startswith("facepoints detect: error:")]
    for line in stderr.splitlines():
        if line.strip() and not line.startswith("facepoints detect: error:") and "Traceback" not in stderr:
            report.noise_lines[line.split(":")[0][:60]] += 1
    for path, outcome in batch:
        mine = [line for line in error_lines if f"{path}:" in line or f"{path.name}:" in line]
        if (out / f"{path.stem}.json").is_file():
            outcome.result = "ok"
        elif len(mine) == 1:
            outcome.result, outcome.detail = "refused", mine[0].split("error: ", 1)[1][:200]
    if code is None:
        return _mark(batch, "hang", "no answer in time")
    if code < 0:
        return _mark(batch, "crash", f"signal {-code}: {stderr.strip().splitlines()[-1:] }")
    if "Traceback" in stderr:
        return _mark(batch, "traceback", stderr.strip().splitlines()[-1][:200])
    lost = [o for _, o in batch if o.result == "lost"]
    if lost or code not in (0, 2):
        return _mark(batch, "lost", f"exit {code}: {stderr.strip().splitlines()[-1:]}")
    return False


def _mark(batch: list[tuple[Path, Outcome]], result: str, detail: str) -> bool:
    """Give unexplained files of a failed batch its result; ``True``: rerun them one by one."""
    for _, outcome in batch:
        if outcome.result == "lost":
            outcome.result, outcome.detail = result, detail
    return len(batch) > 1


def fuzz(count: int, work: Path, batch_size: int, per_file: float, startup: float, seed: int) -> Report:
    work.mkdir(parents=True, exist_ok=True)
    inputs = work / "inputs"
    inputs.mkdir(exist_ok=True)
    outcomes: list[tuple[Path, Outcome]] = []
    for name, suffix, data, mutation in make_mutants(count, seed):
        path = inputs / f"{name}{suffix}"
        path.write_bytes(data)
        outcomes.append((path, Outcome(path.name, mutation)))
    report, start = Report(files=len(outcomes)), time.monotonic()
    queue = [outcomes[i:i + batch_size] for i in range(0, len(outcomes), batch_size)]
    while queue:
        batch = queue.pop(0)
        for _, outcome in batch:
            outcome.result, outcome.detail = "lost", ""
        out = work / f"out{report.batches:05d}"
        code, stderr, rss = run_cli([p for p, _ in batch], out, startup + per_file * len(batch))
        report.batches += 1
        report.peak_rss_mb = max(report.peak_rss_mb, rss)
        if classify(batch, out, code, stderr, report):
            rerun = [item for item in batch if item[1].result in PROBLEMS]
            report.reruns += len(rerun)
            queue[:0] = [[item] for item in rerun]
        done = sum(o.result != "lost" for _, o in outcomes)
        print(f"\rbatch {report.batches}: {done}/{len(outcomes)} files", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    report.seconds = round(time.monotonic() - start, 1)
    report.outcomes = Counter(o.result for _, o in outcomes)
    for _, o in outcomes:
        fmt = report.by_format.setdefault(o.mutation.split(":")[0], {})
        fmt[o.result] = fmt.get(o.result, 0) + 1
    report.problems = [asdict(o) for _, o in outcomes if o.result in PROBLEMS]
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=2000, help="number of mutated files")
    p.add_argument("--work", type=Path, default=Path("runs/fuzz_images"), help="folder for files and outputs")
    p.add_argument("--batch", type=int, default=50, help="files per facepoints detect call")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per file")
    p.add_argument("--startup", type=float, default=60.0, help="seconds allowed per call to start")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="write the report here (default: WORK/report.json)")
    args = p.parse_args(argv)
    report = fuzz(args.count, args.work, args.batch, args.timeout, args.startup, args.seed)
    summary = {**vars(report), "outcomes": dict(report.outcomes), "noise_lines": dict(report.noise_lines)}
    (args.json or args.work / "report.json").write_text(json.dumps(summary, indent=1))
    counts = {k: report.outcomes.get(k, 0) for k in ("ok", "refused", *PROBLEMS)}
    print(f"files {report.files}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
          + f"; {report.batches} CLI calls ({report.reruns} one-file reruns), peak RSS "
            f"{report.peak_rss_mb:.0f} MB, {report.seconds:.0f} s")
    print("by format: " + "; ".join(f"{fmt} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
                                    for fmt, c in report.by_format.items()))
    if report.noise_lines:
        print("other stderr lines: " + ", ".join(f"{k!r} x{v}" for k, v in report.noise_lines.most_common(8)))
    for problem in report.problems[:20]:
        print(f"  {problem['result']}: {problem['name']} ({problem['mutation']}): {problem['detail']}")
    return 1 if any(counts[k] for k in PROBLEMS) else 0


if __name__ == "__main__":
    sys.exit(main())
