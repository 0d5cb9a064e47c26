"""``facepoints pseudo-label`` (issue 16, distillation): a teacher's flip-averaged landmarks for an
image list's faces, written as a list in the data's own format that a training config reads as
one more ``train_lists`` entry; never inside the data's folder, never over earlier output."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from facepoints import Landmarker
from facepoints.cli.main import main
from facepoints.datasets.image_list import read_image_list
from facepoints.datasets.splits import _bucket, split_records
from facepoints.geometry import box_from_points
from facepoints.pipeline.images import load_image
from run_helpers import tiny_atpn_run

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facepoints.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=300)


def test_writes_a_list_the_loaders_read(tiny_list, tmp_path_factory):
    out = tmp_path_factory.mktemp("pseudo") / "dslpt"
    proc = _cli("pseudo-label", str(tiny_list), "--out", str(out), "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert "2 faces" in proc.stdout and "flip-averaged" in proc.stdout
    listed = out / "src_list.txt"
    records = read_image_list(listed)
    originals = read_image_list(tiny_list)
    assert [r.image_path.name for r in records] == ["one.png", "two.png"]
    teacher = Landmarker("dslpt_lite0_68", detector=None, flip_test=True, threads=1)
    for record, original in zip(records, originals):
        assert record.image_path.resolve() == original.image_path.resolve()  # a link to the image
        face = teacher.landmarks_for_boxes(load_image(original.image_path), box_from_points(original.landmarks)[None],
                                           refine=0)[0]
        assert np.abs(record.landmarks - face.landmarks).max() < 2e-3  # .pts keep 3 decimals
        sigma = np.loadtxt(record.image_path.with_suffix(".sigma"))
        assert sigma.shape == (68, 2) and np.allclose(sigma, face.sigma, atol=1e-3)
    manifest = json.loads((out / "pseudo_labels.json").read_text())
    assert manifest["teacher"] == "dslpt_lite0_68" and manifest["flip_test"] is True
    assert manifest["lists"][0]["written"] == 2 and manifest["seconds"] >= 0

    # a training run reads it as one more list (repeated)
    threads = torch.get_num_threads()
    config = tmp_path_factory.mktemp("cfg") / "c.yaml"
    config.write_text(json.dumps({
        "name": "distil", "data_root": str(tiny_list.parent), "train_lists": ["list.txt", str(listed)],
        "list_repeats": [1, 2], "sigma_weights": True, "val_fraction": 0.0, "imagenet_init": False, "epochs": 1,
        "batch_size": 2, "workers": 0, "threads": 1, "output_dir": str(config.parent / "runs"),
        "model": {"num_points": 68, "width": 16, "embed": 32, "input_size": 64}}))
    try:
        assert main(["train", str(config), "--no-progress"]) == 0
    finally:
        torch.set_num_threads(threads)
    assert (config.parent / "runs" / "distil" / "best.pt").is_file()


def test_refuses_the_data_folder_and_earlier_output(tiny_list, tmp_path_factory, capsys):
    # inside the list's folder, and (regression) beside it in the data root (data/x beside data/ytf68)
    for inside in (tiny_list.parent / "pseudo", tiny_list.parent.parent / "pseudo"):
        assert main(["pseudo-label", str(tiny_list), "--out", str(inside)]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("facepoints pseudo-label: error: ") and "data folder" in line
        assert not inside.exists()
    out = tmp_path_factory.mktemp("again")
    assert main(["pseudo-label", str(tiny_list), "--out", str(out), "--limit", "1", "--no-flip"]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["pseudo-label", str(tiny_list), "--out", str(out), "--no-flip"]) == 2
    assert "refusing to replace" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_max_sigma_leaves_out_unsure_faces(tiny_list, tmp_path_factory, capsys):
    out = tmp_path_factory.mktemp("sure")
    assert main(["pseudo-label", str(tiny_list), "--out", str(out), "--max-sigma", "1e-6", "--threads", "1"]) == 0
    assert "2 left out" in capsys.readouterr().out and read_image_list(out / "src_list.txt") == []
    plain = tmp_path_factory.mktemp("plain")
    assert main(["pseudo-label", str(tiny_list), "--out", str(plain), "--model", "atpn_lite0_68",
                 "--max-sigma", "0.1"]) == 2
    assert "per-point sigma" in capsys.readouterr().err


def test_a_checkpoint_teaches_too(tiny_list, tmp_path_factory, capsys):
    """``--checkpoint`` wherever ``--model`` is: e.g. a TUFA run's best.pt as the teacher."""
    run = tiny_atpn_run(tmp_path_factory.mktemp("teacher"), "tiny_teacher")
    out = tmp_path_factory.mktemp("from_checkpoint")
    assert main(["pseudo-label", str(tiny_list), "--out", str(out), "--checkpoint", str(run / "best.pt"),
                 "--no-flip", "--threads", "1"]) == 0
    assert "2 faces" in capsys.readouterr().out
    assert json.loads((out / "pseudo_labels.json").read_text())["teacher"] == str(run / "best.pt")
    assert len(read_image_list(out / "src_list.txt")) == 2
    assert main(["pseudo-label", str(tiny_list), "--out", str(tmp_path_factory.mktemp("none")), "--checkpoint",
                 str(run / "nosuch.pt")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("facepoints pseudo-label: error: ") and "nosuch.pt" in line


def test_split_labels_only_that_part_of_each_list(tiny_list, tmp_path_factory, capsys):
    """``--split train`` keeps a list's validation faces out of the pseudo-labels (so a model trained
    on them can still be scored on that list's validation split), split as ``facepoints train`` does."""
    records = read_image_list(tiny_list)
    fraction = float(np.mean([_bucket(r.image_path.name) for r in records]))  # one face on each side
    for split in ("train", "val"):
        out = tmp_path_factory.mktemp(split)
        assert main(["pseudo-label", str(tiny_list), "--out", str(out), "--model", "atpn_lite0_68", "--no-flip",
                     "--split", split, "--val-fraction", str(fraction)]) == 0
        assert "1 faces" in capsys.readouterr().out
        expected = [r.image_path.name for r in split_records(records, split, fraction)]
        assert [r.image_path.name for r in read_image_list(out / "src_list.txt")] == expected
        assert json.loads((out / "pseudo_labels.json").read_text())["split"] == split


def test_an_empty_part_or_a_fraction_outside_0_1_is_refused(tiny_list, tmp_path_factory, capsys):
    out = tmp_path_factory.mktemp("empty") / "none"
    assert main(["pseudo-label", str(tiny_list), "--out", str(out), "--split", "train", "--val-fraction", "1"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("facepoints pseudo-label: error: no faces to label in ") and "train part" in line
    assert not out.exists()
    assert main(["pseudo-label", str(tiny_list), "--out", str(out), "--split", "val", "--val-fraction", "2"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("the validation fraction must be from 0 to 1, got 2") and not out.exists()
