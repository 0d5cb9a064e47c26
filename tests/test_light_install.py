"""Inference needs no PyTorch (issue 18, item 1): ``import facepoints``, the CLI's help, ``models``
and ``detect`` never import it; with PyTorch absent every shipped model still runs (ONNX Runtime,
each DSLPT stage count) and what does need it says so in one line naming the ``[train]`` extra.

Fast tests run real subprocesses of this checkout, with ``torch`` blocked where it must be absent
(``sys.modules["torch"] = None``: any import of it fails as a missing module would). The slow
test builds a fresh virtual environment with ``pip install .`` only (``.ci/run`` runs it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from facepoints.registry import trained_stages

REPO = Path(__file__).resolve().parents[1]
BLOCK_TORCH = "import sys; sys.modules['torch'] = None\n"
#: prints the heavy modules a statement loaded, as JSON
REPORT = "\nimport json, sys; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'cv2', 'onnx', 'matplotlib'})))\n"


def run_python(code: str, cwd: Path | None = None, python: str = sys.executable) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")} if python == sys.executable else \
        {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def loaded(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_loads_neither_torch_nor_opencv():
    assert loaded(run_python("import facepoints" + REPORT)) == []


@pytest.mark.parametrize("argv", [["--help"], ["models"], ["detect", "--help"], ["train", "--help"], ["serve", "--help"]])
def test_cli_help_and_models_do_not_import_torch(argv):
    """Nor matplotlib (about 1 s of start-up): the command modules import their work in ``run``."""
    code = f"from facepoints.cli.main import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass" + REPORT
    assert not {"torch", "matplotlib"} & set(loaded(run_python(code)))


def test_detect_runs_every_shipped_model_without_torch(tmp_path):
    code = BLOCK_TORCH + f"""
from facepoints.cli.main import main
out = {str(tmp_path)!r}
runs = [[]] + [["--model", "dslpt_lite0_68", "--stages", str(k)] for k in (1, 2, 3)]
for i, extra in enumerate(runs):
    assert main(["detect", "--sample", "astronaut", "--out", f"{{out}}/{{i}}", "--no-progress", "--no-overlay"] + extra) == 0
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    atpn = json.loads((tmp_path / "0" / "astronaut.json").read_text())["faces"][0]
    assert atpn["pose"] is not None and atpn["confidence"] is not None
    for i in (1, 2, 3):
        face = json.loads((tmp_path / str(i) / "astronaut.json").read_text())["faces"][0]
        assert len(face["landmarks"]) == 68 and len(face["sigma"]) == 68


def test_tufa_zero_shot_from_the_command_line_without_torch(tmp_path):
    """Issue 17: any point of the face with the shipped TUFA, ``detect --points`` and ``plane``, no PyTorch."""
    points = tmp_path / "points.json"
    points.write_text(json.dumps({"nose_to_lip": [0.0, 0.3], "cheek": [-0.55, 0.2]}))
    code = BLOCK_TORCH + f"""
from facepoints.cli.main import main
out = {str(tmp_path)!r}
assert main(["detect", "--sample", "astronaut", "--model", "tufa_lite0_68", "--points", {str(points)!r},
             "--out", out + "/det", "--no-progress", "--no-overlay"]) == 0
assert main(["plane", "--model", "tufa_lite0_68", "--points", {str(points)!r}, "--out", out + "/plane.png"]) == 0
"""
    proc = run_python(code)  # torch blocked: importing it would fail
    assert proc.returncode == 0, proc.stderr
    face = json.loads((tmp_path / "det" / "astronaut.json").read_text())["faces"][0]
    assert len(face["landmarks"]) == 2 and (tmp_path / "plane.png").stat().st_size > 1000


def test_benchmark_without_torch_times_onnx_only(tmp_path):
    out = tmp_path / "speed.json"
    code = BLOCK_TORCH + f"from facepoints.cli.main import main\nraise SystemExit(main(['benchmark', '--repeats', '3', '--json', {str(out)!r}]))"
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["landmark_stage"]
    assert [r["runtime"] for r in rows] == ["onnx"]


def test_what_needs_torch_says_so_in_one_line(tmp_path):
    code = BLOCK_TORCH + """
from facepoints import Landmarker, create_model
from facepoints.torch_required import TorchMissingError
for make in (lambda: Landmarker(backend="torch", detector=None), lambda: create_model()):
    try:
        make()
    except TorchMissingError as exc:
        assert "\\n" not in str(exc) and "[train]" in str(exc), exc
    else:
        raise AssertionError("no TorchMissingError")
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    config = tmp_path / "run.yaml"
    config.write_text("name: x\n")
    cli = BLOCK_TORCH + f"from facepoints.cli.main import main\nraise SystemExit(main(['train', {str(config)!r}]))"
    proc = run_python(cli)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("facepoints train: error: ") and "[train]" in lines[0]


def test_trained_stages_agrees_with_the_config_classes():
    from facepoints.models import DSLPTConfig, TUFAConfig

    for config in (DSLPTConfig(), DSLPTConfig(stages=2)):
        assert trained_stages("dslpt", config.to_dict()) == config.coarse_to_fine_stages
    for refine in (0, 2):
        config = TUFAConfig(refine_stages=refine)
        assert trained_stages("tufa", {"refine_stages": refine}) == config.coarse_to_fine_stages
    assert trained_stages("atpn", {}) is None


@pytest.mark.slow
def test_fresh_environment_with_pip_install_only(tmp_path):
    """``pip install .`` (no extras) into a new virtual environment: no PyTorch is installed, and
    ``Landmarker()`` finds the sample portrait's face without importing it."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", str(REPO)], capture_output=True, text=True,
                             timeout=1800)
    assert install.returncode == 0, install.stderr[-3000:]
    code = """
import importlib.util, sys
import facepoints
from facepoints.samples import sample_image
faces = facepoints.Landmarker()(sample_image("astronaut"))
assert len(faces) == 1 and faces[0].pose is not None, faces
asked = facepoints.Landmarker("tufa_lite0_68", points=[[0.0, 0.3]])(sample_image("astronaut"))  # zero-shot, shipped
assert asked[0].landmarks.shape == (1, 2), asked
assert importlib.util.find_spec("torch") is None, "pip install . installed torch"
""" + REPORT
    assert "torch" not in loaded(run_python(code, cwd=tmp_path, python=python))
    serve = subprocess.run([str(env_dir / "bin" / "facepoints"), "serve", "--port", "0"], capture_output=True,
                           text=True, timeout=300)  # the web page is the [web] extra: one line says so
    assert serve.returncode == 2 and serve.stderr.count("\n") == 1 and "[web]" in serve.stderr, serve.stderr


def test_declared_capabilities_match_the_networks():
    """What ``models.capabilities`` declares from a config dict (no PyTorch) is what the built
    network gives: its named outputs, plane-point prompting and coarse-to-fine stages."""
    import torch

    from facepoints.models import ATPN, DSLPT, TUFA, ATPNConfig, DSLPTConfig, TUFAConfig
    from facepoints.models.capabilities import capabilities

    tiny = {"input_size": 64}
    networks = [ATPN(ATPNConfig(**tiny, width=16, embed=32)), ATPN(ATPNConfig(**tiny, width=16, embed=32, pose=True,
                                                                             tracking=True)),
                *[ATPN(ATPNConfig(**tiny, width=16, embed=32, pose=True, tracking=True, head=h)) for h in ("simcc", "heatmap")],
                DSLPT(DSLPTConfig(**tiny, dim=32, heads=2, layers=1, mlp_ratio=2, stages=2)),
                DSLPT(DSLPTConfig(**tiny, dim=32, heads=2, layers=1, mlp_ratio=2, distribution="none",
                                  patch_rule="halving")),
                TUFA(TUFAConfig(**tiny, dim=32, heads=2, layers=1, mlp_ratio=2))]
    x = torch.zeros(1, 3, 64, 64)
    for network in networks:
        declared = network.capabilities
        assert declared == capabilities(type(network).__name__.lower(), network.config.to_dict())
        assert declared.stages == getattr(network.config, "coarse_to_fine_stages", None)
        assert declared.takes_points == isinstance(network, TUFA)
        if declared.multitask:
            with torch.inference_mode():
                assert tuple(network.eval().forward_multitask(x)) == declared.outputs
        elif not declared.takes_points:
            assert declared.outputs == ("landmarks",)
