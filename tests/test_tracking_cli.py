"""``facepoints track`` end to end on real encoded videos: outputs that decode, and bad input."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from facepoints.cli.main import main
from facepoints.datasets.synthetic_video import ClipSpec, make_clip
from facepoints.geometry import box_from_points
from video_helpers import FACE_IN_WINDOW, astronaut_window, decode_all, faststart, probe_codec, write_video

FRAMES, FPS = 40, 25.0


def strict_json(text: str):
    def reject(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=reject)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{err}"
    assert lines[0].startswith("facepoints track: error: ") and "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def clip_mp4(tmp_path_factory, astronaut, landmarker):
    """A 40-frame MP4 of the astronaut moving, with noise and a passing occluder."""
    still = astronaut_window(astronaut)
    points = landmarker(still, boxes=[FACE_IN_WINDOW])[0].landmarks
    clip = make_clip(still, points, ClipSpec(frames=FRAMES, fps=FPS, noise=2.0), seed=1)
    path = tmp_path_factory.mktemp("track") / "clip.mp4"
    assert write_video(path, clip.frames(), fps=FPS) == FRAMES
    return path


def test_track_writes_a_playable_video_and_one_json_line_per_frame(tmp_path, clip_mp4, capsys):
    out, jsonl = tmp_path / "annotated.mp4", tmp_path / "frames.jsonl"
    assert main(["track", str(clip_mp4), "--out", str(out), "--json", str(jsonl), "--no-progress"]) == 0
    assert "40 frames, 1 face track(s)" in capsys.readouterr().out
    assert probe_codec(out) == "h264"  # browsers play it (MPEG-4 part 2 they do not)
    decoded = decode_all(out)
    assert len(decoded) == FRAMES and decoded[0].shape == (320, 320, 3)
    capture = cv2.VideoCapture(str(out))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(FPS)
    capture.release()
    lines = [strict_json(line) for line in jsonl.read_text().splitlines()]
    assert [r["index"] for r in lines] == list(range(FRAMES))
    assert [r["time"] for r in lines] == pytest.approx(np.arange(FRAMES) / FPS)
    assert lines[0]["detector_ran"] and sum(r["detector_ran"] for r in lines) <= 3
    for r in lines:
        (face,) = r["faces"]
        assert face["track_id"] == 1 and len(face["landmarks"]) == 68 and len(face["raw_landmarks"]) == 68
        assert face["box"] == pytest.approx(box_from_points(np.array(face["landmarks"])), abs=0.02)
    assert lines[1]["faces"][0]["source"] == "track"
    assert lines[30]["detector_ran"]  # the one-second schedule (25 fps: frame 30 < 40)


def test_truncated_video_keeps_the_frames_decoded_before_the_cut(tmp_path, clip_mp4, capsys):
    data = faststart(clip_mp4.read_bytes())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:len(data) // 2])
    out, jsonl = tmp_path / "annotated.mp4", tmp_path / "frames.jsonl"
    assert main(["track", str(cut), "--out", str(out), "--json", str(jsonl), "--no-progress"]) == 2
    line = one_error_line(capsys.readouterr().err)
    frames = [strict_json(x)["index"] for x in jsonl.read_text().splitlines()]
    assert 0 < len(frames) < FRAMES and frames == list(range(len(frames)))
    assert f"after {len(frames)} of {FRAMES} frames" in line and str(jsonl) in line
    assert len(decode_all(out)) == len(frames)  # the annotated video was finalised, not lost


@pytest.mark.parametrize("kind", ["missing", "text", "zero_frames"])
def test_bad_input_is_one_error_line_and_exit_2(tmp_path, capsys, kind):
    path = tmp_path / "in.mp4"
    if kind == "text":
        path.write_text("not a video\n" * 50)
    elif kind == "zero_frames":
        cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (64, 48)).release()
    jsonl = tmp_path / "frames.jsonl"
    assert main(["track", str(path), "--json", str(jsonl), "--no-progress"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(path) in line and ("no such file" if kind == "missing" else "decoded") in line
    assert not jsonl.exists() or jsonl.read_text() == ""


def test_outputs_are_checked_before_work(tmp_path, clip_mp4, capsys):
    assert main(["track", str(clip_mp4), "--no-progress"]) == 2
    assert "--out" in one_error_line(capsys.readouterr().err)
    assert main(["track", str(clip_mp4), "--out", str(tmp_path / "x.avi")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert ".mp4 (H.264) or .webm (VP9)" in line and "x.avi" in line
    assert list(tmp_path.iterdir()) == []


def test_a_real_process_prints_nothing_but_the_error(tmp_path):
    """FFmpeg's own complaints ('moov atom not found') would reach stderr from C; they must not."""
    path = tmp_path / "notes.mp4"
    path.write_text("these are notes\n" * 50)
    proc = subprocess.run([sys.executable, "-m", "facepoints", "track", str(path), "--json",
                           str(tmp_path / "f.jsonl")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "cannot be decoded as a video" in one_error_line(proc.stderr)


def test_track_smoothing_presets(tmp_path, clip_mp4, capsys):
    jsonl = tmp_path / "off.jsonl"
    assert main(["track", str(clip_mp4), "--json", str(jsonl), "--smoothing", "off", "--max-frames", "5",
                 "--no-progress"]) == 0
    for line in jsonl.read_text().splitlines():
        face = strict_json(line)["faces"][0]
        assert np.allclose(face["landmarks"], face["raw_landmarks"], atol=1e-4)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["track", str(clip_mp4), "--json", str(tmp_path / "x.jsonl"), "--smoothing", "heavy"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("facepoints track: error: ")
    assert "--smoothing" in err and "invalid choice" in err and not (tmp_path / "x.jsonl").exists()


def test_stability_bands_writes_a_table_per_band(tmp_path, tiny_list, capsys):
    out = tmp_path / "runs"
    code = main(["stability", str(tiny_list), "--bands", "--per-band", "1", "--frames", "6", "--out", str(out),
                 "--no-progress", "--smoothing", "light"])
    assert code == 0
    printed = capsys.readouterr().out
    for band in ("still", "slow", "medium", "fast", "cut"):
        assert f"| {band} | 1 |" in printed
    (js,) = out.glob("*_bands.json")
    report = strict_json(js.read_text())
    assert set(report["bands"]) == {"still", "slow", "medium", "fast", "cut"}
    assert report["smoothing"]["measurement_noise"] == 0.005 and "--smoothing light" in report["command"]
    assert (out / js.name.replace(".json", ".png")).stat().st_size > 10_000
    assert "| band |" in (out / js.name.replace(".json", ".md")).read_text()


@pytest.mark.parametrize("flag, name", [("--json", "frames.jsonl"), ("--out", "annotated.mp4"),
                                        ("--json", "folder"), ("--out", "folder.mp4")])
def test_existing_outputs_are_refused_and_left_as_they_were(tmp_path, clip_mp4, capsys, flag, name):
    """Regression: `track clip.mp4 --json old.jsonl` silently replaced an earlier result (and any file)."""
    target = tmp_path / name
    if "folder" in name:
        target.mkdir()
    else:
        target.write_text("an earlier result\n")
    assert main(["track", str(clip_mp4), flag, str(target), "--no-progress"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"{flag} {target}" in line and ("exists" in line or "is a folder" in line)
    assert target.is_dir() if "folder" in name else target.read_text() == "an earlier result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("flag, name", [("--json", "frames.jsonl"), ("--out", "annotated.mp4")])
def test_an_output_under_a_file_is_refused_before_work(tmp_path, clip_mp4, capsys, flag, name):
    """Regression: `--json notes.txt/f.jsonl` failed with '[Errno 17] File exists: ...' after the model loaded."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("notes\n")
    other = ["--json", str(tmp_path / "ok.jsonl")] if flag == "--out" else []
    assert main(["track", str(clip_mp4), flag, str(blocker / "sub" / name), *other, "--no-progress"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"{flag} {blocker / 'sub' / name}" in line and f"{blocker} is a file, not a folder" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"] and blocker.read_text() == "notes\n"


@pytest.mark.parametrize("threads", ["0", "-1"])
def test_threads_below_one_are_refused(tmp_path, clip_mp4, capsys, threads):
    """Regression: `--threads 0` and `--threads -1` were accepted (ONNX Runtime's default threads, silently)."""
    jsonl = tmp_path / "frames.jsonl"
    assert main(["track", str(clip_mp4), "--json", str(jsonl), "--threads", threads, "--no-progress"]) == 2
    assert f"threads must be >= 1, got {threads}" in one_error_line(capsys.readouterr().err)
    assert not jsonl.exists()


@pytest.mark.parametrize("flags, message", [
    (["--frames", "0"], "--frames must be >= 2, got 0"),
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--motion-prediction", "nan"], "motion_prediction must be >= 0"),
    (["--out", "{file}"], "results.txt is a file, not a folder")])
def test_stability_refuses_bad_settings_before_work(tmp_path, tiny_list, capsys, flags, message):
    """Regression: `--frames 0` ran the default 120 frames, `--seed -1` ended in NumPy's 'expected non-negative
    integer' after the model loaded; `--motion-prediction nan` ended in 'the affine
    matrix is singular' and `--out FILE` in '[Errno 17] File exists', both after the whole benchmark ran."""
    blocker = tmp_path / "results.txt"
    blocker.write_text("keep me\n")
    argv = ["stability", str(tiny_list), "--clips", "1", "--frames", "3", "--out", str(tmp_path / "runs"),
            *[f.format(file=blocker) for f in flags], "--no-progress"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("facepoints stability: error: ") and message in lines[0], lines
    assert captured.out == "" and blocker.read_text() == "keep me\n" and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("flag, value", [("--max-frames", "0"), ("--max-frames", "-3"), ("--redetect-every", "0")])
def test_bad_counts_are_named_by_their_option(tmp_path, clip_mp4, capsys, flag, value):
    """Regression: the errors named Python fields ('max_frames', 'redetect_every and search_every')."""
    jsonl = tmp_path / "frames.jsonl"
    assert main(["track", str(clip_mp4), "--json", str(jsonl), flag, value, "--no-progress"]) == 2
    assert one_error_line(capsys.readouterr().err).endswith(f"error: {flag} must be >= 1, got {value}")
    assert not jsonl.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl-C reaches a POSIX process group")
def test_ctrl_c_keeps_both_outputs_and_says_interrupted(tmp_path, astronaut):
    """Regression: Ctrl-C reached ffmpeg too (the terminal signals the whole process group), which
    closed the video itself; track then reported "ffmpeg could not write the video: exit code 255"
    (exit 2) instead of the interruption."""
    still = astronaut_window(astronaut)
    clip = tmp_path / "long.mp4"
    write_video(clip, (np.roll(still, i % 40, axis=1) for i in range(600)), fps=FPS)
    out, jsonl = tmp_path / "annotated.mp4", tmp_path / "frames.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "facepoints", "track", str(clip), "--out", str(out), "--json",
                             str(jsonl), "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, as a terminal would start it
    deadline = time.monotonic() + 120
    while not (jsonl.exists() and jsonl.read_text().count("\n") >= 5) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: every process of the group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.strip().splitlines() == ["facepoints: interrupted"], err
    lines = jsonl.read_text().splitlines()
    assert 5 <= len(lines) < 600  # the video was finished, not cut (the key may fall between the two writes)
    assert len(lines) - 1 <= len(decode_all(out)) <= len(lines)


def test_min_face_size_finds_a_small_face_in_video(tmp_path, astronaut, capsys):
    """A face of about 45 px on 640x480 is below the detector's default search size: `track` had no
    `--min-face-size` (only `detect` had), so a video of it gave no face on any frame."""
    small = cv2.resize(astronaut_window(astronaut), (160, 160), interpolation=cv2.INTER_AREA)
    frames = []
    for k in range(8):
        canvas = np.full((480, 640, 3), 90, np.uint8)
        canvas[160:320, 240 + 2 * k:400 + 2 * k] = small
        frames.append(canvas)
    video = tmp_path / "small_face.mp4"
    assert write_video(video, frames, fps=FPS) == 8
    jsonl = tmp_path / "small.jsonl"
    assert main(["track", str(video), "--json", str(jsonl), "--min-face-size", "32", "--no-progress"]) == 0
    rows = [strict_json(line) for line in jsonl.read_text().splitlines()]
    assert [len(r["faces"]) for r in rows] == [1] * 8 and rows[0]["detector_ran"]
    capsys.readouterr()
    assert main(["track", str(video), "--json", str(tmp_path / "b.jsonl"), "--min-face-size", "0"]) == 2
    assert "min_face_size must be positive" in one_error_line(capsys.readouterr().err)
