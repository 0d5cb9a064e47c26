"""The facade: ``Landmarker`` finds faces and their landmarks in an image."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from .batching import batch_results
from .detectors import Detection, FaceDetector, create_detector, default_detector
from .detectors.rotated import detection_roll, search_rotated_copies, upright_roll
from .geometry import box_from_points, validate_boxes
from .models import UNIT_SPREAD_VARIANCE
from .models.capabilities import Capabilities, capabilities
from .pipeline.box_calibration import BoxCalibration, load_calibration
from .pipeline.decode import DecodedOutput, concat_outputs, crops_for_boxes, decode_output
from .pipeline.images import ImageInput, as_rgb
from .pipeline.realign import realign_turned
from .pipeline.rotation import aligned_box, angle_difference, landmark_roll, upright_box, upright_side
from .pipeline.runtime import (FlipTestRuntime, OnnxRuntime, PromptedTorchRuntime, TorchRuntime,
                               onnxruntime_available)
from .registry import DEFAULT_MODEL, ModelCard, create_model, get_card, onnx_weights_key, weights_path
from .results import Face, ImageResult
from .schemes import LandmarkScheme, as_plane_points, get_scheme


#: most face crops sent to the network at once; more boxes run in chunks of this size, which
#: bounds memory (ONNX Runtime keeps its buffers at the largest batch it has seen)
MAX_BATCH = 16
#: roll (degrees) beyond which a detector's estimate gets a second look, and beyond which the
#: landmarks' own roll sends a face through the second alignment pass (pipeline/realign.py):
#: BlazeFace's eye keypoints are within ~2 degrees up to 60 degrees of roll but unreliable near
#: 90 (median error 18 degrees, some read upside down). Chosen on the validation split of the
#: 300W training list, never the test set (issue 14): 10, 20 and 30 tie on the faces turned
#: +-90 degrees (found 100 / 99.5 %, NME 4.08 / 3.93 %; 30 by 0.004 % worse), 10 costs the
#: occluded faces (NME 10.3 % against 8.9 %). Table: docs/detection.md,
#: `python tools/sweep_detection_thresholds.py ../shared/data/300W/train.txt`.
DOUBTFUL_ROLL = 20.0
#: face confidence below which a detected face's roll is doubted (the detector takes a second
#: look at it turned; a turn that the model then rejects is not taken). Separate from
#: ``Landmarker.min_confidence``, which drops detections: a second look costs a little time, a
#: drop loses a face. 0.5: the value the second look was chosen and validated with (issue 14).
DOUBTFUL_CONFIDENCE = 0.5


class Landmarker:
    """Detect faces and locate their landmarks.

    >>> lm = Landmarker()                       # default model, default detector
    >>> faces = lm("photo.jpg")                 # list[Face]; empty when no face is found
    >>> faces = lm(array_bgr, color_order="BGR", boxes=[[x0, y0, x1, y1]])

    ``boxes`` are xyxy pixels of the tight box around each face's landmarks (the
    benchmark protocol) and skip the detector. Detector boxes are mapped to that
    convention by the detector's calibration, and the crop is then re-centred once on the
    tight box of the first prediction (``refine=1``), since a detector box is looser than a
    landmark box. ``backend`` is ``"auto"`` (ONNX Runtime when installed and shipped, else
    PyTorch), ``"onnx"`` or ``"torch"``. ``flip_test=True`` also runs each crop's mirror image
    and averages (slightly more accurate, about 1.5x the network time). With models that have a
    face-confidence branch, detector boxes whose crop scores below ``min_confidence`` are
    dropped as false positives, unless the detector scores them at least its ``certain_score``
    (BlazeFace: 0.7); the default 0.05 drops only what the check is sure is no face, since it
    also doubts some faces behind masks and hands (both chosen on validation data:
    docs/detection.md). Explicit ``boxes`` are always kept. ``min_face_size`` (pixels) is passed to a detector created by name: smaller
    faces are not searched for (the whole image is searched; smaller is slower).
    ``search_rotated`` also searches copies turned by 90/180/270 degrees (4x the detector time);
    without it, faces are turned upright by their roll (``facepoints.pipeline.rotation``), which
    covers +-90 degrees but not upside-down faces. Models with ATPN's pose and tracking branches also fill
    ``Face.pose`` (yaw, pitch, roll degrees) and ``Face.confidence`` (face probability of the
    crop). Public surface: ``lm(image, boxes=...)``, ``batch`` for many images and, for an already
    decoded RGB image and its boxes, ``landmarks_for_boxes`` (also ``track``, and ``plane_points`` for TUFA); the methods
    with a leading underscore are internal (the evaluation and tracking layers use them). Models that
    estimate their uncertainty (DSLPT) fill ``Face.sigma`` (per point and axis, pixels); for
    coarse-to-fine models ``stages`` picks how many stages run (fewer: faster, coarser; default:
    all the model was trained with; each count has its own ONNX file, so no PyTorch is needed).

    TUFA models locate any points of their canonical face plane (zero-shot, thesis ch. 6.2.4):
    ``points`` (P, 2) plane coordinates make every ``Face`` hold those P points
    (``Face.scheme`` = ``"custom:P"``) instead of the scheme's; they run in PyTorch, and
    ``plane_points()`` gives the anchors the model learned, to place new points relative to them
    (``facepoints.schemes.plane``). Re-centring on a detector box still uses the scheme's landmarks.

    Threads: one ``Landmarker`` may be shared by several threads. The network (an ONNX Runtime
    session or a PyTorch module in inference mode) runs concurrently; the face detector runs
    one call at a time per detector instance (dlib's and OpenCV's detectors are not re-entrant;
    see ``facepoints.detectors.FaceDetector``), and the detector is created once, under a lock.
    Results do not depend on how calls interleave. Many boxes run in chunks of ``MAX_BATCH``.
    """

    def __init__(self, model: str = DEFAULT_MODEL, detector: str | FaceDetector | None = "default",
                 backend: str = "auto", threads: int | None = None, refine: int = 1,
                 flip_test: bool = False, min_confidence: float = 0.05, stages: int | None = None,
                 points: Sequence | np.ndarray | None = None, min_face_size: float | None = None,
                 search_rotated: bool = False) -> None:
        if threads is not None and not threads >= 1:
            raise ValueError(f"threads must be >= 1, got {threads!r}")  # None: the runtime's default
        if min_face_size is not None and not min_face_size > 0:
            raise ValueError(f"min_face_size must be positive, got {min_face_size!r}")
        if not 0.0 <= min_confidence <= 1.0:  # also refuses NaN
            raise ValueError(f"min_confidence is a face probability in [0, 1], got {min_confidence!r}")
        self.card: ModelCard = get_card(model)
        self.scheme: LandmarkScheme = get_scheme(self.card.scheme)
        self.spec = self.card.crop
        self.capabilities: Capabilities = capabilities(self.card.architecture, self.card.config)
        self.stages = self._check_stages(stages)
        self.points: np.ndarray | None = self._check_points(points, backend, flip_test)
        self.runtime = self._make_runtime(backend, threads)
        if flip_test:
            variance = UNIT_SPREAD_VARIANCE.get(self.capabilities.spread or "gaussian", 1.0)
            self.runtime = FlipTestRuntime(self.runtime, self.scheme.flip_permutation, variance)
        # the scheme's landmarks, which frame the face when a crop is re-centred
        self._box_runtime = self.runtime if self.points is None else self._own_landmarks_runtime(threads)
        self._detector_arg = detector
        self._detector: FaceDetector | None = None
        self._detector_lock = threading.Lock()
        self._calibration: BoxCalibration | None = None
        self.refine = int(refine)
        self.min_confidence = float(min_confidence)
        self.min_face_size = min_face_size
        self.search_rotated = bool(search_rotated)

    def _check_stages(self, stages: int | None) -> int | None:
        """``stages`` if the model is coarse-to-fine and it is in range; ``None`` means the default."""
        trained = self.capabilities.stages
        if stages is None or stages == trained:
            return None
        if trained is None:
            raise ValueError(f"model {self.card.name} has no coarse-to-fine stages to choose")
        if not 1 <= int(stages) <= trained:
            raise ValueError(f"stages must be between 1 and {trained} for model {self.card.name}, got {stages}")
        return int(stages)

    def _check_points(self, points, backend: str, flip_test: bool) -> np.ndarray | None:
        """``points`` as (P, 2) float32 plane coordinates, or ``None``; ``ValueError`` when they are
        malformed or cannot run (not a TUFA model, the ONNX backend, flip test)."""
        if points is None:
            return None
        self._require_tufa("points=")
        if flip_test:
            raise ValueError("flip_test mirrors a scheme's points; it is not available with points=")
        return as_plane_points(points)

    def _require_tufa(self, what: str) -> None:
        if not self.capabilities.takes_points:
            raise ValueError(f"{what} needs a TUFA model (plane points, zero-shot landmarks); "
                             f"{self.card.name} is {self.card.architecture}")

    def _make_runtime(self, backend: str, threads: int | None):
        if backend not in ("auto", "onnx", "torch"):
            raise ValueError(f"backend must be 'auto', 'onnx' or 'torch', got {backend!r}")
        onnx_key = onnx_weights_key(self.stages)  # coarse-to-fine models ship one ONNX file per stage count
        if backend == "onnx" and self.stages is not None and onnx_key not in self.card.weights:
            raise ValueError(f"model {self.card.name} ships no ONNX file for {self.stages} stages; use backend='torch'")
        use_onnx = backend == "onnx" or (backend == "auto" and onnx_key in self.card.weights
                                          and onnxruntime_available())
        if use_onnx:
            runtime = OnnxRuntime(weights_path(self.card, onnx_key), threads)
            if self.points is None or runtime.anchors or backend == "onnx":
                return runtime.prompted(self.points) if self.points is not None else runtime
            # an older TUFA file that takes no points: PyTorch below
        model = create_model(self.card.name)
        if self.stages is not None:
            model.set_inference_stages(self.stages)
        if self.points is not None:
            return PromptedTorchRuntime(model, self.points, threads)
        return TorchRuntime(model, threads)

    def _own_landmarks_runtime(self, threads: int | None):
        """The runtime of the model's own landmark set (the crop frame when ``points`` are asked for)."""
        if isinstance(self.runtime, OnnxRuntime):
            return OnnxRuntime(weights_path(self.card, onnx_weights_key(self.stages)), threads)
        return TorchRuntime(self.runtime.module)

    def plane_points(self, name: str | None = None) -> np.ndarray:
        """(N, 2) float32 plane anchors a TUFA model learned for one of its landmark sets: the
        mean shape plus the learned alignment offsets. ``name``: a set of the model (``KeyError``
        lists them); ``None`` (or the card's scheme name, unless a set has it) gives the default
        set, whose landmarks ``Face`` reports without ``points``."""
        self._require_tufa("plane_points")
        anchors = getattr(self._box_runtime, "anchors", None)
        if anchors:  # an ONNX file carries them: no PyTorch needed
            if name is None or (name == self.card.scheme and name not in anchors):
                return next(iter(anchors.values())).copy()
            if name not in anchors:
                raise KeyError(f"this model has no landmark set {name!r}; it has: {', '.join(anchors)}")
            return anchors[name].copy()
        network = getattr(self._box_runtime, "module", None)
        network = create_model(self.card.name) if network is None else network
        key = None if name == self.card.scheme and name not in network.schemes else name
        return network.anchors(key).detach().cpu().numpy().astype(np.float32)

    @property
    def detector(self) -> FaceDetector:
        """The face detector (created on first use, so explicit boxes never need one)."""
        if self._detector is None:
            with self._detector_lock:  # threads sharing this Landmarker create it once
                if self._detector is None:
                    arg = self._detector_arg
                    if arg is None:
                        raise ValueError("this Landmarker has no face detector: pass boxes=")
                    options = {} if self.min_face_size is None else {"min_face_size": self.min_face_size}
                    detector = (default_detector(**options) if arg == "default" else create_detector(arg, **options)) \
                        if isinstance(arg, str) else arg
                    self._calibration = load_calibration(detector.name)
                    self._detector = detector  # last: another thread then sees both
        return self._detector

    def _detect_faces(self, image: np.ndarray) -> list[Detection]:
        """Detector boxes mapped to the tight-landmark-box convention (RGB uint8 input), with the
        detector's keypoints. The whole image is searched at full resolution; the detector's
        ``min_face_size`` (this Landmarker's, for detectors it creates by name) sets how small a
        face is looked for, and so the time. A face turned in-plane (roll from the detector's
        eye keypoints) is calibrated along its own axes and reported by the image-axis box
        around it. With ``search_rotated``, copies turned by 90, 180 and 270 degrees are
        searched too (about 4x the detector time) and the detections merged."""
        detector = self.detector
        detections = (search_rotated_copies(detector, image) if self.search_rotated
                      else detector.detect(image))
        return [self._calibrated(d) for d in detections]

    def _calibrated(self, detection: Detection) -> Detection:
        """One detection's box in the tight-landmark convention, applied in the face's own frame."""
        roll = detection_roll(detection)
        b = detection.box.astype(np.float64)
        w, h = b[2] - b[0], b[3] - b[1]
        if round(roll / 90.0) % 2:  # a face lying on its side: its own width is the box's height
            w, h = h, w
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        cal = self._calibration.apply(np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]))[0]
        if roll == 0.0:
            return Detection(cal, detection.score, detection.keypoints)
        dx, dy = (cal[0] + cal[2]) / 2 - cx, (cal[1] + cal[3]) / 2 - cy
        c, s = np.cos(np.deg2rad(roll)), np.sin(np.deg2rad(roll))
        ux, uy = cx + c * dx - s * dy, cy + s * dx + c * dy
        half = np.array([cal[2] - cal[0], cal[3] - cal[1]]) / 2
        box = aligned_box(np.concatenate([[ux, uy] - half, [ux, uy] + half]), roll)
        return Detection(box, detection.score, detection.keypoints)

    def __call__(self, image: ImageInput, boxes: Sequence | np.ndarray | None = None,
                 color_order: str = "RGB") -> list[Face]:
        """Faces in ``image``: a path, a PIL image, or an (H, W[, C]) array in ``color_order``
        ("RGB" unless told "BGR", e.g. for ``cv2.imread``). Bad images raise
        ``facepoints.pipeline.images.ImageError``; files over ``images.MAX_PIXELS`` are refused
        from their header."""
        rgb = as_rgb(image, color_order)
        rolls = None
        if boxes is not None:
            box_arr, scores, source = validate_boxes(boxes), None, "given"
        else:
            dets = self._detect_faces(rgb)
            box_arr = np.stack([d.box for d in dets]) if dets else np.zeros((0, 4), np.float32)
            scores, source = [d.score for d in dets], self.detector.name
            rolls = [detection_roll(d) for d in dets]
        faces = self.landmarks_for_boxes(rgb, box_arr, scores, source, refine=self.refine if boxes is None else 0,
                                         rolls=rolls)
        if boxes is None:  # detector false positives: the model's own face check, unless the detector is sure
            sure = getattr(self.detector, "certain_score", None)
            faces = [f for f in faces if f.confidence is None or f.confidence >= self.min_confidence
                     or (sure is not None and f.score >= sure)]
        return faces

    def batch(self, images: Iterable, boxes: Iterable | None = None, batch_size: int = 16, workers: int = 2,
              color_order: str = "RGB", keep_images: bool = False) -> Iterator[ImageResult]:
        """Many images: an iterator of ``facepoints.results.ImageResult``, one per image, in input
        order, each with the faces ``lm(image)`` gives. Decoding and face detection run in
        ``workers`` threads (each with its own detector instance); the network sees the crops of up
        to ``batch_size`` images in one call. A bad image does not stop the batch: its result has
        ``error`` (one line) and no faces. ``boxes``: one entry per image (its boxes, or ``None``
        to detect). ``keep_images`` keeps each decoded RGB image on its result (e.g. to draw it).
        Two chunks of ``batch_size`` images are in memory at a time (``facepoints.batching``). The
        workers are the parallelism: on a small or busy machine ``Landmarker(threads=1)`` is faster
        (ONNX Runtime's default threads spin idle beside them; README, ``benchmark --batch``)."""
        return batch_results(self, images, boxes, batch_size, workers, color_order, keep_images)

    def _predict(self, rgb: np.ndarray, boxes: np.ndarray) -> DecodedOutput:
        """Everything the network gives for (K, 4) tight boxes in an RGB uint8 image: (K, N, 2)
        image-pixel landmarks, and (K, 3) pose degrees / (K,) face probability / (K, N, 2) pixel
        spreads when the model has them (else ``None``)."""
        return self._run(rgb, boxes, self.runtime)

    def _run(self, rgb: np.ndarray, boxes: np.ndarray, runtime, angles: np.ndarray | None = None) -> DecodedOutput:
        """Network output for (K, 4) boxes (upright boxes turned by ``angles`` degrees when given),
        in chunks of at most ``MAX_BATCH`` crops."""
        parts = []
        for start in range(0, max(len(boxes), 1), MAX_BATCH):
            chunk = None if angles is None else angles[start:start + MAX_BATCH]
            crops, matrices = crops_for_boxes(rgb, boxes[start:start + MAX_BATCH], self.spec, chunk)
            parts.append(decode_output(runtime(crops), matrices, self.spec, chunk))
        return parts[0] if len(parts) == 1 else concat_outputs(parts)

    def landmarks_for_boxes(self, rgb: np.ndarray, boxes: np.ndarray, scores: Sequence[float] | None = None,
                            source: str = "given", refine: int = 0,
                            rolls: Sequence[float] | None = None,
                            upright_boxes: np.ndarray | None = None) -> list[Face]:
        """Faces for boxes in an RGB uint8 image; with ``refine`` > 0 each crop is re-centred that
        many times on the tight box of the previous prediction (the reported box stays the input).
        Pose, confidence and sigma, when the model has them, come from the last (most centred) crop.

        ``rolls`` (degrees, :mod:`facepoints.pipeline.rotation`) turn each face's crop upright;
        each re-centring then also takes the roll of the previous prediction's eyes (the model's
        own check of the detector's estimate), see :func:`facepoints.pipeline.rotation.upright_box`;
        faces still turned beyond ``DOUBTFUL_ROLL`` then get a second alignment pass
        (:func:`facepoints.pipeline.realign.realign_turned`). ``upright_boxes`` (K, 4), with
        ``rolls``: the faces' own upright boxes (:func:`facepoints.pipeline.rotation.upright_box`,
        e.g. of their landmarks in the previous video frame) to crop instead of the square
        upright box inside each image box."""
        if len(boxes) == 0:
            return []
        crop_boxes, angles = boxes, None
        if rolls is not None:
            angles = np.asarray(rolls, np.float64).reshape(len(boxes))
            crop_boxes = (_upright_boxes(upright_boxes, len(boxes)) if upright_boxes is not None
                          else np.stack([upright_side(b, a) for b, a in zip(boxes, angles)]))
        elif upright_boxes is not None:
            raise ValueError("upright_boxes need the faces' rolls")
        for step in range(refine):
            first = self._run(rgb, crop_boxes, self._box_runtime, angles)
            if step == 0 and angles is not None and first.confidence is not None:
                crop_boxes, angles, first = self._second_roll_check(rgb, boxes, crop_boxes, angles, first)
            framing = first.landmarks
            if angles is None:
                crop_boxes = np.stack([box_from_points(p) for p in framing])
            else:
                angles = np.asarray(landmark_roll(framing, self.scheme), np.float64).reshape(len(boxes))
                crop_boxes = np.stack([upright_box(p, a) for p, a in zip(framing, angles)])
        out = self._run(rgb, crop_boxes, self.runtime, angles)
        if angles is not None and refine > 0:  # faces lying on their side: a second alignment pass
            detector = self._detector
            relook = None if detector is None else (lambda box, roll: upright_roll(detector, rgb, box, roll))
            framing = None if self.points is None else self._run(rgb, crop_boxes, self._box_runtime, angles)
            out = realign_turned(out, self.scheme, lambda b, a: self._run(rgb, b, self._box_runtime, a),
                                 lambda b, a: self._run(rgb, b, self.runtime, a), DOUBTFUL_ROLL, relook,
                                 DOUBTFUL_CONFIDENCE, framing)
        scheme = self.scheme.name if self.points is None else f"custom:{len(self.points)}"
        scores = [1.0] * len(boxes) if scores is None else scores
        poses = [None] * len(boxes) if out.pose is None else out.pose
        confidences = [None] * len(boxes) if out.confidence is None else out.confidence
        sigmas = [None] * len(boxes) if out.sigma is None else out.sigma
        return [Face(box=b, score=s, landmarks=p, scheme=scheme, box_source=source, pose=q,
                     confidence=c, sigma=u)
                for b, s, p, q, c, u in zip(boxes, scores, out.landmarks, poses, confidences, sigmas)]

    def _second_roll_check(self, rgb: np.ndarray, boxes: np.ndarray, crop_boxes: np.ndarray, angles: np.ndarray,
                           first: DecodedOutput) -> tuple[np.ndarray, np.ndarray, DecodedOutput]:
        """A second look by the detector at faces whose roll is doubtful: their surroundings turned by
        0, 90, -90 and 180 degrees (:func:`facepoints.detectors.rotated.upright_roll`). Faces beyond
        ``DOUBTFUL_ROLL`` (where the detector's eye keypoints go wrong) take the best turn; faces
        whose upright crop the model doubts (face confidence below ``DOUBTFUL_CONFIDENCE``: a face near 90
        degrees read as upright, or a face behind a mask) take it only if the model is then
        confident (masked faces look more like faces to the detector upside down)."""
        by_roll = np.abs(angles) > DOUBTFUL_ROLL
        doubtful = np.flatnonzero(by_roll | (first.confidence < DOUBTFUL_CONFIDENCE))
        if not len(doubtful):
            return crop_boxes, angles, first
        tried = angles.copy()
        for i in doubtful:
            tried[i] = upright_roll(self.detector, rgb, boxes[i], float(angles[i]))[0]
        tried_boxes = np.stack([upright_side(b, a) for b, a in zip(boxes, tried)])
        second = self._run(rgb, tried_boxes[doubtful], self._box_runtime, tried[doubtful])
        sideways = np.abs(np.abs(angle_difference(tried[doubtful], angles[doubtful])) - 90.0) < 45.0
        take = by_roll[doubtful] | sideways | ((second.confidence >= DOUBTFUL_CONFIDENCE)
                                               & (second.confidence > first.confidence[doubtful]))
        angles, crop_boxes = angles.copy(), crop_boxes.copy()
        landmarks, confidence = first.landmarks.copy(), first.confidence.copy()
        for row, i in enumerate(doubtful):
            if take[row]:
                angles[i], crop_boxes[i] = tried[i], tried_boxes[i]
                landmarks[i], confidence[i] = second.landmarks[row], second.confidence[row]
        return crop_boxes, angles, DecodedOutput(landmarks, confidence=confidence)

    def __repr__(self) -> str:
        return f"Landmarker(model={self.card.name!r}, runtime={self.runtime.name!r})"

    def track(self, source, color_order: str | None = None, fps: float | None = None, config=None,
              progress: bool = False, max_frames: int | None = None):
        """Landmarks through a video: an iterator of ``facepoints.tracking.FrameResult``, one per frame.

        ``source`` is a video path, a webcam index, or an iterable of (H, W[, 3]) arrays with
        their ``color_order`` ("RGB" or "BGR"). Faces are detected on the first frame and then
        followed from their previous landmarks, re-detected when a track fails and every
        ``config.redetect_every`` frames (``facepoints.tracking.TrackerConfig``); landmarks are
        smoothed over time. A video that breaks off yields its decoded frames, then raises
        ``facepoints.tracking.VideoError``.

        ``facepoints.tracking`` is imported here, not at the top of this module, because the
        tracking layer sits above this facade and builds on it; importing it at module level
        would make the facade depend on a higher layer (and on a cycle).
        """
        if self.points is not None:
            raise ValueError("tracking follows faces by the scheme's landmarks; use a Landmarker without points=")
        from .tracking import track  # noqa: PLC0415 - higher layer, see the docstring

        return track(self, source, color_order, fps, config, progress, max_frames)


def _upright_boxes(boxes, count: int) -> np.ndarray:
    """(count, 4) float32 upright boxes; ``ValueError`` in one line for another shape or a non-finite value."""
    arr = np.asarray(boxes, np.float32)
    if arr.shape != (count, 4) or not np.isfinite(arr).all():
        raise ValueError(f"upright_boxes must be ({count}, 4) finite xyxy values, one per box; got shape {arr.shape}")
    return arr
