"""TUFA's ONNX file takes the plane points as an input (issues 17 and 18): ``points=`` and
``plane_points()`` run in ONNX Runtime without PyTorch, and agree with PyTorch within 0.05 px
for any number of points and every stage count."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from facepoints import Landmarker
from facepoints.models.tufa import TUFAConfig
from facepoints.pipeline.runtime import OnnxRuntime
from facepoints.registry import unregister_model
from facepoints.registry.trained import register_checkpoint
from run_helpers import tiny_tufa_checkpoint

pytest.importorskip("onnx")
ROOT = Path(__file__).resolve().parents[1]
TINY = TUFAConfig(input_size=64, dim=32, heads=2, layers=2, mlp_ratio=2)


@pytest.fixture(scope="module", params=[TINY, replace(TINY, refine_stages=2, refine_layers=1, refine_grid=3)],
                ids=["plain", "refined"])
def tufa(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tufa_onnx")
    name = register_checkpoint(tiny_tufa_checkpoint(folder, request.param), folder / "models", name=f"tiny_{request.param_index}")
    yield name
    unregister_model(name)


@pytest.mark.parametrize("count", [1, 5, 68, 120])
def test_points_through_onnx_match_pytorch(tufa, astronaut, astronaut_face_box, count):
    points = np.random.default_rng(count).uniform(-1, 1, (count, 2)).astype(np.float32)
    onnx = Landmarker(tufa, detector=None, threads=1, points=points)
    torch_lm = Landmarker(tufa, detector=None, threads=1, backend="torch", points=points)
    assert isinstance(onnx.runtime, OnnxRuntime) and torch_lm.runtime.name == "torch+points"
    got, want = (lm(astronaut, boxes=[astronaut_face_box])[0] for lm in (onnx, torch_lm))
    assert got.landmarks.shape == (count, 2)
    assert np.abs(got.landmarks - want.landmarks).max() < 0.05


def test_own_anchors_and_stages_match_pytorch(tufa, astronaut, astronaut_face_box):
    onnx = Landmarker(tufa, detector=None, threads=1)
    torch_lm = Landmarker(tufa, detector=None, threads=1, backend="torch")
    for name in (None, "ibug68", "ytf68"):
        np.testing.assert_allclose(onnx.plane_points(name), torch_lm.plane_points(name), atol=1e-6)
    with pytest.raises(KeyError, match="ytf68"):
        onnx.plane_points("nope")
    got, want = (lm(astronaut, boxes=[astronaut_face_box])[0] for lm in (onnx, torch_lm))
    assert np.abs(got.landmarks - want.landmarks).max() < 0.05
    # zero-shot on the model's own anchors reproduces its landmarks, through ONNX
    prompted = Landmarker(tufa, detector=None, threads=1, points=onnx.plane_points())
    assert np.abs(prompted(astronaut, boxes=[astronaut_face_box])[0].landmarks - got.landmarks).max() < 0.05
    stages = onnx.capabilities.stages
    for count in range(1, stages or 1):
        a, b = (Landmarker(tufa, detector=None, threads=1, stages=count, backend=backend,
                           points=onnx.plane_points()[:9]) for backend in ("onnx", "torch"))
        assert np.abs(a(astronaut, boxes=[astronaut_face_box])[0].landmarks
                      - b(astronaut, boxes=[astronaut_face_box])[0].landmarks).max() < 0.05


@pytest.mark.slow  # end to end, several seconds: run by .ci/run (pytest -m slow)
def test_points_run_without_pytorch_in_a_later_process(tmp_path):
    """Packaged into the user folder, a TUFA answers ``points=`` in a process that never imports torch
    (the checkpoint records no epoch and no data lists: packaging it once raised a TypeError)."""
    checkpoint = tiny_tufa_checkpoint(tmp_path, TINY)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FACEPOINTS_HOME": str(tmp_path / "home")}
    made = subprocess.run([sys.executable, "-m", "facepoints.cli.main", "package", str(checkpoint), "--name", "tiny_tufa"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert made.returncode == 0, made.stderr
    code = ("import sys, json; from facepoints import Landmarker; from skimage import data; "
            "lm = Landmarker('tiny_tufa', detector=None, points=[[0, 0], [0.2, -0.3]]); "
            "f = lm(data.astronaut(), boxes=[[175, 75, 266, 167]])[0]; "
            "print(json.dumps([f.landmarks.shape[0], lm.plane_points().shape[0], 'torch' in sys.modules]))")
    used = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert used.returncode == 0, used.stderr
    assert json.loads(used.stdout) == [2, 68, False]


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_points_with_the_detector_on_a_face_lying_on_its_side(tufa, astronaut, backend):
    """Regression: the second alignment pass read the eyes (points 36, 45) from the prompted
    points (IndexError) instead of the model's own landmarks."""
    lm = Landmarker(tufa, threads=1, backend=backend, points=[[0.0, 0.0], [0.2, -0.3]])
    for image in (astronaut, np.ascontiguousarray(np.rot90(astronaut))):
        faces = lm(image)
        assert len(faces) == 1 and faces[0].landmarks.shape == (2, 2) and faces[0].scheme == "custom:2"
