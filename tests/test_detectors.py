"""Face detectors, their registry and box calibrations: real detectors on real images.

The test image is scikit-image's ``astronaut`` (NASA portrait of Eileen Collins, public
domain, 512x512 RGB); her face's landmark box spans about x 180-265, y 85-175.
The OpenCV Haar tests skip where the installed OpenCV has no cascade classifier or no
cascade file (plain opencv-python-headless 5 has neither): the skip reason says so.
"""
from __future__ import annotations

import json
import sys
import textwrap
import warnings

import numpy as np
import pytest

from facepoints.detectors import (Detection, DetectorUnavailableError, FaceDetector,
                                  create_detector, default_detector, list_detectors,
                                  register_detector, rescan_plugins, unregister_detector)
from facepoints.detectors.base import pixel_block_to_xyxy
from facepoints.detectors.dlib_hog import DlibHogDetector
from facepoints.geometry import box_iou
from facepoints.pipeline.box_calibration import BoxCalibration, load_calibration

skimage_data = pytest.importorskip("skimage.data")

DETECTORS = ["dlib_hog", "opencv_haar", "blazeface", "blazeface_full"]
# the astronaut's face: where a detector box centre must fall, and its side range
FACE_CX, FACE_CY, FACE_SIDE = (200, 245), (100, 140), (70, 130)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    image = skimage_data.astronaut()
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8
    return image


def _make(name: str, **kw) -> FaceDetector:
    try:
        return create_detector(name, **kw)
    except DetectorUnavailableError as exc:
        pytest.skip(f"{name} unavailable here: {exc}")


@pytest.fixture(scope="module", params=DETECTORS)
def detector(request) -> FaceDetector:
    return _make(request.param)


def _is_astronaut_face(det: Detection) -> bool:
    cx, cy = det.center
    return (FACE_CX[0] <= cx <= FACE_CX[1] and FACE_CY[0] <= cy <= FACE_CY[1]
            and FACE_SIDE[0] <= det.width <= FACE_SIDE[1]
            and FACE_SIDE[0] <= det.height <= FACE_SIDE[1])


# -- (a) the astronaut ---------------------------------------------------------------

@pytest.mark.parametrize("name, kw", [("dlib_hog", {"upsample": 0}), ("opencv_haar", {})])
def test_finds_exactly_the_astronaut_face(astronaut, name, kw):
    dets = _make(name, **kw).detect(astronaut)
    assert len(dets) == 1, dets
    assert _is_astronaut_face(dets[0]), dets[0]


def test_default_settings_rank_the_astronaut_face_first(astronaut, detector):
    # dlib with its default upsampling (1 for a 512-px image) also finds the round mission
    # patch on her suit (score ~0.12, near dlib's 0 threshold): the face must come first
    dets = detector.detect(astronaut)
    assert dets and _is_astronaut_face(dets[0]), dets
    assert all(d.score < 0.5 * dets[0].score for d in dets[1:]), dets
    assert [d.score for d in dets] == sorted((d.score for d in dets), reverse=True)


def test_dlib_upsampling_choice():
    det = DlibHogDetector()
    assert det.upsample_for((512, 512, 3)) == 1
    assert det.upsample_for((1000, 800, 3)) == 1
    assert det.upsample_for((1080, 1920, 3)) == 0
    assert DlibHogDetector(min_face_size=100).upsample_for((4000, 4000, 3)) == 0
    assert DlibHogDetector(min_face_size=40).upsample_for((4000, 4000, 3)) == 1
    assert DlibHogDetector(min_face_size=25).upsample_for((100, 100, 3)) == 2
    assert DlibHogDetector(upsample=0).upsample_for((100, 100, 3)) == 0
    with pytest.raises(ValueError):
        DlibHogDetector(upsample=-1)


@pytest.mark.parametrize("name", DETECTORS)
def test_min_face_size_drops_smaller_faces(astronaut, name):
    assert _make(name, min_face_size=200).detect(astronaut) == []


# -- (b) no faces ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["black", "grey", "noise"])
def test_no_face_in_blank_or_noise(detector, kind):
    rng = np.random.default_rng(0)
    image = {"black": np.zeros((256, 256, 3), np.uint8),
             "grey": np.full((300, 400, 3), 128, np.uint8),
             "noise": rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)}[kind]
    assert detector.detect(image) == []


# -- (c) boxes: float32 xyxy in the input image's pixels --------------------------------

def test_detection_box_is_float32_xyxy(astronaut, detector):
    det = detector.detect(astronaut)[0]
    assert isinstance(det, Detection) and isinstance(det.score, float)
    assert det.box.dtype == np.float32 and det.box.shape == (4,)
    assert det.box[2] > det.box[0] and det.box[3] > det.box[1]
    with pytest.raises(ValueError):
        det.box[0] = 0.0  # read-only


def test_boxes_follow_padding(astronaut, detector):
    base = detector.detect(astronaut)[0].box
    side = float(base[2] - base[0])
    # padding below / right leaves the scan grids as they were: the same box (BlazeFace scales
    # the whole image's shorter side to its input size, so there the scale changes: 4 % of the side)
    padded = np.pad(astronaut, ((0, 40), (0, 24), (0, 0)))
    same = detector.detect(padded)[0].box
    np.testing.assert_allclose(same, base, atol=0.04 * side if detector.name.startswith("blazeface") else 2.0)
    # padding above / left shifts the face: boxes shift with it, give or take the
    # detectors' grid steps (HOG cells, pyramid levels)
    for top, left in [(40, 24), (37, 50), (100, 13)]:
        padded = np.pad(astronaut, ((top, 11), (left, 29), (0, 0)))
        dets = detector.detect(padded)
        shifted = [d.box - np.array([left, top, left, top], np.float32) for d in dets]
        best = max(shifted, key=lambda b: box_iou(b[None], base[None])[0, 0])
        assert np.abs(best - base).max() <= 0.1 * side, (top, left, best, base)


def test_pixel_block_convention():
    # pixel centres are integers: the block of pixels 0..W-1 spans [-0.5, W - 0.5]
    box = pixel_block_to_xyxy(0, 0, 639, 479)
    assert box.dtype == np.float32
    np.testing.assert_array_equal(box, [-0.5, -0.5, 639.5, 479.5])
    assert box[2] - box[0] == 640  # width = number of pixels


@pytest.mark.parametrize("bad", [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 4), np.uint8),
                                 np.zeros((64, 64, 3), np.float32)])
def test_rejects_non_rgb_uint8(detector, bad):
    with pytest.raises(ValueError):
        detector.detect(bad)


# -- (d) registry ----------------------------------------------------------------------

class _CentreBox(FaceDetector):
    """A toy detector: one 'face' box in the image centre."""

    name = "centre_box"

    def __init__(self, fraction: float = 0.5) -> None:
        self.fraction = fraction

    def detect(self, image):
        h, w = image.shape[:2]
        fw, fh = w * self.fraction / 2, h * self.fraction / 2
        return [Detection([w / 2 - fw, h / 2 - fh, w / 2 + fw, h / 2 + fh], 1.0)]


def test_registry_lists_builtins_and_rejects_unknown_names():
    names = list_detectors()
    assert {"dlib_hog", "opencv_haar"} <= set(names)
    with pytest.raises(KeyError) as info:
        create_detector("nope")
    assert "nope" in str(info.value) and "dlib_hog" in str(info.value) and "opencv_haar" in str(info.value)


def test_register_a_custom_detector(astronaut):
    register_detector("centre_box", _CentreBox)
    try:
        assert "centre_box" in list_detectors()
        det = create_detector("centre_box", fraction=0.25)
        assert isinstance(det, _CentreBox) and det.fraction == 0.25
        np.testing.assert_allclose(det.detect(astronaut)[0].box, [192, 192, 320, 320])
        with pytest.raises(ValueError, match="already registered"):
            register_detector("centre_box", _CentreBox)
        register_detector("centre_box", lambda: _CentreBox(0.5), overwrite=True)
        assert create_detector("centre_box").fraction == 0.5
    finally:
        unregister_detector("centre_box")
    assert "centre_box" not in list_detectors()


def test_default_detector_is_blazeface():
    assert default_detector().name == "blazeface"
    assert default_detector(min_face_size=50).min_face_size == 50


def test_entry_point_plugins(tmp_path, monkeypatch, astronaut):
    """A real installed-package layout on sys.path: a good, a broken and a clashing plugin."""
    (tmp_path / "fp_plugin_demo.py").write_text(textwrap.dedent("""
        from facepoints.detectors import Detection, FaceDetector

        class Demo(FaceDetector):
            name = "demo"
            def detect(self, image):
                return [Detection([1, 2, 3, 4], 0.5)]
    """))
    dist = tmp_path / "fp_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fp-plugin-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[facepoints.detectors]\n"
        "demo = fp_plugin_demo:Demo\n"
        "broken = fp_plugin_missing_module:Nothing\n"
        "dlib_hog = fp_plugin_demo:Demo\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.warns(UserWarning, match="'dlib_hog' is already taken"):
            rescan_plugins()
        assert {"demo", "broken"} <= set(list_detectors())
        assert "fp_plugin_demo" not in sys.modules  # listed, not imported
        assert create_detector("demo").detect(astronaut)[0].score == 0.5
        with pytest.raises(DetectorUnavailableError, match="broken"):
            create_detector("broken")
        assert isinstance(create_detector("dlib_hog"), DlibHogDetector)  # built-in kept
    finally:
        monkeypatch.undo()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rescan_plugins()
        sys.modules.pop("fp_plugin_demo", None)
    assert "demo" not in list_detectors()


# -- (e) box calibration ---------------------------------------------------------------

def _synthetic_boxes(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    side = rng.uniform(30, 400, n)
    aspect = rng.uniform(0.9, 1.2, n)
    x0, y0 = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    return np.stack([x0, y0, x0 + side, y0 + side * aspect], 1).astype(np.float32)


def test_calibration_fit_recovers_a_known_mapping():
    truth = BoxCalibration("synthetic", offset_x=0.03, offset_y=0.12, scale_w=0.9, scale_h=1.15)
    det = _synthetic_boxes(600)
    tight = truth.apply(det)
    rng = np.random.default_rng(1)
    w = (det[:, 2] - det[:, 0])[:, None]
    tight = tight + rng.normal(0, 0.02, tight.shape).astype(np.float32) * w  # per-face noise
    bad = rng.choice(len(det), 60, replace=False)  # 10% wrong matches
    tight[bad] = _synthetic_boxes(60, seed=2)
    fit = BoxCalibration.fit(det, tight, detector="synthetic")
    assert fit.n_samples == 600
    assert fit.offset_x == pytest.approx(0.03, abs=0.01)
    assert fit.offset_y == pytest.approx(0.12, abs=0.01)
    assert fit.scale_w == pytest.approx(0.9, rel=0.02)
    assert fit.scale_h == pytest.approx(1.15, rel=0.02)
    assert 0 < fit.spread["offset_x"] < 0.1 and 0 < fit.spread["log_scale_h"] < 0.1
    # exact data: exact fit
    exact = BoxCalibration.fit(det, truth.apply(det))
    np.testing.assert_allclose(exact.apply(det), truth.apply(det), atol=1e-2)


def test_calibration_apply_and_json_round_trip():
    cal = BoxCalibration("x", 0.1, -0.2, 0.5, 2.0, {"offset_x": 0.05}, 10, {"command": "python t.py"})
    out = cal.apply([0, 0, 100, 50])
    assert out.dtype == np.float32 and out.shape == (1, 4)
    np.testing.assert_allclose(out[0], [35, -35, 85, 65])
    again = BoxCalibration.from_json(cal.to_json())
    assert again == cal
    assert json.loads(cal.to_json())["model"] == "centre_offset_scale/v1"
    assert BoxCalibration.identity("x").apply([[1, 2, 3, 4]]).tolist() == [[1, 2, 3, 4]]
    with pytest.raises(ValueError):
        BoxCalibration.fit(np.zeros((0, 4)), np.zeros((0, 4)))
    with pytest.raises(ValueError):
        BoxCalibration.fit(_synthetic_boxes(3), _synthetic_boxes(4))
    with pytest.raises(ValueError):
        BoxCalibration.from_dict({"model": "other", "detector": "x"})


def test_missing_calibration_is_identity_with_warning():
    with pytest.warns(UserWarning, match="no box calibration"):
        cal = load_calibration("no_such_detector")
    assert cal.is_identity and cal.detector == "no_such_detector"


# -- (f) shipped calibrations ------------------------------------------------------------

@pytest.mark.parametrize("name", DETECTORS)
def test_shipped_calibrations_are_sane(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing file would warn
        cal = load_calibration(name)
    assert cal.detector == name and not cal.is_identity
    assert 0.5 < cal.scale_w < 2 and 0.5 < cal.scale_h < 2
    assert abs(cal.offset_x) < 0.1 and 0 < cal.offset_y < 0.3  # landmark box centre lies lower
    assert cal.n_samples >= 1000 and cal.meta["detection_rate"] > 0.8
    assert cal.meta["median_iou_calibrated"] > cal.meta["median_iou_raw"]
    assert cal.meta["command"].startswith("python tools/fit_detector_calibration.py")


def test_calibrated_boxes_of_both_detectors_agree(astronaut):
    boxes = [load_calibration(name).apply(_make(name).detect(astronaut)[0].box)[0] for name in DETECTORS]
    assert box_iou(boxes[0][None], boxes[1][None])[0, 0] > 0.7, boxes


def test_haar_missing_backend_or_cascade_is_a_clear_error(tmp_path):
    with pytest.raises(DetectorUnavailableError, match="CascadeClassifier|cascade file"):
        create_detector("opencv_haar", cascade=str(tmp_path / "missing.xml"))
    with pytest.raises(DetectorUnavailableError, match="CascadeClassifier|not found"):
        create_detector("opencv_haar", cascade="haarcascade_no_such_file.xml")
