"""``facepoints train-branches`` (= ``train`` with a branches config) end to end on a handful of real 300W faces: cached features,
both stages, the combined checkpoint (usable as a model), and resuming without retraining."""
from __future__ import annotations

import json

import pytest
import torch

from facepoints import Landmarker
from facepoints.cli.main import main
from facepoints.registry import create_model, unregister_model
from facepoints.training.checkpoint import load_checkpoint, register_checkpoint
from run_helpers import tiny_atpn_run


@pytest.mark.slow  # end to end, several seconds: run by .ci/run (pytest -m slow)
def test_train_branches_tiny_run_resumes_and_packages(data_root, tmp_path, astronaut, astronaut_face_box):
    lines = (data_root / "300W/train.txt").read_text().splitlines()[:12]
    (tmp_path / "list.txt").write_text("\n".join(str(data_root / "300W" / p) for p in lines) + "\n")
    config = tmp_path / "tiny.yaml"
    config.write_text(f"name: tiny\nbase: atpn_lite0_68\ndata_root: {tmp_path}\ntrain_list: list.txt\n"
                      "val_fraction: 0.3\ntracking_epochs: 1\npose_epochs: 1\npose_views: 2\n"
                      "negatives_per_positive: 2\nbatch_size: 4\n"
                      f"output_dir: {tmp_path / 'runs'}\n")
    assert main(["train-branches", str(config), "--no-progress"]) == 0
    run = tmp_path / "runs/tiny"
    log = (run / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["stage"] for line in log] == ["tracking", "pose"]
    state = load_checkpoint(run / "best.pt")
    assert state["config"]["model"]["pose"] and state["config"]["model"]["tracking"]
    assert "pseudo-labels" in state["branches"]["pose_labels"]
    # the landmark part is exactly the shipped network
    shipped = create_model("atpn_lite0_68").state_dict()
    for key, value in state["model"].items():
        if not key.startswith(("pose_branch.", "confidence_branch.")):
            torch.testing.assert_close(value, shipped[key], rtol=0, atol=0)
    # rerunning resumes: nothing is retrained (`train` runs a branches config as `train-branches` does)
    assert main(["train", str(config), "--no-progress"]) == 0
    assert (run / "log.jsonl").read_text().splitlines() == log
    # the combined checkpoint works as a model
    name = register_checkpoint(run / "best.pt", tmp_path / "weights")
    try:
        (face,) = Landmarker(name, detector=None, threads=1)(astronaut, boxes=[astronaut_face_box])
        assert face.pose.shape == (3,) and 0.0 <= face.confidence <= 1.0
    finally:
        unregister_model(name)
    # ... and the evaluation and benchmark commands take it
    out = tmp_path / "eval"
    assert main(["evaluate-branches", str(tmp_path / "list.txt"), "--checkpoint", str(run / "best.pt"),
                 "--negatives", "3", "--threads", "1", "--out", str(out), "--no-progress"]) == 0
    (report,) = out.glob("*.json")
    metrics = json.loads(report.read_text())["metrics"]
    assert metrics["pose"]["branch"]["faces"] == 12 and "pseudo-labels" in metrics["pose"]["reference"]
    assert metrics["tracking"]["positives"] == 12 and 0.0 <= metrics["tracking"]["ap"] <= 1.0
    assert len(list(out.glob("*_pose_ced.png"))) == 1 and len(list(out.glob("*_pr.png"))) == 1
    speed = tmp_path / "speed.json"
    assert main(["benchmark", "--checkpoint", str(run / "best.pt"), "--backend", "onnx", "--repeats", "3",
                 "--json", str(speed)]) == 0
    rows = json.loads(speed.read_text())
    assert rows["tracking_step"][0]["outputs"] == ["landmarks", "pose", "face_prob"]
    # stages: [tracking] trains the face check only and keeps the base's pose branch as it is; one
    # synthetic clutter crop per positive joins the negatives
    config.write_text(config.read_text().replace("name: tiny", "name: tiny_keep")
                      + "stages: [tracking]\nclutter_per_positive: 1\n")
    assert main(["train", str(config), "--no-progress"]) == 0
    kept = tmp_path / "runs/tiny_keep"
    (row,) = [json.loads(line) for line in (kept / "log.jsonl").read_text().splitlines()]
    assert row["stage"] == "tracking"
    assert row["samples"] > json.loads(log[0])["samples"]                  # the clutter crops joined
    state = load_checkpoint(kept / "best.pt")
    for key, value in shipped.items():
        if key.startswith("pose_branch."):
            torch.testing.assert_close(state["model"][key], value, rtol=0, atol=0)
    assert state["branches"]["validation"]["pose"]["kept_from"] == "atpn_lite0_68"


def test_a_checkpoint_base_brings_its_whole_training_record(tmp_path, monkeypatch):
    """Branches trained on a ``facepoints train`` checkpoint (not a registered model) keep that run's
    config, command and wall time for the card (regression: only its epoch count and best NME were
    kept, so the packaged card had no training config or command)."""
    from facepoints.training.branch_setup import load_landmark_base

    run = tiny_atpn_run(tmp_path, "tiny_base")
    (run / "log.jsonl").write_text('{"epoch": 1, "seconds": 120.0}\n')
    monkeypatch.chdir(tmp_path)
    _, cfg, record, sha = load_landmark_base(str(run / "best.pt"))
    assert record["config"]["name"] == cfg["name"] == "tiny_base"
    assert record["command"] == "facepoints train configs/tiny_base.yaml"
    assert record["epochs_completed"] == 5 and record["best_val_nme"] == 0.05 and record["wall_minutes"] == 2.0
    assert len(sha) == 64
