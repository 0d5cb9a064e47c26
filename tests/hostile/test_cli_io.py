"""Hostile command lines: outputs aimed at inputs (same path, symbolic and hard links, our own
earlier outputs), broken points files, negative boxes, bad flags, corrupt images beside good
ones. Every input's sha256 must be unchanged afterwards and no traceback printed."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from facepoints.cli.main import main
from facepoints.pipeline.overwrite import OutputGuard, OverwriteError
from video_helpers import astronaut_window, write_video

ROOT = Path(__file__).resolve().parents[2]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> digest)."""
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def error_lines(err: str, command: str) -> list[str]:
    """stderr's lines (progress bars aside), each one of our error lines; no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    for line in lines:
        assert line.startswith(f"facepoints {command}: error: "), err
    return lines


def one_error(capsys, command: str) -> str:
    lines = error_lines(capsys.readouterr().err, command)
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def inputs(tmp_path, astronaut) -> Path:
    """A folder of real inputs: a face PNG, a JPEG, a 6-frame MP4 and a points file."""
    folder = tmp_path / "in"
    folder.mkdir()
    window = astronaut_window(astronaut)
    assert cv2.imwrite(str(folder / "face.png"), cv2.cvtColor(window, cv2.COLOR_RGB2BGR))
    assert cv2.imwrite(str(folder / "photo.jpg"), cv2.cvtColor(window[::2, ::2], cv2.COLOR_RGB2BGR))
    assert write_video(folder / "clip.mp4", (np.roll(window, 3 * i, axis=1) for i in range(6))) == 6
    (folder / "points.json").write_text(json.dumps([[0.0, 0.0], [0.2, -0.3]]))
    return folder


# --- outputs never replace inputs ---------------------------------------------------------------

def test_detect_single_image_and_folder_leave_inputs_unchanged(inputs, tmp_path, capsys):
    before = snapshot(inputs)
    assert main(["detect", str(inputs / "face.png"), "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    assert main(["detect", str(inputs), "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    assert main(["detect", str(inputs / "face.png"), "--out", str(inputs), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert error_lines(out.err, "detect") == []
    assert "face.png: 1 face(s)" in out.out
    assert {p.name for p in (tmp_path / "b").iterdir()} == {"face.json", "face_overlay.png", "photo.json",
                                                            "photo_overlay.png"}
    after = snapshot(inputs)
    assert {k: after[k] for k in before} == before  # only face.json and face_overlay.png were added
    assert set(after) - set(before) == {"face.json", "face_overlay.png"}


def test_detect_folder_into_itself_skips_its_own_earlier_outputs(inputs, capsys):
    """Issue 20: `detect d/ --out d/` used to read its overlays back as inputs on the next run."""
    for _ in range(2):
        assert main(["detect", str(inputs), "--out", str(inputs), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert error_lines(out.err, "detect") == []
    assert "skipped 2 overlay(s) an earlier run wrote" in out.out
    assert "face_overlay" not in out.out
    assert not list(inputs.glob("*_overlay_overlay.png")) and not (inputs / "face_overlay.json").exists()
    record = json.loads((inputs / "face.json").read_text())
    assert record["image"].endswith("face.png") and len(record["faces"]) == 1


def test_detect_refuses_to_overwrite_an_input_image_in_the_folder(inputs, capsys):
    """Issue 20: with a.png and a_overlay.png (a real image) in d/, `--out d/` overwrote the
    input a_overlay.png before reading it. Now refused before anything is written."""
    cv2.imwrite(str(inputs / "face_overlay.png"), cv2.imread(str(inputs / "photo.jpg")))
    before = snapshot(inputs)
    assert main(["detect", str(inputs), "--out", str(inputs), "--no-progress"]) == 2
    line = one_error(capsys, "detect")
    assert "face_overlay.png is the input" in line and "refusing to write over an input" in line
    assert snapshot(inputs) == before  # no JSON written either


def test_detect_refuses_outputs_reaching_inputs_through_links(inputs, tmp_path, capsys):
    before = snapshot(inputs)
    linked = tmp_path / "linked"
    linked.symlink_to(inputs, target_is_directory=True)
    (inputs / "face_overlay.png").symlink_to(inputs / "photo.jpg")  # an input under another name
    assert main(["detect", str(inputs / "face.png"), str(inputs / "face_overlay.png"), "--out", str(linked),
                 "--no-progress"]) == 2
    assert "is the input" in one_error(capsys, "detect")
    (inputs / "face_overlay.png").unlink()
    hard = tmp_path / "hard"
    hard.mkdir()
    os.link(inputs / "face.png", hard / "face_overlay.png")  # the same inode as the input
    assert main(["detect", str(inputs / "face.png"), "--out", str(hard), "--no-progress"]) == 2
    assert "face_overlay.png is the input" in one_error(capsys, "detect")
    assert main(["detect", str(inputs / "face.png"), "--points", str(hard / "face.json"),
                 "--out", str(hard), "--no-progress"]) == 2
    assert "is the input" in one_error(capsys, "detect")
    assert snapshot(inputs) == before and sorted(p.name for p in hard.iterdir()) == ["face_overlay.png"]


def test_detect_never_replaces_a_file_it_did_not_write(inputs, capsys):
    """A `NAME.json` annotation beside an image (e.g. labelme's) is not a detect result."""
    (inputs / "face.json").write_text(json.dumps({"shapes": []}))
    before = snapshot(inputs)
    assert main(["detect", str(inputs), "--out", str(inputs), "--no-progress"]) == 2
    assert "face.json exists and is not a result of facepoints detect" in one_error(capsys, "detect")
    assert snapshot(inputs) == before
    assert main(["detect", str(inputs / "face.png"), "--out", str(inputs / "face.png")]) == 2
    assert "is a file" in one_error(capsys, "detect")


@pytest.mark.parametrize("flags", [["--out", "{clip}"], ["--json", "{clip}"], ["--json", "{symlink}"],
                                   ["--out", "{hardlink}"], ["--out", "{new}.mp4", "--json", "{new}.mp4"]],
                         ids=["out=input", "json=input", "json=symlink", "out=hardlink", "out=json"])
def test_track_refuses_outputs_that_are_its_input(inputs, tmp_path, capsys, flags):
    """Issue 20: `track clip.mp4 --out clip.mp4` rewrote the video while reading it."""
    clip = inputs / "clip.mp4"
    (tmp_path / "link.mp4").symlink_to(clip)
    os.link(clip, tmp_path / "hard.mp4")
    names = {"clip": clip, "symlink": tmp_path / "link.mp4", "hardlink": tmp_path / "hard.mp4",
             "new": tmp_path / "new"}
    before = snapshot(inputs)
    argv = ["track", str(clip), *[f.format(**names) for f in flags], "--no-progress"]
    assert main(argv) == 2
    line = one_error(capsys, "track")
    assert "is the input" in line or "give each output its own file" in line
    assert snapshot(inputs) == before and not (tmp_path / "new.mp4").exists()


def test_track_plane_and_models_leave_inputs_unchanged(inputs, tmp_path, capsys, monkeypatch):
    before = snapshot(inputs)
    jsonl = tmp_path / "frames.jsonl"
    assert main(["track", str(inputs / "clip.mp4"), "--out", str(tmp_path / "annotated.mp4"),
                 "--json", str(jsonl), "--no-progress"]) == 0
    assert [json.loads(line)["index"] for line in jsonl.read_text().splitlines()] == list(range(6))
    points = inputs / "points.json"
    assert main(["plane", "--points", str(points), "--size", "128", "--out", str(tmp_path / "plane.png"),
                 "--json", str(tmp_path / "plane.json")]) == 0
    for flag in ("--out", "--json"):
        target = ["--out", str(tmp_path / "p.png")] if flag == "--json" else []
        assert main(["plane", "--points", str(points), *target, flag, str(points)]) == 2
        assert f"{flag} {points} is the input" in one_error(capsys, "plane")
    assert main(["benchmark", "--checkpoint", str(points), "--json", str(points)]) == 2
    assert "is the input" in one_error(capsys, "benchmark")
    monkeypatch.chdir(tmp_path)
    files = sorted(tmp_path.rglob("*"))
    assert main(["models"]) == 0 and main(["models", "--card", "atpn_lite0_68"]) == 0
    assert sorted(tmp_path.rglob("*")) == files  # models writes nothing
    assert error_lines(capsys.readouterr().err, "models") == []
    assert snapshot(inputs) == before


def test_output_guard_compares_resolved_paths_and_inodes(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("x")
    guard = OutputGuard([a])
    for same in (a, tmp_path / "sub" / ".." / "a.txt"):
        with pytest.raises(OverwriteError, match="is the input"):
            guard.claim(same)
    loop = tmp_path / "loop"
    loop.symlink_to(loop)  # resolving it fails; it is still no input
    assert guard.claim(loop) == loop
    assert guard.claim(tmp_path / "b.txt", "--out") == tmp_path / "b.txt"
    with pytest.raises(OverwriteError, match="--json .*b.txt is also --out"):
        guard.claim(tmp_path / "b.txt", "--json")
    assert issubclass(OverwriteError, ValueError)


def test_evaluation_commands_guard_their_data_list_checkpoint_and_images(tmp_path):
    """evaluate, evaluate-branches, evaluate-occlusion and stability claim their generated
    outputs against these before running."""
    import argparse

    from facepoints.cli.common import input_guard
    from facepoints.datasets.records import FaceRecord

    data, checkpoint, image = tmp_path / "list.txt", tmp_path / "best.pt", tmp_path / "img.png"
    record = FaceRecord(image, np.zeros((68, 2), np.float32), "ibug68")
    guard = input_guard(argparse.Namespace(data=data, checkpoint=checkpoint), [record])
    for path in (data, checkpoint, image):
        with pytest.raises(OverwriteError, match="is the input"):
            guard.claim(path)
    assert guard.claim(tmp_path / "x_ced.png") == tmp_path / "x_ced.png"


# --- one clear line for bad input ---------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    (b"\xff\xfe[[0.1, 0.2]]", "not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b"[" * 40 + b"1" + b"]" * 40, "point 0 is not [x, y]"),
    (b'{"nose": [0, true]}', "point 'nose' is not [x, y]"),
    (b"[[0, 0], [0.1]]", "(P, 2)"),
    (b"[[0, 1e999]]", "finite"),
    (b"", "empty file"),
    (b"{nope", "not JSON"),
], ids=["latin", "deep", "nested", "bool", "ragged", "inf", "empty", "syntax"])
def test_points_file_problems_are_one_line(tmp_path, capsys, content, message):
    points = tmp_path / "points.json"
    points.write_bytes(content)
    assert main(["plane", "--points", str(points), "--size", "64", "--out", str(tmp_path / "x.png")]) == 2
    line = one_error(capsys, "plane")
    assert str(points) in line and message in line
    assert not (tmp_path / "x.png").exists()


def test_box_accepts_negative_numbers(inputs, tmp_path, capsys):
    """Issue 20: argparse read `--box -10,...` as an option ('expected one argument')."""
    image = inputs / "face.png"
    for box in (["--box", "-10,-10,200,200"], ["--box=-10,-10,200,200"]):
        assert main(["detect", str(image), *box, "--out", str(tmp_path), "--no-overlay", "--no-progress"]) == 0
        (face,) = json.loads((tmp_path / "face.json").read_text())["faces"]
        assert face["box_source"] == "given"
    assert main(["detect", str(image), "--box", "-1,x,3,4", "--out", str(tmp_path)]) == 2
    assert "expected four numbers" in one_error(capsys, "detect")


def test_a_bad_flag_shows_the_subcommands_usage(capsys):
    """Issue 20: an unknown flag printed the top-level usage."""
    with pytest.raises(SystemExit) as stop:
        main(["detect", "x.png", "--bogus"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: facepoints detect ") and "--no-overlay" in err and "{detect,track" not in err
    assert err.strip().splitlines()[-1] == "facepoints detect: error: unrecognized arguments: --bogus"


def test_corrupt_images_give_one_line_each_and_the_rest_is_processed(inputs, tmp_path):
    """A real process: truncated and bit-flipped PNGs and a missing file beside a good image give
    one stderr line each (no libpng or OpenCV chatter), the good image is still processed, exit 2."""
    data = (inputs / "face.png").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "cut.png").write_bytes(data[:len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # an IDAT CRC error: libpng itself prints about it
    (bad / "flip.png").write_bytes(bytes(flipped))
    before = snapshot(bad) | snapshot(inputs)
    argv = [sys.executable, "-m", "facepoints.cli.main", "detect", str(bad / "cut.png"), str(inputs / "face.png"),
            str(bad / "flip.png"), str(bad / "missing.png"), "--out", str(tmp_path / "out"), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("OPENCV_LOG_LEVEL", None)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = error_lines(done.stderr, "detect")
    assert [line.split(": ")[2] for line in lines] == [str(bad / n) for n in ("cut.png", "flip.png", "missing.png")]
    assert "libpng" not in done.stderr and "WARN" not in done.stderr
    assert "face.png: 1 face(s)" in done.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["face.json", "face_overlay.png"]
    assert snapshot(bad) | snapshot(inputs) == before


# --- tracked faces and their JSON use the names of Face -------------------------------------------

def test_tracked_faces_have_the_attributes_their_json_has(inputs, landmarker):
    from facepoints.tracking import JsonlWriter

    results = list(landmarker.track(str(inputs / "clip.mp4")))
    face = results[0].faces[0]
    assert face.pose.shape == (3,) and face.pose is face.face.pose and face.sigma is None
    assert face.score == face.face.score and 0 <= face.confidence <= 1 and face.scheme == "ibug68"
    np.testing.assert_array_equal(face.roi, face.face.box)
    line = results[0].to_dict()
    assert line["index"] == results[0].index == 0 and "frame" not in line
    for key, value in line["faces"][0].items():
        attr = getattr(face, key)
        if isinstance(value, dict):  # pose: {"yaw", "pitch", "roll"}
            np.testing.assert_allclose(list(value.values()), attr, atol=0.01)
        elif isinstance(value, list):
            np.testing.assert_allclose(value, attr, atol=0.01)
        else:
            assert value == pytest.approx(attr, abs=1e-4) if isinstance(value, float) else value == attr
    assert "index" in JsonlWriter.__doc__
