"""MediaPipe's BlazeFace face detector, run by ONNX Runtime from ONNX files in the package.

Two models (``detectors/models/blazeface_<model>.onnx``, converted from MediaPipe's
.tflite files by ``tools/convert_blazeface.py``; Apache-2.0, see NOTICE):

* ``"short"``: 128 x 128 input, 896 anchors, made for faces filling much of the picture
  (selfies, faces within ~2 m);
* ``"full"``: 192 x 192 input, 2,304 anchors, also finds smaller faces (within ~5 m).

Each detection has a box, a score (sigmoid probability) and six keypoints: right eye, left
eye, nose tip, mouth centre, right ear tragion, left ear tragion (the subject's right and
left). By default (``whole_image="fill"``) the image's shorter side is scaled to the input
size and the longer side padded to the stride (the networks are fully convolutional); a
detection smaller than MediaPipe's letterbox would see reliably (under ``MIN_NET_FACE``
there) must score ``pyramid_score_threshold``. ``whole_image="letterbox"`` is MediaPipe's
own pass (the longer side scaled to the input, centred, padded with black; the parity tests
use it). Boxes and keypoints are mapped back to image pixels (pixel centres at integers,
the package convention); overlapping detections are merged by weighted NMS
(:mod:`facepoints.detectors.nms`).

Small faces in large photos: the networks are fully convolutional, so besides the
letterboxed pass over the whole image (what MediaPipe does), the detector can run them on
an image pyramid: with ``min_face_size`` set, the image is also scaled so that a face of
``min_face_size`` pixels is ``MIN_NET_FACE[model]`` network pixels, and again at half that
scale, and so on, until the whole-image pass takes over; each level's detections larger
than ``LEVEL_MAX_FACE`` network pixels are left to the coarser levels, and weighted NMS
merges the levels; levels larger than ``LEVEL_CHUNK`` run in overlapping chunks (bounded
memory). Cost grows with ``(image side / min_face_size)^2``. Without it, the
one whole-image pass finds faces down to about ``MIN_NET_FACE[model] / input size`` of
the longer side with the letterbox (``short``: 19 %, ``full``: 17 %), and of the shorter
side with the fill (a 640 x 480 frame: 90 px instead of 120 px).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import cv2
import numpy as np

from .base import Detection, DetectorUnavailableError, FaceDetector, check_rgb_image, sort_detections
from .nms import non_max_suppression

__all__ = ["BlazeFaceDetector", "MODELS", "MIN_NET_FACE", "LEVEL_MAX_FACE", "KEYPOINT_NAMES",
           "ssd_anchors", "decode", "letterbox", "model_card", "full_range_detector"]

KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion",
                  "left_ear_tragion")


@dataclass(frozen=True)
class _ModelSpec:
    input_size: int
    strides: tuple[int, ...]  # of the output grids, in output order
    anchors_per_cell: tuple[int, ...]
    multiple: int  # pyramid inputs are padded to a multiple of the deepest stride
    score_threshold: float  # MediaPipe's default min_score_thresh
    pyramid_score_threshold: float  # pyramid levels scan many more windows: see BlazeFaceDetector


#: MediaPipe's SSD anchor options (face_detection_*_range graphs, fixed anchor size 1)
MODELS = {
    "short": _ModelSpec(128, (8, 16), (2, 6), 16, 0.5, 0.75),
    "full": _ModelSpec(192, (4,), (1,), 32, 0.6, 0.6),
}
#: smallest tight-landmark-box side, in network pixels, found reliably (98-99.5 % of 300W
#: common test faces pasted into face-free photos; 16 px: 90 % short, 63 % full)
MIN_NET_FACE = {"short": 24.0, "full": 32.0}
#: a pyramid level reports faces up to this side in network pixels; larger ones are the
#: coarser levels' (each level's smallest reliable face is twice the finer one's)
LEVEL_MAX_FACE = {name: 4.0 * m for name, m in MIN_NET_FACE.items()}
_BATCH = 16  # letterboxed inputs per ONNX Runtime call
#: pyramid levels run in chunks of at most this side (a multiple of every model's stride),
#: which bounds memory (~0.2 GB of activations); chunks overlap, so smaller ones cost more
#: (on a 4,000 x 3,000 photo with min_face_size=40: 1,024-px chunks 1.3-1.5x the time of none)
LEVEL_CHUNK = 2560
#: the largest pyramid level accepted (min_face_size far below the model's smallest face
#: upsamples the image): 150 MP, ~0.5 GB of uint8 canvas
MAX_LEVEL_PIXELS = 150_000_000
#: how the whole image meets the network: "letterbox" (MediaPipe's: the longer side scaled to
#: the input, bars added) or "fill" (the shorter side scaled to it, see ``_filled``)
WHOLE_IMAGE = ("letterbox", "fill")
#: in "fill", the longer side is at most this many input sizes (long panoramas: a letterbox)
FILL_MAX_RATIO = 2.0


@lru_cache(maxsize=32)
def ssd_anchors(model: str, height: int | None = None, width: int | None = None) -> np.ndarray:
    """(A, 2) anchor centres (x, y) in network pixels for an input of ``height`` x ``width``
    (default: the model's square input), in the order of the network's outputs."""
    spec = MODELS[model]
    height, width = height or spec.input_size, width or spec.input_size
    out = []
    for stride, per_cell in zip(spec.strides, spec.anchors_per_cell):
        gh, gw = -(-height // stride), -(-width // stride)
        ys, xs = np.meshgrid((np.arange(gh) + 0.5) * stride, (np.arange(gw) + 0.5) * stride, indexing="ij")
        out.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), per_cell, axis=0))
    anchors = np.concatenate(out).astype(np.float64)
    anchors.setflags(write=False)
    return anchors


def decode(regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray,
           score_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One input's raw outputs -> (boxes (K, 4) xyxy, scores (K,), keypoints (K, 6, 2)).

    Coordinates are network-input pixels, edges at 0 and the input size; only anchors
    scoring at least ``score_threshold`` are kept. MediaPipe's TensorsToDetections decoding
    (fixed-size anchors): box centre and keypoints are offsets from the anchor centre, box
    sizes absolute, all in input pixels; score = sigmoid of the logit clipped to +-100.
    """
    logits = logits.reshape(-1).astype(np.float64)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -100.0, 100.0)))
    keep = scores >= score_threshold
    raw = regressors.reshape(-1, 16)[keep].astype(np.float64)
    a = anchors[keep]
    cx, cy = raw[:, 0] + a[:, 0], raw[:, 1] + a[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    keypoints = raw[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
    return boxes, scores[keep], keypoints


@lru_cache(maxsize=None)
def model_card(model: str) -> dict[str, Any]:
    """The shipped JSON card of a model (licence, source, sha256s, parity)."""
    if model not in MODELS:
        raise ValueError(f"unknown BlazeFace model {model!r}; choose one of {', '.join(MODELS)}")
    text = resources.files(__package__).joinpath("models", f"blazeface_{model}.json").read_text("utf-8")
    return json.loads(text)


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if (width, height) == (image.shape[1], image.shape[0]):
        return image
    interp = cv2.INTER_AREA if width < image.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interp)


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(size, size, 3) uint8, (scale_x, scale_y) and (pad_x, pad_y): ``net = image_edge * scale + pad``.

    MediaPipe's FIT mode: the image keeps its aspect ratio, centred, padded with black."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    pad_x, pad_y = (size - nw) // 2, (size - nh) // 2
    out = np.zeros((size, size, 3), np.uint8)
    out[pad_y:pad_y + nh, pad_x:pad_x + nw] = _resize(image, nw, nh)
    return out, np.array([nw / w, nh / h]), np.array([pad_x, pad_y], np.float64)


class BlazeFaceDetector(FaceDetector):
    """Faces with MediaPipe's BlazeFace (ONNX Runtime), with six keypoints each.

    Parameters
    ----------
    model:
        ``"short"`` (128 px input; default: on the 300W common test photos it finds
        100 % of the faces, ``"full"`` 96 %, and it is ~3x faster) or ``"full"`` (192 px,
        trained for smaller faces; it misses some faces that fill half the picture).
    score_threshold:
        minimum face probability of the whole-image pass (default: MediaPipe's, 0.5
        short / 0.6 full).
    pyramid_score_threshold:
        the same for the pyramid levels (default 0.75 short / 0.6 full): they scan many
        more windows, and the short model's false detections on textures score up to ~0.7
        there (``tools/collage_found_rate.py``, 48 faces of 40-400 px in a 4,000 x 3,000
        collage, ``min_face_size=40``: 28 other detections at 0.5, none at 0.75, for one
        face fewer found).
    nms_threshold:
        IoU above which detections merge (weighted NMS; MediaPipe's 0.3).
    min_face_size:
        smallest face (tight landmark box side, pixels) to search for, or None: one
        whole-image pass. When smaller than that pass finds, image-pyramid levels are
        searched too (module docstring; :meth:`scales_for` lists them); the cost grows
        with ``(image side / min_face_size)^2``. Faces smaller than it are dropped.
    threads:
        ONNX Runtime intra-op threads (None: its default, all cores).
    whole_image:
        ``"fill"`` (default) or ``"letterbox"`` (MediaPipe's), see the module docstring.
        Chosen on the validation split (issue 14, docs/detection.md): faces of 80 / 95 px
        pasted into 640 x 480 frames are found 89 / 96 % of the time (letterbox: 83 / 95 %),
        with fewer false detections on the tuning face-free images, for 1.4x the network
        pixels on a 4:3 picture (the same on a square one).
    """

    name = "blazeface"  # "blazeface_full" for the full-range model (calibrations are per name)
    #: detections scoring at least this are kept by the Landmarker even when its face-confidence
    #: check doubts them. Chosen with the Landmarker's ``min_confidence`` on the validation split
    #: of the 300W training list and 600 tuning face-free images (issue 14, third round): the
    #: setting with at most one false detection per 200 tuning images that finds the most occluded
    #: validation faces (95.9 %; 0.6 finds 97.5 % with 5 false detections on the 600). Sweep and
    #: table: docs/detection.md, `python tools/sweep_detection_thresholds.py ../shared/data/300W/train.txt`.
    certain_score: float = 0.7

    def __init__(self, model: str = "short", score_threshold: float | None = None,
                 nms_threshold: float = 0.3, min_face_size: float | None = None,
                 threads: int | None = None, pyramid_score_threshold: float | None = None,
                 whole_image: str = "fill") -> None:
        if model not in MODELS:
            raise ValueError(f"unknown BlazeFace model {model!r}; choose one of {', '.join(MODELS)}")
        for key, value in (("score_threshold", score_threshold),
                           ("pyramid_score_threshold", pyramid_score_threshold)):
            if value is not None and not 0.0 < value < 1.0:
                raise ValueError(f"{key} must be in (0, 1), got {value!r}")
        if not 0.0 <= nms_threshold <= 1.0:
            raise ValueError(f"nms_threshold must be in [0, 1], got {nms_threshold!r}")
        if min_face_size is not None and not min_face_size > 0:
            raise ValueError(f"min_face_size must be positive, got {min_face_size!r}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads!r}")
        if whole_image not in WHOLE_IMAGE:
            raise ValueError(f"whole_image must be one of {', '.join(WHOLE_IMAGE)}, got {whole_image!r}")
        self.whole_image = whole_image
        self.model = model
        self.spec = MODELS[model]
        self.score_threshold = float(score_threshold if score_threshold is not None
                                     else self.spec.score_threshold)
        self.pyramid_score_threshold = float(pyramid_score_threshold if pyramid_score_threshold is not None
                                             else self.spec.pyramid_score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.min_face_size = min_face_size
        self.threads = threads
        self.name = "blazeface" if model == "short" else f"blazeface_{model}"
        self._session = _session(model, threads)

    # -- search plan -----------------------------------------------------------------
    def scales_for(self, width: int, height: int) -> list[float]:
        """Scale factors of the pyramid levels searched besides the whole-image pass
        (finest first; empty without ``min_face_size`` or when that pass suffices)."""
        if not self.min_face_size:
            return []
        longer, size = max(width, height), self.spec.input_size
        scale = MIN_NET_FACE[self.model] / self.min_face_size
        scales = []
        while longer * scale > 1.5 * size:  # else the letterboxed pass (scale size / longer) covers it
            scales.append(scale)
            scale /= 2
        return scales

    # -- detection -------------------------------------------------------------------
    def run_network(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, H, W, 3) uint8 RGB -> raw (B, A, 16) regressors and (B, A, 1) logits."""
        x = batch.astype(np.float32) / 127.5 - 1.0
        regressors, logits = self._session.run(["regressors", "classificators"], {"input": x})
        return regressors, logits

    def _whole_image(self, images: list[np.ndarray]) -> list[tuple]:
        """Letterboxed passes: per image, (boxes, scores, keypoints) in pixel-centre coordinates."""
        size, out = self.spec.input_size, []
        anchors = ssd_anchors(self.model)
        for start in range(0, len(images), _BATCH):
            chunk = [letterbox(im, size) for im in images[start:start + _BATCH]]
            regressors, logits = self.run_network(np.stack([c[0] for c in chunk]))
            for (_, scale, pad), reg, logit in zip(chunk, regressors, logits):
                b, s, k = decode(reg, logit, anchors, self.score_threshold)
                out.append(((b.reshape(-1, 2, 2) - pad) / scale - 0.5, s, (k - pad) / scale - 0.5))
        return out

    def _level(self, image: np.ndarray, scale: float) -> tuple:
        """One pyramid level: the image scaled by ``scale``, padded to the stride, run in chunks.

        Chunks of at most ``LEVEL_CHUNK`` pixels a side (bounded memory) overlap by twice the
        largest face a level reports; each keeps the detections whose centre is nearer to it
        than to its neighbours, so a reported face lies whole in its chunk with context."""
        h, w = image.shape[:2]
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        if nw * nh > MAX_LEVEL_PIXELS:
            raise ValueError(f"min_face_size={self.min_face_size} on a {w} x {h} image needs a "
                             f"{nw} x {nh} pyramid level (over {MAX_LEVEL_PIXELS / 1e6:.0f} MP): "
                             "use a larger min_face_size")
        m = self.spec.multiple
        ph, pw = -(-nh // m) * m, -(-nw // m) * m
        canvas = np.zeros((ph, pw, 3), np.uint8)
        canvas[:nh, :nw] = _resize(image, nw, nh)
        overlap = int(-(-2 * LEVEL_MAX_FACE[self.model] // m) * m)
        xs, ys = _chunk_starts(pw, overlap), _chunk_starts(ph, overlap)
        boxes, scores, points = [], [], []
        for j, y in enumerate(ys):
            for i, x in enumerate(xs):
                chunk = canvas[y:y + LEVEL_CHUNK, x:x + LEVEL_CHUNK]
                regressors, logits = self.run_network(chunk[None])
                b, s, k = decode(regressors[0], logits[0], ssd_anchors(self.model, *chunk.shape[:2]),
                                 self.pyramid_score_threshold)
                cx, cy = (b[:, 0] + b[:, 2]) / 2 + x, (b[:, 1] + b[:, 3]) / 2 + y
                keep = ((np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) <= LEVEL_MAX_FACE[self.model])
                        & _owned(cx, xs, i) & _owned(cy, ys, j))
                boxes.append(b[keep] + [x, y, x, y])
                scores.append(s[keep])
                points.append(k[keep] + [x, y])
        factor = np.array([nw / w, nh / h])
        b, k = np.concatenate(boxes), np.concatenate(points)
        return b.reshape(-1, 2, 2) / factor - 0.5, np.concatenate(scores), k / factor - 0.5

    def _filled(self, image: np.ndarray) -> tuple:
        """The whole-image pass with the shorter side scaled to the input size (the longer side
        at most ``FILL_MAX_RATIO`` times it, padded to the stride): no letterbox bars, so a
        4:3 picture is searched at 4/3 the letterbox's resolution for 1.4x its pixels."""
        h, w = image.shape[:2]
        size = self.spec.input_size
        scale = min(size / min(h, w), FILL_MAX_RATIO * size / max(h, w))
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        m = self.spec.multiple
        ph, pw = max(size, -(-nh // m) * m), max(size, -(-nw // m) * m)
        canvas = np.zeros((ph, pw, 3), np.uint8)
        oy, ox = (ph - nh) // 2, (pw - nw) // 2
        canvas[oy:oy + nh, ox:ox + nw] = _resize(image, nw, nh)
        regressors, logits = self.run_network(canvas[None])
        b, s, k = decode(regressors[0], logits[0], ssd_anchors(self.model, ph, pw), self.score_threshold)
        # faces the letterbox would see under MIN_NET_FACE: the pyramid's threshold (textures)
        letterbox_side = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * size / (max(h, w) * scale)
        keep = (letterbox_side >= MIN_NET_FACE[self.model]) | (s >= self.pyramid_score_threshold)
        b, s, k = b[keep], s[keep], k[keep]
        factor, pad = np.array([nw / w, nh / h]), np.array([ox, oy], np.float64)
        return (b.reshape(-1, 2, 2) - pad) / factor - 0.5, s, (k - pad) / factor - 0.5

    def detect(self, image: np.ndarray) -> list[Detection]:
        image = check_rgb_image(image)
        h, w = image.shape[:2]
        parts = [self._filled(image)] if self.whole_image == "fill" else self._whole_image([image])
        parts += [self._level(image, s) for s in self.scales_for(w, h)]
        return self._merge(parts)

    def _merge(self, parts: list[tuple]) -> list[Detection]:
        parts = [p for p in parts if len(p[1])]
        if not parts:
            return []
        boxes, scores, points = non_max_suppression(
            np.concatenate([p[0].reshape(-1, 4) for p in parts]), np.concatenate([p[1] for p in parts]),
            self.nms_threshold, weighted=True, extras=np.concatenate([p[2] for p in parts]))
        dets = [Detection(b, s, k) for b, s, k in zip(boxes, scores, points)]
        return sort_detections(dets, self.min_face_size)

    def __repr__(self) -> str:
        return (f"BlazeFaceDetector(model={self.model!r}, score_threshold={self.score_threshold}, "
                f"nms_threshold={self.nms_threshold}, min_face_size={self.min_face_size!r}, "
                f"pyramid_score_threshold={self.pyramid_score_threshold}, whole_image={self.whole_image!r})")


def full_range_detector(**kwargs: Any) -> BlazeFaceDetector:
    """The full-range model (registered as ``"blazeface_full"``)."""
    return BlazeFaceDetector(model="full", **kwargs)


def _chunk_starts(length: int, overlap: int) -> list[int]:
    """Chunk origins along one padded side: ``LEVEL_CHUNK``-long chunks, neighbours overlapping
    by at least ``overlap``, the first at 0 and the last ending at ``length``."""
    if length <= LEVEL_CHUNK:
        return [0]
    n = -(-(length - LEVEL_CHUNK) // (LEVEL_CHUNK - overlap)) + 1
    step = (length - LEVEL_CHUNK) / (n - 1)
    return [int(round(i * step)) for i in range(n - 1)] + [length - LEVEL_CHUNK]


def _owned(centres: np.ndarray, starts: list[int], i: int) -> np.ndarray:
    """Which centres (level pixels) chunk ``i`` of ``starts`` owns: those nearer to it than to
    its neighbours (boundaries halfway through the overlaps)."""
    lo = -np.inf if i == 0 else (starts[i] + starts[i - 1] + LEVEL_CHUNK) / 2
    hi = np.inf if i == len(starts) - 1 else (starts[i + 1] + starts[i] + LEVEL_CHUNK) / 2
    return (centres >= lo) & (centres < hi)


def _session(model: str, threads: int | None):
    try:
        import onnxruntime as ort  # noqa: PLC0415 - a dependency, imported on first use
    except ImportError as exc:  # pragma: no cover - onnxruntime is a dependency
        raise DetectorUnavailableError("the 'blazeface' detector needs onnxruntime: "
                                       "pip install onnxruntime") from exc
    data = resources.files(__package__).joinpath("models", f"blazeface_{model}.onnx").read_bytes()
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
