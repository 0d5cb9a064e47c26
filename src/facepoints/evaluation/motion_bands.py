"""Stability by motion band: tracking on :mod:`facepoints.datasets.motion_clips` clips, scored per band.

Each band (still / slow / medium / fast, :data:`facepoints.datasets.motion_clips.BANDS`)
gets ``per_band`` clips cycling through the variants of :data:`VARIANTS` (full-frame
face, small face on a background, mouth opening and closing, an occluder passing); a
``cut`` scenario (slow motion, a second face replaces the first mid-clip) is scored apart:
whether a new track starts at the cut instead of the old one dragging on.

Per band: raw and smoothed NME and jitter (:func:`facepoints.evaluation.stability.summarise_traces`),
so a smoother is judged on a moving head as well as a still one. Smoothing is replayed on
the recorded raw streams, so :func:`tune_bands` searches settings without re-running the network.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from tqdm import tqdm

from ..datasets.motion_clips import BANDS, MotionClip, MotionSpec, make_motion_clip
from ..datasets.records import FaceRecord
from ..geometry import box_from_points, box_iou
from ..landmarker import Landmarker
from ..pipeline.images import load_image
from ..schemes import LandmarkScheme
from ..tracking import SmoothingConfig, TrackerConfig
from .stability import (MATCH_IOU, ClipTrace, frame_errors, per_frame_curves, replay_smoothing, summarise_traces,
                        trace_clip)

#: clip variants, cycled through within each band: (layout, face size, mouth opening in IOD, occluder)
VARIANTS = (("full", 0.45, 0.0, 0.0), ("small", 0.15, 0.0, 0.0), ("full", 0.45, 0.25, 0.0),
            ("small", 0.15, 0.0, 0.4), ("full", 0.45, 0.0, 0.4), ("small", 0.15, 0.25, 0.0))
CUT = "cut"


#: the grid ``facepoints stability --bands --tune`` searches (kalman mode)
BAND_GRID = {"motion_noise": (0.05, 0.1, 0.2), "motion_beta": (2.0, 3.0, 5.0),
             "measurement_noise": (0.01, 0.02, 0.03, 0.04), "shape_cutoff": (0.5, 1.0)}


@dataclass
class BandTraces:
    """Recorded traces per band (``cut`` included when asked for) and the images used."""

    traces: dict[str, list[ClipTrace]]
    cut_frames: list[int]
    images: list[str]
    skipped: int


def band_specs(band: str, count: int, frames: int) -> list[MotionSpec]:
    """The ``count`` clip recipes of a band (``"cut"``: slow motion, the face replaced mid-clip)."""
    if band == CUT:
        return [MotionSpec("slow", frames, layout=VARIANTS[i % 2][0], face_size=VARIANTS[i % 2][1],
                           cut_at=frames // 2) for i in range(count)]
    return [MotionSpec(band, frames, layout=v[0], face_size=v[1], expression=v[2], occluder=v[3])
            for v in (VARIANTS[i % len(VARIANTS)] for i in range(count))]


def record_bands(landmarker: Landmarker, records: Sequence[FaceRecord], per_band: int = 6, frames: int = 60,
                 bands: Sequence[str] = (*BANDS, CUT), seed: int = 0, config: TrackerConfig | None = None,
                 progress: bool = True) -> BandTraces:
    """Make the clips (faces in a seeded order, each used once while there are more faces than
    clips; a face the detector misses on its clip's first frame is skipped) and record the
    tracker on each."""
    rng = np.random.default_rng(seed)
    order = itertools.cycle(rng.permutation(len(records)))  # faces repeat only when there are fewer than clips
    specs = [(band, spec) for band in bands for spec in band_specs(band, per_band, frames)]
    out: dict[str, list[ClipTrace]] = {b: [] for b in bands}
    images, cuts, skipped = [], [], 0
    for k, (band, spec) in enumerate(tqdm(specs, desc="clips", unit="clip", disable=not progress)):
        clip = None
        for _ in range(len(records)):
            rec = records[int(next(order))]
            second = None
            if spec.cut_at is not None:
                other = records[int(rng.integers(len(records)))]
                second = (load_image(other.image_path), other.landmarks)
            candidate = make_motion_clip(load_image(rec.image_path), rec.landmarks, spec, seed * 1009 + k, second)
            if _detectable(landmarker, candidate):
                clip = candidate
                images.append(str(rec.image_path))
                break
            skipped += 1
        if clip is None:
            raise ValueError(f"the detector finds none of the {len(records)} faces on a {band} clip's first frame")
        out[band].append(trace_clip(landmarker, clip, config))
        if spec.cut_at is not None:
            cuts.append(spec.cut_at)
    return BandTraces(out, cuts, images, skipped)


def _detectable(landmarker: Landmarker, clip: MotionClip) -> bool:
    dets = landmarker._detect_faces(next(iter(clip.frames())))
    truth_box = box_from_points(clip.truth[0])[None]
    return bool(dets) and box_iou(np.stack([d.box for d in dets]), truth_box).max() >= MATCH_IOU


def cut_summary(traces: Sequence[ClipTrace], cut_frames: Sequence[int], scheme: LandmarkScheme,
                smoothing: SmoothingConfig | None = None, window: int = 5) -> dict:
    """At each cut: the share of clips where a new track took over at the cut frame itself (the
    old one was not dragged), and the smoothed NME over the ``window`` frames from the cut."""
    new, nme = [], []
    for tr, cut in zip(traces, cut_frames):
        new.append(bool(tr.track_ids[cut] >= 0 and tr.track_ids[cut] != tr.track_ids[cut - 1]))
        pts = tr.smoothed if smoothing is None else replay_smoothing(tr, smoothing)
        nme.append(frame_errors(pts, tr, scheme)[0][cut:cut + window])
    joined = np.concatenate(nme)
    joined = joined[np.isfinite(joined)]
    return {"new_track_at_cut": float(np.mean(new)) if new else float("nan"),
            "nme_after_cut": float(joined.mean()) if len(joined) else float("nan"), "clips": len(new)}


def band_table(recorded: BandTraces, scheme: LandmarkScheme, smoothing: SmoothingConfig | None = None) -> dict:
    """Per band: :func:`summarise_traces`; for ``cut`` also :func:`cut_summary`."""
    table = {}
    for band, traces in recorded.traces.items():
        if not traces:
            continue
        table[band] = {"clips": len(traces), **summarise_traces(traces, scheme, smoothing)}
        if band == CUT:
            table[band].update(cut_summary(traces, recorded.cut_frames, scheme, smoothing))
    return table


def format_table(table: dict) -> str:
    """The markdown table of :func:`band_table` (percent of the inter-ocular distance)."""
    lines = ["| band | clips | NME raw | NME smoothed | x raw | jitter raw | jitter smoothed | x raw | ms/face/frame "
             "(network) |", "|---|---|---|---|---|---|---|---|---|"]
    for band, s in table.items():
        timing = s.get("ms_per_face_frame", {})
        ms = f"{timing.get('cpu_median', float('nan')):.2f}"
        if "network_median" in timing:
            ms += f" ({timing['network_median']:.2f})"
        lines.append(f"| {band} | {s.get('clips', '')} | {100 * s['nme_raw']:.2f} % | "
                     f"{100 * s['nme_smoothed']:.2f} % | {1 + s['nme_change']:.3f} | {100 * s['jitter_raw']:.3f} % | "
                     f"{100 * s['jitter_smoothed']:.3f} % | "
                     f"{s['jitter_ratio']:.2f} | {ms} |")
    return "\n".join(lines)


def band_curves(recorded: BandTraces, scheme: LandmarkScheme) -> dict[str, dict[str, np.ndarray]]:
    """Per band, the per-frame mean curves of :func:`facepoints.evaluation.stability.per_frame_curves`."""
    return {band: per_frame_curves(traces, scheme) for band, traces in recorded.traces.items() if traces}


def band_score(table: dict, max_nme_ratio: float = 1.02) -> float:
    """Tuning objective (lower is better): the mean jitter ratio over the motion bands, +inf
    when any band's smoothed NME exceeds ``max_nme_ratio`` x raw or a fast band's jitter exceeds raw."""
    ratios = []
    for band, s in table.items():
        if band == CUT:
            continue
        if 1 + s["nme_change"] > max_nme_ratio or (band == "fast" and s["jitter_ratio"] > 1):
            return float("inf")
        ratios.append(s["jitter_ratio"])
    return float(np.mean(ratios)) if ratios else float("inf")


def tune_bands(recorded: BandTraces, scheme: LandmarkScheme, grid: dict | None = None,
               base: SmoothingConfig | None = None,
               max_nme_ratio: float = 1.02) -> tuple[SmoothingConfig, list[dict]]:
    """Grid search of ``grid`` (field -> values of :class:`SmoothingConfig`) by :func:`band_score`
    on replayed traces; the best setting and every row (best first)."""
    base, grid = base or SmoothingConfig(), grid or BAND_GRID
    motion = BandTraces({b: t for b, t in recorded.traces.items() if b != CUT}, [], [], 0)
    rows = []
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid.keys(), values))
        config = replace(base, **params)
        table = band_table(motion, scheme, config)
        rows.append({**params, "score": band_score(table, max_nme_ratio),
                     **{f"{b}_{k}": s[k] for b, s in table.items() for k in ("nme_change", "jitter_ratio")}})
    rows.sort(key=lambda r: r["score"])
    best = {k: rows[0][k] for k in grid}
    return replace(base, **best), rows
