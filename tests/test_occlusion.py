"""Synthetic occluders (datasets/occlusion.py) and the sigma report (metrics/uncertainty.py)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facepoints.datasets.formats.pts import write_pts
from facepoints.datasets.image_list import read_image_list
from facepoints.datasets.occluded_copy import read_occlusion_flags, read_occlusion_kinds, write_occluded_copy
from facepoints.datasets.occlusion import KINDS, OccluderConfig, occlude, points_under
from facepoints.metrics.nme import normaliser, per_point_errors
from facepoints.metrics.uncertainty import normalised_point_errors, point_sigma, sigma_report
from facepoints.schemes import get_scheme

SEEDS = range(8)


def run(image, points, seed: int, **config):
    return occlude(image, points, np.random.default_rng(seed), OccluderConfig(**config))


@pytest.mark.parametrize("kind", KINDS)
def test_occlude_is_deterministic_and_leaves_input_alone(astronaut, astronaut_points, kind):
    before = astronaut.copy()
    a, b = run(astronaut, astronaut_points, 3, kinds=(kind,)), run(astronaut, astronaut_points, 3, kinds=(kind,))
    np.testing.assert_array_equal(astronaut, before)
    assert a.kind == b.kind == kind
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.occluded, b.occluded)
    assert a.image.dtype == np.uint8 and a.image.shape == astronaut.shape and a.mask.shape == astronaut.shape[:2]
    assert a.mask.any() and a.occluded.any()
    np.testing.assert_array_equal(a.image[~a.mask], astronaut[~a.mask])  # only occluder pixels change
    others = [run(astronaut, astronaut_points, s, kinds=(kind,)).image for s in (4, 5)]
    assert any(not np.array_equal(a.image, o) for o in others)


@pytest.mark.parametrize("seed", SEEDS)
def test_face_mask_covers_mouth_and_jaw_not_eyes(astronaut, astronaut_points, seed):
    res = run(astronaut, astronaut_points, seed, kinds=("face_mask",))
    assert res.occluded[48:68].all() and res.occluded[4:13].all()
    assert not res.occluded[36:48].any() and not res.occluded[17:27].any()
    assert res.details["style"] in OccluderConfig().mask_styles


@pytest.mark.parametrize("kind", KINDS)
def test_flags_match_the_mask_at_the_points(astronaut, astronaut_points, kind):
    for seed in SEEDS:
        res = run(astronaut, astronaut_points, seed, kinds=(kind,))
        xy = np.round(astronaut_points).astype(int)
        np.testing.assert_array_equal(res.occluded, res.mask[xy[:, 1], xy[:, 0]])


def test_points_under_ignores_points_outside_and_missing():
    mask = np.ones((10, 10), bool)
    pts = np.array([[2, 3], [-1, 5], [5, 10.4], [np.nan, 1], [9.4, 9.4]], np.float32)
    assert points_under(mask, pts).tolist() == [True, False, False, False, True]


@pytest.mark.parametrize("area", [(0.15, 0.40), (0.2, 0.25)])
def test_patch_area_in_configured_range(astronaut, astronaut_points, area):
    x0, y0 = np.floor(astronaut_points.min(0)).astype(int)
    x1, y1 = np.ceil(astronaut_points.max(0)).astype(int) + 1
    for seed in range(12):
        res = run(astronaut, astronaut_points, seed, kinds=("patch",), patch_area=area)
        covered = res.mask[y0:y1, x0:x1].mean()
        assert area[0] <= covered <= area[1], (seed, covered)
        assert res.details["coverage"] == pytest.approx(covered, abs=1e-4)


def test_donor_fill_pastes_donor_texture(astronaut, astronaut_points):
    donor = np.full((12, 16, 3), (10, 200, 30), np.uint8)  # smaller than the patch: gets enlarged
    res = occlude(astronaut, astronaut_points, np.random.default_rng(0),
                  OccluderConfig(kinds=("patch",), patch_fills=("donor",)), donors=[donor])
    assert set(res.details["fills"]) == {"donor"}
    assert (res.image[res.mask] == (10, 200, 30)).all()


def test_config_rejects_unknown_names_and_bad_area():
    with pytest.raises(ValueError, match="kinds"):
        OccluderConfig(kinds=("scarf",))
    with pytest.raises(ValueError, match="patch_area"):
        OccluderConfig(patch_area=(0.5, 0.2))


def check_round_trip(list_path: Path, out: Path, root: Path | None = None) -> None:
    """Write an occluded copy twice (same seed) and check it reads back like the source."""
    source = read_image_list(list_path, root=root)
    new_list = write_occluded_copy(list_path, out / "a", seed=1, root=root)
    write_occluded_copy(list_path, out / "b", seed=1, root=root)
    assert (out / "a" / "occlusion.json").read_text() == (out / "b" / "occlusion.json").read_text()
    copy = read_image_list(new_list)
    flags, kinds = read_occlusion_flags(out / "a"), read_occlusion_kinds(out / "a")
    assert len(copy) == len(source) == len(flags)
    for src, rec in zip(source, copy):
        name = rec.image_path.relative_to(out / "a").as_posix()
        assert name == src.image_path.relative_to(root or list_path.parent).as_posix()
        np.testing.assert_allclose(rec.landmarks, src.landmarks, atol=1e-3)
        assert cv2.imread(str(rec.image_path)).shape[:2] == cv2.imread(str(src.image_path)).shape[:2]
        assert flags[name].shape == (68,) and flags[name].any() and kinds[name] in KINDS


def test_round_trip_on_a_tiny_list(tmp_path, astronaut, astronaut_points):
    src = tmp_path / "src" / "faces"
    src.mkdir(parents=True)
    for name, image in (("one.png", astronaut), ("two.jpg", astronaut[:, ::-1])):
        cv2.imwrite(str(src / name), cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
    write_pts(src / "one.pts", astronaut_points)
    write_pts(src / "two.pts", get_scheme("ibug68").flip(astronaut_points, astronaut.shape[1]))
    (tmp_path / "src" / "list.txt").write_text("faces/one.png\n# comment\nfaces/two.jpg\n")
    check_round_trip(tmp_path / "src" / "list.txt", tmp_path / "out")
    with pytest.raises(ValueError, match="overwrite"):
        write_occluded_copy(tmp_path / "src" / "list.txt", tmp_path / "src")


def test_select_keeps_only_the_chosen_records(tmp_path, astronaut, astronaut_points):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("one.png", "two.png"):
        cv2.imwrite(str(src / name), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
        write_pts(src / name.replace(".png", ".pts"), astronaut_points)
    (src / "list.txt").write_text("one.png\ntwo.png\n")
    copy = write_occluded_copy(src / "list.txt", tmp_path / "out", select=lambda records: records[1:])
    assert copy.read_text().split() == ["two.png"]
    assert list(read_occlusion_flags(copy.parent)) == ["two.png"]


def test_augmentation_paints_landmark_aware_occluders(astronaut, astronaut_points, astronaut_face_box):
    from facepoints.datasets.augment import AugmentConfig, augment_crop
    from facepoints.pipeline.crop import CropSpec

    spec, scheme, box = CropSpec(128, 1.25), get_scheme("ibug68"), np.asarray(astronaut_face_box, np.float32)
    still = dict(flip=0.0, grey=0.0, brightness_prob=0.0, occlusion=0.0)

    def crop(points=astronaut_points, **cfg):
        return augment_crop(astronaut, points, box, spec, scheme, AugmentConfig(**still, **cfg),
                            np.random.default_rng(5))

    plain, pts = crop()
    hand, pts_hand = crop(face_occluder=1.0)
    assert not np.array_equal(plain, hand) and np.array_equal(pts, pts_hand)
    missing = astronaut_points.copy()
    missing[3] = np.nan  # a withheld point: no landmark-aware occluder, nothing else changes
    assert np.array_equal(crop(missing, face_occluder=1.0)[0], plain)
    with pytest.raises(ValueError, match="kinds"):
        AugmentConfig(face_occluder=0.5, face_occluder_kinds=("scarf",))

    def covered(blocks: int) -> float:  # mean share of the crop the rectangles changed, over 12 draws
        def draw(seed: int, occlusion: float) -> np.ndarray:
            cfg = AugmentConfig(**{**still, "occlusion": occlusion}, occlusion_blocks=blocks)
            return augment_crop(astronaut, astronaut_points, box, spec, scheme, cfg, np.random.default_rng(seed))[0]
        return np.mean([(draw(seed, 1.0) != draw(seed, 0.0)).any(-1).mean() for seed in range(12)])

    assert covered(5) > 1.5 * covered(1) > 0


def test_round_trip_on_300w(tmp_path, data_root):
    root = data_root / "300W"
    if not (root / "test_common.txt").is_file():
        pytest.skip("300W test list not available")
    lines = [ln for ln in (root / "test_common.txt").read_text().splitlines() if ln.strip()][:5]
    (tmp_path / "small.txt").write_text("\n".join(lines) + "\n")
    check_round_trip(tmp_path / "small.txt", tmp_path / "out", root=root)


def test_sigma_report_on_a_hand_made_example():
    occluded = np.array([[True, True, False, False, False, False]])
    sigma = np.where(occluded, 2.0, 1.0)
    errors = np.array([[5.0, 6.0, 1.0, 2.0, 3.0, 4.0]])
    rep = sigma_report(errors, sigma, occluded)
    assert rep["points"] == 6 and rep["occluded_points"] == 2
    assert rep["sigma_occluded"] == 2 and rep["sigma_visible"] == 1 and rep["sigma_ratio"] == 2
    assert rep["error_occluded"] == 5.5 and rep["error_visible"] == 2.5
    assert rep["spearman_visible"] is None  # sigma is constant on visible points
    monotone = sigma_report(errors, errors ** 2 + 1, occluded)
    assert monotone["spearman"] == pytest.approx(1) and monotone["spearman_visible"] == pytest.approx(1)
    assert sigma_report(errors, -errors, None)["spearman"] == pytest.approx(-1)


def test_sigma_report_all_visible_nan_and_per_axis_sigma():
    errors = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]])
    per_axis = np.stack([np.full((2, 3), 3.0), np.full((2, 3), 4.0)], -1)
    np.testing.assert_allclose(point_sigma(per_axis), np.sqrt(12.5))
    rep = sigma_report(errors, per_axis, None)
    assert rep["points"] == 5 and rep["occluded_points"] == 0
    assert rep["sigma_ratio"] is None and rep["sigma_occluded"] is None and rep["error_occluded"] is None
    assert rep["sigma_visible"] == pytest.approx(np.sqrt(12.5)) and rep["spearman"] is None
    assert rep["sqdu_visible"] == pytest.approx(12.0) and rep["sqdu_ratio"] is None
    occluded = np.array([[True, False, False], [True, False, False]])
    wider = per_axis.copy()
    wider[:, 0] *= 2  # occluded points: twice the sigma on both axes, four times the SQDU
    rep = sigma_report(errors, wider, occluded)
    assert rep["sigma_ratio"] == pytest.approx(2.0) and rep["sqdu_ratio"] == pytest.approx(4.0)
    assert "sqdu_ratio" not in sigma_report(errors, point_sigma(per_axis), None)
    with pytest.raises(ValueError, match="shapes"):
        sigma_report(errors, np.ones((2, 4)), None)


def test_normalised_point_errors_reuses_nme_helpers():
    scheme = get_scheme("ibug68")
    gt = np.stack([scheme.mean_shape * 50 + 100, scheme.mean_shape * 80 + 200])
    pred = gt + np.array([3.0, 4.0])
    out = normalised_point_errors(pred, gt, "ibug68")
    np.testing.assert_allclose(out, per_point_errors(pred, gt) / normaliser(gt, scheme)[:, None])
    np.testing.assert_allclose(out[1] * normaliser(gt, scheme)[1], 5.0)
