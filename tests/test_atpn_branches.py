"""ATPN pose and face-confidence branches: the heatmap (eq. 3.1), output ranges, frozen training,
ONNX parity, the Landmarker's pose / confidence fields and the pose-axis overlay.

The networks here are the shipped landmark weights plus seeded random branches: the tests
check plumbing and invariants, never a trained branch's accuracy.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from facepoints import Face, Landmarker
from facepoints.datasets.branch_samples import (SampleConfig, black_band, moved_points, negative_box, negative_crop,
                                               positive_crop)
from facepoints.drawing import draw_faces
from facepoints.drawing.overlay import POSE_AXIS_COLOURS
from facepoints.geometry import box_iou
from facepoints.models import ATPN, ATPNConfig
from facepoints.models.atpn_branches import landmark_heatmap
from facepoints.pipeline.crop import CropSpec
from facepoints.pipeline.decode import crops_for_boxes
from facepoints.pipeline.runtime import TorchRuntime
from facepoints.registry import ModelCard, create_model, get_card, register_model, sha256_of, unregister_model
from facepoints.training.branch_setup import base_branch, freeze_for_branches, load_landmark_base, multitask_from
from facepoints.training.config import load_config
from facepoints.training.config_checks import ConfigError
from facepoints.training.losses import face_confidence_loss, pose_loss

TEST_MODEL = "test_atpn_branches"


def _cell(i: int, grid: int = 28) -> float:
    """Normalised coordinate of grid cell ``i``'s centre."""
    return (i + 0.5) / grid * 2 - 1


# --- heatmap ------------------------------------------------------------------------------------

def test_heatmap_hand_computed_values():
    pts = torch.tensor([[[_cell(0), _cell(0)], [_cell(20), _cell(10)]]])    # (x, y) at cells (0,0), (20,10)
    h = landmark_heatmap(pts, 28)
    assert h.shape == (1, 28, 28)
    assert h[0, 0, 0] == pytest.approx(1.0)                         # on a point: 1 / sqrt(1 + 0)
    assert h[0, 0, 1] == pytest.approx(1 / math.sqrt(2))            # one cell away
    assert h[0, 1, 1] == pytest.approx(1 / math.sqrt(1 + math.sqrt(2)))
    assert h[0, 0, 2] == pytest.approx(1 / math.sqrt(3))
    assert h[0, 0, 3] == pytest.approx(0.5)                         # 1 / sqrt(4): the floor itself
    assert h[0, 27, 27] == pytest.approx(0.5)                       # far away: floored at 0.5
    assert h[0, 10, 20] == pytest.approx(1.0)                       # rows index y, columns x
    assert h[0, 10, 21] == pytest.approx(1 / math.sqrt(2))          # nearest point wins (min distance)
    assert float(h.min()) == pytest.approx(0.5)
    # off-centre point between cells: distance 0.5 to both neighbours
    h2 = landmark_heatmap(torch.tensor([[[(_cell(4) + _cell(5)) / 2, _cell(4)]]]), 28)
    assert h2[0, 4, 4] == pytest.approx(1 / math.sqrt(1.5)) and h2[0, 4, 5] == pytest.approx(h2[0, 4, 4])


def test_heatmap_batches_and_grids_independently():
    a = torch.tensor([[[_cell(3, 14), _cell(5, 14)]]])
    b = torch.tensor([[[_cell(9, 14), _cell(1, 14)]]])
    both = landmark_heatmap(torch.cat([a, b]), 14)
    assert both.shape == (2, 14, 14)
    assert both[0, 5, 3] == pytest.approx(1.0) and both[1, 1, 9] == pytest.approx(1.0)
    torch.testing.assert_close(both[1:], landmark_heatmap(b, 14))


# --- the multitask network ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def multitask() -> ATPN:
    """Shipped landmark weights + seeded random branches (non-trivial outputs)."""
    torch.manual_seed(0)
    base, *_ = load_landmark_base("atpn_lite0_68")
    model = multitask_from(base).eval()
    for branch in (model.pose_branch, model.confidence_branch):
        torch.nn.init.normal_(branch.out.weight, std=0.3)
    return model


@pytest.fixture(scope="module")
def crops(astronaut, astronaut_face_box) -> np.ndarray:
    """The astronaut's face crop and a background crop (uint8, (2, 112, 112, 3))."""
    boxes = np.stack([astronaut_face_box, np.array([380, 380, 480, 480], np.float32)])
    return crops_for_boxes(astronaut, boxes, CropSpec(112, 1.25))[0]


def _images(crops: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(crops.transpose(0, 3, 1, 2).copy()).float()


def test_multitask_outputs_shapes_ranges_and_landmarks(multitask, crops):
    x = _images(crops)
    with torch.no_grad():
        out = multitask.forward_multitask(x)
        plain = multitask(x)
    assert set(out) == {"landmarks", "pose", "face_prob"}
    assert out["pose"].shape == (2, 3) and out["face_prob"].shape == (2,)
    torch.testing.assert_close(out["landmarks"], plain)           # forward stays landmarks-only
    # saturate the heads: tanh x pi and softmax keep their ranges
    big = ATPN(multitask.config)
    big.load_state_dict(multitask.state_dict())
    big.eval()
    with torch.no_grad():
        big.pose_branch.out.bias.copy_(torch.tensor([80.0, -80.0, 80.0]))
        big.confidence_branch.out.bias.copy_(torch.tensor([80.0, -80.0]))
        sat = big.forward_multitask(x)
    assert sat["pose"].abs().max() <= math.pi and sat["pose"].abs().min() > 3.1
    assert ((sat["face_prob"] >= 0) & (sat["face_prob"] <= 1e-6)).all()
    assert ((out["face_prob"] > 0) & (out["face_prob"] < 1)).all()


def test_landmark_only_model_has_no_branch_outputs(crops):
    model = ATPN(ATPNConfig()).eval()
    assert model.pose_branch is None and model.confidence_branch is None
    with torch.no_grad():
        out = model.forward_multitask(_images(crops[:1]))
    assert set(out) == {"landmarks"}
    result = TorchRuntime(model)(crops[:1])
    assert result.pose is None and result.face_prob is None and result.landmarks.shape == (1, 68, 2)


def test_heatmap_input_is_detached(multitask, crops):
    """Branch losses never reach the landmark head through the heatmap."""
    model = ATPN(multitask.config)
    model.load_state_dict(multitask.state_dict())
    model.train()
    out = model.forward_multitask(_images(crops))
    (out["pose"].sum() + out["face_prob"].sum()).backward()
    assert all(p.grad is None for p in model.head.parameters())
    assert model.pose_branch.out.weight.grad is not None
    assert model.backbone.parameters().__next__().grad is not None      # features do carry gradient


def test_branch_training_leaves_backbone_and_landmark_head_unchanged(multitask, crops):
    model = ATPN(multitask.config)
    model.load_state_dict(multitask.state_dict())
    trainable = freeze_for_branches(model)
    frozen_before = {k: v.clone() for k, v in model.state_dict().items() if not _in_branch(k)}
    branch_before = {k: v.clone() for k, v in model.state_dict().items() if _in_branch(k)}
    optimizer = torch.optim.Adam(trainable, lr=1e-2)
    out_pose = model.pose_branch(model.fuse_heatmap(*_features_and_landmarks(model, crops)))
    loss = pose_loss(out_pose, torch.tensor([[0.3, -0.1, 0.2], [0.0, 0.0, 0.0]]))
    feats, landmarks = _features_and_landmarks(model, crops)
    loss = loss + face_confidence_loss(model.confidence_branch(model.fuse_heatmap(feats, landmarks)),
                                       torch.tensor([1.0, 0.0]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    after = model.state_dict()
    for k, v in frozen_before.items():
        torch.testing.assert_close(after[k], v, rtol=0, atol=0, msg=f"{k} changed")   # incl. BN statistics
    assert sum(not torch.equal(after[k], v) for k, v in branch_before.items()) > 10
    assert {id(p) for p in trainable} == {id(p) for n, p in model.named_parameters() if _in_branch(n)}


def _in_branch(key: str) -> bool:
    return key.startswith(("pose_branch.", "confidence_branch."))


def _features_and_landmarks(model: ATPN, crops: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    feats = model.features(_images(crops))
    return feats[0], model.landmarks_from(feats)


def test_losses_follow_the_thesis_equations():
    pred = torch.tensor([[0.0, 0.0, 0.0]])
    target = torch.tensor([[0.0, 0.25, 0.0]])
    assert float(pose_loss(pred, target)) == pytest.approx(math.sqrt(0.25) / 3, abs=1e-4)   # eq. 3.7
    assert float(pose_loss(target, target)) < 1e-3
    logits = torch.tensor([[0.0, math.log(3.0)]])       # softmax face probability 0.75
    assert float(face_confidence_loss(logits, torch.tensor([1.0]))) == pytest.approx(-math.log(0.75), abs=1e-6)
    assert float(face_confidence_loss(logits, torch.tensor([0.0]))) == pytest.approx(-math.log(0.25), abs=1e-6)


# --- ONNX and the Landmarker ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def registered(multitask, tmp_path_factory):
    """The multitask network registered (torch + multi-output ONNX) as a user model for this module."""
    pytest.importorskip("onnx")
    from facepoints.registry.export import export_onnx

    folder = tmp_path_factory.mktemp("weights")
    torch.save(multitask.state_dict(), folder / f"{TEST_MODEL}.pt")
    names = export_onnx(multitask, 112, folder / f"{TEST_MODEL}.onnx")
    assert names == ["landmarks", "pose", "face_prob"]
    shipped = get_card("atpn_lite0_68")
    card = ModelCard(name=TEST_MODEL, architecture="atpn", config=multitask.config.to_dict(), scheme="ibug68",
                     crop=shipped.crop,
                     weights={rt: {"file": f"{TEST_MODEL}.{ext}", "sha256": sha256_of(folder / f"{TEST_MODEL}.{ext}")}
                              for rt, ext in (("torch", "pt"), ("onnx", "onnx"))})
    register_model(card, folder)
    yield TEST_MODEL
    unregister_model(TEST_MODEL)


def test_multitask_onnx_matches_torch(registered, crops):
    onnx_lm = Landmarker(registered, detector=None, backend="onnx", threads=1)
    torch_lm = Landmarker(registered, detector=None, backend="torch", threads=1)
    a, b = onnx_lm.runtime(crops), torch_lm.runtime(crops)
    np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1e-4)
    np.testing.assert_allclose(a.pose, b.pose, atol=1e-4)
    np.testing.assert_allclose(a.face_prob, b.face_prob, atol=1e-4)
    assert a.pose.shape == (2, 3) and a.face_prob.shape == (2,)


def test_landmarker_fills_pose_and_confidence(registered, astronaut, astronaut_face_box, crops):
    lm = Landmarker(registered, detector=None, backend="onnx", threads=1)
    (face,) = lm(astronaut, boxes=[astronaut_face_box])
    raw = lm.runtime(crops[:1])
    np.testing.assert_allclose(face.pose, np.rad2deg(raw.pose[0]), atol=1e-3)     # degrees, yaw/pitch/roll
    assert face.confidence == pytest.approx(float(raw.face_prob[0]), abs=1e-5)
    d = face.to_dict()
    assert set(d["pose"]) == {"yaw", "pitch", "roll"} and 0 <= d["confidence"] <= 1
    # the shipped card's architecture without branches keeps both fields empty
    plain = Landmarker("atpn_lite0_68", detector=None, backend="torch", threads=1)
    if not get_card("atpn_lite0_68").config.get("pose"):
        (face,) = plain(astronaut, boxes=[astronaut_face_box])
        assert face.pose is None and face.confidence is None


def test_a_kept_branch_is_the_base_models_own(tmp_path):
    weights, record = base_branch("atpn_lite0_68", "pose_branch")
    shipped = create_model("atpn_lite0_68").pose_branch.state_dict()
    assert weights.keys() == shipped.keys()
    assert all(torch.equal(weights[k], shipped[k]) for k in shipped)
    assert record["kept_from"] == "atpn_lite0_68" and "mae" in record      # its validation record travels along
    assert record["trained_by"].endswith("configs/atpn_lite0_68_branches.yaml")   # and where it was trained
    landmarks_only = tmp_path / "landmarks.pt"
    model = ATPN(ATPNConfig())
    torch.save({"model": model.state_dict(), "config": {"architecture": "atpn", "model": ATPNConfig().to_dict(),
                                                       "scheme": "ibug68", "crop_margin": 1.25}},
               landmarks_only)
    with pytest.raises(ValueError, match="no pose branch to keep"):
        base_branch(str(landmarks_only), "pose_branch")


@pytest.mark.parametrize("stages", ["[]", "[tracking, hands]"])
def test_branch_stages_must_name_known_branches(tmp_path, stages):
    config = tmp_path / "b.yaml"
    config.write_text(f"objective: branches\nname: b\nstages: {stages}\n")
    with pytest.raises(ConfigError, match="stages"):
        load_config(config)


def test_shipped_name_cannot_be_registered():
    with pytest.raises(ValueError, match="shipped"):
        register_model(get_card("atpn_lite0_68"), ".")


# --- data for the branches ----------------------------------------------------------------------

def test_background_boxes_overlap_the_face_little_and_bands_are_black():
    rng = np.random.default_rng(0)
    face = np.array([80, 80, 240, 240], np.float32)
    boxes = [negative_box(face, (320, 320, 3), SampleConfig(), rng) for _ in range(200)]
    boxes = np.stack([b for b in boxes if b is not None])
    assert len(boxes) > 190
    assert box_iou(boxes, face[None]).max() < 0.3
    sides = boxes[:, 2] - boxes[:, 0]
    assert sides.min() < 100 and sides.max() > 300                      # small parts and large views
    crop = np.full((112, 112, 3), 200, np.uint8)
    banded = black_band(crop, 0.35, rng)
    assert (banded == 0).any() and (banded == 200).mean() > 0.6


def test_face_occluder_covers_faces_and_backgrounds_alike_and_is_off_by_default(astronaut, astronaut_face_box,
                                                                                 astronaut_points):
    spec = CropSpec(112, 1.25)

    def crops(cfg: SampleConfig, landmarks) -> np.ndarray:
        rng = np.random.default_rng(3)
        return positive_crop(astronaut, astronaut_face_box, spec, cfg, rng, landmarks)

    plain = SampleConfig()
    # off (the shipped config): landmarks or not, the same crop from the same random stream
    assert np.array_equal(crops(plain, None), crops(plain, astronaut_points))
    always = SampleConfig(face_occluder=1.0)
    assert not np.array_equal(crops(always, astronaut_points), crops(plain, astronaut_points))
    assert np.array_equal(crops(always, None), crops(plain, None))        # no points: nothing to occlude
    assert np.array_equal(crops(always, astronaut_points[:10]), crops(plain, astronaut_points[:10]))
    # a background crop gets the occluder where a face of its box would have been
    neg = np.array([300, 300, 420, 420], np.float32)
    moved = moved_points(astronaut_points, astronaut_face_box, neg)
    assert np.allclose((moved.min(0) + moved.max(0)) / 2, (neg[:2] + neg[2:]) / 2, atol=2)
    back = [negative_crop(astronaut, neg, spec, cfg, np.random.default_rng(4), moved) for cfg in (plain, always)]
    assert not np.array_equal(*back)
    assert astronaut.flags.writeable is False                              # the image is never painted on


def test_clutter_crops_are_seeded_varied_images_of_every_kind():
    from facepoints.datasets import clutter

    first = [clutter.clutter_crop(64, np.random.default_rng([5, i])) for i in range(40)]
    again = [clutter.clutter_crop(64, np.random.default_rng([5, i])) for i in range(40)]
    assert all(a.shape == (64, 64, 3) and a.dtype == np.uint8 for a in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert len({a.tobytes() for a in first}) == 40
    assert sum(a.std() > 5 for a in first) >= 36                            # pictures, not flat fills
    for kind in clutter.KINDS:                                              # each kind draws on its own
        drawn = getattr(clutter, f"_{kind}")(96, np.random.default_rng(1))
        assert drawn.shape == (96, 96, 3) and drawn.std() > 1


@pytest.mark.parametrize("bad", [{"face_occluder": 1.5}, {"face_occluder": 0.5, "face_occluder_kinds": ["scarf"]}])
def test_sample_config_rejects_bad_occluder_settings(bad):
    with pytest.raises(ValueError):
        SampleConfig(**bad)


# --- overlay ------------------------------------------------------------------------------------

def test_overlay_draws_pose_axes():
    image = np.full((200, 200, 3), 255, np.uint8)
    landmarks = np.full((68, 2), 100.0, np.float32)
    box = np.array([60, 60, 140, 140], np.float32)
    plain = draw_faces(image, [Face(box, 1.0, landmarks, "ibug68")])
    upright = draw_faces(image, [Face(box, 1.0, landmarks, "ibug68", pose=np.zeros(3))])
    red, blue, green = (np.all(upright == np.array(c, np.uint8), axis=-1) for c in POSE_AXIS_COLOURS)
    assert not any(np.all(plain == np.array(c, np.uint8), axis=-1).any() for c in POSE_AXIS_COLOURS[1:])
    ys, xs = np.nonzero(blue)
    assert ys.min() < 60 and np.abs(xs - 100).max() <= 6                   # up: straight up from the centre
    ys, xs = np.nonzero(green)
    assert xs.max() > 140 and np.abs(ys - 100).max() <= 6                  # subject's left: image right
    turned = draw_faces(image, [Face(box, 1.0, landmarks, "ibug68", pose=np.array([60.0, 0, 0]))])
    ys, xs = np.nonzero(np.all(turned == np.array(POSE_AXIS_COLOURS[0], np.uint8), axis=-1))
    assert xs.max() > 130                                                  # facing direction: image right
