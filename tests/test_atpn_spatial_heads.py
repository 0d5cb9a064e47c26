"""ATPN's SimCC and heatmap heads (issue 16): decoded to [-1, 1] coordinates inside ``forward``,
trained with the KL of their bins / heatmaps plus the coordinate loss, resumed, packaged, and run
by ONNX Runtime like the regression head; the regression head's weights and outputs are unchanged."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from facepoints import Landmarker
from facepoints.cli.main import main
from facepoints.models import ATPN, ATPNConfig
from facepoints.models.atpn_heatmap import spatial_expectation
from facepoints.models.atpn_simcc import SIMCC_SPLIT, bin_centres, expectation
from facepoints.registry import get_card
from facepoints.schemes import get_scheme
from facepoints.training.config_checks import ConfigError
from facepoints.training.config import load_config
from facepoints.training.head_losses import gaussian_bins, heatmap_loss, landmark_loss, simcc_loss
from facepoints.training.losses import nme_loss

TINY = {"backbone": "efficientnet_lite0", "width": 16, "embed": 32, "input_size": 64}


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_regression_head_keeps_the_shipped_weights_layout():
    """The shared fusion module kept the state-dict keys: the shipped weights load strictly."""
    card = get_card("atpn_lite0_68")
    lm = Landmarker("atpn_lite0_68", detector=None, backend="torch", threads=1)
    assert lm.runtime.name == "torch" and ATPNConfig(**card.config).head == "regression"


def _outputs(head: str) -> tuple[dict, dict]:
    """``forward_train`` and ``forward_multitask`` of a tiny ATPN with ``head`` and both branches."""
    torch.manual_seed(0)
    model = ATPN(ATPNConfig(**TINY, head=head, pose=True, tracking=True)).eval()
    images = torch.rand(2, 3, 64, 64) * 255
    with torch.no_grad():
        return model.forward_train(images), model.forward_multitask(images)


def test_simcc_forward_is_the_expectation_of_its_bins():
    out, multi = _outputs("simcc")
    landmarks = out["landmarks"]
    assert out["simcc_x"].shape == (2, 68, SIMCC_SPLIT * 64) == out["simcc_y"].shape
    assert torch.allclose(landmarks, torch.stack([expectation(out["simcc_x"]), expectation(out["simcc_y"])], -1))
    assert torch.allclose(multi["landmarks"], landmarks) and set(multi) == {"landmarks", "pose", "face_prob"}
    assert landmarks.abs().max() < 1.0


def test_heatmap_forward_is_the_soft_argmax_of_its_heatmaps():
    out, multi = _outputs("heatmap")
    assert out["heatmaps"].shape == (2, 68, 16, 16)
    assert torch.allclose(multi["landmarks"], spatial_expectation(out["heatmaps"]))
    peak = torch.full((1, 1, 16, 16), -50.0)
    peak[0, 0, 3, 12] = 50.0  # row 3 (y), column 12 (x)
    centres = bin_centres(16, peak)
    assert torch.allclose(spatial_expectation(peak)[0, 0], torch.stack([centres[12], centres[3]]), atol=1e-5)


def test_heatmap_loss_is_smallest_at_the_target():
    target = torch.tensor([[[0.1, -0.3]]])
    rows, columns = gaussian_bins(target[..., 1], 16, 1.0), gaussian_bins(target[..., 0], 16, 1.0)
    right = torch.log((rows[..., :, None] * columns[..., None, :]).clamp_min(1e-12))
    assert float(heatmap_loss(right, target, 4.0)) == pytest.approx(0.0, abs=1e-4)
    assert float(heatmap_loss(right, target + 0.3, 4.0)) > 1.0


@pytest.mark.parametrize("head", ["simcc", "heatmap"])
def test_a_fresh_spatial_head_starts_at_the_mean_shape(head):
    """As the regression head (residuals to the mean shape) does: its prior peaks there."""
    from facepoints.training.config import TrainConfig
    from facepoints.training.landmark_objective import build_model

    torch.manual_seed(0)
    model = build_model(TrainConfig(model=ATPNConfig(**TINY, head=head), crop_margin=1.25)).eval()
    with torch.no_grad():
        landmarks = model(torch.rand(2, 3, 64, 64) * 255)
    assert (landmarks - model.mean_shape).abs().max() < 0.03 < 0.5 < model.mean_shape.abs().max()


def test_bins_cover_the_crop_and_gaussian_targets_peak_at_the_point():
    centres = bin_centres(128, torch.zeros(1))
    assert centres[0] == pytest.approx(-1 + 1 / 128) and centres[-1] == pytest.approx(1 - 1 / 128)
    coords = torch.cat([centres[[32, 64, 110]], torch.tensor([1.4])])[None]  # 1.4: outside, the edge bin
    labels = gaussian_bins(coords, 128, 3.0)
    assert torch.allclose(labels.sum(-1), torch.ones(1, 4))
    assert labels[0, :3].argmax(-1).tolist() == [32, 64, 110] and int(labels[0, 3].argmax()) == 127
    assert torch.allclose(expectation(torch.log(labels[0, :3])), coords[0, :3], atol=2e-3)


def test_simcc_loss_is_smallest_at_the_target():
    target = torch.tensor([[[0.1, -0.3]]])  # (faces, points, 2)

    def logits(at: torch.Tensor, axis: int) -> torch.Tensor:  # 1.5 px x 2 bins per pixel = 3 bins
        return torch.log(gaussian_bins(at[..., axis], 128, 3.0).clamp_min(1e-12))

    good = simcc_loss(logits(target, 0), logits(target, 1), target, 1.5)
    bad = simcc_loss(logits(target + 0.2, 0), logits(target + 0.2, 1), target, 1.5)
    assert float(good) == pytest.approx(0.0, abs=1e-4) and float(bad) > 1.0


def test_landmark_loss_adds_the_bins_only_for_simcc():
    torch.manual_seed(0)
    scheme = get_scheme("ibug68")
    target = torch.as_tensor(scheme.mean_shape[None] * 0.5, dtype=torch.float32)
    images = torch.rand(1, 3, 64, 64) * 255
    plain = ATPN(ATPNConfig(**TINY)).eval()
    simcc = ATPN(ATPNConfig(**TINY, head="simcc")).eval()
    with torch.no_grad():
        assert torch.allclose(landmark_loss(plain, images, target, scheme), nme_loss(plain(images), target, scheme))
        with_bins = landmark_loss(simcc, images, target, scheme, simcc_weight=1.0)
        without = landmark_loss(simcc, images, target, scheme, simcc_weight=0.0)
        assert float(with_bins) > float(without) == pytest.approx(float(nme_loss(simcc(images), target, scheme)))


def test_unknown_head_is_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"name": "x", "model": {"head": "heatmaps"}}))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "model.head must be one of heatmap, regression, simcc" in str(info.value) and "\n" not in str(info.value)


def _config(path, data_root, out, head, **extra) -> str:
    cfg = {"name": f"tiny_{head}", "data_root": str(data_root), "train_lists": ["list.txt"], "val_fraction": 0.0,
           "model": {"num_points": 68, **TINY, "head": head}, "imagenet_init": False, "epochs": 1,
           "batch_size": 2, "warmup_epochs": 0, "workers": 0, "threads": 1, "output_dir": str(out),
           "loss": "wing", "simcc_sigma": 2.0}
    cfg.update(extra)
    path.write_text(json.dumps(cfg))
    return str(path)


@pytest.mark.parametrize("head", ["simcc", "heatmap"])
def test_trains_resumes_packages_and_runs_in_onnx(head, tiny_list, tmp_path, astronaut, astronaut_face_box, capsys):
    pytest.importorskip("onnx")
    config = _config(tmp_path / "c.yaml", tiny_list.parent, tmp_path / "runs", head)
    assert main(["train", config, "--no-progress"]) == 0
    assert main(["train", config, "--epochs", "2", "--no-progress"]) == 0
    assert "resumed" in capsys.readouterr().out
    run = tmp_path / "runs" / f"tiny_{head}"
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and all(np.isfinite(r["train_loss"]) for r in rows)
    assert main(["package", str(run), "--name", f"tiny_{head}"]) == 0
    card = get_card(f"tiny_{head}")
    assert card.config["head"] == head and "onnx" in card.weights
    onnx = Landmarker(f"tiny_{head}", detector=None, backend="onnx", threads=1)
    torch_lm = Landmarker(f"tiny_{head}", detector=None, backend="torch", threads=1)
    a = onnx(astronaut, boxes=[astronaut_face_box])[0].landmarks
    b = torch_lm(astronaut, boxes=[astronaut_face_box])[0].landmarks
    assert a.shape == (68, 2) and np.abs(a - b).max() < 0.05


def test_a_new_head_starts_from_a_trained_network_with_init_shared(tiny_list, tmp_path, capsys):
    """``init_shared``: a SimCC run copies the backbone and fused features of a regression-head run
    (same names and shapes) and drops its head; without it the differing head is refused."""
    regression = _config(tmp_path / "r.yaml", tiny_list.parent, tmp_path / "runs", "regression")
    assert main(["train", regression, "--no-progress"]) == 0
    source = tmp_path / "runs" / "tiny_regression" / "last.pt"
    refused = _config(tmp_path / "s.yaml", tiny_list.parent, tmp_path / "runs", "simcc", init_checkpoint=str(source))
    assert main(["train", refused, "--no-progress"]) == 2
    capsys.readouterr()
    config = _config(tmp_path / "s.yaml", tiny_list.parent, tmp_path / "runs", "simcc", init_checkpoint=str(source),
                     init_shared=True, lr=0.0)
    assert main(["train", config, "--no-progress"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("initialised the shared weights"))
    fresh, dropped = line.split("; fresh: ")[1].split("; dropped: ")
    assert "head.x_bins" in fresh and "backbone" not in fresh and "head.out" in dropped
    start = torch.load(source, map_location="cpu", weights_only=True)["model"]
    tuned = torch.load(tmp_path / "runs" / "tiny_simcc" / "last.pt", map_location="cpu", weights_only=True)["model"]
    key = "backbone._conv_stem.weight"  # lr 0: exactly the regression run's
    assert torch.equal(tuned[key], start[key]) and "head.x_bins.weight" in tuned and "head.out.weight" not in tuned


def test_init_shared_refuses_a_checkpoint_that_shares_nothing():
    from facepoints.training.checkpoint import load_shared_state

    model = ATPN(ATPNConfig(**TINY))
    with pytest.raises(KeyError, match="shares no weights"):
        load_shared_state(model, {"other.weight": torch.zeros(3)})


def test_init_shared_without_a_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"name": "x", "init_shared": True}))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "give init_checkpoint too" in str(info.value) and "\n" not in str(info.value)
