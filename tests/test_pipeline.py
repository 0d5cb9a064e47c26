"""Crops, decoding, augmentation and image loading on real pixel data."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from facepoints import get_scheme
from facepoints.datasets.augment import AugmentConfig, augment_crop
from facepoints.datasets.formats.pts import write_pts
from facepoints.datasets.image_list import read_image_list
from facepoints.datasets.landmark_dataset import EpochSampler, LandmarkDataset
from facepoints.datasets.records import FaceRecord
from facepoints.datasets.splits import split_records, split_train_val
from facepoints.geometry import (apply_affine, box_from_points, compose_affine, invert_affine,
                                 similarity_matrix)
from facepoints.pipeline.crop import CropSpec, crop_to_image, warp_crop
from facepoints.pipeline.decode import crops_for_boxes, decode_landmarks
from facepoints.pipeline.images import ImageError, as_rgb, load_image, to_rgb_uint8

SCHEME = get_scheme("ibug68")
SPEC = CropSpec(112, 1.25)
NO_PHOTOMETRIC = dict(grey=0.0, occlusion=0.0, brightness_prob=0.0)


def face_landmarks(box=(175.0, 75.0, 266.0, 167.0)) -> np.ndarray:
    """The scheme's mean shape placed so its tight box is ``box`` (a plausible 68-point face)."""
    x0, y0, x1, y1 = box
    half = max(x1 - x0, y1 - y0) / 2
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    return (SCHEME.mean_shape.astype(np.float64) * half + centre).astype(np.float32)


# --- geometry and crops -------------------------------------------------------------------------

@pytest.mark.parametrize("angle, scale, shift, shear, flip", [
    (0.0, 1.0, (0.0, 0.0), 0.0, False),
    (23.0, 1.1, (0.03, -0.02), 0.0, False),
    (-30.0, 0.95, (0.0, 0.04), 0.12, True),
])
def test_crop_matrix_round_trip(angle, scale, shift, shear, flip):
    pts = face_landmarks()
    m = SPEC.box_matrix(box_from_points(pts), angle, scale, shift, shear, flip)
    crop_pts = apply_affine(m, pts)
    np.testing.assert_allclose(crop_to_image(m, crop_pts), pts, atol=1e-3)
    np.testing.assert_allclose(compose_affine(invert_affine(m), m), [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    # network output -> image pixels: exact inverse of the image -> normalised mapping
    norm = SPEC.to_normalised(crop_pts)
    np.testing.assert_allclose(decode_landmarks(norm, m, SPEC), pts, atol=1e-3)


def test_invert_affine_is_exact_and_refuses_a_singular_matrix():
    m = np.array([[0.8, -0.3, 12.5], [0.4, 1.7, -3.0]])
    np.testing.assert_allclose(invert_affine(m)[:, :2], np.linalg.inv(m[:, :2]), rtol=1e-12)
    np.testing.assert_allclose(compose_affine(m, invert_affine(m)), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    for singular in (np.zeros((2, 3)), np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 1.0]]), np.full((2, 3), np.nan)):
        with pytest.raises(np.linalg.LinAlgError):
            invert_affine(singular)


def test_box_matrix_maps_box_to_crop_centre_and_margin():
    box = np.array([100.0, 50.0, 180.0, 150.0])  # w 80, h 100 -> side 125
    m = SPEC.box_matrix(box)
    half = (SPEC.size - 1) / 2
    np.testing.assert_allclose(apply_affine(m, [[140.0, 100.0]]), [[half, half]], atol=1e-4)
    side = 100 * SPEC.margin
    # the square of side margin * max(w, h) fills the crop, pixel edges to pixel edges
    corners = apply_affine(m, [[140 - side / 2, 100 - side / 2], [140 + side / 2, 100 + side / 2]])
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [SPEC.size - 0.5, SPEC.size - 0.5]], atol=1e-4)
    # and in network coordinates that is exactly [-1, 1]
    np.testing.assert_allclose(SPEC.to_normalised(corners), [[-1, -1], [1, 1]], atol=1e-6)


def test_normalise_denormalise_inverse():
    rng = np.random.default_rng(0)
    for size in (64, 112, 256):
        spec = CropSpec(size, 1.3)
        pts = rng.uniform(-5, size + 5, (50, 2)).astype(np.float32)
        np.testing.assert_allclose(spec.from_normalised(spec.to_normalised(pts)), pts, atol=1e-3)
        norm = rng.uniform(-1, 1, (50, 2)).astype(np.float32)
        np.testing.assert_allclose(spec.to_normalised(spec.from_normalised(norm)), norm, atol=1e-6)
        np.testing.assert_allclose(spec.to_normalised([[(size - 1) / 2] * 2]), [[0, 0]], atol=1e-7)


def test_mean_shape_in_crop_lies_inside_unit_square():
    for name in ("ibug68",):  # the schemes that ship a mean shape
        mean = get_scheme(name).mean_shape
        for margin in (1.0, 1.25, 1.5):
            inside = CropSpec(112, margin).mean_shape_in_crop(mean)
            assert inside.shape == mean.shape and inside.dtype == np.float32
            assert np.abs(inside).max() <= 1.0 / margin + 1e-5
            # the longer side of the tight box spans 2 / margin
            assert (inside.max(0) - inside.min(0)).max() == pytest.approx(2 / margin, abs=1e-4)


def test_warp_puts_a_pixel_where_the_matrix_says():
    """0-based pixel-centre convention: a dot at integer pixel (x, y) appears at M @ (x, y)."""
    image = np.zeros((200, 220, 3), np.uint8)
    image[40, 30] = 255  # x=30, y=40
    # box side 89.6 * 1.25 = 112 px (scale 1), centre (55.5, 65.5) -> integer translation
    box = np.array([55.5 - 44.8, 65.5 - 44.8, 55.5 + 44.8, 65.5 + 44.8])
    crops, (m,) = crops_for_boxes(image, box[None], SPEC)
    assert crops.shape == (1, 112, 112, 3) and crops.dtype == np.uint8
    np.testing.assert_allclose(m[:, :2], np.eye(2), atol=1e-9)
    ys, xs = np.nonzero(crops[0, ..., 0])
    assert (xs.tolist(), ys.tolist()) == ([30], [30])
    np.testing.assert_allclose(apply_affine(m, [[30, 40]]), [[30, 30]], atol=1e-4)


def test_similarity_matrix_rotates_counter_clockwise_on_screen():
    m = similarity_matrix((0.0, 0.0), 1.0, 90.0)
    # y points down: counter-clockwise on screen takes +x (right) to -y (up)
    np.testing.assert_allclose(apply_affine(m, [[1.0, 0.0]]), [[0.0, -1.0]], atol=1e-6)


# --- augmentation -------------------------------------------------------------------------------

def _dot_image(points: np.ndarray, shape=(260, 300), sigma=1.2) -> np.ndarray:
    """Black RGB image with a Gaussian white dot centred (sub-pixel) on each point."""
    yy, xx = np.mgrid[:shape[0], :shape[1]].astype(np.float64)
    img = np.zeros(shape, np.float64)
    for x, y in points:
        img = np.maximum(img, np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2)))
    grey = np.round(img * 255).astype(np.uint8)
    return np.dstack([grey] * 3)


def _dot_centroids(crop: np.ndarray) -> np.ndarray:
    grey = crop[..., 0].astype(np.float64)
    n, labels = cv2.connectedComponents((grey > 20).astype(np.uint8))
    out = []
    for k in range(1, n):
        ys, xs = np.nonzero(labels == k)
        w = grey[ys, xs]
        out.append([np.sum(xs * w) / w.sum(), np.sum(ys * w) / w.sum()])
    return np.asarray(out)


@pytest.mark.parametrize("seed", range(6))
def test_augmented_landmarks_follow_the_warped_pixels(seed):
    """Dots drawn at landmark positions land, after the fused augmentation warp, on the
    returned landmarks (within 1 px), with flipped points re-ordered by the scheme."""
    subset = [0, 8, 19, 30, 31, 36, 39, 48]  # no mirror pairs: a missing re-order cannot pass
    pts = face_landmarks((100.0, 80.0, 191.0, 172.0))
    image = _dot_image(pts[subset])
    cfg = AugmentConfig(flip=float(seed % 2), shear_prob=1.0, **NO_PHOTOMETRIC)
    crop, out = augment_crop(image, pts, box_from_points(pts), SPEC, SCHEME, cfg,
                             np.random.default_rng(seed))
    assert crop.shape == (112, 112, 3) and out.shape == (68, 2) and out.dtype == np.float32
    dots = _dot_centroids(crop)
    assert len(dots) == len(subset)
    perm = SCHEME.flip_permutation
    for k in subset:
        expected = out[perm[k]] if seed % 2 else out[k]  # where original point k went
        dist = np.linalg.norm(dots - expected, axis=1).min()
        assert dist < 1.0, f"landmark {k}: nearest dot {dist:.2f} px away (seed {seed})"


def test_flip_reorders_points_by_the_scheme_permutation():
    pts = face_landmarks()
    image = _dot_image(pts[[36, 45]], shape=(260, 320))
    still = dict(rotation_deg=0.0, scale=0.0, translation=0.0, box_jitter=0.0, shear_prob=0.0, **NO_PHOTOMETRIC)
    box = box_from_points(pts)
    crop0, p0 = augment_crop(image, pts, box, SPEC, SCHEME, AugmentConfig(flip=0.0, **still),
                             np.random.default_rng(0))
    crop1, p1 = augment_crop(image, pts, box, SPEC, SCHEME, AugmentConfig(flip=1.0, **still),
                             np.random.default_rng(0))
    # the picture is mirrored...
    assert np.abs(crop1.astype(int) - crop0[:, ::-1].astype(int)).mean() < 1.0
    # ...and the points mirrored and re-labelled: 36 (subject's right outer eye corner) stays
    # on the image's left of 45, the jaw still runs 0 -> 16 from image left to right
    np.testing.assert_allclose(p1, SCHEME.flip(p0, SPEC.size), atol=1e-3)
    assert p1[36, 0] < p1[45, 0] and p0[36, 0] < p0[45, 0]
    assert p1[0, 0] < p1[8, 0] < p1[16, 0]
    # the dot of image-left eye corner in the flipped crop is where p1[36] says
    dots = _dot_centroids(crop1)
    assert np.linalg.norm(dots - p1[36], axis=1).min() < 1.0
    assert np.linalg.norm(dots - p1[45], axis=1).min() < 1.0


def test_augmentation_is_seeded_and_deterministic(tmp_path, astronaut):
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), astronaut[..., ::-1])
    rec = FaceRecord(path, face_landmarks(), "ibug68")
    a = LandmarkDataset([rec, rec], SCHEME, SPEC, AugmentConfig(), seed=3)
    b = LandmarkDataset([rec, rec], SCHEME, SPEC, AugmentConfig(), seed=3, cache_images=False)
    for key in (0, 1, 5):  # key = epoch * len + index
        ia, ib = a[key], b[key]
        assert ia["image"].shape == (3, 112, 112) and ia["target"].shape == (68, 2)
        assert ia["index"] == key % 2
        assert np.array_equal(ia["image"].numpy(), ib["image"].numpy())
        assert np.array_equal(ia["target"].numpy(), ib["target"].numpy())
    # another epoch, index or seed draws another augmentation
    assert not np.array_equal(a[0]["target"].numpy(), a[2]["target"].numpy())
    assert not np.array_equal(a[0]["target"].numpy(), a[1]["target"].numpy())
    c = LandmarkDataset([rec, rec], SCHEME, SPEC, AugmentConfig(), seed=4)
    assert not np.array_equal(a[0]["target"].numpy(), c[0]["target"].numpy())


def test_dataset_without_augmentation_uses_the_tight_box(tmp_path, astronaut):
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), astronaut[..., ::-1])
    pts = face_landmarks()
    item = LandmarkDataset([FaceRecord(path, pts, "ibug68")], SCHEME, SPEC)[0]
    target = item["target"].numpy()
    m = SPEC.box_matrix(box_from_points(pts))
    np.testing.assert_allclose(target, SPEC.to_normalised(apply_affine(m, pts)), atol=1e-6)
    assert np.abs(target).max() == pytest.approx(1 / SPEC.margin, abs=0.02)
    np.testing.assert_array_equal(item["image"].numpy().transpose(1, 2, 0).astype(np.uint8),
                                  warp_crop(astronaut, m, SPEC.size))


def test_epoch_sampler_is_a_seeded_permutation():
    s = EpochSampler(7, seed=1)
    s.set_epoch(2)
    keys = list(s)
    assert sorted(keys) == list(range(14, 21))
    again = EpochSampler(7, seed=1)
    again.set_epoch(2)
    assert list(again) == keys
    again.set_epoch(3)
    assert [k - 21 for k in again] != [k - 14 for k in keys]
    assert list(EpochSampler(4, shuffle=False)) == [0, 1, 2, 3]


def test_split_is_independent_of_list_order():
    recs = [FaceRecord(f"/data/img_{i:03d}.jpg", np.zeros((68, 2)), "ibug68") for i in range(200)]
    tr, va = split_train_val(recs, 0.25)
    tr2, va2 = split_train_val(recs[::-1], 0.25)
    assert {r.image_path for r in va} == {r.image_path for r in va2}
    assert len(tr) + len(va) == 200 and 25 < len(va) < 75
    assert split_train_val(recs, 0.0)[1] == []
    assert split_records(recs, "val", 0.25) == va and split_records(recs, "train", 0.25) == tr
    assert split_records(recs, "all", 0.25) == recs
    with pytest.raises(ValueError, match="all, train or val"):
        split_records(recs, "test", 0.25)
    for bad in (-0.1, 1.5):  # a fraction outside 0..1 would silently empty or fill a part
        with pytest.raises(ValueError, match="from 0 to 1"):
            split_records(recs, "train", bad)


def test_image_list_reads_one_based_pts(tmp_path):
    (tmp_path / "sub").mkdir()
    pts = face_landmarks()
    write_pts(tmp_path / "sub" / "a.pts", pts)  # 1-based on disk
    cv2.imwrite(str(tmp_path / "sub" / "a.jpg"), np.zeros((20, 20, 3), np.uint8))
    (tmp_path / "list.txt").write_text("# comment\n\nsub/a.jpg\n")
    (rec,) = read_image_list(tmp_path / "list.txt")
    assert rec.image_path == tmp_path / "sub" / "a.jpg"
    np.testing.assert_allclose(rec.landmarks, pts, atol=1e-3)
    with pytest.raises(FileNotFoundError):
        read_image_list(tmp_path / "missing.txt")


# --- image loading ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_rgb(astronaut) -> np.ndarray:
    return np.ascontiguousarray(astronaut[60:124, 160:224])  # 64x64 RGB


def test_as_rgb_uint8_rgb_is_unchanged(small_rgb):
    out = as_rgb(small_rgb)
    assert out.dtype == np.uint8 and out.shape == (64, 64, 3)
    np.testing.assert_array_equal(out, small_rgb)
    np.testing.assert_array_equal(as_rgb(small_rgb[..., ::-1], "BGR"), small_rgb)
    np.testing.assert_array_equal(as_rgb(small_rgb[..., ::-1], "bgr"), small_rgb)


def test_as_rgb_uint16(small_rgb):
    np.testing.assert_array_equal(as_rgb(small_rgb.astype(np.uint16) * 257), small_rgb)
    full = as_rgb(np.full((16, 16), 65535, np.uint16))
    assert (full == 255).all() and full.shape == (16, 16, 3)


def test_as_rgb_float_in_unit_range(small_rgb):
    out = as_rgb(small_rgb.astype(np.float32) / 255.0)
    np.testing.assert_array_equal(out, small_rgb)
    out64 = as_rgb(small_rgb.astype(np.float64) / 255.0)
    np.testing.assert_array_equal(out64, small_rgb)
    with pytest.raises(ImageError, match="NaN"):
        as_rgb(np.full((16, 16, 3), np.nan, np.float32))


def test_as_rgb_bool_and_single_channel():
    mask = np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True
    out = as_rgb(mask)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    assert set(np.unique(out)) == {0, 255} and (out[5, 5] == 255).all() and (out[0, 0] == 0).all()
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    a, b = as_rgb(grey[..., None]), as_rgb(grey)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[..., 0], grey)
    np.testing.assert_array_equal(a[..., 2], grey)


def test_as_rgb_bgra_and_rgba(small_rgb):
    alpha = np.full(small_rgb.shape[:2], 255, np.uint8)
    alpha[:8] = 0  # transparent rows -> white
    alpha[8:16] = 128  # half transparent -> halfway to white
    bgra = np.dstack([small_rgb[..., ::-1], alpha])
    out = as_rgb(bgra, "BGR")
    np.testing.assert_array_equal(out[16:], small_rgb[16:])
    assert (out[:8] == 255).all()
    half = small_rgb[8:16].astype(np.float32) * 128 / 255 + 255 * 127 / 255
    assert np.abs(out[8:16].astype(np.float32) - half).max() <= 1.0
    rgba = np.dstack([small_rgb, alpha])
    np.testing.assert_array_equal(as_rgb(rgba), out)


def test_as_rgb_pil_modes(small_rgb):
    pil = Image.fromarray(small_rgb)
    np.testing.assert_array_equal(as_rgb(pil), small_rgb)
    assert as_rgb(pil.convert("L")).shape == (64, 64, 3)
    np.testing.assert_array_equal(as_rgb(pil.convert("RGBA")), small_rgb)
    np.testing.assert_array_equal(as_rgb(pil.convert("LA")), as_rgb(pil.convert("L")))
    assert as_rgb(pil.convert("P")).shape == (64, 64, 3)
    assert as_rgb(pil.convert("CMYK")).shape == (64, 64, 3)
    assert as_rgb(pil.convert("1")).shape == (64, 64, 3)


def test_as_rgb_rejects_bad_shapes():
    with pytest.raises(ImageError, match="shape"):
        as_rgb(np.zeros((16, 16, 2), np.uint8))
    with pytest.raises(ImageError, match="shape"):
        as_rgb(np.zeros((2, 16, 16, 3), np.uint8))
    with pytest.raises(ImageError, match="empty"):
        as_rgb(np.zeros((0, 16, 3), np.uint8))
    with pytest.raises(ImageError, match="too small"):
        to_rgb_uint8(np.zeros((4, 100, 3), np.uint8))


def test_load_image_formats_agree(tmp_path, small_rgb):
    bgr = small_rgb[..., ::-1]
    for suffix in (".png", ".bmp", ".tif", ".ppm", ".webp"):
        path = tmp_path / f"img{suffix}"
        params = [cv2.IMWRITE_WEBP_QUALITY, 101] if suffix == ".webp" else []  # lossless webp
        assert cv2.imwrite(str(path), bgr, params)
        np.testing.assert_array_equal(load_image(path), small_rgb, err_msg=suffix)
    jpg = tmp_path / "img.jpg"
    cv2.imwrite(str(jpg), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert np.abs(load_image(jpg).astype(int) - small_rgb).mean() < 4  # lossy, but RGB order


@pytest.mark.parametrize("orientation", range(1, 9))
def test_load_image_applies_exif_orientation(tmp_path, orientation):
    """Regression: phone photos with an EXIF rotation were processed sideways."""
    from PIL import Image, ImageOps

    from facepoints.pipeline.images import load_image

    stored = np.zeros((20, 40, 3), np.uint8)
    stored[2:5, 30:35] = 255
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "rotated.png"
    image.save(path, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    np.testing.assert_array_equal(load_image(path), expected)
