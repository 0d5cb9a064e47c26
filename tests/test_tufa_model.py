"""TUFA: structure prompts, anchor masking across schemes, zero-shot prompting, gradients, schemes."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from facepoints.models.structure_prompts import prompt_shift_matrix, structure_prompts
from facepoints.models.token_encoders import CNNTokenEncoder, ViTEncoder, build_token_encoder
from facepoints.models.tufa import TUFA, TUFAConfig, masked_anchor_batch, sample_anchor_indices
from facepoints.schemes import get_scheme

torch.set_num_threads(1)

TINY = TUFAConfig(input_size=64, dim=32, heads=2, layers=2, mlp_ratio=2)
REFINED = replace(TINY, refine_stages=2, refine_layers=1, refine_grid=3)


def _mean29() -> np.ndarray:
    """A stand-in 29-point mean shape (the shipped cofw29 scheme has none): a subset of ibug68's."""
    return get_scheme("ibug68").mean_shape[::2][:29].copy()


def _model(config: TUFAConfig = TINY, encoder=None, perturb: float = 0.0) -> TUFA:
    torch.manual_seed(0)
    model = TUFA(config, get_scheme("ibug68").mean_shape, encoder=encoder)
    if perturb:  # as after some training: zero-initialised paths are no longer silent
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * perturb)
    return model


def _images(batch: int = 2) -> torch.Tensor:
    return torch.rand(batch, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 255


# --- structure prompts ---------------------------------------------------------------------------

def test_prompts_have_the_thesis_layout_and_values():
    out = structure_prompts(torch.tensor([[0.5, -0.25]]), dim=8)
    # dim 8: c in {0, 1}, wavelengths tau^(2c / 4) = 1 and 100; x's four channels, then y's
    x, y = 0.5, -0.25
    expected = [math.sin(x), math.cos(x), math.sin(x / 100), math.cos(x / 100),
                math.sin(y), math.cos(y), math.sin(y / 100), math.cos(y / 100)]
    assert out.shape == (1, 8)
    assert torch.allclose(out[0], torch.tensor(expected), atol=1e-7)
    coords = torch.rand(3, 5, 2) * 2 - 1
    assert structure_prompts(coords, 64).shape == (3, 5, 64)
    assert torch.allclose(structure_prompts(coords, 16, scale=2 * math.pi), structure_prompts(2 * math.pi * coords, 16))
    with pytest.raises(ValueError, match="multiple of 4"):
        structure_prompts(coords, 6)


@pytest.mark.parametrize("scale", [1.0, 2 * math.pi])
def test_shifting_a_point_rotates_its_prompt(scale):
    torch.manual_seed(0)
    dim, half = 64, 32
    coords = torch.rand(50, 2) * 2 - 1
    for delta in (0.37, -0.8, 1e-3):
        shifted = structure_prompts(coords + delta, dim, scale=scale)
        base = structure_prompts(coords, dim, scale=scale)
        m = prompt_shift_matrix(delta, half, scale=scale)
        assert torch.allclose(shifted[:, :half], base[:, :half] @ m.T, atol=1e-5)  # x axis
        assert torch.allclose(shifted[:, half:], base[:, half:] @ m.T, atol=1e-5)  # y axis
        assert torch.allclose(m @ m.T, torch.eye(half), atol=1e-6)  # a rotation


# --- anchor masking ------------------------------------------------------------------------------

def test_masking_keeps_batches_of_different_schemes_rectangular():
    model = _model()
    model.add_scheme("cofw29", _mean29())
    names = ["ibug68", "cofw29"] * 4
    gen = torch.Generator().manual_seed(0)
    anchors, idx = masked_anchor_batch(model, names, generator=gen)
    assert anchors.shape == (8, 7, 2) and idx.shape == (8, 7)  # round(0.25 * 29) = 7 for every sample
    for row, name in enumerate(names):
        n = len(model.anchors(name))
        assert 0 <= idx[row].min() and idx[row].max() < n and len(set(idx[row].tolist())) == 7
        assert torch.equal(anchors[row], model.anchors(name)[idx[row]])
    assert len({tuple(r) for r in idx[0::2].tolist()}) > 1 and len({tuple(r) for r in idx[1::2].tolist()}) > 1
    anchors, idx = masked_anchor_batch(model, names, keep=29, generator=gen)
    assert anchors.shape == (8, 29, 2)
    with pytest.raises(ValueError, match="smallest"):
        masked_anchor_batch(model, names, keep=30)
    with torch.inference_mode():
        assert model.eval()(_images()).shape == (2, 68, 2)
        assert model.forward_points(_images(8), anchors).shape == (8, 29, 2)
    idx98 = sample_anchor_indices(98, 0.25, 3, torch.Generator().manual_seed(0))
    assert idx98.shape == (3, 24)  # the thesis' N_a = 24 of 98
    assert sample_anchor_indices(5, 0.01, 2).shape == (2, 1)


# --- prompting ----------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [TINY, REFINED], ids=["plain", "refined"])
def test_prompting_a_schemes_anchors_reproduces_it_and_order_is_only_a_permutation(config):
    model = _model(config, perturb=0.02)
    with torch.no_grad():
        model.head[-1].weight.normal_(std=0.5)  # predictions well away from the plane positions
    model.eval()
    images = _images()
    with torch.inference_mode():
        out = model(images)
        anchors = model.anchors("ibug68")
        assert (out - anchors * TINY.plane_to_crop).abs().max() > 1e-2
        assert torch.allclose(model.forward_points(images, anchors), out, atol=1e-6)
        perm = torch.randperm(68, generator=torch.Generator().manual_seed(0))
        assert torch.allclose(model.forward_points(images, anchors[perm]), out[:, perm], atol=1e-5)
        per_sample = torch.stack([perm, perm.flip(0)])
        permuted = model.forward_points(images, anchors[per_sample])
        assert torch.allclose(permuted, torch.gather(out, 1, per_sample.unsqueeze(-1).expand(-1, -1, 2)), atol=1e-5)
        layers = model.forward_points(images, anchors, all_layers=True)
        assert layers.shape == (config.layers + config.refine_stages, 2, 68, 2)
        assert torch.allclose(layers[-1], out, atol=1e-6)
        free = model.forward_points(images, torch.tensor([[0.0, 0.0], [1.5, -2.0], [0.3, 0.1]]))
        assert free.shape == (2, 3, 2) and torch.isfinite(free).all()


# --- gradients -----------------------------------------------------------------------------------

ENCODERS = {
    "cnn_lite0": lambda: None,  # built from TINY.encoder
    "cnn_lite0_s8": lambda: build_token_encoder("cnn_lite0_s8", 64, TINY.dim),
    "cnn_lite0_refined": "refined",
    "vit_shrunk": lambda: ViTEncoder(64, patch=16, dim=48, depth=1, heads=2, mlp_ratio=2, out_dim=TINY.dim),
}


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_a_gradient_reaches_every_parameter(encoder):
    torch.manual_seed(0)
    build = ENCODERS[encoder]
    model = (_model(REFINED, perturb=0.01) if build == "refined" else _model(encoder=build(), perturb=0.01)).train()
    images = _images()
    anchors, idx = masked_anchor_batch(model, ["ibug68", "ibug68"], generator=torch.Generator().manual_seed(0))
    target = torch.rand(2, anchors.shape[1], 2) * 1.2 - 0.6
    loss = (model.forward_points(images, anchors, all_layers=True) - target).abs().mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing
    silent = [n for n, p in model.named_parameters() if p.grad.abs().sum() == 0]
    # T is zero entering the first layer, so LN(T) is LN's bias alone and the scale of that first
    # LayerNorm multiplies zeros by construction
    assert silent == ["decoder.0.norm_self.weight"]


def test_token_encoders_give_tokens_and_positions_of_the_requested_width():
    images = torch.randn(2, 3, 64, 64)
    cnn = CNNTokenEncoder("efficientnet_lite0", 64, 32)
    tokens, pos = cnn(images)
    assert tokens.shape == (2, 16, 32) and pos.shape == (1, 16, 32)  # stride 16: 4 x 4 tokens
    fused = build_token_encoder("cnn_lite0_s8", 64, 32)
    tokens, pos = fused(images)
    assert tokens.shape == (2, 64, 32) and pos.shape == (1, 64, 32)  # stride 8: 8 x 8 tokens
    # the stride-16 projection keeps its name, so cnn_lite0 weights (but its token grid) load into cnn_lite0_s8
    coarse = {k: v for k, v in cnn.state_dict().items() if k != "pos_embed"}
    missing, unexpected = fused.load_state_dict(coarse, strict=False)
    assert not unexpected and {k.split(".")[0] for k in missing} == {"lateral", "pos_embed"}
    vit = ViTEncoder(64, patch=8, dim=48, depth=1, heads=2, out_dim=32)
    tokens, pos = vit(images)
    assert tokens.shape == (2, 64, 32) and pos.shape == (1, 64, 32)
    assert build_token_encoder("vit_s8", 64, 384).proj is None  # the preset's own width: no projection
    with pytest.raises(KeyError, match="vit_s16"):
        build_token_encoder("vit_b16", 64, 32)


# --- schemes and semantic alignment ----------------------------------------------------------------

def test_schemes_survive_a_state_dict_round_trip_and_offsets_learn():
    model = _model()
    model.add_scheme("cofw29", _mean29())
    assert model.schemes == ["ibug68", "cofw29"]
    assert torch.equal(model.anchors("cofw29"), torch.from_numpy(_mean29()))  # offsets start at zero
    with torch.no_grad():
        model.alignment["cofw29"].normal_(std=0.05)
    assert not torch.allclose(model.anchors("cofw29"), torch.from_numpy(_mean29()))
    with pytest.raises(ValueError, match="already"):
        model.add_scheme("cofw29", _mean29())
    with pytest.raises(ValueError, match="letters"):
        model.add_scheme("cofw.29", _mean29())
    with pytest.raises(KeyError, match="no landmark set 'wflw'; it has: ibug68, cofw29"):
        model.anchors("wflw")  # regression: said 'unknown scheme', as if wflw were not a scheme at all

    state = model.state_dict()
    with pytest.raises(RuntimeError, match="mean_cofw29"):
        TUFA(TINY).load_state_dict(state)  # a plain model lacks the extra scheme
    rebuilt = TUFA.from_state_dict(TUFAConfig(**TINY.to_dict()), state)
    assert rebuilt.schemes == ["ibug68", "cofw29"]
    assert torch.equal(rebuilt.anchors("cofw29"), model.anchors("cofw29"))
    images = _images()
    with torch.inference_mode():
        a = model.eval().forward_points(images, model.anchors("cofw29"))
        b = rebuilt.eval().forward_points(images, rebuilt.anchors("cofw29"))
    assert torch.equal(a, b)

    model.train().zero_grad()
    model.forward_points(images, model.anchors("cofw29")).sum().backward()
    grad = model.alignment["cofw29"].grad
    assert grad is not None and (grad.abs().sum(dim=1) > 0).all()  # every anchor's offset learns
    assert model.alignment["ibug68"].grad is None


def test_refinement_moves_points_within_its_patches_and_needs_a_cnn_encoder():
    model = _model(REFINED, perturb=0.02).eval()
    images = _images()
    with torch.inference_mode():
        layers = model.forward_points(images, model.anchors(), all_layers=True)
    decoded, first, second = layers[REFINED.layers - 1], layers[-2], layers[-1]
    # both stages move the decoder's estimate (offsets in units of their patch sides 0.25 and 0.125)
    assert (first - decoded).abs().max() > 0 and (second - first).abs().max() > 0
    with torch.inference_mode():  # fewer stages at inference: the decoder's or the first stage's output
        for stages, expected in ((1, decoded), (2, first), (3, second)):
            assert torch.allclose(model.set_inference_stages(stages)(images), expected, atol=1e-6)
    with pytest.raises(ValueError, match="1..3"):
        model.set_inference_stages(4)
    assert REFINED.coarse_to_fine_stages == 3 and TINY.coarse_to_fine_stages is None
    vit = ViTEncoder(64, patch=16, dim=48, depth=1, heads=2, mlp_ratio=2, out_dim=REFINED.dim)
    with pytest.raises(ValueError, match="CNN token encoder"):
        TUFA(REFINED, get_scheme("ibug68").mean_shape, encoder=vit)
    with pytest.raises(ValueError, match="refine_stages"):
        replace(TINY, refine_stages=-1)
