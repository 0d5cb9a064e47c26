"""A DSLPT checkpoint through the whole pipeline: registry, PyTorch and ONNX runtimes, per-point
sigma in pixels on ``Face``, selectable stages, flip test."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from facepoints import Landmarker
from facepoints.cli.main import main
from facepoints.models import DSLPT, DSLPTConfig
from facepoints.pipeline.crop import CropSpec
from facepoints.pipeline.decode import crops_for_boxes, decode_spread
from facepoints.registry import unregister_model
from facepoints.schemes import get_scheme
from facepoints.training.checkpoint import register_checkpoint, save_atomic
from facepoints.training.config import TrainConfig

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def dslpt_name(tmp_path_factory):
    """An untrained but well-formed tiny DSLPT, registered from a training checkpoint."""
    folder = tmp_path_factory.mktemp("dslpt")
    cfg = TrainConfig(name="tiny_dslpt", architecture="dslpt",
                      model=DSLPTConfig(input_size=64, dim=32, heads=2, layers=2, mlp_ratio=2))
    torch.manual_seed(0)
    spec = CropSpec(64, cfg.crop_margin)
    model = DSLPT(cfg.model, spec.mean_shape_in_crop(get_scheme("ibug68").mean_shape))
    save_atomic({"model": model.state_dict(), "config": cfg.to_dict()}, folder / "best.pt")
    name = register_checkpoint(folder / "best.pt", folder / "weights", name="tiny-dslpt")
    yield name
    unregister_model(name)


def test_sigma_reaches_the_face_in_pixels(dslpt_name, astronaut, astronaut_face_box):
    for backend in ("torch", "onnx"):
        faces = Landmarker(dslpt_name, detector=None, backend=backend, threads=1)(astronaut, boxes=[astronaut_face_box])
        face = faces[0]
        assert face.sigma is not None and face.sigma.shape == (68, 2) and face.sigma.dtype == np.float32
        assert (face.sigma > 0).all()
        assert "sigma" in face.to_dict()
    torch_face = Landmarker(dslpt_name, detector=None, backend="torch", threads=1)(astronaut, boxes=[astronaut_face_box])[0]
    assert np.allclose(torch_face.sigma, face.sigma, atol=1e-3)
    assert np.allclose(torch_face.landmarks, face.landmarks, atol=1e-2)


def test_stages_are_selectable_with_the_same_weights(dslpt_name, astronaut, astronaut_face_box):
    results = [Landmarker(dslpt_name, detector=None, backend="torch", threads=1, stages=k)(
        astronaut, boxes=[astronaut_face_box])[0].landmarks for k in (1, 2, 3)]
    assert all(r.shape == (68, 2) for r in results)
    assert not np.allclose(results[0], results[2])
    default = Landmarker(dslpt_name, detector=None, backend="auto", threads=1)(astronaut, boxes=[astronaut_face_box])[0]
    assert np.allclose(default.landmarks, results[2], atol=1e-2)
    with pytest.raises(ValueError, match="between 1 and 3"):
        Landmarker(dslpt_name, detector=None, stages=4)
    # a registered checkpoint gets one ONNX file per stage count, as a shipped model has
    onnx_one = Landmarker(dslpt_name, detector=None, backend="onnx", threads=1, stages=1)
    assert np.allclose(onnx_one(astronaut, boxes=[astronaut_face_box])[0].landmarks, results[0], atol=1e-2)


def test_stages_are_refused_for_a_single_stage_model():
    with pytest.raises(ValueError, match="no coarse-to-fine stages"):
        Landmarker("atpn_lite0_68", detector=None, stages=2)


def test_flip_test_sigma_is_the_spread_of_the_two_view_mixture(dslpt_name, astronaut, astronaut_face_box):
    lm = Landmarker(dslpt_name, detector=None, backend="torch", threads=1, flip_test=True)
    face = lm(astronaut, boxes=[astronaut_face_box])[0]
    assert face.sigma.shape == (68, 2) and (face.sigma > 0).all()
    crops = crops_for_boxes(astronaut, np.asarray(astronaut_face_box)[None], lm.spec)[0]
    flip, inner = lm.runtime, lm.runtime.inner
    assert flip.spread_variance == 1.0  # this model's distribution is Gaussian (Laplace: 2)
    one, two = inner(crops), inner(crops[:, :, ::-1])
    mirrored = two.landmarks[:, flip.permutation] * np.array([-1.0, 1.0], np.float32)
    gap = (one.landmarks - mirrored) / 2
    expected = np.sqrt((one.sigma ** 2 + two.sigma[:, flip.permutation] ** 2) / 2 + gap ** 2)
    np.testing.assert_allclose(flip(crops).sigma, expected, rtol=1e-4)
    assert (flip(crops).sigma >= np.minimum(one.sigma, two.sigma[:, flip.permutation]) - 1e-6).all()


def test_spread_scales_with_the_crop():
    spec = CropSpec(64, 1.25)
    small, large = (spec.box_matrix(np.array(b, np.float32)) for b in ([0, 0, 40, 40], [0, 0, 80, 80]))
    norm = np.full((3, 2), 0.1, np.float32)
    # 0.1 normalised = 5 % of the crop side = 0.05 * 1.25 * box side
    assert np.allclose(decode_spread(norm, small, spec), 0.05 * 1.25 * 40, rtol=1e-4)
    assert np.allclose(decode_spread(norm, large, spec), 2 * decode_spread(norm, small, spec), rtol=1e-4)


def test_cost_command_reports_each_point_and_stage_count(dslpt_name, tmp_path, capsys):
    out = tmp_path / "cost.json"
    assert main(["cost", "--model", dslpt_name, "--points", "19", "68", "--stages", "1", "3", "--repeats", "1",
                 "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| 68 | 3 |" in table and "| 19 | 1 |" in table
    rows = json.loads(out.read_text())["rows"]
    assert [(r["points"], r["stages"]) for r in rows] == [(19, 1), (19, 3), (68, 1), (68, 3)]
    by = {(r["points"], r["stages"]): r for r in rows}
    assert by[(68, 3)]["gflops"] > by[(68, 1)]["gflops"] > 0  # more stages cost more, same weights
    assert by[(68, 3)]["params"] == by[(68, 1)]["params"] > by[(19, 1)]["params"]
    assert all(r["cpu_ms"] > 0 for r in rows) and "onnx_ms" not in rows[0]
    assert main(["cost", "--model", dslpt_name, "--points", "19", "--stages", "1", "3", "--repeats", "1",
                 "--onnx", "--json", str(out)]) == 0
    assert "ONNX Runtime" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert all(r["onnx_ms"] > 0 for r in data["rows"]) and data["command"].endswith("--onnx")


def test_evaluate_occlusion_reports_nme_and_sigma(dslpt_name, tiny_list, tmp_path, capsys):
    args = ["evaluate-occlusion", str(tiny_list), "--model", dslpt_name, "--backend", "torch",
            "--work-dir", str(tmp_path / "occ"), "--out", str(tmp_path / "eval"), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "occluded" in text and "Spearman" in text and "same point" in text
    report = json.loads(next((tmp_path / "eval").glob("*_occlusion_seed0.json")).read_text())
    assert 0 < report["occluded_point_fraction"] < 1
    assert report["occluded"]["uncertainty"]["occluded_points"] > 0
    assert report["clean"]["uncertainty"]["occluded_points"] == 0
    assert Path(report["plot"]).is_file() and cv2.imread(report["plot"]) is not None  # sigma reliability PNG
    by_kind = report["occluded"]["by_kind"]
    assert sum(entry["faces"] for entry in by_kind.values()) == 2 and all(kind in text for kind in by_kind)
    assert all(entry["uncertainty"]["points"] == 68 * entry["faces"] for entry in by_kind.values())
    assert main(args) == 0  # the occluded copy is reused
    assert main(args + ["--split", "val", "--val-fraction", "1"]) == 0  # validation part: every face here
    report = json.loads(next((tmp_path / "eval").glob("*_val_occlusion_seed0.json")).read_text())
    assert report["split"] == "val" and report["command"].endswith("--split val --val-fraction 1")
    assert report["clean"]["nme"]["count"] == 2
    assert main(args + ["--flip-test"]) == 0
    capsys.readouterr()
    assert main(args + ["--split", "val", "--val-fraction", "0"]) == 2  # an empty split: one clear line
    assert "no faces in its val split" in capsys.readouterr().err
    report = json.loads(next((tmp_path / "eval").glob("*_flip_occlusion_seed0.json")).read_text())
    assert report["command"].endswith("--flip-test") and report["occluded"]["uncertainty"]["sigma_ratio"] > 0
    assert main(args[:2] + ["--model", "atpn_lite0_68"] + args[4:]) == 0  # no sigma: NME only
    report = json.loads(next((tmp_path / "eval").glob("atpn_lite0_68_*_occlusion_seed0.json")).read_text())
    assert report["occluded"]["uncertainty"] is None and report["occluded"]["nme"]["nme"] > 0
    assert "plot" not in report  # no sigma, no reliability plot


def test_evaluate_per_stage_table(dslpt_name, tiny_list, tmp_path, capsys):
    assert main(["evaluate", str(tiny_list), "--model", dslpt_name, "--stages", "1", "2", "3",
                 "--out", str(tmp_path / "eval"), "--no-progress", "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "per stage" in text and "3 stage(s)" in text
    for k in (1, 2, 3):
        data = json.loads((tmp_path / "eval" / f"{dslpt_name}_{tiny_list.parent.name}_list_gt_stages{k}.json").read_text())
        assert data["command"].endswith(f"--stages {k}")


def test_detect_writes_sigma_and_an_overlay(dslpt_name, tiny_list, tmp_path, capsys):
    image = tiny_list.parent / "one.png"
    out = tmp_path / "out"
    assert main(["detect", str(image), "--model", dslpt_name, "--box", "175,75,266,167", "--stages", "2",
                 "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    data = json.loads(next(out.glob("*.json")).read_text())
    face = data["faces"][0] if "faces" in data else data[0]["faces"][0]
    assert len(face["sigma"]) == 68 and all(s > 0 for pair in face["sigma"] for s in pair)
    assert any(p.suffix in (".png", ".jpg") for p in out.iterdir())


@pytest.mark.slow  # end to end, several seconds: run by .ci/run (pytest -m slow)
def test_half_stored_onnx_weights_compute_like_float32(tmp_path, astronaut):
    """``store_weights_half`` (package_model --half): about half the file, same outputs in float32."""
    import onnxruntime as ort

    from facepoints.registry.export import export_onnx, store_weights_half

    torch.manual_seed(0)
    model = DSLPT(DSLPTConfig(input_size=64, dim=32, heads=2, layers=2, mlp_ratio=2),
                  CropSpec(64, 1.25).mean_shape_in_crop(get_scheme("ibug68").mean_shape))
    full, half = tmp_path / "full.onnx", tmp_path / "half.onnx"
    export_onnx(model, 64, full)
    export_onnx(model, 64, half)
    assert store_weights_half(half) > 0
    assert half.stat().st_size < 0.6 * full.stat().st_size
    crops = np.ascontiguousarray(cv2.resize(astronaut[60:190, 160:290], (64, 64)).transpose(2, 0, 1)[None],
                                 np.float32)
    outputs = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"crops": crops})
               for p in (full, half)]
    for a, b in zip(*outputs):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, atol=2e-2)
