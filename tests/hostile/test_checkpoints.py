"""Hostile checkpoints (issue 20, item 1): a pickle whose unpickling would run code is refused with
one line on every entry point that reads a checkpoint, and the code never runs (its marker file is
never created). Also: the project's own checkpoints hold plain types only, and a plain file that
is not a training checkpoint (shipped weights, a wrong layout) is one clear error."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from facepoints.cli.main import main
from facepoints.registry import get_card, weights_path
from facepoints.training.checkpoint import (CheckpointError, load_checkpoint, plain, register_checkpoint,
                                            save_atomic, starting_weights)

ROOT = Path(__file__).resolve().parents[2]
REFUSED = "refused: not a plain checkpoint"


class OpenPayload:
    """Unpickling calls ``open(marker, "w")``: the marker file appears if the pickle ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


class ExecPayload(OpenPayload):
    """Unpickling calls ``exec`` on source that creates the marker file."""

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


PAYLOADS = {"open": OpenPayload, "exec": ExecPayload}


def write_hostile(path: Path, marker: Path, payload: type = OpenPayload, where: str = "config") -> Path:
    """A file shaped like a training checkpoint with ``payload`` as its config (or as the whole file)."""
    evil = payload(marker)
    obj = evil if where == "top" else {"model": {"w": torch.zeros(2)}, "epoch": 0, "best": 1.0,
                                       "config": evil if where == "config" else {"model": {"x": evil}}}
    torch.save(obj, path)
    return path


@pytest.fixture
def hostile(tmp_path) -> tuple[Path, Path]:
    """(hostile checkpoint ``evil.pt``, marker path that its payload would create)."""
    marker = tmp_path / "marker_code_ran"
    return write_hostile(tmp_path / "evil.pt", marker), marker


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def refused_line(err: str, command: str, path: Path) -> str:
    """The single stderr line of a refused checkpoint."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{err}"
    assert lines[0].startswith(f"facepoints {command}: error: ") and "Traceback" not in err
    assert REFUSED in lines[0] and str(path) in lines[0], lines[0]
    return lines[0]


def test_the_payload_is_live(tmp_path):
    """Sanity: loaded the unsafe way, the file does run code (so the tests below would see it)."""
    for name, payload in PAYLOADS.items():
        marker = tmp_path / f"ran_{name}"
        torch.load(write_hostile(tmp_path / f"{name}.pt", marker, payload), weights_only=False)
        assert marker.exists()


@pytest.mark.parametrize("where", ["top", "config", "nested"])
@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_load_checkpoint_refuses_code(tmp_path, payload, where):
    marker = tmp_path / "marker"
    path = write_hostile(tmp_path / "evil.pt", marker, PAYLOADS[payload], where)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError) and "\n" not in message
    assert REFUSED in message and str(path) in message and payload in message  # names the global it imports
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_raw_pickles_of_any_protocol_are_refused(tmp_path, protocol):
    """Not made by torch.save: a bare pickle (e.g. protocol 4's STACK_GLOBAL) runs no code either."""
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"config": ExecPayload(marker)}, protocol=protocol))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value) and not marker.exists()


def test_register_checkpoint_and_starting_weights_refuse_code(hostile, tmp_path):
    path, marker = hostile
    for call in (lambda: register_checkpoint(path, tmp_path / "work"), lambda: starting_weights(path)):
        with pytest.raises(CheckpointError, match=REFUSED):
            call()
    assert not marker.exists() and not (tmp_path / "work").exists()


def test_planted_feature_cache_is_refused(hostile):
    from facepoints.training.branch_data import build_cached

    path, marker = hostile
    with pytest.raises(CheckpointError, match=REFUSED):
        build_cached(path, None, iter(()), 0, "cache", progress=False)
    assert not marker.exists()


@pytest.mark.parametrize("command", ["evaluate", "benchmark", "evaluate-branches", "evaluate-occlusion"])
def test_checkpoint_option_refuses_code(command, hostile, tiny_list, tmp_path, capsys):
    path, marker = hostile
    argv = [command] + ([] if command == "benchmark" else [str(tiny_list)]) + ["--checkpoint", str(path)]
    argv += {"benchmark": ["--repeats", "1"], "evaluate-occlusion": ["--work-dir", str(tmp_path / "occ")]}.get(
        command, [])
    if command != "benchmark":
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    refused_line(capsys.readouterr().err, command, path)
    assert not marker.exists()
    assert not (tmp_path / "out" / "checkpoints").exists()


def _train_config(path: Path, tiny_list: Path, out: Path, **extra) -> str:
    cfg = {"name": "tiny", "data_root": str(tiny_list.parent), "train_lists": [tiny_list.name], "val_fraction": 0.0,
           "model": {"num_points": 68, "input_size": 64}, "imagenet_init": False, "epochs": 1, "batch_size": 2,
           "warmup_epochs": 0, "workers": 0, "threads": 1, "output_dir": str(out), **extra}
    path.write_text(json.dumps(cfg))
    return str(path)


@pytest.mark.parametrize("field", ["init_checkpoint", "init_backbone"])
def test_train_start_weights_refuse_code(field, hostile, tiny_list, tmp_path, capsys):
    path, marker = hostile
    config = _train_config(tmp_path / "c.yaml", tiny_list, tmp_path / "runs", **{field: str(path)})
    assert main(["train", config, "--no-progress"]) == 2
    refused_line(capsys.readouterr().err, "train", path)
    assert not marker.exists() and not (tmp_path / "runs" / "tiny").exists()


def test_train_resume_from_a_planted_last_checkpoint_refuses_code(tiny_list, tmp_path, capsys):
    run = tmp_path / "runs" / "tiny"
    run.mkdir(parents=True)
    marker = tmp_path / "marker"
    planted = write_hostile(run / "last.pt", marker)
    before = planted.read_bytes()
    config = _train_config(tmp_path / "c.yaml", tiny_list, tmp_path / "runs")
    assert main(["train", config, "--no-progress"]) == 2
    refused_line(capsys.readouterr().err, "train", planted)
    assert not marker.exists()
    assert planted.read_bytes() == before and sorted(p.name for p in run.iterdir()) == ["last.pt"]


@pytest.mark.parametrize("planted", [{}, {"config": "x"}, {"model": "x", "config": {}},
                                     {"model": {}, "config": {}, "epoch": "x", "best": 0.1}, [1, 2]])
def test_train_resume_from_a_broken_plain_last_checkpoint_is_one_line(planted, tiny_list, tmp_path, capsys):
    run = tmp_path / "runs" / "tiny"
    run.mkdir(parents=True)
    torch.save(planted, run / "last.pt")
    config = _train_config(tmp_path / "c.yaml", tiny_list, tmp_path / "runs")
    assert main(["train", config, "--no-progress"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("facepoints train: error: ") and "last.pt" in lines[0], lines
    assert sorted(p.name for p in run.iterdir()) == ["last.pt"]


def test_finetune_base_refuses_code(hostile, tiny_list, tmp_path, capsys):
    path, marker = hostile
    argv = ["finetune", str(path), "--data", str(tiny_list), "--scheme", "five", "--out", str(tmp_path / "runs"),
            "--no-progress"]
    assert main(argv) == 2
    refused_line(capsys.readouterr().err, "finetune", path)
    assert not marker.exists() and not (tmp_path / "runs").exists()


def test_train_branches_base_refuses_code(hostile, tiny_list, tmp_path, capsys):
    path, marker = hostile
    config = tmp_path / "branches.yaml"
    config.write_text(json.dumps({"name": "br", "base": "atpn_lite0_68", "data_root": str(tiny_list.parent),
                                  "train_list": tiny_list.name, "output_dir": str(tmp_path / "runs")}))
    assert main(["train-branches", str(config), "--base", str(path), "--no-progress"]) == 2
    refused_line(capsys.readouterr().err, "train-branches", path)
    assert not marker.exists() and not (tmp_path / "runs").exists()


def test_real_processes_refuse_code(hostile, tiny_list, tmp_path):
    """The CLI (evaluate; package through its tools/package_model.py wrapper) as real processes:
    exit 2, one stderr line, no code run."""
    path, marker = hostile
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    runs = [("facepoints evaluate", [sys.executable, "-m", "facepoints.cli.main", "evaluate", str(tiny_list),
                                     "--checkpoint", str(path), "--out", str(tmp_path / "out")]),
            ("facepoints package", [sys.executable, str(ROOT / "tools" / "package_model.py"), str(path), "--name", "x"])]
    for prefix, argv in runs:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert lines[0].startswith(f"{prefix}: error: ") and REFUSED in lines[0]
        assert not marker.exists()
    assert not (ROOT / "src/facepoints/registry/cards/x.json").exists()


# --- plain files that are not training checkpoints -----------------------------------------------

def test_shipped_weights_given_as_checkpoint_says_what_it_is(tiny_list, tmp_path, capsys):
    """Regression: a shipped .pt given to --checkpoint failed with 'error: config'."""
    shipped = weights_path(get_card("atpn_lite0_68"))
    assert main(["evaluate", str(tiny_list), "--checkpoint", str(shipped), "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "a plain weights file" in lines[0] and "--model NAME" in lines[0], lines


TENSOR = torch.zeros(3)
BAD_LAYOUTS = {
    "list": [TENSOR],
    "config is a string": {"model": {"w": TENSOR}, "config": "atpn"},
    "no model section": {"model": {"w": TENSOR}, "config": {"scheme": "ibug68", "crop_margin": 1.25}},
    "no scheme": {"model": {"w": TENSOR}, "config": {"model": {}, "crop_margin": 1.25}},
    "unknown model key": {"model": {"w": TENSOR}, "config": {"model": {"nosuch": 1}, "scheme": "ibug68",
                                                              "crop_margin": 1.25}},
    "weights do not fit": {"model": {"w": TENSOR}, "config": {"model": {}, "scheme": "ibug68", "crop_margin": 1.25}},
    "unknown architecture": {"model": {}, "config": {"architecture": "x", "model": {}, "scheme": "ibug68",
                                                      "crop_margin": 1.25}},
    "huge network": {"model": {}, "config": {"model": {"input_size": 2 ** 30, "width": 10 ** 9}, "scheme": "ibug68",
                                              "crop_margin": 1.25}},
    "string sizes": {"model": {}, "config": {"model": {"input_size": "112"}, "scheme": "ibug68", "crop_margin": 1.25}},
    "bad scheme definition": {"model": {}, "scheme_definition": {"name": 3},
                              "config": {"model": {}, "scheme": "ibug68", "crop_margin": 1.25}},
}


@pytest.mark.parametrize("layout", sorted(BAD_LAYOUTS))
def test_plain_files_of_the_wrong_layout_are_one_line(layout, tmp_path):
    path = tmp_path / "odd.pt"
    torch.save(BAD_LAYOUTS[layout], path)
    with pytest.raises(CheckpointError) as info:
        register_checkpoint(path, tmp_path / "work")
    assert "\n" not in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated zip", b"\x80\x04\x95 not a pickle", b"hello\n"])
def test_broken_files_are_one_line(content, tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message and ("not a PyTorch checkpoint" in message or REFUSED in message), message


# --- what the project saves is plain ------------------------------------------------------------

@dataclass
class _Settings:
    size: int = 3
    where: Path = Path("runs")


def test_save_atomic_stores_plain_types_only(tmp_path):
    """numpy scalars and arrays, dataclasses and paths are converted at save time, so the file loads
    with weights_only=True; anything else is refused before writing."""
    state = {"best": np.float64(0.5), "epoch": np.int64(3), "mean": np.arange(4, dtype=np.float32),
             "settings": _Settings(), "path": Path("a/b"), "pairs": [(np.int32(1), np.int32(2))],
             "model": {"w": torch.ones(2)}}
    save_atomic(state, tmp_path / "ok.pt")
    loaded = torch.load(tmp_path / "ok.pt", weights_only=True)
    assert loaded["best"] == 0.5 and type(loaded["best"]) is float and type(loaded["epoch"]) is int
    assert torch.equal(loaded["mean"], torch.arange(4, dtype=torch.float32))
    assert loaded["settings"] == {"size": 3, "where": "runs"} and loaded["path"] == str(Path("a/b"))
    assert loaded["pairs"] == [(1, 2)] and type(loaded["pairs"][0][0]) is int
    assert plain(state)["settings"] == loaded["settings"]
    with pytest.raises(TypeError, match="of type object"):
        save_atomic({"x": object()}, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()
