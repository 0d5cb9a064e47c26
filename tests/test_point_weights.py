"""Per-point loss weights from a teacher's sigma (issue 16, distillation): ``.sigma`` files beside
the ``.pts`` are read with the list, turned into weights (``training.point_weights``), follow the
points through a mirrored crop, and weight every landmark loss."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from facepoints.datasets.augment import AugmentConfig
from facepoints.datasets.formats.pts import AnnotationFormatError
from facepoints.datasets.formats.sigma import read_sigma, write_sigma
from facepoints.datasets.image_list import read_image_list
from facepoints.datasets.landmark_dataset import LandmarkDataset
from facepoints.pipeline.crop import CropSpec
from facepoints.schemes import get_scheme
from facepoints.training.losses import LOSSES
from facepoints.training.point_weights import sigma_weights

SCHEME = get_scheme("ibug68")


def test_sigma_files_round_trip_and_bad_ones_are_one_line(tmp_path):
    sigma = np.linspace(0.5, 3.0, 136, dtype=np.float32).reshape(68, 2)
    write_sigma(tmp_path / "a.sigma", sigma)
    assert np.allclose(read_sigma(tmp_path / "a.sigma", 68), sigma, atol=1e-4)
    (tmp_path / "b.sigma").write_text("1 2\n3 x\n")
    (tmp_path / "c.sigma").write_text("1 2\n")
    for name in ("b.sigma", "c.sigma"):
        with pytest.raises(AnnotationFormatError) as info:
            read_sigma(tmp_path / name, 68)
        assert name in str(info.value) and "\n" not in str(info.value)


def test_weights_follow_the_points_through_a_mirrored_crop(tiny_list):
    records = read_image_list(tiny_list)
    assert "sigma" not in records[0].attributes  # no .sigma file: no entry
    sigma = np.ones((68, 2), np.float32)
    sigma[36] = 8.0  # the teacher doubts the right eye's outer corner (mirror partner: 45)
    write_sigma(tiny_list.parent / "one.sigma", sigma)
    records = read_image_list(tiny_list)
    weights = sigma_weights(records, SCHEME)
    assert weights[1] is None and weights[0][36] == pytest.approx(1 / 8) and (np.delete(weights[0], 36) == 1).all()
    spec = CropSpec(64, 1.25)
    still = {"rotation_deg": 0.0, "scale": 0.0, "translation": 0.0, "box_jitter": 0.0, "shear_prob": 0.0,
             "grey": 0.0, "brightness_prob": 0.0}
    plain = LandmarkDataset(records, SCHEME, spec, AugmentConfig(flip=0.0, **still), weights=weights)[0]["weight"]
    mirrored = LandmarkDataset(records, SCHEME, spec, AugmentConfig(flip=1.0, **still), weights=weights)[0]["weight"]
    assert float(plain[36]) == pytest.approx(1 / 8) and float(mirrored[45]) == pytest.approx(1 / 8)
    assert float(mirrored[36]) == 1.0
    unweighted = LandmarkDataset(records, SCHEME, spec, None, weights=weights)[1]
    assert torch.equal(unweighted["weight"], torch.ones(68)) and "weight" not in LandmarkDataset(records, SCHEME,
                                                                                                 spec)[1]


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_weigh_points(name):
    target = torch.as_tensor(SCHEME.mean_shape[None] * 0.5, dtype=torch.float32)
    pred = target.clone()
    pred[0, 30] += 0.2  # one point far off
    ones = torch.ones(1, 68)
    less = ones.clone()
    less[0, 30] = 0.1
    fn = LOSSES[name]
    assert float(fn(pred, target, SCHEME, ones)) == pytest.approx(float(fn(pred, target, SCHEME)), rel=1e-6)
    assert float(fn(pred, target, SCHEME, less)) < 0.2 * float(fn(pred, target, SCHEME))
