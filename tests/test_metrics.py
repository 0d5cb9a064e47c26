"""NME, FR, AUC and CED against values computed by hand."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from facepoints import get_scheme
from facepoints.drawing import plot_ced
from facepoints.drawing.ced import ced_label
from facepoints.metrics import (NORMALISATIONS, auc, ced_curve, failure_rate, nme_per_face, normaliser,
                                per_point_errors, summarise)

SCHEME = get_scheme("ibug68")


def hand_face() -> np.ndarray:
    """68 points with hand-checkable normalisers.

    Outer eye corners 36 = (20, 40), 45 = (80, 40): inter-ocular 60.
    Other right-eye points (37-41) at (30, 40), other left-eye points (42-44, 46, 47) at (70, 40):
    eye centres x = (20 + 5*30)/6 and (80 + 5*70)/6, inter-pupil 430/6 - 170/6 = 260/6.
    Point 0 = (10, 20) and point 8 = (90, 120), the rest at (50, 50): box 80 x 100, so
    ``box`` = sqrt(8000) and ``diagonal`` = sqrt(80^2 + 100^2).
    """
    pts = np.full((68, 2), 50.0)
    pts[37:42] = (30, 40)
    pts[42:48] = (70, 40)
    pts[36] = (20, 40)
    pts[45] = (80, 40)
    pts[0] = (10, 20)
    pts[8] = (90, 120)
    return pts


EXPECTED_NORMALISER = {"interocular": 60.0, "interpupil": 260 / 6, "box": math.sqrt(8000),
                       "diagonal": math.sqrt(80 ** 2 + 100 ** 2)}


@pytest.mark.parametrize("kind", NORMALISATIONS)
def test_normalisers_by_hand(kind):
    assert normaliser(hand_face()[None], SCHEME, kind)[0] == pytest.approx(EXPECTED_NORMALISER[kind])


@pytest.mark.parametrize("kind", NORMALISATIONS)
def test_nme_by_hand(kind):
    gt = hand_face()
    pred = gt + (3.0, 4.0)  # every point 5 px off
    nme = nme_per_face(pred[None], gt[None], SCHEME, kind)
    assert nme.shape == (1,)
    assert nme[0] == pytest.approx(5.0 / EXPECTED_NORMALISER[kind])


def test_nme_mean_over_points_and_faces():
    gt = hand_face()
    pred = gt.copy()
    pred[:34] += (6.0, 8.0)  # half the points 10 px off -> mean error 5 px
    both = nme_per_face(np.stack([pred, gt]), np.stack([gt, gt]), SCHEME)
    np.testing.assert_allclose(both, [5.0 / 60.0, 0.0])
    np.testing.assert_allclose(per_point_errors(pred, gt)[:34], 10.0)


def test_nme_skips_missing_and_invisible_points():
    gt = hand_face()
    pred = gt + (3.0, 4.0)
    pred[60] += 1000.0
    gt_missing = gt.copy()
    gt_missing[60] = np.nan  # an unlabelled point is not scored
    assert nme_per_face(pred[None], gt_missing[None], SCHEME)[0] == pytest.approx(5.0 / 60.0)
    visible = np.ones((1, 68), bool)
    visible[0, 60] = False  # nor is an occluded one when a mask is given
    assert nme_per_face(pred[None], gt[None], SCHEME, visible=visible)[0] == pytest.approx(5.0 / 60.0)
    # the box normaliser ignores the missing point too
    assert normaliser(gt_missing[None], SCHEME, "box")[0] == pytest.approx(math.sqrt(8000))


def test_unknown_normalisation():
    with pytest.raises(ValueError, match="interocular"):
        normaliser(hand_face()[None], SCHEME, "eyes")


def test_failure_rate_and_auc_extremes():
    zeros = np.zeros(10)
    assert failure_rate(zeros) == 0.0
    assert auc(zeros) == pytest.approx(1.0, abs=1e-6)
    above = np.full(10, 0.2)
    assert failure_rate(above) == 1.0
    assert auc(above) == 0.0
    assert failure_rate(np.array([0.08])) == 0.0  # at the threshold is not a failure
    assert failure_rate(np.array([0.0800001])) == 1.0
    assert math.isnan(failure_rate(np.array([])))


def test_auc_by_hand():
    # CED: 0 below 0.02, 1/2 from 0.02, 1 from 0.06 -> area 0.5*0.04 + 1*0.02 = 0.04 of 0.08
    assert auc(np.array([0.02, 0.06])) == pytest.approx(0.5, abs=1e-3)
    assert failure_rate(np.array([0.02, 0.06, 0.1, 0.3]), 0.08) == 0.5
    # a custom threshold
    assert auc(np.array([0.05]), threshold=0.1) == pytest.approx(0.5, abs=1e-3)


def test_ced_curve_shape():
    xs, ys = ced_curve(np.array([0.01, 0.03, 0.5]), 0.08, steps=8)
    np.testing.assert_allclose(xs, np.linspace(0, 0.08, 9))
    assert ys[0] == 0.0 and ys[-1] == pytest.approx(2 / 3)
    assert (np.diff(ys) >= 0).all()


def test_infinite_nme_counts_as_failure_but_not_in_the_mean():
    s = summarise(np.array([0.02, 0.04, np.inf]), 0.08)
    assert s.count == 3
    assert s.nme == pytest.approx(0.03)
    assert s.fr == pytest.approx(1 / 3)
    # CED reaches 1/3 at 0.02, 2/3 at 0.04, never 1: ((0.08-0.02) + (0.08-0.04)) / 3 / 0.08
    assert s.auc == pytest.approx((0.06 + 0.04) / 3 / 0.08, abs=1e-3)
    assert "NME  3.000 %" in s.row()
    only_misses = summarise(np.array([np.inf, np.inf]))
    assert math.isnan(only_misses.nme) and only_misses.fr == 1.0 and only_misses.auc == 0.0


def test_ced_legend_agrees_with_the_summary():
    """The CED legend's NME skips misses like the table does (it used to print 'NME inf %')."""
    label = ced_label("model", np.array([0.02, 0.04, np.inf]), 0.08)
    assert "inf" not in label
    assert "NME 3.00 %" in label and "FR 33.33 %" in label


def test_plot_ced_writes_a_png(tmp_path):
    rng = np.random.default_rng(0)
    curves = {"a": rng.uniform(0, 0.1, 50), "b": np.append(rng.uniform(0, 0.05, 20), np.inf)}
    path = plot_ced(curves, tmp_path / "sub" / "ced.png", title="test")
    assert path == tmp_path / "sub" / "ced.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 5  # not a blank canvas
