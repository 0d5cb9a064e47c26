"""Tables out: one row per face in JSON Lines, CSV and Parquet (each read back to the same values),
``facepoints.to_dataframe``, and ``facepoints detect --format`` over nested folders and globs."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import facepoints
from facepoints.cli.main import main
from facepoints.tables import COLUMNS, FORMATS, error_rows, image_rows, read_table, write_table


def _write(path, rgb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))


@pytest.fixture(scope="module")
def rows(astronaut, landmarker) -> list[dict]:
    """Rows of real results: the astronaut (ATPN: pose, confidence), DSLPT's (sigma), a blank and
    an image that could not be read."""
    dslpt = facepoints.Landmarker("dslpt_lite0_68", threads=1)
    blank = np.full((60, 80, 3), 120, np.uint8)
    return (image_rows("a, \"quoted\".jpg", landmarker(astronaut))
            + image_rows("b.png", dslpt(astronaut) + landmarker(astronaut[:, ::-1]))
            + image_rows("blank.png", landmarker(blank)) + error_rows("bad.png", "bad.png: not an image\n(more)"))


def test_rows_follow_the_schema(rows):
    assert [list(r) for r in rows] == [list(COLUMNS)] * len(rows)
    assert [(r["image"], r["face"], r["status"]) for r in rows] == [
        ("a, \"quoted\".jpg", 0, "ok"), ("b.png", 0, "ok"), ("b.png", 1, "ok"), ("blank.png", -1, "no_face"),
        ("bad.png", -1, "error")]
    assert rows[0]["sigma"] is None and rows[0]["yaw"] is not None and rows[0]["confidence"] is not None
    assert len(rows[1]["sigma"]) == 68 and len(rows[1]["landmarks"]) == 68 and rows[1]["box_source"] == "blazeface"
    assert rows[1]["yaw"] is None and rows[4]["reason"] == "bad.png: not an image"
    assert all(rows[3][k] is None for k in list(COLUMNS)[3:])


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_reads_back_the_same_values(rows, tmp_path, fmt):
    path = write_table(rows, tmp_path / f"t.{fmt}")
    assert read_table(path) == rows


def test_to_dataframe_and_parquet_through_pandas(rows, tmp_path, astronaut, landmarker):
    pd = pytest.importorskip("pandas")
    results = list(landmarker.batch([astronaut, np.full((60, 80, 3), 120, np.uint8), tmp_path / "none.png"]))
    frame = facepoints.to_dataframe(results)
    assert list(frame.columns) == list(COLUMNS) and len(frame) == 3
    assert frame["face"].tolist() == [0, -1, -1] and frame["status"].tolist() == ["ok", "no_face", "error"]
    assert "none.png: no such file" in frame["reason"].iloc[2]
    np.testing.assert_allclose(np.array(frame["landmarks"].iloc[0]), results[0].faces[0].landmarks)
    assert frame["image"].tolist()[:2] == ["<array>", "<array>"]
    by_name = facepoints.to_dataframe({"x.jpg": results[0].faces})
    assert by_name["image"].tolist() == ["x.jpg"] and by_name["yaw"].iloc[0] == pytest.approx(results[0].faces[0].pose[0])
    write_table(rows, tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert back["image"].tolist() == [r["image"] for r in rows]
    np.testing.assert_allclose(np.stack(back["landmarks"].iloc[1]).astype(float), rows[1]["landmarks"])


@pytest.fixture
def photos(tmp_path, astronaut):
    """Nested folders with equal names: a.jpg, a.png, sub/a.jpg (a face each) and sub/deeper/blank.png."""
    root = tmp_path / "photos"
    _write(root / "a.jpg", astronaut)
    _write(root / "a.png", astronaut[:, ::-1])
    _write(root / "sub" / "a.jpg", astronaut[30:, 20:])
    _write(root / "sub" / "deeper" / "blank.png", np.full((100, 120, 3), 80, np.uint8))
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_detect_writes_one_table_for_nested_folders(photos, tmp_path, capsys, fmt):
    out = tmp_path / "out"
    argv = ["detect", str(photos), "--recursive", "--format", fmt, "--out", str(out), "--no-progress",
            "--threads", "1", "--workers", "2", "--batch-size", "3"]
    assert main(argv) == 0
    table = read_table(out / f"detections.{fmt}")
    images = [str(photos / n) for n in ("a.jpg", "a.png", "sub/a.jpg", "sub/deeper/blank.png")]
    assert [(r["image"], r["face"]) for r in table] == [(images[0], 0), (images[1], 0), (images[2], 0),
                                                        (images[3], -1)]
    overlays = sorted(p.relative_to(out).as_posix() for p in out.rglob("*_overlay.png"))
    assert overlays == ["a_2_overlay.png", "a_overlay.png", "sub/a_overlay.png", "sub/deeper/blank_overlay.png"]
    # the per-image JSON holds the same values
    assert main(argv[:3] + ["--format", "json", "--out", str(tmp_path / "json"), "--no-progress", "--threads", "1"]) == 0
    record = json.loads((tmp_path / "json" / "sub" / "a.json").read_text())
    np.testing.assert_allclose(record["faces"][0]["landmarks"], table[2]["landmarks"], atol=0.006)  # JSON: 0.01 px
    np.testing.assert_allclose(record["faces"][0]["box"], table[2]["box"], atol=0.006)
    # a rerun replaces its own table and overlays, and skips the overlays if they are inputs
    assert main(argv + ["--no-overlay"]) == 0
    assert read_table(out / f"detections.{fmt}") == table
    capsys.readouterr()


def test_detect_globs_and_refuses_a_foreign_table(photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["detect", str(photos / "**" / "*.jpg"), "--format", "csv", "--out", str(out), "--no-progress",
                 "--no-overlay", "--threads", "1"]) == 0
    assert [r["image"] for r in read_table(out / "detections.csv")] == [str(photos / "a.jpg"), str(photos / "sub/a.jpg")]
    (photos / "sub" / "broken.png").write_bytes(b"not a png")  # recorded as an error row, and exit code 2
    assert main(["detect", str(photos / "sub"), "--format", "csv", "--out", str(out), "--no-progress",
                 "--no-overlay", "--threads", "1"]) == 2
    assert "broken.png" in capsys.readouterr().err
    assert [(r["face"], r["status"]) for r in read_table(out / "detections.csv")] == [(0, "ok"), (-1, "error")]
    (out / "detections.jsonl").write_text('{"my": "notes"}\n')
    assert main(["detect", str(photos / "a.jpg"), "--format", "jsonl", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("facepoints detect: error: ") and "is not a table facepoints detect wrote" in err
    assert (out / "detections.jsonl").read_text() == '{"my": "notes"}\n'
    assert main(["detect", str(photos / "*.gif"), "--out", str(out)]) == 2
    assert "no image matches" in capsys.readouterr().err


def test_overlays_without_a_json_beside_them_are_not_read_back(photos, capsys):
    """Table runs write overlays alone; a later run into the same folder recognises them by their
    PNG text chunk (not inputs, and replaceable)."""
    argv = ["detect", str(photos), "--format", "csv", "--out", str(photos), "--no-progress", "--threads", "1"]
    assert main(argv) == 0
    assert (photos / "a_overlay.png").exists() and not (photos / "a.json").exists()
    assert main(argv) == 0
    assert "skipped 2 overlay(s)" in capsys.readouterr().out
    assert len(read_table(photos / "detections.csv")) == 2
