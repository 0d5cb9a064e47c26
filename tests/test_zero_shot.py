"""Zero-shot points (thesis ch. 6.2.4): plane helpers, ``Landmarker(points=)`` on a TUFA model,
the plane picture and the ``plane`` / ``detect --points`` commands."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from facepoints import Landmarker
from facepoints.cli.main import main
from facepoints.drawing import draw_faces, render_plane
from facepoints.models import TUFA, TUFAConfig
from facepoints.registry import unregister_model
from facepoints.results import Face
from facepoints.schemes import (along_contour, as_plane_points, get_scheme, interpolate_contour, midpoint,
                                scheme_plane_points)
from facepoints.training.checkpoint import register_checkpoint

IBUG = get_scheme("ibug68")
TINY_MODEL = {"num_points": 68, "input_size": 64, "dim": 32, "heads": 2, "layers": 1, "mlp_ratio": 2,
              "scheme": "300w"}
SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)  # a unit square, corner by corner


@pytest.fixture(scope="module")
def tufa_name(tmp_path_factory):
    """A tiny random TUFA with two landmark sets and non-zero alignment offsets, registered."""
    torch.manual_seed(0)
    network = TUFA(TUFAConfig(**TINY_MODEL), IBUG.mean_shape)
    network.add_scheme("ytf68", IBUG.mean_shape)
    with torch.no_grad():
        for offsets in network.alignment.values():
            offsets.normal_(0, 0.03)
        network.head[-1].weight.normal_(0, 0.05)
    folder = tmp_path_factory.mktemp("zero_shot")
    checkpoint = folder / "tiny.pt"
    config = {"architecture": "tufa", "model": TUFAConfig(**TINY_MODEL).to_dict(), "scheme": "ibug68",
              "crop_margin": 1.25}
    torch.save({"config": config, "model": network.state_dict()}, checkpoint)
    name = register_checkpoint(checkpoint, folder / "models", name="tiny_zero_shot")
    yield name
    unregister_model(name)


@pytest.fixture(scope="module")
def plain(tufa_name):
    return Landmarker(tufa_name, detector=None, backend="torch", threads=1)


# --- plane helpers ---------------------------------------------------------------------------

def test_scheme_plane_points_are_the_mean_shape():
    np.testing.assert_array_equal(scheme_plane_points("ibug68"), IBUG.mean_shape)
    np.testing.assert_array_equal(scheme_plane_points(IBUG, [36, 45]), IBUG.mean_shape[[36, 45]])
    with pytest.raises(ValueError, match="out of range"):
        scheme_plane_points(IBUG, [68])


def test_midpoint_of_points_and_of_arrays():
    np.testing.assert_allclose(midpoint([0, 0], [2, 4]), [1, 2])
    np.testing.assert_allclose(midpoint(SQUARE[:2], SQUARE[1:3]), [[0.5, 0], [1, 0.5]])


def test_along_contour_goes_by_arc_length():
    # legs of length 1, 1 and 1: halfway is the middle of the second leg
    np.testing.assert_allclose(along_contour(SQUARE, [0, 1, 2, 3], 0.0), [0, 0])
    np.testing.assert_allclose(along_contour(SQUARE, [0, 1, 2, 3], 1.0), [0, 1])
    np.testing.assert_allclose(along_contour(SQUARE, [0, 1, 2, 3], 0.5), [1, 0.5])
    # unequal legs (1 then 3): a quarter of the way is the first corner, not the middle of leg one
    line = np.array([[0, 0], [1, 0], [1, 3]], np.float32)
    np.testing.assert_allclose(along_contour(line, [0, 1, 2], 0.25), [1, 0])
    np.testing.assert_allclose(along_contour(line, [2, 1, 0], 0.5), [1, 1])  # contour order counts
    with pytest.raises(ValueError, match="fraction"):
        along_contour(SQUARE, [0, 1], 1.5)


def test_interpolate_contour_counts_and_spacing():
    between = interpolate_contour(SQUARE, [0, 1, 2], 3)
    assert between.shape == (6, 2)
    np.testing.assert_allclose(between[:3], [[0.25, 0], [0.5, 0], [0.75, 0]])
    np.testing.assert_allclose(between[3:], [[1, 0.25], [1, 0.5], [1, 0.75]])
    dense = interpolate_contour(SQUARE, [0, 1, 2, 3], 1, include_ends=True)
    np.testing.assert_allclose(dense, [[0, 0], [0.5, 0], [1, 0], [1, 0.5], [1, 1], [0.5, 1], [0, 1]])
    assert interpolate_contour(SQUARE, [0, 1], 0).shape == (0, 2)
    with pytest.raises(ValueError, match="at least 2"):
        interpolate_contour(SQUARE, [0], 2)


@pytest.mark.parametrize("bad, message", [([], "empty"), ([[0.1, 0.2, 0.3]], r"\(P, 2\)"), ([0.1, 0.2], r"\(P, 2\)"),
                                          ([[0.0, np.nan]], "finite"), ([[0.0, np.inf]], "finite"),
                                          ([["a", "b"]], "numbers")])
def test_malformed_plane_points_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        as_plane_points(bad)


# --- Landmarker(points=) ---------------------------------------------------------------------

def test_plane_points_are_the_learned_anchors(plain, tufa_name):
    anchors = plain.plane_points()
    assert anchors.shape == (68, 2) and anchors.dtype == np.float32
    assert np.abs(anchors - IBUG.mean_shape).max() > 1e-3  # the alignment offsets are in
    np.testing.assert_array_equal(plain.plane_points("ibug68"), anchors)  # the card's scheme = default set
    assert np.abs(plain.plane_points("ytf68") - anchors).max() > 1e-3
    with pytest.raises(KeyError, match="ytf68"):
        plain.plane_points("nope")


def test_default_anchors_as_points_reproduce_the_default_prediction(plain, tufa_name, astronaut,
                                                                     astronaut_face_box):
    prompted = Landmarker(tufa_name, detector=None, threads=1, points=plain.plane_points())
    assert prompted.runtime.name == "onnx"  # the ONNX file takes the points: no PyTorch needed
    want = plain(astronaut, boxes=[astronaut_face_box])[0]
    got = prompted(astronaut, boxes=[astronaut_face_box])[0]
    np.testing.assert_allclose(got.landmarks, want.landmarks, atol=1e-3)
    np.testing.assert_array_equal(got.box, want.box)
    assert got.scheme == "custom:68" and want.scheme == "ibug68"
    # re-centring on a detector box frames the face with the scheme's landmarks in both
    refined = [lm.landmarks_for_boxes(astronaut, astronaut_face_box[None], refine=1)[0] for lm in (plain, prompted)]
    np.testing.assert_allclose(refined[1].landmarks, refined[0].landmarks, atol=1e-3)


def test_other_points_give_one_row_each_in_image_pixels(plain, tufa_name, astronaut, astronaut_face_box):
    anchors = plain.plane_points()
    points = np.concatenate([anchors[[36, 45, 30]], midpoint(anchors[36], anchors[45])[None], [[0.0, 0.0]]])
    lm = Landmarker(tufa_name, detector=None, backend="torch", threads=1, points=points.tolist())
    face = lm(astronaut, boxes=[astronaut_face_box])[0]
    assert face.landmarks.shape == (5, 2) and face.scheme == "custom:5"
    x0, y0, x1, y1 = astronaut_face_box
    side = max(x1 - x0, y1 - y0)
    assert np.isfinite(face.landmarks).all()
    assert (face.landmarks >= [x0 - side, y0 - side]).all() and (face.landmarks <= [x1 + side, y1 + side]).all()
    assert face.to_dict()["scheme"] == "custom:5" and len(face.to_dict()["landmarks"]) == 5
    overlay = draw_faces(astronaut, [face])  # custom points: plain dots, no scheme groups
    assert overlay.shape == astronaut.shape and not np.array_equal(overlay, astronaut)


def test_points_need_a_tufa_model():
    with pytest.raises(ValueError, match="TUFA"):
        Landmarker("atpn_lite0_68", detector=None, points=[[0.0, 0.0]])
    with pytest.raises(ValueError, match="TUFA"):
        Landmarker("atpn_lite0_68", detector=None, backend="torch").plane_points()


def test_points_refuse_flip_test_and_malformed_input(tufa_name):
    with pytest.raises(ValueError, match="flip_test"):
        Landmarker(tufa_name, detector=None, flip_test=True, points=[[0.0, 0.0]])
    for bad in ([], [[0.0, 0.0, 0.0]], [[np.nan, 0.0]]):
        with pytest.raises(ValueError):
            Landmarker(tufa_name, detector=None, points=bad)
    with pytest.raises(ValueError, match="tracking"):
        Landmarker(tufa_name, detector=None, backend="torch", points=[[0.0, 0.0]]).track([])


def test_custom_faces_draw_without_a_scheme():
    face = Face(box=[10, 10, 50, 50], score=1.0, landmarks=[[20, 20], [40, 30]], scheme="custom:2")
    out = draw_faces(np.zeros((64, 64, 3), np.uint8), [face])
    assert out[20, 20].any() and out[30, 40].any()


# --- the plane picture and the commands ------------------------------------------------------

def test_render_plane_writes_a_png_of_the_requested_size(tmp_path):
    path = tmp_path / "sub" / "plane.png"
    image = render_plane(IBUG.mean_shape, extra_points={"brow": [0.0, -0.9]}, size=300, path=path)
    assert image.shape == (300, 300, 3) and image.dtype == np.uint8
    written = cv2.imread(str(path))
    assert written.shape == (300, 300, 3)
    np.testing.assert_array_equal(written[..., ::-1], image)
    with pytest.raises(ValueError, match="labels"):
        render_plane(IBUG.mean_shape, labels=["a"], size=100)


def test_plane_command_for_a_model_and_a_scheme(tufa_name, tmp_path, capsys):
    points = tmp_path / "points.json"
    points.write_text(json.dumps({"nose_tip": [0.0, 0.2]}))
    out, anchors = tmp_path / "model.png", tmp_path / "anchors.json"
    assert main(["plane", "--model", tufa_name, "--scheme", "ytf68", "--points", str(points), "--size", "256",
                 "--out", str(out), "--json", str(anchors)]) == 0
    assert cv2.imread(str(out)).shape == (256, 256, 3)
    assert len(json.loads(anchors.read_text())["anchors"]) == 68
    assert main(["plane", "--size", "200", "--out", str(tmp_path / "ibug.png")]) == 0  # ibug68's mean shape
    assert cv2.imread(str(tmp_path / "ibug.png")).shape == (200, 200, 3)
    assert "ibug68 mean shape: 68 points" in capsys.readouterr().out
    assert main(["plane", "--model", "atpn_lite0_68", "--out", str(tmp_path / "x.png")]) == 2
    assert "TUFA" in capsys.readouterr().err


def test_detect_with_points_file(tufa_name, astronaut, astronaut_face_box, tmp_path, capsys):
    image = tmp_path / "astronaut.png"
    assert cv2.imwrite(str(image), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    points = tmp_path / "points.json"
    points.write_text(json.dumps({"left_eye": [-0.4, -0.3], "right_eye": [0.4, -0.3], "chin": [0.0, 0.95]}))
    box = ",".join(str(float(v)) for v in astronaut_face_box)
    out = tmp_path / "out"
    assert main(["detect", str(image), "--model", tufa_name, "--box", box, "--points", str(points),
                 "--out", str(out), "--no-progress"]) == 0
    record = json.loads((out / "astronaut.json").read_text())
    assert record["plane_points"]["names"] == ["left_eye", "right_eye", "chin"]
    face = record["faces"][0]
    assert face["scheme"] == "custom:3" and len(face["landmarks"]) == 3
    assert (out / "astronaut_overlay.png").is_file()
    points.write_text(json.dumps([[0.0, 0.0], [0.1]]))
    assert main(["detect", str(image), "--model", tufa_name, "--box", box, "--points", str(points),
                 "--out", str(out), "--no-progress"]) == 2
    assert "(P, 2)" in capsys.readouterr().err


# --- scoring a subset of points, zero-shot ----------------------------------------------------

def test_scoring_every_point_as_a_subset_changes_nothing(plain, tiny_list):
    from facepoints.datasets.image_list import read_image_list
    from facepoints.evaluation.evaluate import evaluate

    records = read_image_list(tiny_list)
    whole = evaluate(plain, records, progress=False)
    subset = evaluate(plain, records, progress=False, points=range(68))
    np.testing.assert_allclose(subset.nme, whole.nme, rtol=1e-6)
    jaw = evaluate(plain, records, progress=False, points=range(17))
    assert np.isnan(jaw.predictions[:, 17:]).all() and np.isfinite(jaw.predictions[:, :17]).all()
    with pytest.raises(ValueError, match="distinct scheme indices"):
        evaluate(plain, records, progress=False, points=[3, 3])


def test_prompting_the_trained_anchors_reproduces_the_subset_score(plain, tufa_name, tiny_list):
    """Zero-shot scoring path: prompts equal to the trained anchors give the supervised score."""
    from facepoints.datasets.image_list import read_image_list
    from facepoints.evaluation.evaluate import evaluate

    records, points = read_image_list(tiny_list), [1, 3, 5, 36, 45]
    prompted = Landmarker(tufa_name, detector=None, threads=1, points=plain.plane_points()[points])
    np.testing.assert_allclose(evaluate(prompted, records, progress=False, points=points).nme,
                               evaluate(plain, records, progress=False, points=points).nme, rtol=1e-4)


def test_evaluate_command_scores_withheld_points_zero_shot(tufa_name, tiny_list, tmp_path, capsys):
    out = tmp_path / "eval"
    base = ["evaluate", str(tiny_list), "--model", tufa_name, "--out", str(out), "--no-progress", "--threads", "1",
            "--only-points", "1", "3", "5-7"]
    assert main(base) == 0 and main(base + ["--zero-shot"]) == 0
    anchors = json.loads((out / f"{tufa_name}_{tiny_list.parent.name}_list_gt_5pts.json").read_text())
    zero_shot = json.loads((out / f"{tufa_name}_{tiny_list.parent.name}_list_gt_5pts_zeroshot.json").read_text())
    assert zero_shot["command"].endswith("--only-points 1 3 5-7 --zero-shot")
    # this model's alignment offsets are not zero: mean-shape prompts are other points than its anchors
    assert zero_shot["overall"]["nme"] != anchors["overall"]["nme"]
    capsys.readouterr()
    assert main(base[:-4] + ["--zero-shot"]) != 0
    assert "--only-points" in capsys.readouterr().err
    assert main(base[:-3] + ["1", "x"]) != 0


def test_evaluate_command_predicts_another_landmark_set(tufa_name, tiny_list, tmp_path, capsys):
    out = tmp_path / "eval"
    base = ["evaluate", str(tiny_list), "--model", tufa_name, "--out", str(out), "--no-progress", "--threads", "1"]
    assert main(base) == 0 and main(base + ["--landmark-set", "ytf68"]) == 0
    default = json.loads((out / f"{tufa_name}_{tiny_list.parent.name}_list_gt.json").read_text())
    ytf = json.loads((out / f"{tufa_name}_{tiny_list.parent.name}_list_gt_set-ytf68.json").read_text())
    assert ytf["command"].endswith("--landmark-set ytf68")
    assert ytf["overall"]["nme"] != default["overall"]["nme"]  # the sets' alignment offsets differ
    capsys.readouterr()
    assert main(base + ["--landmark-set", "wflw"]) != 0 and "ytf68" in capsys.readouterr().err
    assert main(base + ["--landmark-set", "ytf68", "--zero-shot", "--only-points", "1"]) != 0
    assert "cannot be combined" in capsys.readouterr().err
