"""The one training loop and the one config tree (issue 15, item 2): every objective runs through
``training.trainer.Trainer``; ``load_config`` reads every kind of config; a run written before
(old checkpoint layout) still resumes."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import yaml

from facepoints.cli.main import main
from facepoints.registry.checkpoint import Checkpoint, save_atomic
from facepoints.training.branch_config import BranchConfig
from facepoints.training.config import TrainConfig, load_config
from facepoints.training.finetune_config import FinetuneConfig
from facepoints.training.config_checks import ConfigError

TRAINING = Path(__file__).resolve().parents[1] / "src" / "facepoints" / "training"


@pytest.fixture
def _one_thread():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_only_the_one_loop_steps_an_optimiser():
    """One training-loop class: no other module of ``training`` runs backward or optimiser steps."""
    stepping = sorted(p.name for p in TRAINING.glob("*.py")
                      if re.search(r"\.backward\(|\.step\(\)", p.read_text()))
    assert stepping == ["trainer.py"]
    loops = sorted(p.name for p in TRAINING.glob("*.py") if re.search(r"^class \w*Trainer\b", p.read_text(), re.M))
    assert loops == ["trainer.py"]


def _write(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_load_config_picks_the_class_by_objective_or_by_keys(tmp_path):
    landmarks = _write(tmp_path / "a.yaml", {"name": "a", "epochs": 3})
    branches = _write(tmp_path / "b.yaml", {"name": "b", "base": "atpn_lite0_68", "train_list": "x.txt"})
    finetune = _write(tmp_path / "f.yaml", {"objective": "finetune", "base": "m", "data": "d.txt", "scheme": "s5",
                                           "epochs": 2})
    assert type(load_config(landmarks)) is TrainConfig and load_config(landmarks).epochs == 3
    assert type(load_config(branches)) is BranchConfig  # a branches config written before `objective`
    cfg = load_config(finetune)
    assert type(cfg) is FinetuneConfig and cfg.epochs == 2 and cfg.lr == FinetuneConfig.__dataclass_fields__["lr"].default
    assert cfg.run_dir == Path("runs") / "s5_finetune"
    # the common fields come from one root with each objective's defaults
    assert TrainConfig().batch_size == 32 and BranchConfig().batch_size == 128 and cfg.batch_size == 16


@pytest.mark.parametrize("cfg, objective, message", [
    ({"objective": "nosuch", "name": "a"}, None, "objective must be one of landmarks, branches, finetune"),
    ({"objective": "finetune", "base": "m"}, None, "missing config keys ['data', 'scheme']"),
    ({"name": "a", "epochs": 3}, "branches", "unknown config keys ['epochs']"),
    ({"objective": "landmarks", "name": "a"}, "branches", "objective is 'landmarks', but this is a branches config"),
    ({"objective": "finetune", "base": "m", "data": "d", "scheme": "s", "lr": -1}, None, "lr must be"),
])
def test_bad_objectives_are_one_line(tmp_path, cfg, objective, message):
    path = _write(tmp_path / "c.yaml", cfg)
    with pytest.raises(ConfigError) as info:
        load_config(path, objective=objective)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_train_branches_refuses_a_landmark_config_in_one_line(tmp_path, capsys):
    path = _write(tmp_path / "c.yaml", {"objective": "landmarks", "name": "a"})
    assert main(["train-branches", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("facepoints train-branches: error: ") and "branches config" in line


def _old_layout(path: Path) -> None:
    """Rewrite a checkpoint as the code before the one loop wrote it: no ``best_metrics``, no
    ``objective`` in its config."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    del state["best_metrics"]
    del state["config"]["objective"]
    save_atomic(state, path)


def test_a_run_checkpointed_in_the_old_layout_resumes_and_loads(tiny_list, tmp_path, capsys, _one_thread):
    cfg = {"name": "old", "data_root": str(tiny_list.parent), "train_lists": [tiny_list.name], "val_fraction": 0.0,
           "model": {"num_points": 68, "input_size": 64, "width": 16, "embed": 32}, "imagenet_init": False,
           "epochs": 1, "batch_size": 2, "warmup_epochs": 0, "ema_decay": 0.9, "workers": 0, "threads": 1,
           "output_dir": str(tmp_path / "runs")}
    config = str(_write(tmp_path / "c.yaml", cfg))
    assert main(["train", config, "--no-progress"]) == 0
    run = tmp_path / "runs" / "old"
    for name in ("last.pt", "best.pt"):
        _old_layout(run / name)
    capsys.readouterr()
    assert main(["train", config, "--epochs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"resumed {run / 'last.pt'} at epoch 1 (best: no validation faces)" in out and "epoch 2/2" in out
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    state = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 1 and state["ema_updates"] == 2 and state["best_metrics"]["epoch"] == 2
    old = run / "old.pt"
    save_atomic(state, old)
    _old_layout(old)
    network = Checkpoint.load(old).network()  # and it still loads as a model
    assert network(torch.zeros(1, 3, 64, 64)).shape == (1, 68, 2)


DDP_SCRIPT = """
import sys

import torch

from facepoints.training.config import load_config
from facepoints.training.distributed import leave
from facepoints.training.landmark_objective import landmark_objective
from facepoints.training.trainer import Trainer

trainer = Trainer(landmark_objective(load_config(sys.argv[1])), progress=False)
trainer.run()
weights = {k: v.detach().clone() for k, v in trainer.model.named_parameters()}
torch.save(weights, f"{sys.argv[2]}/rank{trainer.ranks.rank}.pt")
leave()
"""


@pytest.mark.slow  # end to end, several seconds: run by .ci/run (pytest -m slow)
def test_torchrun_trains_on_two_processes_like_one(tiny_list, tmp_path, capsys, _one_thread):
    """Issue 19 item 2: two CPU processes (gloo) end with the same weights, one run folder is
    written (rank 0), and the loss matches one process on the same global batches."""
    import os
    import subprocess
    import sys

    cfg = {"name": "ddp", "data_root": str(tiny_list.parent), "train_lists": [tiny_list.name], "list_repeats": [2],
           "val_fraction": 0.0, "model": {"num_points": 68, "input_size": 64, "width": 16, "embed": 32},
           "imagenet_init": False, "epochs": 2, "batch_size": 4, "warmup_epochs": 0, "workers": 0, "threads": 1,
           "output_dir": str(tmp_path / "two")}
    config = _write(tmp_path / "c.yaml", cfg)
    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"),
                                                       os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script), str(config), str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    one, two = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)
    assert [p.name for p in (tmp_path / "two").iterdir()] == ["ddp"]
    rows = [json.loads(line) for line in (tmp_path / "two" / "ddp" / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]  # rank 0 alone wrote
    assert done.stdout.count("epoch 1/2") == 1

    _write(tmp_path / "c.yaml", {**cfg, "output_dir": str(tmp_path / "single")})
    assert main(["train", str(config), "--no-progress"]) == 0
    single = [json.loads(line) for line in (tmp_path / "single" / "ddp" / "log.jsonl").read_text().splitlines()]
    # the same faces and augmentations per step: the first step's loss is the same; later ones differ a
    # little (BatchNorm statistics come from 2 faces per process instead of 4; measured 1.4 %)
    assert single[0]["train_loss"] == pytest.approx(rows[0]["train_loss"], rel=1e-5)
    assert single[1]["train_loss"] == pytest.approx(rows[1]["train_loss"], rel=0.05)
