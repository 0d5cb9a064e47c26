"""A user's own models live in the user folder (``FACEPOINTS_HOME``): ``facepoints package``
writes there by default, and later processes list and load them by name (issue 17, item 3)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from facepoints.cli.main import main
from facepoints.home import check_name, home, user_registry_dir
from facepoints.registry import list_models

from run_helpers import tiny_atpn_run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return tiny_atpn_run(tmp_path_factory.mktemp("runs"), "tiny_user", epoch=1, best=0.1)


def _cli(args: list[str], home_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FACEPOINTS_HOME": str(home_dir)}
    return subprocess.run([sys.executable, "-m", "facepoints.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FACEPOINTS_HOME", str(tmp_path / "h"))
    assert home() == tmp_path / "h" and user_registry_dir() == tmp_path / "h" / "models"
    monkeypatch.delenv("FACEPOINTS_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert home() == tmp_path / "cache" / "facepoints"


@pytest.mark.slow  # end to end, several seconds: run by .ci/run (pytest -m slow)
def test_a_packaged_model_is_usable_by_name_in_a_later_process(run_dir, tmp_path):
    pytest.importorskip("onnx")
    folder = tmp_path / "home"
    made = _cli(["package", str(run_dir), "--name", "my_model"], folder)
    assert made.returncode == 0, made.stderr
    assert (folder / "models" / "cards" / "my_model.json").is_file()
    listed = _cli(["models"], folder)
    assert listed.returncode == 0 and "my_model" in listed.stdout
    code = ("import numpy as np; from facepoints import Landmarker; from skimage import data; "
            "f = Landmarker('my_model', detector=None, threads=1)(data.astronaut(), boxes=[[175, 75, 266, 167]]); "
            "print(f[0].landmarks.shape, type(Landmarker('my_model').runtime).__name__)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FACEPOINTS_HOME": str(folder)}
    used = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert used.returncode == 0, used.stderr
    assert "(68, 2) OnnxRuntime" in used.stdout
    # the same name again is refused (nothing rewritten) unless --replace
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    again = _cli(["package", str(run_dir), "--name", "my_model"], folder)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--replace" in again.stderr
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_shipped_and_unsafe_names_are_refused(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACEPOINTS_HOME", str(tmp_path / "home"))
    for name in ("atpn_lite0_68", "../escape", "a/b", "", ".hidden", "x" * 101):
        assert main(["package", str(run_dir), "--name", name]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("facepoints package: error: "), err
    assert not (tmp_path / "home" / "models" / "cards").exists()
    assert not (tmp_path / "escape").exists()


def test_a_broken_card_in_the_user_folder_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEPOINTS_HOME", str(tmp_path))
    cards = tmp_path / "models" / "cards"
    cards.mkdir(parents=True)
    (cards / "broken.json").write_text("{not json")
    assert "broken" in list_models()
    from facepoints.registry import WeightsError, get_card

    with pytest.raises(WeightsError, match="not a readable model card"):
        get_card("broken")
    (cards / "atpn_lite0_68.json").write_text(json.dumps({"name": "evil"}))  # cannot shadow a shipped model
    assert get_card("atpn_lite0_68").architecture == "atpn"


def test_check_name():
    assert check_name("my-model_2.v1") == "my-model_2.v1"
    for bad in ("..", "a..b", "-x", "a b", "ä"):
        with pytest.raises(ValueError, match="not a usable model name"):
            check_name(bad)
