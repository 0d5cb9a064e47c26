"""Video sources and writers on real encoded files: frame counts, colour order, every kind of bad input."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from facepoints.pipeline.overwrite import OverwriteError
from facepoints.results import Face
from facepoints.tracking import (AnnotatedVideoWriter, FrameResult, JsonlWriter, TrackedFace, VideoError,
                                 open_video)
from video_helpers import decode_all, faststart, probe_codec, write_video

RED_LEFT = np.zeros((96, 128, 3), np.uint8)
RED_LEFT[:, :64, 0] = 220  # RGB: red on the left half, black on the right


def counter_frames(n: int) -> list[np.ndarray]:
    """Frames that differ (a moving bright bar) and carry a red left half."""
    frames = []
    for i in range(n):
        f = RED_LEFT.copy()
        f[40:56, (i * 4) % 112:(i * 4) % 112 + 16] = 255
        frames.append(f)
    return frames


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    assert write_video(path, counter_frames(30), fps=25.0) == 30
    return path


def read_all(source):
    """(frames read, error or None): every frame a source yields before it raises."""
    frames = []
    try:
        for frame in source:
            frames.append(frame)
    except VideoError as exc:
        return frames, exc
    return frames, None


def test_file_source_gives_rgb_frames_with_count_fps_and_times(mp4):
    source = open_video(mp4)
    assert (source.frame_count, source.fps) == (30, 25.0)
    frames, error = read_all(source)
    assert error is None and [f.index for f in frames] == list(range(30))
    assert [f.time for f in frames[:3]] == pytest.approx([0.0, 0.04, 0.08])
    red, blue = frames[0].rgb[50, 20].astype(int), frames[0].rgb[10, 100].astype(int)
    assert red[0] > 180 and red[1] < 60 and red[2] < 60  # decoded to RGB, not BGR
    assert blue.max() < 40
    frames, _ = read_all(open_video(mp4, fps=10.0))  # an fps override also sets the times
    assert [f.time for f in frames[:3]] == pytest.approx([0.0, 0.1, 0.2])


def test_array_source_needs_an_explicit_colour_order():
    bgr = [f[..., ::-1] for f in counter_frames(3)]
    with pytest.raises(ValueError, match="color_order"):
        open_video(bgr)
    frames, error = read_all(open_video(iter(bgr), color_order="BGR"))
    assert error is None and len(frames) == 3
    assert np.array_equal(frames[0].rgb, counter_frames(1)[0])  # BGR input came out as RGB
    assert open_video(bgr, color_order="RGB").frame_count == 3  # a list knows its length
    with pytest.raises(ValueError, match="frame arrays only"):
        open_video("clip.mp4", color_order="RGB")
    with pytest.raises(TypeError, match="one image"):
        open_video(counter_frames(1)[0], color_order="RGB")


def test_bad_array_frame_is_a_video_error_after_the_good_ones():
    frames, error = read_all(open_video([counter_frames(1)[0], np.zeros((2, 2, 3), np.uint8)], color_order="RGB"))
    assert len(frames) == 1 and "frame 1" in str(error)
    frames, error = read_all(open_video(iter([]), color_order="RGB"))
    assert frames == [] and "no frames" in str(error)


def test_missing_folder_empty_and_non_video_files(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        open_video(tmp_path / "missing.mp4")
    with pytest.raises(VideoError, match="folder"):
        open_video(tmp_path)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty file"):
        open_video(tmp_path / "empty.mp4")
    (tmp_path / "notes.mp4").write_text("these are meeting notes, not a video\n" * 20)
    with pytest.raises(VideoError, match="cannot be decoded as a video"):
        open_video(tmp_path / "notes.mp4")


def test_zero_frame_video_is_a_clear_error(tmp_path):
    path = tmp_path / "zero.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48))
    writer.release()  # a real container with no frame in it
    assert path.exists()
    try:  # FFmpeg refuses to open it; a build that opens it finds no frame: both say so
        frames, error = read_all(open_video(path))
    except VideoError as exc:
        frames, error = [], exc
    assert frames == [] and "without frames" in str(error)


def test_truncated_video_yields_its_decodable_frames_then_raises(tmp_path, mp4):
    data = faststart(mp4.read_bytes())  # index first, so a cut-off copy still opens
    (tmp_path / "whole.mp4").write_bytes(data)
    assert len(decode_all(tmp_path / "whole.mp4")) == 30
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) * 6 // 10])
    frames, error = read_all(open_video(tmp_path / "cut.mp4"))
    assert 0 < len(frames) < 30
    assert "truncated or corrupt" in str(error) and f"after {len(frames)} of 30" in str(error)


def test_corrupt_video_yields_its_decodable_frames_then_raises(tmp_path, mp4):
    data = bytearray(mp4.read_bytes())
    data[len(data) // 3:len(data) // 2] = bytes(len(data) // 2 - len(data) // 3)  # a wiped stretch of media
    (tmp_path / "corrupt.mp4").write_bytes(bytes(data))
    frames, error = read_all(open_video(tmp_path / "corrupt.mp4"))
    assert 0 < len(frames) < 30 and "truncated or corrupt" in str(error)


def test_video_truncated_before_its_index_cannot_be_opened(tmp_path, mp4):
    data = mp4.read_bytes()  # OpenCV writes the index (moov) last: cutting the end loses it
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])
    with pytest.raises(VideoError, match="truncated before its index"):
        open_video(tmp_path / "cut.mp4")


def one_face_result(index: int) -> FrameResult:
    points = np.stack(np.meshgrid(np.linspace(30, 70, 17), np.linspace(20, 60, 4)), -1).reshape(-1, 2)[:68]
    points = points.astype(np.float32) + np.float32(0.013)  # float32 values that print long
    face = Face(box=[30, 20, 70, 60], score=1.0, landmarks=points, scheme="ibug68", confidence=0.9)
    return FrameResult(index, index / 25, [TrackedFace(7, face, points + 0.5, "track", index)], index == 0)


def test_jsonl_writer_flushes_each_frame(tmp_path):
    path = tmp_path / "out" / "frames.jsonl"
    writer = JsonlWriter(path)
    writer.write(one_face_result(0))
    line = json.loads(path.read_text())  # readable before close: nothing lost if the run dies
    assert line["index"] == 0 and line["detector_ran"] is True
    face = line["faces"][0]
    assert face["track_id"] == 7 and len(face["landmarks"]) == 68 and len(face["raw_landmarks"]) == 68
    assert face["confidence"] == 0.9 and face["landmarks"][0][0] == pytest.approx(face["raw_landmarks"][0][0] + 0.5)
    # numbers are written rounded (float32 values once printed as 105.26000213623047)
    assert all(len(repr(v).split(".")[-1]) <= 2 for xy in face["landmarks"] + face["raw_landmarks"] for v in xy)
    writer.write(one_face_result(1))
    writer.close()
    assert [json.loads(x)["index"] for x in path.read_text().splitlines()] == [0, 1]


@pytest.mark.parametrize("suffix, codec", [(".mp4", "h264"), (".webm", "vp9")])
def test_annotated_writer_makes_a_browser_codec_video_that_decodes(tmp_path, suffix, codec):
    path = tmp_path / f"annotated{suffix}"
    frames = counter_frames(12)
    with AnnotatedVideoWriter(path, fps=25.0) as writer:
        for i, frame in enumerate(frames):
            writer.write(frame, one_face_result(i))
        with pytest.raises(VideoError, match="is being written at"):
            writer.write(np.zeros((50, 50, 3), np.uint8), one_face_result(12))
    assert probe_codec(path) == codec  # not MPEG-4 part 2, which browsers do not play
    decoded = decode_all(path)
    assert len(decoded) == 12 and decoded[0].shape == (96, 128, 3)
    assert np.abs(decoded[5].astype(int) - frames[5][..., ::-1]).mean() > 1  # something was drawn
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)
    capture.release()


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_annotated_writer_pads_an_odd_frame_size_and_keeps_every_frame_and_colour(tmp_path, suffix):
    path = tmp_path / f"odd{suffix}"
    frames = [f[:95, :127] for f in counter_frames(7)]
    with AnnotatedVideoWriter(path, fps=12.5) as writer:
        for i, frame in enumerate(frames):
            writer.write(frame, FrameResult(i, i / 12.5, [], detector_ran=False))
    decoded = decode_all(path)
    assert len(decoded) == 7 and decoded[0].shape == (96, 128, 3)  # one black row and column added
    assert np.abs(decoded[3][:95, :127].astype(int) - frames[3][..., ::-1]).mean() < 4  # colours kept (BT.709)
    assert np.abs(decoded[3][70:90, 8:48].astype(int) - [0, 0, 220]).mean() < 4  # the red half stays red
    assert decoded[3][95:, :].mean() < 30 and decoded[3][:, 127:].mean() < 30  # black (up to chroma bleed)


@pytest.mark.parametrize("name", ["annotated.avi", "annotated.MP4v", "annotated"])
def test_annotated_writer_refuses_other_suffixes_before_writing(tmp_path, name):
    with pytest.raises(VideoError, match=r"\.mp4 \(H\.264\) or \.webm \(VP9\)") as caught:
        AnnotatedVideoWriter(tmp_path / name, fps=25.0)
    assert "\n" not in str(caught.value) and list(tmp_path.iterdir()) == []


def test_writers_never_replace_an_existing_file_or_folder(tmp_path):
    """Regression: the Python writers replaced an existing file (only ``facepoints track`` refused);
    a folder at the target failed only after ffmpeg had started."""
    (tmp_path / "taken.mp4").mkdir()
    with pytest.raises(OverwriteError, match="is a folder"):
        AnnotatedVideoWriter(tmp_path / "taken.mp4", fps=25.0)
    for name in ("old.mp4", "old.jsonl"):
        (tmp_path / name).write_text("earlier result")
    with pytest.raises(OverwriteError, match="refusing to replace"):
        AnnotatedVideoWriter(tmp_path / "old.mp4", fps=25.0)
    with pytest.raises(OverwriteError, match="refusing to replace"):
        JsonlWriter(tmp_path / "old.jsonl")
    assert {p.name: p.read_text() for p in tmp_path.glob("old.*")} == {"old.mp4": "earlier result",
                                                                     "old.jsonl": "earlier result"}




def test_annotated_writer_reports_an_unwritable_target_in_one_line(tmp_path):
    folder = tmp_path / "gone"
    writer = AnnotatedVideoWriter(folder / "out.mp4", fps=25.0)
    folder.rmdir()  # the folder vanished before the first frame: ffmpeg cannot open the file
    with pytest.raises(OSError) as caught:
        with writer:
            for i, frame in enumerate(counter_frames(40)):
                writer.write(frame, FrameResult(i, i / 25.0, [], detector_ran=False))
    message = str(caught.value)
    assert "out.mp4" in message and "ffmpeg" in message and "\n" not in message
