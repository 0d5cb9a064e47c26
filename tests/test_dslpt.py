"""SLPT / DSLPT: patch geometry, the dynamic patch rule, the losses and the coarse-to-fine stages."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from facepoints.models import DSLPT, DSLPTConfig
from facepoints.models.patches import (global_to_patch, next_patch_sizes, patch_to_global, sample_patches,
                                       sigma_to_global)
from facepoints.schemes import get_scheme
from facepoints.training.patch_losses import gaussian_nll, laplace_nll, patch_transformer_loss

TINY = dict(input_size=64, dim=32, heads=2, layers=2, mlp_ratio=2)


def pixel_centre(p: float, size: int) -> float:
    """Normalised coordinate of pixel centre ``p`` on a map of ``size`` pixels."""
    return -1 + (2 * p + 1) / size


def test_patch_sampling_equals_a_hand_computed_crop():
    feature = torch.arange(2 * 16 * 16, dtype=torch.float32).view(1, 2, 16, 16)
    k, x0, y0 = 4, 5, 9
    # a 4-pixel patch whose sample points fall on the pixel centres x0..x0+3, y0..y0+3
    centre = torch.tensor([[[pixel_centre(x0 + 1.5, 16), pixel_centre(y0 + 1.5, 16)]]])
    side = torch.tensor([[4 * 2 / 16]])
    patch = sample_patches(feature, centre, side, k)
    assert patch.shape == (1, 1, 2, k, k)
    assert torch.allclose(patch[0, 0], feature[0, :, y0:y0 + k, x0:x0 + k])


def test_patch_sampling_interpolates_between_pixels_and_reads_zero_outside():
    feature = torch.arange(8, dtype=torch.float32).view(1, 1, 1, 8).expand(1, 1, 8, 8).contiguous()
    centre = torch.tensor([[[pixel_centre(2.5, 8), pixel_centre(3.0, 8)], [5.0, 5.0]]])  # between 2 and 3; off the map
    patch = sample_patches(feature, centre, torch.tensor([[1e-4, 0.5]]), 1)
    assert patch[0, 0, 0, 0, 0].item() == pytest.approx(2.5)
    assert patch[0, 1].abs().max().item() == 0.0


def test_patch_and_global_coordinates_round_trip():
    torch.manual_seed(0)
    centres, sizes = torch.rand(3, 68, 2) * 2 - 1, torch.rand(3, 68) * 0.5 + 0.05
    points = torch.rand(3, 68, 2) * 2 - 1
    local = global_to_patch(points, centres, sizes)
    assert torch.allclose(patch_to_global(local, centres, sizes), points, atol=1e-6)
    # the patch centre is (0.5, 0.5) and its corners (0, 0) / (1, 1)
    assert torch.allclose(global_to_patch(centres, centres, sizes), torch.full_like(centres, 0.5))
    corner = centres + sizes.unsqueeze(-1) / 2
    assert torch.allclose(global_to_patch(corner, centres, sizes), torch.ones_like(centres), atol=1e-6)
    assert torch.allclose(sigma_to_global(torch.full_like(centres, 0.1), sizes), 0.1 * sizes.unsqueeze(-1).expand(-1, -1, 2))


def test_dynamic_patch_size_rule_and_clamping():
    sizes = torch.tensor([[1.0, 1.0, 1.0, 2.0]])
    # 6 * Z * max(sigma) with Z = 2: 12 * 0.05 = 0.6 (inside), 12 * 0.01 = 0.12 -> 0.5, 12 * 0.2 -> 0.7
    sigma = torch.tensor([[[0.05, 0.02], [0.01, 0.005], [0.0, 0.2], [0.05, 0.0]]])
    new = next_patch_sizes(sizes, sigma, context=2.0, clamp=(0.5, 0.7))
    assert torch.allclose(new, torch.tensor([[0.6, 0.5, 0.7, 1.2]]))
    assert torch.allclose(next_patch_sizes(sizes, None), sizes / 2)  # SLPT halves


def test_nll_with_fixed_sigma_is_l2_or_l1_up_to_constants():
    torch.manual_seed(0)
    target, mu = torch.randn(100), torch.randn(100)
    one = torch.ones(100)
    assert torch.allclose(gaussian_nll(target, mu, one), 0.5 * (target - mu) ** 2)
    assert torch.allclose(laplace_nll(target, mu, one), (target - mu).abs())
    # any fixed sigma: an affine function of the same error
    s = torch.full((100,), 0.3)
    assert torch.allclose(gaussian_nll(target, mu, s) - torch.log(s), (target - mu) ** 2 / (2 * 0.09))


def _model(**extra) -> DSLPT:
    torch.manual_seed(0)
    return DSLPT(DSLPTConfig(**{**TINY, **extra}))


def test_a_gradient_reaches_every_parameter():
    model = _model().train()
    with torch.no_grad():  # as after some training: no zero-initialised biases keeping paths silent
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    images = torch.rand(2, 3, 64, 64) * 255
    target = torch.rand(2, 68, 2) * 1.2 - 0.6
    loss = patch_transformer_loss(model.forward_stages(images), target, get_scheme("ibug68"), "gaussian")
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing
    silent = [n for n, p in model.named_parameters() if p.grad.abs().sum() == 0]
    # the first layer's state is zero (thesis: T is a zero matrix in the first layer), so the scale
    # of its first LayerNorm multiplies zeros by construction
    assert silent == ["decoder.layers.0.norm_self.weight"]


def test_one_to_three_stages_run_from_one_set_of_weights():
    model = _model().eval()
    images = torch.rand(2, 3, 64, 64) * 255
    with torch.inference_mode():
        stages = model.forward_stages(images)
        assert len(stages) == 3
        for k in (1, 2, 3):
            out = model.set_inference_stages(k).forward_multitask(images)
            assert out["landmarks"].shape == out["sigma"].shape == (2, 68, 2)
            assert torch.allclose(out["landmarks"], stages[k - 1]["landmarks"], atol=1e-5)
            assert (out["sigma"] > 0).all()
    # the first stage starts from the mean shape with patches of a quarter of the crop
    assert torch.allclose(stages[0]["sizes"], torch.full((2, 68), 0.5))
    ratio = stages[1]["sizes"] / stages[0]["sizes"]
    assert ((ratio >= 0.5 - 1e-6) & (ratio <= 0.7 + 1e-6)).all()
    with pytest.raises(ValueError, match="stages"):
        model.set_inference_stages(4)


def test_slpt_is_dslpt_with_halving_and_an_l2_loss():
    model = _model(distribution="none", patch_rule="halving").train()
    images = torch.rand(2, 3, 64, 64) * 255
    stages = model.forward_stages(images)
    assert torch.allclose(stages[1]["sizes"], stages[0]["sizes"] / 2)
    assert torch.allclose(stages[2]["sizes"], stages[0]["sizes"] / 4)
    assert "sigma" not in model.eval().forward_multitask(images)
    loss = patch_transformer_loss(stages, stages[-1]["landmarks"].detach(), get_scheme("ibug68"), "none")
    assert loss.item() >= 0


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="distribution"):
        DSLPTConfig(distribution="cauchy")
    with pytest.raises(ValueError, match="dynamic"):
        DSLPTConfig(distribution="none", patch_rule="dynamic")


def test_mean_radius_per_spread_matches_sampling():
    """A calibrated sigma predicts the mean 2D error: check the closed forms by sampling."""
    from facepoints.models import MEAN_RADIUS_PER_SPREAD

    rng = np.random.default_rng(0)
    for name, draw in (("gaussian", rng.normal), ("laplace", rng.laplace)):
        radius = np.hypot(*draw(size=(2, 400_000))).mean()
        assert MEAN_RADIUS_PER_SPREAD[name] == pytest.approx(radius, rel=5e-3)
