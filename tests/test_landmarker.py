"""``Landmarker`` behaviour on real images written in real formats (no mocks).

The shipped model is a work-in-progress checkpoint that will be replaced: tests check sane,
model-independent behaviour (same input -> same output, points near the face, exact geometric
equivariances), never a particular accuracy.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

import facepoints
from facepoints import Face, Landmarker
from facepoints.geometry import box_iou
from facepoints.pipeline.images import ImageError
from facepoints.registry import WeightsError, get_card, sha256_of, weights_path
from facepoints.registry.card import ModelCard, verified_path


def _face_near(faces: list[Face], box: np.ndarray) -> Face:
    """The face whose box overlaps ``box`` most (IoU > 0.4 required)."""
    assert faces, "no face found"
    ious = box_iou(np.stack([f.box for f in faces]), np.asarray(box)[None])[:, 0]
    assert ious.max() > 0.4, f"no face near {box}: boxes {[f.box.tolist() for f in faces]}"
    return faces[int(ious.argmax())]


def _interocular(points: np.ndarray) -> float:
    scheme = facepoints.get_scheme("ibug68")
    return float(scheme.normaliser(points, "interocular"))


def _mean_dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - b, axis=-1).mean())


def _write_png(path, rgb_or_grey: np.ndarray) -> str:
    """Write with cv2 (BGR channel order on disk for colour images)."""
    arr = rgb_or_grey
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)
    assert cv2.imwrite(str(path), arr)
    return str(path)


@pytest.fixture(scope="module")
def detected(landmarker, astronaut) -> list[Face]:
    """The detector + model on the astronaut, computed once."""
    return landmarker(astronaut)


@pytest.fixture(scope="module")
def reference(landmarker, astronaut, astronaut_face_box) -> Face:
    """Landmarks for the astronaut's face with an explicit box (no detector), computed once."""
    (face,) = landmarker(astronaut, boxes=[astronaut_face_box])
    return face


# --- results ------------------------------------------------------------------------------------

def test_detector_finds_the_astronaut_with_68_points(detected, astronaut_face_box):
    assert isinstance(detected, list)
    face = _face_near(detected, astronaut_face_box)
    assert isinstance(face, Face)
    assert face.box.dtype == np.float32 and face.box.shape == (4,)
    assert face.landmarks.dtype == np.float32 and face.landmarks.shape == (68, 2)
    assert face.sigma is None
    assert face.scheme == "ibug68"
    assert isinstance(face.score, float)
    assert face.box_source != "given"
    assert np.isfinite(face.landmarks).all()
    # every point within the face box grown by a quarter of its side
    x0, y0, x1, y1 = face.box
    pad = 0.25 * max(x1 - x0, y1 - y0)
    assert (face.landmarks[:, 0] > x0 - pad).all() and (face.landmarks[:, 0] < x1 + pad).all()
    assert (face.landmarks[:, 1] > y0 - pad).all() and (face.landmarks[:, 1] < y1 + pad).all()
    # JSON-friendly
    d = json.loads(json.dumps(face.to_dict()))
    assert len(d["landmarks"]) == 68 and d["scheme"] == "ibug68"


def test_landmarks_are_anatomically_ordered(reference):
    """Subject's right eye (36-41) is left of the left eye (42-47) in the image; eyes above
    the nose tip (30), nose tip above the mouth (48-67), mouth above the chin (8)."""
    pts = reference.landmarks
    assert pts[36:42, 0].mean() < pts[42:48, 0].mean()
    assert pts[36, 0] < pts[45, 0]
    assert pts[36:48, 1].mean() < pts[30, 1] < pts[48:68, 1].mean() < pts[8, 1]


def test_explicit_box_skips_detector_and_points_lie_near_it(astronaut, astronaut_face_box):
    lm = Landmarker(detector=None, threads=1)  # no detector at all: boxes must suffice
    (face,) = lm(astronaut, boxes=astronaut_face_box)  # a single (4,) box is accepted
    assert face.box_source == "given" and face.score == 1.0
    np.testing.assert_array_equal(face.box, astronaut_face_box)
    x0, y0, x1, y1 = astronaut_face_box
    side = max(x1 - x0, y1 - y0)
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    assert np.abs(face.landmarks.mean(axis=0) - centre).max() < 0.25 * side
    assert (np.abs(face.landmarks - centre) < 0.5 * side * 1.25).all()  # inside the crop
    with pytest.raises(ValueError, match="no face detector"):
        lm(astronaut)


def test_two_boxes_give_two_faces_in_order(landmarker, astronaut, astronaut_face_box, reference):
    other = np.array([300, 300, 400, 400], np.float32)
    faces = landmarker(astronaut, boxes=np.stack([astronaut_face_box, other]))
    assert [f.box.tolist() for f in faces] == [astronaut_face_box.tolist(), other.tolist()]
    np.testing.assert_allclose(faces[0].landmarks, reference.landmarks, atol=1e-3)


def test_empty_boxes_give_empty_list(landmarker, astronaut):
    assert landmarker(astronaut, boxes=[]) == []
    assert landmarker(astronaut, boxes=np.zeros((0, 4))) == []


def test_blank_image_gives_empty_list_not_none(landmarker):
    for blank in (np.zeros((240, 320, 3), np.uint8), np.full((240, 320, 3), 255, np.uint8)):
        faces = landmarker(blank)
        assert faces == [] and isinstance(faces, list)


# --- input kinds --------------------------------------------------------------------------------

def test_path_numpy_bgr_and_pil_inputs_agree(landmarker, astronaut, tmp_path, detected, astronaut_face_box):
    path = _write_png(tmp_path / "astronaut.png", astronaut)
    ref = _face_near(detected, astronaut_face_box)
    variants = {
        "str path": landmarker(path),
        "Path": landmarker(tmp_path / "astronaut.png"),
        "BGR array": landmarker(np.ascontiguousarray(astronaut[..., ::-1]), color_order="BGR"),
        "PIL": landmarker(Image.open(path)),
    }
    for name, faces in variants.items():
        face = _face_near(faces, astronaut_face_box)
        assert len(faces) == len(detected), name
        np.testing.assert_allclose(face.box, ref.box, atol=1e-4, err_msg=name)
        np.testing.assert_allclose(face.landmarks, ref.landmarks, atol=1e-3, err_msg=name)


def test_color_order_bgr_equals_rgb_of_flipped_channels(landmarker, astronaut, astronaut_face_box):
    box = [astronaut_face_box]
    swapped = np.ascontiguousarray(astronaut[..., ::-1])
    a = landmarker(astronaut, boxes=box, color_order="RGB")[0].landmarks
    b = landmarker(swapped, boxes=box, color_order="BGR")[0].landmarks
    np.testing.assert_array_equal(a, b)
    # and the colour order matters: the channel-swapped image read as RGB is a different input
    c = landmarker(swapped, boxes=box, color_order="RGB")[0].landmarks
    assert not np.array_equal(a, c)
    with pytest.raises(ValueError, match="color_order"):
        landmarker(astronaut, boxes=box, color_order="BRG")


def test_non_contiguous_array_view(landmarker, astronaut, astronaut_face_box, reference):
    big = np.zeros((512, 1024, 3), np.uint8)
    big[:, ::2] = astronaut
    view = big[:, ::2]  # strided view of the same pixels
    assert not view.flags.c_contiguous
    (face,) = landmarker(view, boxes=[astronaut_face_box])
    np.testing.assert_allclose(face.landmarks, reference.landmarks, atol=1e-3)


def test_rgba_png_with_transparent_corner(landmarker, astronaut, astronaut_face_box, reference, tmp_path):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[400:, 400:, 3] = 0  # transparent corner far from the face
    path = _write_png(tmp_path / "rgba.png", rgba)
    (face,) = landmarker(path, boxes=[astronaut_face_box])
    np.testing.assert_allclose(face.landmarks, reference.landmarks, atol=1e-3)  # channel order kept
    assert landmarker(path) != []  # and the detector runs on it


def test_16bit_colour_png_equals_8bit(landmarker, astronaut, astronaut_face_box, reference, tmp_path):
    path = _write_png(tmp_path / "rgb16.png", astronaut.astype(np.uint16) * 257)
    assert cv2.imread(path, cv2.IMREAD_UNCHANGED).dtype == np.uint16
    (face,) = landmarker(path, boxes=[astronaut_face_box])
    np.testing.assert_allclose(face.landmarks, reference.landmarks, atol=1e-3)


def test_grey_8bit_and_16bit_pngs_are_close_to_colour(landmarker, astronaut, astronaut_face_box, reference,
                                                      tmp_path):
    grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    p8 = _write_png(tmp_path / "grey8.png", grey)
    p16 = _write_png(tmp_path / "grey16.png", grey.astype(np.uint16) * 257)
    (g8,) = landmarker(p8, boxes=[astronaut_face_box])
    (g16,) = landmarker(p16, boxes=[astronaut_face_box])
    (pil16,) = landmarker(Image.open(p16), boxes=[astronaut_face_box])  # PIL mode I;16
    np.testing.assert_allclose(g16.landmarks, g8.landmarks, atol=1e-3)
    np.testing.assert_allclose(pil16.landmarks, g8.landmarks, atol=1e-3)
    # greyscale loses colour only: landmarks within 8 % of the inter-ocular distance
    assert _mean_dist(g8.landmarks, reference.landmarks) < 0.08 * _interocular(reference.landmarks)
    faces = landmarker(p8)  # the detector works on grey input too
    _face_near(faces, astronaut_face_box)


def test_padding_top_left_shifts_landmarks_by_the_offset(landmarker, astronaut, astronaut_face_box, reference):
    dx, dy = 7, 13
    padded = np.zeros((astronaut.shape[0] + dy, astronaut.shape[1] + dx, 3), np.uint8)
    padded[dy:, dx:] = astronaut
    (face,) = landmarker(padded, boxes=[astronaut_face_box + np.array([dx, dy, dx, dy], np.float32)])
    np.testing.assert_allclose(face.landmarks - reference.landmarks, np.broadcast_to([dx, dy], (68, 2)),
                               atol=1e-3)


def test_torch_and_onnx_backends_agree(astronaut, astronaut_face_box, reference, landmarker):
    if landmarker.runtime.name != "onnx":
        pytest.skip("ONNX Runtime is not installed")
    torch_lm = Landmarker(detector=None, backend="torch", threads=1)
    (face,) = torch_lm(astronaut, boxes=[astronaut_face_box])
    np.testing.assert_allclose(face.landmarks, reference.landmarks, atol=0.05)


# --- bad input ----------------------------------------------------------------------------------

def test_missing_path(landmarker, tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        landmarker(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="no such file"):
        landmarker(str(tmp_path / "nope.jpg"))


def test_text_file_named_jpg(landmarker, tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not an image\n" * 20)
    with pytest.raises(ImageError, match="not a readable image"):
        landmarker(path)


def test_truncated_jpeg(landmarker, astronaut, tmp_path):
    ok, buf = cv2.imencode(".jpg", astronaut)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.tobytes()[:200])  # header only
    with pytest.raises(ImageError):
        landmarker(path)


def test_empty_file(landmarker, tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        landmarker(path)


def test_tiny_image(landmarker, tmp_path):
    path = _write_png(tmp_path / "one.png", np.full((1, 1, 3), 128, np.uint8))
    with pytest.raises(ImageError, match="too small"):
        landmarker(path)
    with pytest.raises(ImageError, match="too small"):
        landmarker(np.zeros((1, 1, 3), np.uint8))


def test_folder_path(landmarker, tmp_path):
    with pytest.raises(ImageError, match="folder"):
        landmarker(tmp_path)


def test_unsupported_input_type(landmarker):
    with pytest.raises(TypeError, match="a path, image file bytes, a numpy array or a PIL image"):
        landmarker(12345)


@pytest.mark.parametrize("boxes, message", [
    ([[100, 100, 50, 200]], "x1 > x0"),
    ([[100, 100, 200, 100]], "y1 > y0"),
    ([[1, 2, 3]], "shape"),
    ([[1, 2, 3, 4, 5]], "shape"),
    (np.zeros((1, 2, 4)), "shape"),
    ([[np.nan, 10, 100, 100]], "NaN"),
    ([[0, 0, np.inf, 100]], "NaN or infinity"),
])
def test_invalid_boxes_raise_value_error(landmarker, astronaut, boxes, message):
    with pytest.raises(ValueError, match=message):
        landmarker(astronaut, boxes=boxes)


def test_unknown_model_lists_known_ones():
    with pytest.raises(KeyError, match="atpn_lite0_68") as info:
        Landmarker("no_such_model")
    assert "no_such_model" in str(info.value)


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        Landmarker(backend="tensorflow", detector=None)


# --- weights verification -----------------------------------------------------------------------

def _fake_card(sha: str) -> ModelCard:
    return ModelCard(name="fake", architecture="atpn", config={}, scheme="ibug68", crop={},
                     weights={"torch": {"file": "fake.pt", "sha256": sha}})


def test_verified_path_accepts_matching_file(tmp_path):
    path = tmp_path / "fake.pt"
    path.write_bytes(b"good weights")
    assert verified_path(_fake_card(sha256_of(path)), path, "torch") == path


def test_verified_path_rejects_corrupt_file(tmp_path):
    path = tmp_path / "fake.pt"
    path.write_bytes(b"good weights")
    card = _fake_card(sha256_of(path))
    path.write_bytes(b"good weightz")  # one byte flipped
    with pytest.raises(WeightsError, match="does not match"):
        verified_path(card, path, "torch")


def test_verified_path_rejects_missing_file(tmp_path):
    with pytest.raises(WeightsError, match="missing"):
        verified_path(_fake_card("0" * 64), tmp_path / "gone.pt", "torch")


def test_shipped_weights_verify():
    card = get_card("atpn_lite0_68")
    for runtime in card.weights:
        assert weights_path(card, runtime).is_file()
    with pytest.raises(WeightsError, match="ships no"):
        weights_path(card, "tflite")


def test_huge_image_is_detected_whole_and_landmarks_scale(landmarker, astronaut):
    """A 4096 px photo: the detector searches it whole (no hidden downscaling; its
    min_face_size sets the search), landmarks land at full resolution."""
    big = cv2.resize(astronaut, (4096, 4096), interpolation=cv2.INTER_LINEAR)
    small_faces = landmarker(astronaut)
    big_faces = landmarker(big)
    assert small_faces and big_faces
    first_small = small_faces[0]
    first_big = big_faces[0]
    # same face, 8x the coordinates (continuous coordinates scale about (-0.5, -0.5))
    expected = (first_small.landmarks + 0.5) * 8 - 0.5
    err = np.linalg.norm(first_big.landmarks - expected, axis=1).mean()
    assert err < 0.05 * (first_big.box[2] - first_big.box[0])


def test_min_face_size_reaches_the_detector_and_is_checked():
    lm = Landmarker(min_face_size=40, threads=1)
    assert lm.detector.min_face_size == 40
    with pytest.raises(ValueError, match="min_face_size must be positive"):
        Landmarker(min_face_size=0)


def test_flip_test_is_exactly_mirror_equivariant(astronaut, astronaut_face_box):
    """With flip_test the prediction on a mirrored photo is the mirrored prediction (points re-ordered)."""
    lm = Landmarker(detector=None, flip_test=True)
    width = astronaut.shape[1]
    box = np.asarray(astronaut_face_box, np.float32)
    mirrored_box = np.array([width - 1 - box[2], box[1], width - 1 - box[0], box[3]], np.float32)
    original = lm(astronaut, boxes=[box])[0].landmarks
    mirrored = lm(np.ascontiguousarray(astronaut[:, ::-1]), boxes=[mirrored_box])[0].landmarks
    back = lm.scheme.flip(mirrored, width)
    np.testing.assert_allclose(back, original, atol=1e-2)
    plain = Landmarker(detector=None)(astronaut, boxes=[box])[0].landmarks
    assert np.abs(plain - original).max() < 0.1 * (box[2] - box[0])  # an average, not something else


def test_detector_false_positives_are_dropped_by_the_face_confidence(astronaut):
    """Regression: dlib also 'finds' the round mission patch on the suit (detector score ~0.1);
    the shipped model's face-confidence branch rejects it, and explicit boxes are never dropped."""
    pytest.importorskip("dlib")
    lm = Landmarker(detector="dlib_hog")
    faces = lm(astronaut)
    assert len(faces) == 1 and faces[0].confidence >= 0.5
    raw = lm._detect_faces(astronaut)
    assert len(raw) == 2  # what the detector alone reports on this photo
    patch = [d.box for d in raw if d.box[1] > 250]
    kept = lm(astronaut, boxes=patch)
    assert len(kept) == 1 and kept[0].confidence < 0.5
    assert len(Landmarker(detector="dlib_hog", min_confidence=0.0)(astronaut)) == 2


def test_face_json_numbers_are_short(astronaut):
    """Regression: float32 values leaked as 181.11000061035156 into the JSON."""
    import json
    import re

    face = Landmarker()(astronaut)[0]
    text = json.dumps(face.to_dict())
    assert not re.search(r"\d\.\d{5,}", text), text[:200]


@pytest.mark.parametrize("kind", ["face_mask", "patch", "hand"])
def test_the_face_check_accepts_a_covered_face(astronaut, kind):
    """Regression (issue 14, third round): the face-confidence branch once rejected half of the
    masked faces, so the pipeline kept them only on the detector's say-so; now the check itself
    accepts them (the detector's ``certain_score`` override is not needed)."""
    from facepoints.datasets.occlusion import OccluderConfig, occlude

    lm = Landmarker(threads=1)
    (face,) = lm(astronaut)
    covered = occlude(astronaut, face.landmarks, np.random.default_rng(0), OccluderConfig(kinds=(kind,))).image
    (found,) = lm(covered)
    assert found.confidence >= 0.5
    iod = np.linalg.norm(face.landmarks[36:42].mean(0) - face.landmarks[42:48].mean(0))
    assert np.linalg.norm(found.landmarks - face.landmarks, axis=1).mean() < 0.15 * iod


@pytest.mark.parametrize("bad", [-1.0, 1.5, float("nan")])
def test_min_confidence_outside_zero_to_one_is_refused(bad):
    """Hostile input found in review: a negative threshold was accepted and silently kept everything."""
    with pytest.raises(ValueError, match="min_confidence"):
        Landmarker(threads=1, min_confidence=bad)
