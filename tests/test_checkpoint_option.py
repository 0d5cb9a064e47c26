"""``--checkpoint PATH`` is accepted wherever ``--model`` is (issue 17): every such command parses
it, a missing checkpoint is one line, and a real run uses the checkpoint's network."""
from __future__ import annotations

import argparse

import pytest
import torch

from facepoints.cli.main import COMMANDS, build_parser, main, subcommand_parser
from facepoints.models import TUFA, TUFAConfig
from facepoints.schemes import get_scheme

MODEL_COMMANDS = [name for name in COMMANDS
                  if any("--model" in a.option_strings for a in subcommand_parser(build_parser(), name)._actions)]


def test_the_model_commands_are_found():
    assert {"detect", "track", "plane", "stability", "cost", "evaluate", "annotate", "serve"} <= set(MODEL_COMMANDS)


@pytest.mark.parametrize("name", MODEL_COMMANDS)
def test_every_command_with_model_takes_checkpoint(name):
    options = {s for a in subcommand_parser(build_parser(), name)._actions
               if isinstance(a, argparse.Action) for s in a.option_strings}
    assert "--checkpoint" in options


@pytest.mark.parametrize("args", [["track", "clip.mp4"], ["plane", "--out", "p.png"], ["cost"],
                                  ["annotate", ".", "--out", "o"]])
def test_a_missing_checkpoint_is_one_line(args, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*args, "--checkpoint", str(tmp_path / "nosuch.pt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"facepoints {args[0]}: error: ") and "nosuch.pt" in err[0]


def test_plane_draws_a_checkpoints_anchors(tmp_path, capsys):
    torch.manual_seed(0)
    config = TUFAConfig(input_size=64, dim=32, heads=2, layers=1, mlp_ratio=2)
    network = TUFA(config, get_scheme("ibug68").mean_shape)
    checkpoint = tmp_path / "tiny.pt"
    torch.save({"config": {"architecture": "tufa", "model": config.to_dict(), "scheme": "ibug68",
                           "crop_margin": 1.25}, "model": network.state_dict()}, checkpoint)
    out = tmp_path / "plane.png"
    assert main(["plane", "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    assert out.is_file() and "68 points" in capsys.readouterr().out
