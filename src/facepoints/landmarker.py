"""The facade: ``Landmarker`` finds faces and their landmarks in an image."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .detectors import Detection, FaceDetector, create_detector, default_detector
from .geometry import box_from_points, validate_boxes
from .pipeline.box_calibration import BoxCalibration, load_calibration
from .pipeline.crop import CropSpec
from .pipeline.decode import DecodedOutput, crops_for_boxes, decode_output
from .pipeline.images import ImageInput, as_rgb
from .pipeline.runtime import FlipTestRuntime, OnnxRuntime, TorchRuntime, onnxruntime_available
from .registry import DEFAULT_MODEL, ModelCard, create_model, get_card, weights_path
from .results import Face
from .schemes import LandmarkScheme, get_scheme


#: longer image side above which face detection runs on a downscaled copy
DETECT_MAX_SIDE = 1600


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
    dropped as false positives (explicit ``boxes`` are always kept). Models with ATPN's pose and tracking branches also fill
    ``Face.pose`` (yaw, pitch, roll degrees) and ``Face.confidence`` (face probability of the
    crop); ``predict`` gives the same per box without building ``Face`` objects. Models that
    estimate their uncertainty (DSLPT) fill ``Face.sigma`` (per point and axis, pixels); for
    coarse-to-fine models ``stages`` picks how many stages run (fewer: faster, coarser; default:
    all the model was trained with; a non-default count runs in PyTorch).
    """

    def __init__(self, model: str = DEFAULT_MODEL, detector: str | FaceDetector | None = "default",
                 backend: str = "auto", threads: int | None = None, refine: int = 1,
                 flip_test: bool = False, min_confidence: float = 0.5, stages: int | None = None) -> None:
        self.card: ModelCard = get_card(model)
        self.scheme: LandmarkScheme = get_scheme(self.card.scheme)
        self.spec = CropSpec(**self.card.crop)
        self.stages = self._check_stages(stages)
        self.runtime = self._make_runtime(backend, threads)
        if flip_test:
            self.runtime = FlipTestRuntime(self.runtime, self.scheme.flip_permutation)
        self._detector_arg = detector
        self._detector: FaceDetector | None = None
        self._calibration: BoxCalibration | None = None
        self.refine = int(refine)
        self.min_confidence = float(min_confidence)

    def _check_stages(self, stages: int | None) -> int | None:
        """``stages`` if the model is coarse-to-fine and it is in range; ``None`` means the default."""
        trained = self.card.config.get("stages")
        if stages is None or stages == trained:
            return None
        if trained is None:
            raise ValueError(f"model {self.card.name} has no coarse-to-fine stages to choose")
        if not 1 <= int(stages) <= trained:
            raise ValueError(f"stages must be between 1 and {trained} for model {self.card.name}, got {stages}")
        return int(stages)

    def _make_runtime(self, backend: str, threads: int | None):
        if backend not in ("auto", "onnx", "torch"):
            raise ValueError(f"backend must be 'auto', 'onnx' or 'torch', got {backend!r}")
        if backend == "onnx" and self.stages is not None:
            raise ValueError("the ONNX file runs the default number of stages; use backend='torch' for others")
        use_onnx = backend == "onnx" or (backend == "auto" and self.stages is None and "onnx" in self.card.weights
                                          and onnxruntime_available())
        if use_onnx:
            return OnnxRuntime(weights_path(self.card, "onnx"), threads)
        model = create_model(self.card.name)
        if self.stages is not None:
            model.set_inference_stages(self.stages)
        return TorchRuntime(model, threads)

    @property
    def detector(self) -> FaceDetector:
        """The face detector (created on first use, so explicit boxes never need one)."""
        if self._detector is None:
            arg = self._detector_arg
            if arg is None:
                raise ValueError("this Landmarker has no face detector: pass boxes=")
            if isinstance(arg, str):
                self._detector = default_detector() if arg == "default" else create_detector(arg)
            else:
                self._detector = arg
            self._calibration = load_calibration(self._detector.name)
        return self._detector

    def detect_faces(self, image: np.ndarray) -> list[Detection]:
        """Detector boxes mapped to the tight-landmark-box convention (RGB uint8 input).

        Images whose longer side exceeds ``DETECT_MAX_SIDE`` are searched at that size (faces
        in such photos are large; the landmarks still come from full-resolution crops)."""
        h, w = image.shape[:2]
        factor = min(1.0, DETECT_MAX_SIDE / max(h, w))
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        small = image if factor == 1.0 else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        detections = self.detector.detect(small)
        if not detections:
            return []
        boxes = np.stack([d.box for d in detections])
        if factor != 1.0:  # continuous coordinates: scale about the image corner (-0.5, -0.5)
            scale = np.array([w / size[0], h / size[1]] * 2, np.float32)
            boxes = (boxes + 0.5) * scale - 0.5
        boxes = self._calibration.apply(boxes)
        return [Detection(b, d.score) for b, d in zip(boxes, detections)]

    def __call__(self, image: ImageInput, boxes: Sequence | np.ndarray | None = None,
                 color_order: str = "RGB") -> list[Face]:
        """Faces in ``image`` (a path, an (H, W[, C]) array in ``color_order``, or a PIL image)."""
        rgb = as_rgb(image, color_order)
        if boxes is not None:
            box_arr, scores, source = validate_boxes(boxes), None, "given"
        else:
            dets = self.detect_faces(rgb)
            box_arr = np.stack([d.box for d in dets]) if dets else np.zeros((0, 4), np.float32)
            scores, source = [d.score for d in dets], self.detector.name
        faces = self.landmarks_for_boxes(rgb, box_arr, scores, source, refine=self.refine if boxes is None else 0)
        if boxes is None:  # detector false positives: the model's own face check has the last word
            faces = [f for f in faces if f.confidence is None or f.confidence >= self.min_confidence]
        return faces

    def predict(self, rgb: np.ndarray, boxes: np.ndarray) -> DecodedOutput:
        """Everything the network gives for (K, 4) tight boxes in an RGB uint8 image: (K, N, 2)
        image-pixel landmarks, and (K, 3) pose degrees / (K,) face probability / (K, N, 2) pixel
        spreads when the model has them (else ``None``)."""
        crops, matrices = crops_for_boxes(rgb, boxes, self.spec)
        return decode_output(self.runtime(crops), matrices, self.spec)

    def locate(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(K, N, 2) image-pixel landmarks for (K, 4) tight boxes in an RGB uint8 image."""
        return self.predict(rgb, boxes).landmarks

    def landmarks_for_boxes(self, rgb: np.ndarray, boxes: np.ndarray, scores: Sequence[float] | None = None,
                            source: str = "given", refine: int = 0) -> list[Face]:
        """Faces for boxes in an RGB uint8 image; with ``refine`` > 0 each crop is re-centred that
        many times on the tight box of the previous prediction (the reported box stays the input).
        Pose, confidence and sigma, when the model has them, come from the last (most centred) crop."""
        if len(boxes) == 0:
            return []
        out = self.predict(rgb, boxes)
        for _ in range(refine):
            out = self.predict(rgb, np.stack([box_from_points(p) for p in out.landmarks]))
        scores = [1.0] * len(boxes) if scores is None else scores
        poses = [None] * len(boxes) if out.pose is None else out.pose
        confidences = [None] * len(boxes) if out.confidence is None else out.confidence
        sigmas = [None] * len(boxes) if out.sigma is None else out.sigma
        return [Face(box=b, score=s, landmarks=p, scheme=self.scheme.name, box_source=source, pose=q,
                     confidence=c, sigma=u)
                for b, s, p, q, c, u in zip(boxes, scores, out.landmarks, poses, confidences, sigmas)]

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
        from .tracking import track  # noqa: PLC0415 - higher layer, see the docstring

        return track(self, source, color_order, fps, config, progress, max_frames)
