"""Single-file models (issue 17: TUFA within 25 MB): ``facepoints package --single-file`` ships one
ONNX file that also holds the PyTorch weights; ONNX Runtime, the PyTorch network, a training run's
starting weights and a fine-tune all read it."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from facepoints import Landmarker
from facepoints.cli.main import main
from facepoints.home import user_registry_dir
from facepoints.models.atpn import ATPN, ATPNConfig
from facepoints.models.tufa import TUFA, TUFAConfig
from facepoints.registry import create_model, get_card, model_state
from facepoints.registry.onnx_state import STATE_KEY, holds_state, state_from_onnx
from facepoints.registry.packaging import PackageOptions, package_run
from facepoints.schemes import get_scheme
from facepoints.training.checkpoint import starting_weights
from run_helpers import tiny_tufa_checkpoint

IBUG = get_scheme("ibug68")
TINY_TUFA = TUFAConfig(input_size=64, dim=32, heads=2, layers=2, mlp_ratio=2, refine_stages=2, refine_layers=1,
                       refine_grid=3)


def _tufa_checkpoint(folder: Path) -> tuple[Path, dict]:
    """A tiny refined TUFA checkpoint and its state."""
    path = tiny_tufa_checkpoint(folder, TINY_TUFA)
    return path, torch.load(path, weights_only=True)["model"]


def _package(path: Path, name: str, half: bool) -> list[Path]:
    return package_run(path, name, PackageOptions(half=half, single_file=True), user_registry_dir())


@pytest.mark.parametrize("half", [False, True], ids=["float32", "float16"])
def test_one_onnx_file_holds_the_pytorch_weights(tmp_path, user_folder, half):
    path, state = _tufa_checkpoint(tmp_path)
    written = _package(path, "tiny_single", half)
    weights = user_folder / "models" / "weights"
    assert sorted(p.name for p in weights.iterdir()) == ["tiny_single.onnx"]  # no .pt, no per-stage files
    assert [p.name for p in written] == ["tiny_single.onnx", "tiny_single.json"]
    card = get_card("tiny_single")
    assert card.weights["torch"] == card.weights["onnx"]
    loaded = model_state(card)
    assert list(loaded) == list(state)  # every key, buffers the graph never reads included (ytf68 mean shape)
    for key, value in state.items():
        assert loaded[key].dtype == value.dtype, key
        tolerance = 2e-3 * float(value.abs().max()) + 1e-6 if half else 0
        assert float((loaded[key].double() - value.double()).abs().max()) <= tolerance, key
    assert holds_state(weights / "tiny_single.onnx")


def test_a_single_file_model_runs_alike_in_onnx_runtime_and_pytorch(tmp_path, astronaut, astronaut_face_box):
    path, _ = _tufa_checkpoint(tmp_path)
    _package(path, "tiny_single", half=True)
    onnx_lm = Landmarker("tiny_single", detector=None, threads=1)
    torch_lm = Landmarker("tiny_single", detector=None, threads=1, backend="torch")
    got, want = (lm(astronaut, boxes=[astronaut_face_box])[0].landmarks for lm in (onnx_lm, torch_lm))
    assert np.abs(got - want).max() < 0.05
    # zero-shot on the model's own anchors reproduces its landmarks through ONNX
    prompted = Landmarker("tiny_single", detector=None, threads=1, points=onnx_lm.plane_points())
    assert np.abs(prompted(astronaut, boxes=[astronaut_face_box])[0].landmarks - got).max() < 0.05
    # fewer stages than trained: no ONNX file for them, PyTorch builds the network from the ONNX file
    one_stage = Landmarker("tiny_single", detector=None, threads=1, stages=1)
    assert one_stage.runtime.name == "torch"
    # a run started from the registered name gets the same weights as the network
    start = starting_weights("tiny_single")
    network = create_model("tiny_single").state_dict()
    assert all(torch.equal(start[k], network[k]) for k in network)


def test_a_network_exported_without_a_wrapper_round_trips(tmp_path):
    """ATPN (landmarks only) is exported as is: its state has no ``network.`` prefix."""
    from facepoints.registry.export import export_onnx

    torch.manual_seed(1)
    network = ATPN(ATPNConfig(input_size=64)).eval()
    path = tmp_path / "atpn.onnx"
    export_onnx(network, 64, path, named_weights=True)
    state = state_from_onnx(path)
    assert set(state) == set(network.state_dict())
    assert all(torch.equal(state[k], v) for k, v in network.state_dict().items())


def test_single_file_and_no_onnx_exclude_each_other(tmp_path, capsys):
    path, _ = _tufa_checkpoint(tmp_path)
    assert main(["package", str(path), "--name", "tiny_single", "--single-file", "--no-onnx"]) != 0
    err = capsys.readouterr().err.strip()
    assert "exclude each other" in err and len(err.splitlines()) == 1


def test_an_onnx_file_without_weights_is_refused_in_one_line(tmp_path):
    from facepoints.registry.export import export_onnx

    network = ATPN(ATPNConfig(input_size=64)).eval()
    path = tmp_path / "plain.onnx"
    export_onnx(network, 64, path)
    assert not holds_state(path)
    with pytest.raises(ValueError, match="holds no PyTorch weights"):
        state_from_onnx(path)


@pytest.mark.parametrize("damage", ["dtype", "missing"])
def test_a_tampered_state_is_refused(tmp_path, damage):
    """Hostile input: a stored entry naming a non-tensor dtype (``torch.load`` as a 'dtype'), or a
    key whose weights are not in the file."""
    from facepoints.registry.export import export_onnx

    network = TUFA(replace(TINY_TUFA, refine_stages=0), IBUG.mean_shape).eval()
    path = tmp_path / "tufa.onnx"
    export_onnx(network, 64, path, named_weights=True)
    model = onnx.load(str(path))
    prop = next(p for p in model.metadata_props if p.key == STATE_KEY)
    stored = json.loads(prop.value)
    if damage == "dtype":
        key = next(iter(stored["extra"]))
        stored["extra"][key]["dtype"] = "load"
    else:
        stored["keys"].append("decoder.99.weight")
    prop.value = json.dumps(stored)
    onnx.save(model, str(path))
    with pytest.raises(ValueError, match="unknown dtype|lack"):
        state_from_onnx(path)
