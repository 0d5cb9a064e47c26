"""The shipped landmark schemes load and are self-consistent."""
from __future__ import annotations

import numpy as np
import pytest

from facepoints.schemes import get_scheme, list_schemes

SHIPPED = {"ibug68": 68, "wflw98": 98, "cofw29": 29, "aflw19": 19, "celeba5": 5}


def test_all_schemes_shipped():
    assert set(SHIPPED) <= set(list_schemes())


@pytest.mark.parametrize("name,count", SHIPPED.items())
def test_loads_by_name_and_count(name, count):
    by_name, by_count = get_scheme(name), get_scheme(count)
    assert by_name is by_count or by_name == by_count
    assert by_name.name == name and by_name.num_points == count
    assert get_scheme(str(count)).name == name


@pytest.mark.parametrize("name", SHIPPED)
def test_flip_is_involution_and_double_flip_is_identity(name):
    scheme = get_scheme(name)
    perm = np.asarray(scheme.flip_permutation)
    assert sorted(perm.tolist()) == list(range(scheme.num_points))
    assert np.array_equal(perm[perm], np.arange(scheme.num_points))
    rng = np.random.default_rng(0)
    shape = rng.uniform(10, 90, size=(scheme.num_points, 2)).astype(np.float32)
    assert np.allclose(scheme.flip(scheme.flip(shape, 100), 100), shape, atol=1e-4)


@pytest.mark.parametrize("name", SHIPPED)
def test_flip_of_symmetric_shape_is_itself(name):
    """A shape with every flip pair mirrored about the image centre and the fixed points on
    the centre line flips onto itself (flip = mirror x + re-order)."""
    scheme = get_scheme(name)
    width = 101.0
    centre = (width - 1) / 2
    rng = np.random.default_rng(1)
    shape = np.zeros((scheme.num_points, 2), dtype=np.float32)
    for i, j in enumerate(scheme.flip_permutation):
        if i < j:
            x, y = rng.uniform(0, centre - 1), rng.uniform(0, 100)
            shape[i], shape[j] = (x, y), (width - 1 - x, y)
        elif i == j:
            shape[i] = (centre, rng.uniform(0, 100))
    assert np.allclose(scheme.flip(shape, width), shape, atol=1e-4)


@pytest.mark.parametrize("name", SHIPPED)
def test_names_unique_and_groups_valid(name):
    scheme = get_scheme(name)
    assert len(set(scheme.names)) == scheme.num_points
    covered = [i for group in scheme.groups.values() for i in group]
    assert all(0 <= i < scheme.num_points for i in covered)
    assert sorted(covered) == list(range(scheme.num_points)), "groups partition the points"
    for kind in (scheme.interocular, scheme.interpupil):
        assert len(kind) == 2 and all(0 <= i < scheme.num_points for g in kind for i in g)


@pytest.mark.parametrize("name", SHIPPED)
def test_normalisers_are_mirror_images(name):
    """Each normaliser's two groups swap under the flip (left eye <-> right eye)."""
    scheme = get_scheme(name)
    perm = scheme.flip_permutation
    for left, right in (scheme.interocular, scheme.interpupil):
        assert sorted(perm[i] for i in left) == sorted(right)


def test_documented_indices():
    wflw = get_scheme("wflw98")
    assert wflw.interocular == ((60,), (72,)) and wflw.interpupil == ((96,), (97,))
    assert wflw.flip_permutation[33] == 46 and wflw.flip_permutation[38] == 50
    assert wflw.flip_permutation[88] == 92 and wflw.flip_permutation[95] == 93
    cofw = get_scheme("cofw29")
    assert cofw.interpupil == ((16,), (17,)) and cofw.interocular == ((8,), (9,))
    assert [cofw.flip_permutation[i] for i in (4, 5, 12, 13, 22, 28)] == [6, 7, 14, 15, 23, 28]
    aflw = get_scheme("aflw19")
    assert aflw.interocular == ((6,), (11,)) and aflw.interpupil == ((7,), (10,))
    celeba = get_scheme("celeba5")
    assert celeba.flip_permutation == (1, 0, 2, 4, 3)


def test_ibug68_mean_shape():
    scheme = get_scheme("ibug68")
    assert scheme.mean_shape is not None and scheme.mean_shape.shape == (68, 2)
    assert np.isfinite(scheme.mean_shape).all()


@pytest.mark.parametrize("name", ["wflw98", "cofw29", "aflw19", "celeba5"])
def test_other_schemes_have_no_mean_shape(name):
    assert get_scheme(name).mean_shape is None
