"""The run -> model contract in ``facepoints.registry`` (issue 15): a typed ``Checkpoint`` saved and
loaded in one module, ``ModelCard.from_checkpoint``, the card's crop as a ``CropSpec``,
``load_trained`` for a name, a checkpoint file or a run folder, and ``facepoints package``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from facepoints import Landmarker
from facepoints.cli.main import main
from facepoints.pipeline.crop import CropSpec
from facepoints.registry import (Checkpoint, CheckpointError, ModelCard, get_card, load_trained, register_model,
                                 unregister_model)
from facepoints.registry.card import sha256_of

from run_helpers import tiny_atpn_run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run folder holding a tiny ATPN training checkpoint (``best.pt``) written by ``Checkpoint.save``."""
    return tiny_atpn_run(tmp_path_factory.mktemp("runs"), "tiny_atpn", extras={"note": "kept"})


def test_checkpoint_round_trip_is_typed(run_dir):
    ckpt = Checkpoint.load(run_dir / "best.pt")
    assert (ckpt.architecture, ckpt.scheme, ckpt.epoch, ckpt.best) == ("atpn", "ibug68", 4, 0.05)
    assert ckpt.crop == CropSpec(size=64, margin=1.3)
    assert ckpt.extras == {"note": "kept"} and ckpt.path == run_dir / "best.pt"
    assert isinstance(ckpt.network(), torch.nn.Module)


def test_old_layout_without_architecture_still_loads(tmp_path, run_dir):
    """A checkpoint from before the ``architecture`` field (and without epoch/best) reads as ATPN."""
    state = torch.load(run_dir / "best.pt", weights_only=True)
    config = {k: v for k, v in state["config"].items() if k != "architecture"}
    torch.save({"model": state["model"], "config": config}, tmp_path / "old.pt")
    ckpt = Checkpoint.load(tmp_path / "old.pt")
    assert ckpt.architecture == "atpn" and ckpt.epoch is None and ckpt.best is None


def test_card_from_checkpoint_and_crop_spec(run_dir):
    ckpt = Checkpoint.load(run_dir / "best.pt")
    card = ModelCard.from_checkpoint(ckpt, "tiny", {"torch": {"file": "t.pt", "sha256": "0"}}, summary="s")
    assert card.crop == CropSpec(64, 1.3) and card.config == ckpt.model_config and card.scheme == "ibug68"
    assert card.to_json()["crop"] == {"size": 64, "margin": 1.3}
    assert ModelCard.from_json(json.loads(json.dumps(card.to_json()))) == card
    assert isinstance(get_card("atpn_lite0_68").crop, CropSpec)


def test_load_trained_takes_a_name_a_file_or_a_run_folder(run_dir, tmp_path, astronaut, astronaut_face_box):
    assert load_trained("atpn_lite0_68") == "atpn_lite0_68"
    by_file = load_trained(run_dir / "best.pt", tmp_path / "a", onnx=False)  # ONNX: see the package test
    by_folder = load_trained(str(run_dir), tmp_path / "b", onnx=False)
    try:
        assert by_file == by_folder == "tiny_atpn-best"
        face = Landmarker(by_folder, detector=None, backend="torch", threads=1)(astronaut, boxes=[astronaut_face_box])[0]
        assert face.landmarks.shape == (68, 2) and np.isfinite(face.landmarks).all()
    finally:
        unregister_model(by_file)
    with pytest.raises(CheckpointError, match="neither a registered model"):
        load_trained(tmp_path / "nosuch")
    with pytest.raises(CheckpointError, match="without best.pt"):
        load_trained(tmp_path)


def test_facepoints_package_writes_weights_and_a_card(run_dir, tmp_path, astronaut, astronaut_face_box):
    pytest.importorskip("onnx")
    out = tmp_path / "registry"
    proc = subprocess.run([sys.executable, "-m", "facepoints.cli.main", "package", str(run_dir), "--name", "tiny_pkg",
                           "--summary", "a tiny test model", "--registry-dir", str(out)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    card = ModelCard.from_json(json.loads((out / "cards" / "tiny_pkg.json").read_text()))
    assert (card.architecture, card.scheme, card.crop, card.summary) == ("atpn", "ibug68", CropSpec(64, 1.3),
                                                                         "a tiny test model")
    assert card.training["epochs_completed"] == 5 and card.training["best_val_nme"] == 0.05
    assert card.training["command"] == "facepoints train configs/tiny_atpn.yaml"
    for entry in card.weights.values():
        assert sha256_of(out / "weights" / entry["file"]) == entry["sha256"]
    assert set(card.weights) == {"torch", "onnx"}
    register_model(card, out / "weights")
    try:
        faces = Landmarker("tiny_pkg", detector=None, threads=1)(astronaut, boxes=[astronaut_face_box])
        assert faces[0].landmarks.shape == (68, 2)
    finally:
        unregister_model("tiny_pkg")
    # an existing model is rewritten only with --replace; the card keeps what is not given again
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["package", str(run_dir), "--name", "tiny_pkg", "--registry-dir", str(out)]) == 2
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert main(["package", str(run_dir), "--name", "tiny_pkg", "--registry-dir", str(out), "--replace",
                 "--keep-weights", "--training-notes", "again"]) == 0
    again = json.loads((out / "cards" / "tiny_pkg.json").read_text())
    assert again["summary"] == "a tiny test model" and again["training"]["notes"] == "again"
    assert again["weights"]["torch"] == card.weights["torch"]


def test_package_bad_input_is_one_line(tmp_path, capsys):
    """(A real process refusing a hostile checkpoint: tests/hostile/test_checkpoints.py.)"""
    for bad in ([str(tmp_path / "nosuch")], [str(tmp_path)], [str(tmp_path), "--extra-metrics", "nokey"]):
        assert main(["package", *bad, "--name", "x", "--registry-dir", str(tmp_path / "out")]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("facepoints package: error: "), lines
    assert not (tmp_path / "out").exists()


def test_a_run_started_from_a_registered_model_carries_its_chain(tmp_path, monkeypatch):
    """A fine-tune of a shipped model (``init_checkpoint: atpn_lite0_68``, no such file) records the
    shipped model's training commands and wall time before its own (regression: the chain took the
    name for a path and wrote ``facepoints train configs/.yaml``)."""
    from facepoints.registry.packaging import landmark_training

    run = tiny_atpn_run(tmp_path, "tiny_ft")
    checkpoint = Checkpoint.load(run / "best.pt")
    checkpoint.config["init_checkpoint"] = "atpn_lite0_68"
    (run / "log.jsonl").write_text('{"epoch": 1, "seconds": 60.0}\n')
    monkeypatch.chdir(tmp_path)  # no atpn_lite0_68 file here: the name is the registered model
    record = landmark_training(checkpoint, "", {})
    shipped = get_card("atpn_lite0_68").training
    assert record["command"] == f"{shipped['command']} && facepoints train configs/tiny_ft.yaml"
    assert record["started_from"] == "atpn_lite0_68"
    assert record["wall_minutes"] == round(shipped["wall_minutes"] + 1.0, 1)
