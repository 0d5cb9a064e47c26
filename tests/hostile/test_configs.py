"""Hostile training configs (issue 20, items 5-7, config parts): every bad value of every field is
refused up front with exit 2 and exactly one stderr line naming the field, and no run folder is
left behind. The bad values are generated per field (wrong types, out of range, nonsense)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from facepoints.cli.main import main
from facepoints.training.branch_config import BranchConfig
from facepoints.training.config import TrainConfig, load_config

ROOT = Path(__file__).resolve().parents[2]

INT_JUNK = ["ten", 2.5, True, "3", [3], {"n": 3}, None]
FLOAT_JUNK = ["abc", True, [0.1], {"x": 1}, float("nan"), float("inf"), -float("inf")]
STR_JUNK = [5, 2.5, True, ["a"], {"a": 1}]
BOOL_JUNK = ["yes", 1, 0, None, [True]]
SECTION_JUNK = ["abc", 5, [1, 2], True]

TRAIN_BAD = {
    "epochs": INT_JUNK + [0, -5, -10 ** 12],
    "batch_size": INT_JUNK + [0, -1],
    "warmup_epochs": INT_JUNK + [-3, -1],
    "seed": INT_JUNK + [-1, 2 ** 70],
    "threads": INT_JUNK + [0, -2, 10 ** 9],
    "workers": INT_JUNK + [-1, 10 ** 6],
    "val_fraction": FLOAT_JUNK + [None, -0.2, 1.0, 1.5],
    "lr": FLOAT_JUNK + [None, -1e-3],
    "weight_decay": FLOAT_JUNK + [-1.0],
    "backbone_lr_scale": FLOAT_JUNK + [0, -0.1],
    "crop_margin": FLOAT_JUNK + [0, 0.5, -1.25],
    "nll_beta": FLOAT_JUNK + [-0.5, 1.5],
    "ema_decay": FLOAT_JUNK + [0, 1, 1.5, -0.1],
    "name": STR_JUNK + [None, "", "../escape", "a/b", "..", "a\\b"],
    "data_root": STR_JUNK,
    "output_dir": STR_JUNK,
    "train_lists": ["300W/train.txt", 5, [], [5], {"a": "b"}, None],
    "list_repeats": ["2", 2, [0], [1.5], ["x"], [-1]],
    "scheme": STR_JUNK + ["nosuch", ""],
    "architecture": STR_JUNK + ["nosuch", "ATPN"],
    "loss": STR_JUNK + ["mse"],
    "imagenet_init": BOOL_JUNK,
    "alignment": BOOL_JUNK,
    "init_checkpoint": [5, ["a"], {"a": 1}, True],
    "init_backbone": [5, ["a"], {"a": 1}, True],
    "alignment_sets": ["300w", 5, [5]],
    "withhold": ["3", 3, ["a"], [-1], [1.5]],
    "model": SECTION_JUNK,
    "augment": SECTION_JUNK,
    "objective": STR_JUNK + [None, "nosuch", ""],
}

MODEL_BAD = {  # architecture -> model field -> bad values
    "atpn": {"num_points": INT_JUNK + [0, -1, 5, 98], "input_size": INT_JUNK + [-64, 0, 100, 16, 2048, 2 ** 40],
             "backbone": STR_JUNK + ["nosuch"], "width": INT_JUNK + [0, -1], "embed": [0, -1, "x", 10 ** 9],
             "pose": BOOL_JUNK, "tracking": BOOL_JUNK},
    "dslpt": {"dim": [0, -32, "x"], "heads": [0, 3], "layers": [0, 1.5], "stages": [0, -1],
              "mlp_ratio": [0], "patch_grid": [0], "initial_patch": [0, 1.5, -0.1, "x"],
              "distribution": ["nosuch", 5], "patch_rule": ["nosuch", None], "patch_context": [0, -1],
              "patch_clamp": [[0.7, 0.5], [0.5], "0.5", [0, 0.5], [-1, 1], [0.5, 0.6, 0.7]],
              "dropout": [1.0, -0.1], "input_size": [-64, 8]},
    "tufa": {"encoder": ["nosuch", 5], "tau": [0, -1], "prompt_scale": [0], "keep_fraction": [0, 1.5],
             "plane_to_crop": [0, -0.8], "refine_stages": [-1], "refine_layers": [0], "refine_grid": [0],
             "refine_patch": [0], "dim": [30, 0], "heads": [0, 5], "scheme": [5, "bad name!"], "num_points": [5]},
}
MODELS = {"atpn": {"num_points": 68, "input_size": 64},
          "dslpt": {"num_points": 68, "input_size": 64, "dim": 32, "heads": 2, "layers": 1},
          "tufa": {"num_points": 68, "input_size": 64, "dim": 32, "heads": 2, "layers": 1}}

AUGMENT_BAD = {"flip": [1.5, -0.1, "x"], "rotation_deg": [-1, "x"], "scale": [1.0, -0.1], "occlusion_blocks": [0, 1.5],
               "occlusion_max": [0, 1.5], "face_occluder_kinds": ["hand", [5]], "brightness": [2.0],
               "occlusion": [2], "grey": [-1], "shear": [-0.1], "face_occluder": [1.5]}

BRANCH_BAD = {
    "pose_epochs": INT_JUNK + [0, -1], "tracking_epochs": INT_JUNK + [0, -1], "pose_views": [0, "x"],
    "positives_per_face": [0, 1.5], "negatives_per_positive": [-1], "extra_face_limit": [-1, "x"],
    "focal_per_side": [0, -3, "x"], "val_fraction": [0, 1, -0.1, None], "batch_size": [0], "lr": [0, -1],
    "seed": [-1], "threads": [0], "base": [5, "", None], "train_list": [5, ["a"]], "extra_face_lists": ["x", [5]],
    "weight_decay": [-1], "name": ["", "../x"], "samples": SECTION_JUNK, "pose_augment": SECTION_JUNK,
    "samples.neg_scale": [[3, 0.35], [0.1], "x", [0, 1]], "samples.jitter": [-0.1, 1.0], "samples.flip": [2],
    "samples.photometric": SECTION_JUNK, "samples.photometric.flip": [2], "pose_augment.flip": [2],
    "samples.max_iou": [1.5],
}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder: a refusal that regressed cannot start a real run on the shared data
    (the default data_root ../shared/data and output_dir runs are relative)."""
    monkeypatch.chdir(tmp_path)


def _cases(table: dict, prefix: str = "") -> list:
    return [pytest.param(prefix + field, value, id=f"{prefix}{field}={value!r}"[:60])
            for field, values in table.items() for value in values]


def _set(cfg: dict, dotted: str, value) -> dict:
    """``cfg`` with the (possibly nested, ``a.b.c``) field set to ``value``."""
    *parents, leaf = dotted.split(".")
    node = cfg
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return cfg


def _refused(capsys, command: str, argv: list[str], field: str, out: Path) -> str:
    """Run ``argv``; it must exit 2 with one stderr line naming ``field``, leaving no run folder."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{captured.err}"
    line = lines[0]
    assert line.startswith(f"facepoints {command}: error: ") and "Traceback" not in captured.err
    assert line.count(argv[1]) == 1, line  # names the config file once ...
    line = line.replace(str(Path(argv[1]).parent), "")  # ... and the field outside paths (tmp folders hold test names)
    *section, leaf = field.split(".")
    assert leaf in line and all(s in line for s in section), line
    assert not out.exists(), "a refused config left a run folder"
    return line


def _train_cfg(tmp_path: Path, architecture: str = "atpn") -> dict:
    """A valid tiny config whose data does not exist: a bad value that slipped through would fail
    on the missing list (without the field's name) instead of passing silently."""
    return {"name": "fuzz", "architecture": architecture, "data_root": str(tmp_path / "no_data"),
            "train_lists": ["list.txt"], "model": dict(MODELS[architecture]), "epochs": 1, "batch_size": 2,
            "imagenet_init": False, "workers": 0, "threads": 1, "output_dir": str(tmp_path / "runs")}


def _write(path: Path, cfg: dict) -> str:
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.parametrize("field, value", _cases(TRAIN_BAD))
def test_train_field_fuzz(field, value, tmp_path, capsys):
    config = _write(tmp_path / "c.yaml", _set(_train_cfg(tmp_path), field, value))
    _refused(capsys, "train", ["train", config, "--no-progress"], field, tmp_path / "runs")


@pytest.mark.parametrize("architecture, field, value",
                         [pytest.param(a, f"model.{f}", v, id=f"{a}-{f}={v!r}"[:60])
                          for a, table in MODEL_BAD.items() for f, values in table.items() for v in values])
def test_model_field_fuzz(architecture, field, value, tmp_path, capsys):
    config = _write(tmp_path / "c.yaml", _set(_train_cfg(tmp_path, architecture), field, value))
    _refused(capsys, "train", ["train", config, "--no-progress"], field, tmp_path / "runs")


@pytest.mark.parametrize("field, value", _cases(AUGMENT_BAD, "augment."))
def test_augment_field_fuzz(field, value, tmp_path, capsys):
    config = _write(tmp_path / "c.yaml", _set(_train_cfg(tmp_path), field, value))
    _refused(capsys, "train", ["train", config, "--no-progress"], field, tmp_path / "runs")


@pytest.mark.parametrize("field, value", _cases(BRANCH_BAD))
def test_branch_field_fuzz(field, value, tmp_path, capsys):
    cfg = {"name": "fuzz", "base": "atpn_lite0_68", "data_root": str(tmp_path / "no_data"), "train_list": "list.txt",
           "output_dir": str(tmp_path / "runs")}
    config = _write(tmp_path / "b.yaml", _set(cfg, field, value))
    _refused(capsys, "train-branches", ["train-branches", config, "--no-progress"], field, tmp_path / "runs")


@pytest.mark.parametrize("option, value", [("--epochs", "0"), ("--epochs", "-5"), ("--threads", "0")])
def test_command_line_overrides_are_checked_too(option, value, tmp_path, capsys):
    config = _write(tmp_path / "c.yaml", _train_cfg(tmp_path))
    _refused(capsys, "train", ["train", config, option, value, "--no-progress"], option[2:], tmp_path / "runs")


@pytest.mark.parametrize("option, value, field", [
    ("--epochs", "0", "epochs"), ("--epochs", "-5", "epochs"), ("--batch-size", "0", "batch_size"),
    ("--shots", "0", "limit"), ("--lr", "-1", "lr"), ("--lr", "nan", "lr"), ("--keep-fraction", "2", "keep_fraction"),
    ("--epoch-samples", "0", "epoch_samples"), ("--threads", "0", "threads"), ("--name", "../x", "name")])
def test_finetune_settings_are_checked(option, value, field, tiny_list, tmp_path, capsys):
    argv = ["finetune", "no_such_base", "--data", str(tiny_list), "--scheme", "five", "--out", str(tmp_path / "runs"),
            option, value, "--no-progress"]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"facepoints finetune: error: {field} must be "), lines
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", ["train", "train-branches"])
@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n", "---\n", "null\n", "[1, 2]\n", "just text\n",
                                  "42\n", "name: [unclosed\n", "a: 1\n  b: 2\n"])
def test_empty_or_non_mapping_yaml_is_refused(command, text, tmp_path, capsys):
    """Regression: an empty YAML silently started the full default run."""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main([command, str(path), "--no-progress"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], lines
    assert not (tmp_path / "runs").exists()


def test_non_utf8_config_is_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    assert main(["train", str(path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_shipped_and_experiment_configs_pass_the_checks():
    configs = sorted((ROOT / "configs").rglob("*.yaml"))
    assert len(configs) > 20
    for path in configs:
        assert type(load_config(path)) is (BranchConfig if "branches" in path.name else TrainConfig), path.name
        (BranchConfig if "branches" in path.name else TrainConfig).from_yaml(path)


# --- resuming a run whose config changed ---------------------------------------------------------

@pytest.fixture
def _one_thread():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_resume_after_the_model_changed_names_the_fields(tiny_list, tmp_path, capsys, _one_thread):
    """Regression: resuming after the model section changed printed a 24 KB list of size mismatches."""
    cfg = {**_train_cfg(tmp_path), "data_root": str(tiny_list.parent), "train_lists": [tiny_list.name],
           "val_fraction": 0.0, "warmup_epochs": 0, "model": {"num_points": 68, "input_size": 64, "width": 16,
                                                               "embed": 32}}
    config = _write(tmp_path / "c.yaml", cfg)
    assert main(["train", config, "--no-progress"]) == 0
    run = tmp_path / "runs" / "fuzz"
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    done = capsys.readouterr().out.splitlines()[-1]
    assert "no validation faces" in done and "nan" not in done  # was 'best validation NME nan %'

    cfg["model"].update(width=32, input_size=96)
    _write(tmp_path / "c.yaml", cfg)
    assert main(["train", config, "--epochs", "2", "--no-progress"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 500, lines
    line = lines[0]
    assert "saved config (last.pt) differs" in line and "model.width (16 -> 32)" in line and "model.input_size" in line
    assert "start afresh" in line and str(run) in line
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # nothing rewritten

    cfg["model"].update(width=16, input_size=64)  # back to the saved model: resumes
    _write(tmp_path / "c.yaml", cfg)
    assert main(["train", config, "--epochs", "2", "--no-progress"]) == 0
    assert "resumed" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["epochs"] == 2
