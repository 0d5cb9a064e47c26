"""300VW: ``<video id>/vid.avi`` with ``<video id>/annot/000001.pts`` ... per frame.

Annotation files are iBUG ``.pts`` (1-based coordinates, converted to 0-based by
`read_pts`) named by the 1-based frame number; records carry the 0-based frame index.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..records import FaceRecord
from ._common import format_error
from .pts import read_pts


def read_300vw_video(video_dir: str | Path, video_name: str = "vid.avi") -> list[FaceRecord]:
    """One record per ``annot/*.pts``, sorted by frame; ``image_path`` is the video file,
    ``frame`` the 0-based frame index (file ``000001.pts`` -> frame 0). Decodes nothing."""
    video_dir = Path(video_dir)
    annot = video_dir / "annot"
    if not annot.is_dir():
        raise FileNotFoundError(f"{annot}: no 300VW annot folder")
    video = video_dir / video_name
    frames = []
    for pts in annot.glob("*.pts"):
        if not pts.stem.isdigit() or int(pts.stem) < 1:
            raise format_error(pts, None, "300VW annotation names must be 1-based frame numbers")
        frames.append((int(pts.stem) - 1, pts))
    return [FaceRecord(video, read_pts(pts), "ibug68", frame=frame, attributes={"video": video_dir.name})
            for frame, pts in sorted(frames)]


def read_300vw(root: str | Path, video_name: str = "vid.avi") -> list[FaceRecord]:
    """Records of every video folder (one with an ``annot`` folder) under ``root``, by video id."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such 300VW folder")
    videos = sorted(d for d in root.iterdir() if (d / "annot").is_dir())
    return [rec for d in videos for rec in read_300vw_video(d, video_name)]


def iter_300vw_frames(video_dir: str | Path, video_name: str = "vid.avi",
                      rgb: bool = True) -> Iterator[tuple[FaceRecord, np.ndarray]]:
    """(record, frame image) for each annotated frame, decoding the video once in order.

    Images are RGB uint8 (BGR if ``rgb=False``). Warns and stops if the video has fewer
    frames than the annotations.
    """
    import cv2

    records = read_300vw_video(video_dir, video_name)
    if not records:
        return
    capture = cv2.VideoCapture(str(records[0].image_path))
    if not capture.isOpened():
        raise FileNotFoundError(f"{records[0].image_path}: cannot open video")
    try:
        position, pending = 0, iter(records)
        record = next(pending, None)
        while record is not None:
            ok, frame = capture.read()
            if not ok:
                warnings.warn(f"{record.image_path}: video ends at frame {position}, "
                              f"annotations go on to frame {records[-1].frame}", stacklevel=2)
                return
            while record is not None and record.frame == position:
                yield record, (cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if rgb else frame)
                record = next(pending, None)
            position += 1
    finally:
        capture.release()
