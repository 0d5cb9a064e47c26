"""``facepoints annotate`` (issue 19): a folder of real face images into Parquet, one row per
face, unreadable files and face-free images recorded, values equal to ``facepoints detect``,
a rerun writes nothing new; the Ray Data engine (slow: it starts a local Ray) gives the same rows."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("pyarrow")

from facepoints.annotate import AnnotateOptions, annotate, expand_inputs  # noqa: E402
from facepoints.annotate.inputs import InputError  # noqa: E402
from facepoints.annotate.output import read_output  # noqa: E402
from facepoints.cli.main import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _variants(astronaut: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` photos of the astronaut: crops, scales, mirror images, brightness; one with two faces."""
    rng = np.random.default_rng(0)
    bgr = cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR)
    face = bgr[20:260, 100:340]
    out = [np.hstack([face, face[:, ::-1]])]  # two faces
    while len(out) < count:
        x0, y0 = rng.integers(0, 120, 2)
        img = bgr[y0:y0 + 380, x0:x0 + 380]
        img = cv2.resize(img, (int(380 * rng.uniform(0.7, 1.3)),) * 2)
        img = img[:, ::-1] if rng.random() < 0.5 else img
        out.append(np.clip(img.astype(np.float32) * rng.uniform(0.7, 1.2), 0, 255).astype(np.uint8))
    return out


def make_folder(folder: Path, astronaut: np.ndarray, count: int) -> Path:
    folder.mkdir(parents=True)
    for i, img in enumerate(_variants(astronaut, count)):
        cv2.imwrite(str(folder / f"face_{i:02d}.jpg"), img)
    cv2.imwrite(str(folder / "plain.png"), np.full((200, 300, 3), 120, np.uint8))  # no face
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")  # unreadable
    return folder


def detect_records(folder: Path, out: Path) -> dict[str, list[dict]]:
    proc = subprocess.run([sys.executable, "-m", "facepoints.cli.main", "detect", str(folder), "--out", str(out),
                           "--no-overlay"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == 2 and "broken.jpg" in proc.stderr  # the unreadable file, named; the rest processed
    return {str((folder / (p.stem + suffix)).absolute()): json.loads(p.read_text())["faces"]
            for p in out.glob("*.json") for suffix in (".jpg", ".png") if (folder / (p.stem + suffix)).exists()}


def check_against_detect(table, folder: Path, records: dict[str, list[dict]]) -> None:
    rows = table.to_pylist()
    images = {str(p.absolute()) for p in folder.iterdir()}
    assert {r["image"] for r in rows} == images  # every input has a row
    broken = [r for r in rows if r["image"].endswith("broken.jpg")]
    assert len(broken) == 1 and broken[0]["status"] == "error" and "not a readable image" in broken[0]["reason"]
    plain = [r for r in rows if r["image"].endswith("plain.png")]
    assert len(plain) == 1 and plain[0]["status"] == "no_face" and plain[0]["face"] == -1
    for image, faces in records.items():
        got = sorted((r for r in rows if r["image"] == image and r["face"] >= 0), key=lambda r: r["face"])
        assert len(got) == len(faces), image
        for row, face in zip(got, faces):
            assert np.allclose(row["landmarks"], face["landmarks"], atol=0.006), image
            assert np.allclose(row["box"], face["box"], atol=0.006) and row["scheme"] == face["scheme"]
            assert abs(row["yaw"] - face["pose"]["yaw"]) < 0.006 and abs(row["confidence"] - face["confidence"]) < 1e-4
    two = [r for r in rows if r["image"].endswith("face_00.jpg")]
    assert [r["face"] for r in two] == [0, 1]  # one row per face


def test_local_engine_matches_detect_and_resumes(tmp_path, astronaut):
    folder = make_folder(tmp_path / "photos", astronaut, 8)
    records = detect_records(folder, tmp_path / "det")
    out = tmp_path / "table"
    summary = annotate(str(folder), out, AnnotateOptions(workers=2, part_size=4, progress=False))
    assert (summary.images, summary.annotated, summary.skipped) == (10, 10, 0)
    check_against_detect(read_output(out), folder, records)
    before = {p: p.read_bytes() for p in out.iterdir()}
    again = annotate(str(folder), out, AnnotateOptions(progress=False))
    assert (again.annotated, again.skipped) == (0, 10)
    assert {p: p.read_bytes() for p in out.iterdir()} == before  # a rerun writes nothing new
    # a new image: only it is annotated
    cv2.imwrite(str(folder / "late.jpg"), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    assert annotate(str(folder), out, AnnotateOptions(progress=False)).annotated == 1


def test_a_part_cut_by_a_kill_is_redone(tmp_path, astronaut):
    folder = make_folder(tmp_path / "photos", astronaut, 3)
    out = tmp_path / "table"
    annotate(str(folder), out, AnnotateOptions(progress=False, part_size=2))
    parts = sorted(out.glob("*.parquet"))
    cut = parts[0].read_bytes()
    parts[0].write_bytes(cut[: len(cut) // 2])
    summary = annotate(str(folder), out, AnnotateOptions(progress=False))
    assert len(summary.broken_parts) == 1 and summary.annotated >= 1
    parts[0].unlink()  # the cut part itself stays for the user to inspect; without it the table is whole
    assert {r["image"] for r in read_output(out).to_pylist()} == {str(p.absolute()) for p in folder.iterdir()}


def test_inputs_folder_glob_and_list(tmp_path, astronaut):
    folder = make_folder(tmp_path / "photos", astronaut, 2)
    (folder / "sub").mkdir()
    cv2.imwrite(str(folder / "sub" / "deep.png"), astronaut)
    (folder / "notes.md").write_text("not an image")
    everything = expand_inputs(folder)
    assert len(everything) == 5 and any(p.endswith("deep.png") for p in everything)  # recursive
    assert expand_inputs(str(folder / "*.jpg")) == sorted(str(p) for p in folder.glob("*.jpg"))
    listing = tmp_path / "list.txt"
    listing.write_text("# my images\nphotos/face_00.jpg\n\nphotos/sub/deep.png 1 2 3\n")
    assert expand_inputs(listing) == [str(tmp_path / "photos/face_00.jpg"), str(tmp_path / "photos/sub/deep.png")]
    for bad, message in ((tmp_path / "nosuch", "no such file"), (tmp_path / "empty", "no images found")):
        (tmp_path / "empty").mkdir(exist_ok=True)
        with pytest.raises(InputError, match=message):
            expand_inputs(bad)


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    (tmp_path / "file.txt").write_text("")
    for args in ([str(tmp_path / "nosuch"), "--out", str(tmp_path / "o")],
                 [str(tmp_path), "--out", str(tmp_path / "o2"), "--model", "nosuch"],
                 [str(tmp_path), "--out", str(tmp_path / "o3"), "--workers", "0"]):
        assert main(["annotate", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("facepoints annotate: error: "), err


@pytest.mark.slow
def test_ray_engine_on_40_images(tmp_path, astronaut):
    pytest.importorskip("ray")
    folder = make_folder(tmp_path / "photos", astronaut, 40)
    records = detect_records(folder, tmp_path / "det")
    out = tmp_path / "table"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("RAY_ADDRESS", None)
    args = [sys.executable, "-m", "facepoints.cli.main", "annotate", str(folder), "--out", str(out), "--engine", "ray",
            "--workers", "2", "--no-progress"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "42 images: 42 annotated" in proc.stdout
    check_against_detect(read_output(out), folder, records)
    before = {p: p.read_bytes() for p in out.iterdir()}
    again = subprocess.run(args, capture_output=True, text=True, timeout=900, env=env)
    assert again.returncode == 0 and "0 annotated" in again.stdout and "42 already in" in again.stdout
    assert {p: p.read_bytes() for p in out.iterdir()} == before
