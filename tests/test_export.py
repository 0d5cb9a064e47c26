"""``facepoints export``: the exported ONNX file, run with plain ONNX Runtime and only the numbers
of its JSON (no facepoints code), gives Landmarker's landmarks on the shipped sample."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from facepoints import Landmarker
from facepoints.cli.main import main
from facepoints.samples import sample_image

ROOT = Path(__file__).resolve().parents[1]
NO_TORCH = ("import sys; from facepoints.cli.main import main; rc = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)")


def export(*argv: str) -> subprocess.CompletedProcess:
    """``facepoints export ...`` in a real process that must not import PyTorch."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", NO_TORCH, "export", *argv], capture_output=True, text=True,
                          env=env, timeout=300)


def run_elsewhere(folder: Path, name: str, rgb: np.ndarray, box: np.ndarray, file_key: str = "default") -> dict:
    """What a user would write from docs/export.md: crop by the JSON's rule, run, map back."""
    spec = json.loads((folder / f"{name}.json").read_text())
    size, margin = spec["crop"]["size"], spec["crop"]["margin"]
    x0, y0, x1, y1 = box
    s = size / (margin * max(x1 - x0, y1 - y0))
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, (size - 1) / 2
    m = np.array([[s, 0, half - s * cx], [0, s, half - s * cy]])
    crop = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    session = ort.InferenceSession(str(folder / spec["files"][file_key]), providers=["CPUExecutionProvider"])
    x = crop.transpose(2, 0, 1)[None].astype(np.float32)
    names = [o.name for o in session.get_outputs()]
    out = dict(zip(names, session.run(None, {spec["input"]["name"]: x})))
    assert set(names) == set(spec["outputs"])
    points = out["landmarks"][0] * size / 2 + half  # crop pixels
    result = {"landmarks": (points - m[:, 2]) / s}  # inverse of M (no rotation)
    if "pose" in out:
        result["pose"] = np.rad2deg(out["pose"][0])
    if "face_prob" in out:
        result["confidence"] = float(np.ravel(out["face_prob"])[0])
    if "sigma" in out:
        result["sigma"] = out["sigma"][0] * size / 2 / s
    return result


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return sample_image("astronaut")


def test_exported_atpn_matches_landmarker_without_torch(tmp_path, sample, astronaut_face_box):
    done = export("atpn_lite0_68", "--format", "onnx", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atpn_lite0_68.json", "atpn_lite0_68.onnx"]
    face = Landmarker(detector=None, threads=1)(sample, boxes=[astronaut_face_box])[0]
    got = run_elsewhere(tmp_path, "atpn_lite0_68", sample, astronaut_face_box)
    assert np.abs(got["landmarks"] - face.landmarks).max() < 0.05
    np.testing.assert_allclose(got["pose"], face.pose, atol=0.05)
    assert got["confidence"] == pytest.approx(face.confidence, abs=1e-4)
    spec = json.loads((tmp_path / "atpn_lite0_68.json").read_text())
    assert spec["input"]["shape"] == ["batch", 3, 112, 112] and spec["weights"] == "float32"
    assert spec["detector_boxes"]["calibrations"]["blazeface"]["scale_w"] > 0


def test_exported_dslpt_stage_files_and_sigma(tmp_path, sample, astronaut_face_box):
    assert export("dslpt_lite0_68", "--out", str(tmp_path)).returncode == 0
    spec = json.loads((tmp_path / "dslpt_lite0_68.json").read_text())
    assert spec["files"] == {"default": "dslpt_lite0_68.onnx", "stages1": "dslpt_lite0_68_stages1.onnx",
                             "stages2": "dslpt_lite0_68_stages2.onnx"}
    face = Landmarker("dslpt_lite0_68", detector=None, threads=1, stages=1)(sample, boxes=[astronaut_face_box])[0]
    got = run_elsewhere(tmp_path, "dslpt_lite0_68", sample, astronaut_face_box, "stages1")
    assert np.abs(got["landmarks"] - face.landmarks).max() < 0.05
    np.testing.assert_allclose(got["sigma"], face.sigma, atol=0.01)


def test_fp16_halves_the_file_and_existing_outputs_are_never_replaced(tmp_path, sample, astronaut_face_box):
    pytest.importorskip("onnx")
    assert export("--fp16", "--out", str(tmp_path)).returncode == 0
    full = (ROOT / "src/facepoints/registry/weights/atpn_lite0_68.onnx").stat().st_size
    assert (tmp_path / "atpn_lite0_68.onnx").stat().st_size < 0.6 * full
    face = Landmarker(detector=None, threads=1)(sample, boxes=[astronaut_face_box])[0]
    got = run_elsewhere(tmp_path, "atpn_lite0_68", sample, astronaut_face_box)
    assert np.abs(got["landmarks"] - face.landmarks).max() < 0.05  # float16 weights: measured 0.008 px
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    assert main(["export", "atpn_lite0_68", "--out", str(tmp_path)]) == 2
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()} == digests
