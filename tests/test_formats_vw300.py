"""300VW reader: per-frame records without decoding, and the decoding iterator."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facepoints.datasets.formats.pts import AnnotationFormatError, write_pts
from facepoints.datasets.formats.vw300 import iter_300vw_frames, read_300vw, read_300vw_video

LEVELS = [20, 70, 120, 170, 220]  # grey level of each frame, to recognise it after decoding


def _video(video_dir: Path, frames: int = len(LEVELS)) -> bool:
    video_dir.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(video_dir / "vid.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (32, 32))
    if not writer.isOpened():
        return False
    for level in LEVELS[:frames]:
        writer.write(np.full((32, 32, 3), level, np.uint8))
    writer.release()
    return True


def _annotate(video_dir: Path, numbers: list[int]) -> dict[int, np.ndarray]:
    (video_dir / "annot").mkdir(parents=True, exist_ok=True)
    truth = {}
    for n in numbers:
        pts = np.random.default_rng(n).uniform(0, 31, size=(68, 2)).round(3)
        write_pts(video_dir / "annot" / f"{n:06d}.pts", pts)
        truth[n - 1] = pts
    return truth


def test_read_300vw_video(tmp_path):
    truth = _annotate(tmp_path / "114", [4, 1, 2])
    recs = read_300vw_video(tmp_path / "114")
    assert [r.frame for r in recs] == [0, 1, 3]
    for rec in recs:
        assert rec.image_path == tmp_path / "114/vid.avi" and rec.scheme == "ibug68"
        assert rec.attributes == {"video": "114"}
        np.testing.assert_allclose(rec.landmarks, truth[rec.frame], atol=1e-3)
    _annotate(tmp_path / "007", [1])
    (tmp_path / "notes").mkdir()
    assert [(r.attributes["video"], r.frame) for r in read_300vw(tmp_path)] == [
        ("007", 0), ("114", 0), ("114", 1), ("114", 3)]


def test_read_300vw_malformed(tmp_path):
    _annotate(tmp_path / "001", [1])
    (tmp_path / "001/annot/frame_a.pts").write_text("1 2\n")
    with pytest.raises(AnnotationFormatError, match="frame_a.pts"):
        read_300vw_video(tmp_path / "001")
    _annotate(tmp_path / "002", [1])
    (tmp_path / "002/annot/000002.pts").write_text("version: 1\nn_points: 68\n{\n1 x\n}\n")
    with pytest.raises(AnnotationFormatError, match="000002.pts"):
        read_300vw_video(tmp_path / "002")
    with pytest.raises(FileNotFoundError, match="annot"):
        read_300vw_video(tmp_path / "003")


def test_iter_300vw_frames(tmp_path):
    if not _video(tmp_path / "114"):
        pytest.skip("this OpenCV build cannot write MJPG .avi")
    truth = _annotate(tmp_path / "114", [1, 2, 4])
    seen = []
    for rec, image in iter_300vw_frames(tmp_path / "114"):
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8
        assert abs(float(image.mean()) - LEVELS[rec.frame]) < 8
        np.testing.assert_allclose(rec.landmarks, truth[rec.frame], atol=1e-3)
        seen.append(rec.frame)
    assert seen == [0, 1, 3]


def test_iter_300vw_frames_short_video_warns(tmp_path):
    if not _video(tmp_path / "200", frames=2):
        pytest.skip("this OpenCV build cannot write MJPG .avi")
    _annotate(tmp_path / "200", [1, 2, 3])
    with pytest.warns(UserWarning, match="video ends at frame 2"):
        frames = [rec.frame for rec, _ in iter_300vw_frames(tmp_path / "200")]
    assert frames == [0, 1]
