"""A model card as text a person reads: what the model is, its licence and data, each measured
number with the command behind it, and its files with their sha256."""
from __future__ import annotations

import textwrap
from pathlib import PurePosixPath

from ..registry.card import ModelCard

WIDTH = 100
INDENT = " " * 16


def card_text(card: ModelCard) -> str:
    """The readable summary of ``card`` (``facepoints models --card NAME``)."""
    c = card.config
    lines = [f"{card.name}", *_wrap("", card.summary, first=2), ""]
    points = c.get("num_points", "?")
    extras = [k for k in ("pose", "tracking") if c.get(k)] + ([f"{c['stages']} stages"] if c.get("stages") else [])
    extras += [f"per-point {c['distribution']} sigma"] if c.get("distribution") not in (None, "none") else []
    lines += _field("architecture", f"{card.architecture}, {c.get('backbone', '?')} backbone"
                    + (f" ({', '.join(extras)})" if extras else ""))
    lines += _field("scheme", f"{card.scheme}, {points} points")
    lines += _field("input", f"{card.crop.size} px crops of the tight landmark box x {card.crop.margin}")
    lines += _field("licence", card.licence or "not stated")
    lines += _field("data", _data_text(card.training))
    if card.training.get("command"):
        lines.append(f"  {'trained by':14s}{card.training['command']}")  # one line, to copy and run
    lines += ["", "measured (each with its command):"]
    lines += _metric_lines(card.metrics, c) or ["  nothing measured yet"]
    lines += _speed_lines(card.speed)
    lines += ["", "files:"]
    for runtime, info in card.weights.items():
        lines.append(f"  {runtime:6s} {info.get('file', '?')}  sha256 {info.get('sha256', '?')}")
    lines += ["", f"the whole card as JSON: facepoints models --card {card.name} --json"]
    return "\n".join(lines)


def _wrap(label: str, text: str, first: int = 0) -> list[str]:
    head = " " * first + (f"{label:14s}" if label else "")
    more = INDENT if label else head + "  "
    return textwrap.wrap(str(text), WIDTH, initial_indent=head, subsequent_indent=more) or [head]


def _field(label: str, text: str) -> list[str]:
    return _wrap(label, text, first=2)


def _data_text(training: dict) -> str:
    data = training.get("data") or []
    if not data:
        return "not stated"
    root = training.get("data_root")
    text = ", ".join(map(str, data)) + (f" (under {root})" if root else "")
    if training.get("validation"):
        text += f"; validation: {training['validation']}"
    done = [f"{training['epochs_completed']} epochs" if "epochs_completed" in training else "",
            f"{training['wall_minutes']:g} min" if "wall_minutes" in training else "",
            f"on {training['machine']}" if training.get("machine") else ""]
    return text + (f"; {' '.join(d for d in done if d)}" if any(done) else "")


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def _headline(name: str, d: dict, config: dict) -> str | None:
    """One line of the numbers that matter in one metrics entry, or ``None`` for an unknown kind."""
    if "overall" in d:
        o, thr = d["overall"], d.get("threshold", d["overall"].get("threshold", 0.08))
        text = (f"NME {_percent(o.get('nme'))}  FR@{thr:g} {_percent(o.get('fr'))}  AUC@{thr:g} "
                f"{o.get('auc', 0):.3f}  ({o.get('count', '?')} faces, {d.get('boxes', '?')} boxes)")
        return text + (f", {_percent(d['detection_rate'])} of faces found" if "detection_rate" in d else "")
    if "clean" in d and "occluded" in d:
        clean, occluded = d["clean"]["nme"], d["occluded"]["nme"]
        text = f"NME clean {_percent(clean.get('nme'))}, occluded {_percent(occluded.get('nme'))}"
        ratio = (d["occluded"].get("uncertainty") or {}).get("sigma_ratio")
        return text + (f"; sigma on occluded / visible points x{ratio:.2f}" if ratio else "")
    if "branch" in d:
        b = d["branch"]
        return f"head pose MAE {b.get('mae', 0):.2f} deg (yaw {b.get('yaw', 0):.2f}, pitch {b.get('pitch', 0):.2f}, " \
               f"roll {b.get('roll', 0):.2f}), FR@10 deg {_percent(b.get('fr_10'))}"
    if "ap" in d:
        return f"face-confidence AP {_percent(d['ap'])}"
    if "summary" in d and "jitter_ratio" in d["summary"]:
        s = d["summary"]
        ms = (s.get("ms_per_face_frame") or {}).get("median")
        return f"video NME {_percent(s.get('nme_smoothed'))} smoothed, jitter x{s['jitter_ratio']:.2f} of raw" + \
            (f", {ms:.1f} ms per face and frame" if ms else "")
    if d.get("rows"):
        rows = [r for r in d["rows"] if r.get("points") == config.get("num_points")] or d["rows"][:1]
        runtime = "ONNX Runtime" if all("onnx_ms" in r for r in rows) else "PyTorch"
        costs = [f"{r['stages']} stage(s) {r['gflops']:.2f} GFLOPs {r.get('onnx_ms', r.get('cpu_ms', 0)):.1f} ms"
                 for r in rows]
        return f"{rows[0].get('points')} points, {runtime}, 1 thread: " + "; ".join(costs)
    return None


def _metric_lines(metrics: dict, config: dict) -> list[str]:
    top = "/".join(PurePosixPath(str(metrics["data"])).with_suffix("").parts[-2:]) if metrics.get("data") else "benchmark"
    entries = [(top, metrics)] if "overall" in metrics else []
    entries += [(k.replace("_", " "), v) for k, v in metrics.items()
                if isinstance(v, dict) and k not in ("overall", "subsets")]
    lines = []
    for name, d in entries:
        headline = _headline(name, d, config)
        if headline is None and "command" not in d:
            continue
        lines += _wrap("", f"{name}: {headline or 'see --json'}", first=2)
        if d.get("command"):
            lines.append(f"      $ {d['command']}")  # one line, to copy and run
    return lines


def _speed_lines(speed: dict) -> list[str]:
    lines, notes = [], []
    for kind, rows in speed.items():
        if isinstance(rows, dict) and "ratio_median" in rows:  # the same weights re-exported, timed against before
            notes.append(f"  {kind.replace('_', ' ')} ({rows.get('date', '?')}): {rows['ratio_median']:.2f}x the "
                         f"previous file's median time; {rows.get('change', '')}")
            if rows.get("command"):
                notes.append(f"      $ {rows['command']}")
        if not isinstance(rows, list):
            continue
        for r in rows:
            lines.append(f"  {kind.replace('_', ' ')}: {r.get('median_ms', 0):.2f} ms median ({r.get('runtime', '?')}, "
                         f"{r.get('threads', '?')} thread(s), batch {r.get('batch', '?')})")
    if lines and speed.get("command"):
        lines.append(f"      $ {speed['command']}")
    return lines + notes
