"""The shipped TUFA model (issue 17): zero-shot out of the box through ONNX Runtime, its card's
300W figure, and a few-shot fine-tune of it used by name in a later process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facepoints import Landmarker
from facepoints.geometry import box_from_points
from facepoints.registry import get_card
from facepoints.samples import sample_image

ROOT = Path(__file__).resolve().parents[1]
NAME = "tufa_lite0_68"
ASTRONAUT_BOX = np.array([175.0, 75.0, 266.0, 167.0], np.float32)


def _faces(data_root: Path | None) -> list[tuple[np.ndarray, np.ndarray]]:
    faces = [(sample_image("astronaut"), ASTRONAUT_BOX)]
    if data_root is not None:
        from facepoints.datasets.image_list import read_image_list
        from facepoints.pipeline.images import as_rgb

        faces += [(as_rgb(r.image_path), box_from_points(r.landmarks))
                  for r in read_image_list(data_root / "300W" / "test_common.txt")[:4]]
    return faces


@pytest.fixture(scope="module")
def shared(request) -> Path | None:
    try:
        return request.getfixturevalue("data_root")
    except pytest.skip.Exception:
        return None


def test_it_ships_within_25_mb_as_one_file():
    card = get_card(NAME)
    assert card.weights["torch"] == card.weights["onnx"] and set(card.weights) == {"torch", "onnx"}
    path = ROOT / "src" / "facepoints" / "registry" / "weights" / card.weights["onnx"]["file"]
    assert path.stat().st_size <= 25 * 2**20
    assert card.metrics["overall"]["nme"] <= 0.033 and card.metrics["command"].startswith("facepoints evaluate")


def test_zero_shot_on_its_own_anchors_reproduces_its_landmarks_through_onnx(shared):
    plain = Landmarker(NAME, detector=None, threads=1, backend="onnx")
    prompted = Landmarker(NAME, detector=None, threads=1, backend="onnx", points=plain.plane_points())
    assert plain.runtime.name == "onnx"
    for image, box in _faces(shared):
        a = plain(image, boxes=box[None])[0].landmarks
        b = prompted(image, boxes=box[None])[0].landmarks
        assert a.shape == b.shape == (68, 2)
        assert np.abs(a - b).max() < 0.05


def test_onnx_and_pytorch_agree(shared):
    onnx = Landmarker(NAME, detector=None, threads=1, backend="onnx", points=[[0.0, 0.1], [-0.4, -0.2]])
    torch_lm = Landmarker(NAME, detector=None, threads=1, backend="torch", points=[[0.0, 0.1], [-0.4, -0.2]])
    for image, box in _faces(shared)[:2]:
        gap = np.abs(onnx(image, boxes=box[None])[0].landmarks - torch_lm(image, boxes=box[None])[0].landmarks).max()
        assert gap < 0.05


@pytest.mark.slow  # 554 faces through the 3-stage TUFA: about a minute
def test_300w_common_nme_with_ground_truth_boxes_is_within_the_bar_and_matches_the_card(data_root):
    from facepoints.datasets.image_list import read_image_list
    from facepoints.evaluation.evaluate import evaluate

    records = read_image_list(data_root / "300W" / "test_common.txt")
    result = evaluate(Landmarker(NAME, detector=None, threads=2), records, progress=False)
    assert result.overall.nme <= 0.0330
    assert abs(result.overall.nme - get_card(NAME).metrics["overall"]["nme"]) < 2e-4


@pytest.mark.slow  # a real 10-face, 10-point fine-tune of the shipped model (2 steps), then a second process
def test_ten_shot_finetune_in_one_process_is_used_by_name_in_the_next(data_root, tmp_path):
    spec_path = ROOT / "tools" / "subset_points_list.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FACEPOINTS_HOME": str(tmp_path / "home")}
    points = ["36", "39", "42", "45", "30", "48", "54", "51", "57", "8"]
    made = subprocess.run([sys.executable, str(spec_path), str(data_root / "300W" / "train.txt"), "--out", str(tmp_path / "my10"),
                           "--points", *points], capture_output=True, text=True, env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    tuned = subprocess.run([sys.executable, "-m", "facepoints.cli.main", "finetune", NAME,
                            "--data", str(tmp_path / "my10" / "list.txt"), "--scheme", "my10", "--shots", "10",
                            "--flip-pairs", "0:3", "1:2", "5:6", "--interocular", "0", "3",
                            "--epochs", "1", "--epoch-samples", "4", "--batch-size", "2", "--threads", "2",
                            "--out", str(tmp_path / "runs"), "--no-progress"],
                           capture_output=True, text=True, env=env, timeout=600)
    assert tuned.returncode == 0, tuned.stderr
    code = ("import sys, json; from facepoints import Landmarker, list_models; from facepoints.samples import sample_image; "
            "lm = Landmarker('my10_finetune_10shot_d0', detector=None); "
            "f = lm(sample_image('astronaut'), boxes=[[175, 75, 266, 167]])[0]; "
            "print(json.dumps([f.scheme, f.landmarks.shape[0], 'my10_finetune_10shot_d0' in list_models(), "
            "'torch' in sys.modules]))")
    used = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert used.returncode == 0, used.stderr
    assert json.loads(used.stdout) == ["my10", 10, True, False]
