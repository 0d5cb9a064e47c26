"""BlazeFace detector: the shipped ONNX files (sha256, reproducible conversion, parity with the
original .tflite in LiteRT on real photos), decoding, weighted NMS, keypoints, several faces,
and the image pyramid finding a small face in a large photo.

Photos: scikit-image's astronaut (NASA, public domain) and its other sample photos
(coffee, cat, rocket), cut and pasted into larger pictures here.
"""
from __future__ import annotations

import hashlib
import importlib.util
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest

from facepoints.detectors import Detection, create_detector, list_detectors
from facepoints.detectors.blazeface import (MIN_NET_FACE, MODELS, BlazeFaceDetector, decode,
                                            letterbox, model_card, ssd_anchors)
from facepoints.detectors.nms import non_max_suppression

skd = pytest.importorskip("skimage.data")

REPO = Path(__file__).resolve().parents[1]
TFLITE = {"short": REPO / "tests/data/blazeface/face_detection_short_range.tflite",
          "full": REPO / "tests/data/blazeface/face_detection_full_range_sparse.tflite"}
FACE = (175.0, 75.0, 266.0, 167.0)  # the astronaut's face, loosely


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(skd.astronaut())


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def detectors() -> dict[str, BlazeFaceDetector]:
    return {m: BlazeFaceDetector(m, threads=1) for m in MODELS}


def _scene(width: int, height: int) -> np.ndarray:
    """A face-free picture of the given size, tiled from scikit-image's photos."""
    photos = [skd.coffee(), skd.chelsea(), skd.rocket()]
    out = np.zeros((height, width, 3), np.uint8)
    step = 400
    for k, (y, x) in enumerate((y, x) for y in range(0, height, step) for x in range(0, width, step)):
        tile = cv2.resize(photos[k % 3], (step, step), interpolation=cv2.INTER_AREA)
        out[y:y + step, x:x + step] = tile[:min(step, height - y), :min(step, width - x)]
    return out


def _four_faces(astronaut: np.ndarray) -> np.ndarray:
    """320 x 320: the astronaut's face (~95 px) twice as is and twice mirrored, in a 2 x 2 grid."""
    face = astronaut[50:210, 140:300]
    return np.concatenate([np.concatenate([face, face[:, ::-1]], 1),
                           np.concatenate([face[:, ::-1], face], 1)], 0)


# -- shipped files ---------------------------------------------------------------------

def test_shipped_onnx_matches_its_card(model):
    card = model_card(model)
    data = resources.files("facepoints.detectors").joinpath("models", card["onnx_file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == card["onnx_sha256"]
    assert len(data) == card["onnx_bytes"] < 4_000_000
    assert card["input_size"] == MODELS[model].input_size
    assert card["source"]["package"] == "mediapipe" and "Apache" in card["source"]["licence"]
    assert "Apache-2.0" in card["licence"]
    assert hashlib.sha256(TFLITE[model].read_bytes()).hexdigest() == card["source"]["tflite_sha256"]
    assert max(card["parity_max_abs_diff"].values()) < 1e-3
    assert "NOTICE" in card["licence"] and (REPO / "NOTICE").is_file()


def test_conversion_reproduces_the_shipped_onnx(model):
    """tools/convert_blazeface.py on the original .tflite gives the shipped graph and weights."""
    pytest.importorskip("tflite")
    onnx = pytest.importorskip("onnx")
    spec = importlib.util.spec_from_file_location("convert_blazeface", REPO / "tools/convert_blazeface.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    converted = tool.convert(TFLITE[model].read_bytes())
    shipped = onnx.load_from_string(
        resources.files("facepoints.detectors").joinpath("models", f"blazeface_{model}.onnx").read_bytes())
    assert converted.graph == shipped.graph  # the same nodes, attributes and weights (bytes may
    # differ with another onnx version's serialiser; the sha256 test pins the shipped file)


# -- parity with the original in LiteRT --------------------------------------------------

def _tflite_detect(model: str, image: np.ndarray, detector: BlazeFaceDetector) -> list[Detection]:
    """The original .tflite in LiteRT, with the same letterbox, decoding and NMS."""
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=str(TFLITE[model]), num_threads=1)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    outs = {tuple(o["shape"])[-1]: o["index"] for o in interp.get_output_details()}
    net, scale, pad = letterbox(image, MODELS[model].input_size)
    interp.set_tensor(inp["index"], (net.astype(np.float32) / 127.5 - 1.0)[None])
    interp.invoke()
    b, s, k = decode(interp.get_tensor(outs[16])[0], interp.get_tensor(outs[1])[0],
                     ssd_anchors(model), detector.score_threshold)
    b = (b.reshape(-1, 2, 2) - pad) / scale - 0.5
    boxes, scores, points = non_max_suppression(b.reshape(-1, 4), s, detector.nms_threshold,
                                                extras=(k - pad) / scale - 0.5)
    return [Detection(*x) for x in zip(boxes, scores, points)]


def test_parity_with_the_original_tflite_on_real_photos(model, detectors, astronaut):
    pytest.importorskip("ai_edge_litert.interpreter")
    face = astronaut[40:300, 100:360]
    photos = {"astronaut": astronaut, "face crop": face, "four faces": _four_faces(astronaut),
              "grey astronaut": np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[..., None], 3, 2),
              "coffee": skd.coffee(), "cat": skd.chelsea()}
    found = 0
    letterbox_pass = BlazeFaceDetector(model, whole_image="letterbox", threads=1)  # MediaPipe's
    for name, image in photos.items():
        ours = letterbox_pass.detect(image)
        ref = _tflite_detect(model, image, detectors[model])
        assert len(ours) == len(ref), (name, ours, ref)
        for a, b in zip(ours, ref):
            assert np.abs(a.box - b.box).max() <= 1.0, (name, a, b)
            assert np.abs(a.keypoints - b.keypoints).max() <= 1.0, name
            assert abs(a.score - b.score) < 1e-3, name
        found += len(ours)
    assert found >= 4  # the parity is on real detections, not on empty lists


# -- decoding, keypoints, several faces --------------------------------------------------

def test_anchors_match_the_network_outputs(model, detectors):
    spec = MODELS[model]
    reg, logits = detectors[model].run_network(np.zeros((2, spec.input_size, spec.input_size, 3), np.uint8))
    assert reg.shape == (2, len(ssd_anchors(model)), 16) and logits.shape == (2, len(ssd_anchors(model)), 1)
    assert len(ssd_anchors(model)) == {"short": 896, "full": 2304}[model]
    # fully convolutional: a 64 x 96 (short) / 64 x 128 (full) input has the anchors of its grid
    h, w = 4 * spec.multiple, 6 * spec.multiple
    reg, _ = detectors[model].run_network(np.zeros((1, h, w, 3), np.uint8))
    assert reg.shape[1] == len(ssd_anchors(model, h, w))


def test_decode_maps_offsets_around_anchors():
    anchors = np.array([[8.0, 8.0], [24.0, 8.0]])
    reg = np.zeros((2, 16), np.float32)
    reg[1, :4] = [2, -1, 10, 12]
    reg[1, 4:] = np.arange(12)
    boxes, scores, points = decode(reg, np.array([-5.0, 5.0]), anchors, 0.5)
    np.testing.assert_allclose(boxes, [[21, 1, 31, 13]])
    np.testing.assert_allclose(scores, [1 / (1 + np.exp(-5))])
    np.testing.assert_allclose(points[0], np.arange(12).reshape(6, 2) + [24, 8])


def test_astronaut_box_and_keypoints(model, detectors, astronaut):
    dets = detectors[model].detect(astronaut)
    assert len(dets) == 1
    det = dets[0]
    assert det.box.dtype == np.float32 and det.keypoints.shape == (6, 2) and det.score > 0.8
    cx, cy = det.center
    assert FACE[0] < cx < FACE[2] and FACE[1] < cy < FACE[3] and 70 < det.width < 130
    right_eye, left_eye, nose, mouth = det.keypoints[:4]
    assert right_eye[0] < nose[0] < left_eye[0]  # the subject's right eye is on the image's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]
    assert 30 < np.linalg.norm(left_eye - right_eye) < 60


def test_several_faces_and_flip(model, detectors, astronaut):
    dets = detectors[model].detect(_four_faces(astronaut))
    assert len(dets) == 4, dets
    centres = sorted(tuple((d.center // 160).astype(int)) for d in dets)
    assert centres == [(0, 0), (0, 1), (1, 0), (1, 1)]
    # a mirrored photo: the box mirrors too
    single = detectors[model].detect(astronaut)[0].box
    mirrored = detectors[model].detect(np.ascontiguousarray(astronaut[:, ::-1]))[0].box
    np.testing.assert_allclose(mirrored, [511 - single[2], single[1], 511 - single[0], single[3]],
                               atol=0.04 * (single[2] - single[0]))  # the network is not exactly symmetric


def test_no_face_in_face_free_photos(model, detectors):
    letterbox_pass = BlazeFaceDetector(model, whole_image="letterbox", threads=1)
    for image in (np.zeros((240, 320, 3), np.uint8), skd.coffee(), skd.chelsea(), skd.rocket()):
        assert letterbox_pass.detect(image) == []
        # the fill pass sees the cat's face (chelsea) at 0.52, under the score the Landmarker
        # keeps without its own face check (BlazeFaceDetector.certain_score)
        assert all(d.score < BlazeFaceDetector.certain_score for d in detectors[model].detect(image))


# -- image pyramid ---------------------------------------------------------------------

def test_pyramid_finds_a_small_face_in_a_large_photo(astronaut, detectors):
    face = astronaut[60:190, 160:290]  # 130 px around a ~95 px face
    scene = _scene(1600, 1200)
    small = cv2.resize(face, (44, 44), interpolation=cv2.INTER_AREA)  # the face ~32 px
    scene[900:944, 1300:1344] = small
    truth = np.array([1322.0, 922.0])
    detector = BlazeFaceDetector("short", min_face_size=30, threads=1)
    assert detector.scales_for(1600, 1200) == [0.8, 0.4, 0.2]
    assert not [d for d in detectors["short"].detect(scene) if np.linalg.norm(d.center - truth) < 20]
    dets = detector.detect(scene)
    hits = [d for d in dets if np.linalg.norm(d.center - truth) < 10]
    assert len(hits) == 1 and 20 < hits[0].width < 50, dets
    assert len(dets) <= 2  # at most one stray detection on the textures


# -- whole-image pass: letterbox or fill ------------------------------------------------------

def test_fill_finds_a_small_face_in_a_vga_frame_that_the_letterbox_misses(astronaut, detectors):
    """Regression for issue 14 (c): a ~80 px face in a 640 x 480 frame, under a fifth of the
    longer side, is missed by MediaPipe's letterbox but found when the shorter side fills the
    input; the face-free frame around it gives no detection either way."""
    face = cv2.resize(astronaut[60:190, 160:290], (110, 110), interpolation=cv2.INTER_AREA)
    frame = _scene(640, 480)
    frame[250:360, 400:510] = face
    centre = np.array([455.0, 305.0])
    letterbox_pass = BlazeFaceDetector("short", whole_image="letterbox", threads=1)
    assert letterbox_pass.detect(frame) == []
    dets = detectors["short"].detect(frame)
    assert len(dets) == 1 and np.linalg.norm(dets[0].center - centre) < 10 and 60 < dets[0].width < 130
    assert detectors["short"].detect(_scene(640, 480)) == []


def test_fill_and_letterbox_agree_on_square_images(model, detectors, astronaut):
    letterbox_pass = BlazeFaceDetector(model, whole_image="letterbox", threads=1)
    assert detectors[model].whole_image == "fill"
    assert detectors[model].detect(astronaut) == letterbox_pass.detect(astronaut)


def test_pyramid_keeps_large_faces_and_scales_follow_min_face_size(astronaut):
    big = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_LINEAR)  # face ~190 px
    det = BlazeFaceDetector("short", min_face_size=60, threads=1)
    assert det.scales_for(1024, 1024) == [MIN_NET_FACE["short"] / 60, MIN_NET_FACE["short"] / 120]
    dets = det.detect(big)
    assert len(dets) == 1 and 150 < dets[0].width < 260
    assert BlazeFaceDetector("short").scales_for(4000, 3000) == []
    assert BlazeFaceDetector("full", min_face_size=40).scales_for(4000, 3000) == [0.8, 0.4, 0.2, 0.1]
    assert BlazeFaceDetector("short", min_face_size=20).scales_for(150, 150) == []


# -- weighted NMS -----------------------------------------------------------------------

def test_nms_weighted_merges_overlaps_and_keeps_separate_faces():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.6, 0.8])
    extras = np.array([[[0, 0]], [[10, 10]], [[5, 5]]], np.float32)
    kept, kept_scores, kept_extras = non_max_suppression(boxes, scores, 0.3, extras=extras)
    np.testing.assert_allclose(kept_scores, [0.9, 0.8], rtol=1e-6)  # best score first, kept as is
    np.testing.assert_allclose(kept[0], [0.4, 0, 10.4, 10], atol=1e-5)  # 0.6 x 0 + 0.4 x 1
    np.testing.assert_allclose(kept[1], boxes[2])
    np.testing.assert_allclose(kept_extras[0], [[4, 4]], atol=1e-5)


def test_nms_plain_and_threshold():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10]], np.float32)  # IoU 1/3
    kept, scores, extras = non_max_suppression(boxes, [0.5, 0.7], 0.3, weighted=False)
    np.testing.assert_allclose(kept, [boxes[1]]) and extras is None
    kept, _, _ = non_max_suppression(boxes, [0.5, 0.7], 0.4, weighted=False)
    assert len(kept) == 2
    kept, scores, _ = non_max_suppression(np.zeros((0, 4)), [], 0.3)
    assert kept.shape == (0, 4) and scores.shape == (0,)
    with pytest.raises(ValueError):
        non_max_suppression(boxes, [0.5], 0.3)


# -- registry, options, Detection ----------------------------------------------------------

def test_registered_names_and_options():
    assert {"blazeface", "blazeface_full"} <= set(list_detectors())
    short = create_detector("blazeface")
    assert short.name == "blazeface" and short.model == "short" and short.score_threshold == 0.5
    full = create_detector("blazeface_full", score_threshold=0.7)
    assert full.name == "blazeface_full" and full.model == "full" and full.score_threshold == 0.7
    for bad in ({"model": "medium"}, {"score_threshold": 1.5}, {"min_face_size": 0},
                {"pyramid_score_threshold": 0}, {"whole_image": "stretch"},
                {"nms_threshold": -0.1}, {"threads": 0}):
        with pytest.raises(ValueError):
            BlazeFaceDetector(**bad)


def test_detection_keypoints_are_optional():
    plain = Detection([0, 0, 10, 10], 0.5)
    assert plain.keypoints is None and plain == Detection([0, 0, 10, 10], 0.5)
    with_points = Detection([0, 0, 10, 10], 0.5, [[1, 2], [3, 4]])
    assert with_points.keypoints.dtype == np.float32 and with_points.keypoints.shape == (2, 2)
    assert with_points != plain and with_points == Detection([0, 0, 10, 10], 0.5, [[1, 2], [3, 4]])
    assert "keypoints=2" in repr(with_points)
    with pytest.raises(ValueError):
        with_points.keypoints[0, 0] = 5.0


def test_pyramid_chunks_give_the_same_faces(astronaut, monkeypatch):
    """A level run in overlapping chunks finds what it finds in one piece, each face once."""
    import facepoints.detectors.blazeface as bf
    scene = _scene(1200, 900)
    face = astronaut[60:190, 160:290]
    spots = [(100, 100), (560, 380), (1000, 700), (470, 600)]  # one across the chunk seams
    for x, y in spots:
        scene[y:y + 60, x:x + 60] = cv2.resize(face, (60, 60), interpolation=cv2.INTER_AREA)
    detector = BlazeFaceDetector("short", min_face_size=40, threads=1)
    whole = detector.detect(scene)
    monkeypatch.setattr(bf, "LEVEL_CHUNK", 384)
    assert bf._chunk_starts(720, 192) == [0, 168, 336] and bf._chunk_starts(384, 192) == [0]
    chunked = detector.detect(scene)
    assert len(whole) == len(chunked) == len(spots), (whole, chunked)
    for a, b in zip(sorted(whole, key=lambda d: tuple(d.center)), sorted(chunked, key=lambda d: tuple(d.center))):
        assert np.abs(a.box - b.box).max() < 0.1 * a.width


def test_pyramid_refuses_a_huge_level():
    detector = BlazeFaceDetector("short", min_face_size=2)
    with pytest.raises(ValueError, match="larger min_face_size"):
        detector.detect(np.zeros((1000, 1500, 3), np.uint8))
