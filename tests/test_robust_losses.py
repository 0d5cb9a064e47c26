"""The Wing family of coordinate losses (issue 16): ``loss: wing | softwing | awing`` in a config;
each is zero at zero error with a finite gradient, grows with the error, is normalised by the
inter-ocular distance (the same relative error scores the same on any face size) and has the
published shape (Wing: log then linear, continuous at omega)."""
from __future__ import annotations

import math

import pytest
import torch

from facepoints.schemes import get_scheme
from facepoints.training.config import TrainConfig
from facepoints.training.losses import LOSSES, awing_loss, softwing_loss, wing_loss

ROBUST = ["wing", "softwing", "awing"]
SCHEME = get_scheme("ibug68")


def _target(scale: float = 0.5) -> torch.Tensor:
    return torch.as_tensor(SCHEME.mean_shape[None] * scale, dtype=torch.float32)


@pytest.mark.parametrize("name", ROBUST)
def test_zero_error_is_zero_with_a_finite_gradient(name):
    target = _target()
    pred = target.clone().requires_grad_(True)
    loss = LOSSES[name](pred, target, SCHEME)
    loss.backward()
    assert float(loss.detach()) == pytest.approx(0.0, abs=1e-7) and torch.isfinite(pred.grad).all()


@pytest.mark.parametrize("name", ROBUST)
def test_grows_with_the_error_and_ignores_the_face_size(name):
    target = _target()
    offsets = torch.linspace(0.001, 0.3, 12)
    values = [float(LOSSES[name](target + d, target, SCHEME)) for d in offsets]
    assert all(b > a for a, b in zip(values, values[1:]))
    small = _target(0.2)
    assert float(LOSSES[name](small + 0.02, small, SCHEME)) == pytest.approx(
        float(LOSSES[name](target + 0.05, target, SCHEME)), rel=1e-5)


def _one_point_loss(fn, percent: float) -> float:
    """``fn`` for every coordinate off by ``percent`` % of the inter-ocular distance."""
    target = _target()
    left, right = SCHEME.interocular
    iod = float((target[0, list(left)].mean(0) - target[0, list(right)].mean(0)).norm())
    return float(fn(target + percent / 100 * iod, target, SCHEME))


def test_wing_is_log_then_linear_and_continuous():
    near = _one_point_loss(wing_loss, 1.0) * 100 / 2  # per coordinate, in % of the inter-ocular distance
    assert near == pytest.approx(10 * math.log1p(1.0 / 2.0), rel=1e-4)
    below, above = _one_point_loss(wing_loss, 10 - 1e-4), _one_point_loss(wing_loss, 10 + 1e-4)
    assert above == pytest.approx(below, rel=1e-4)
    far, farther = _one_point_loss(wing_loss, 30), _one_point_loss(wing_loss, 40)
    assert (farther - far) * 100 / 2 == pytest.approx(10.0, rel=1e-3)  # slope 1 beyond omega


def test_softwing_is_linear_for_small_errors_and_continuous():
    assert _one_point_loss(softwing_loss, 1.0) * 100 / 2 == pytest.approx(1.0, rel=1e-4)
    # continuous at omega1, where the slope steps from 1 to omega2 / (omega1 + epsilon) = 8
    assert _one_point_loss(softwing_loss, 2 + 1e-4) == pytest.approx(_one_point_loss(softwing_loss, 2 - 1e-4),
                                                                        rel=1e-3)


def test_awing_is_continuous_at_theta():
    # theta 0.5 in units of 10 % of the inter-ocular distance: 5 %
    assert _one_point_loss(awing_loss, 5 + 1e-4) == pytest.approx(_one_point_loss(awing_loss, 5 - 1e-4), rel=1e-4)


@pytest.mark.parametrize("name", ROBUST)
def test_a_config_takes_the_loss_by_name(name):
    assert TrainConfig.from_mapping({"name": "x", "loss": name}).loss == name
