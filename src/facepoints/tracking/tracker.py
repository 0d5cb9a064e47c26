"""Tracking mode (ATPN thesis, ch. 3): detect once, then crop each next frame from the last landmarks.

Per frame, :meth:`FaceTracker.step`

1. crops every tracked face from the box of its previous raw landmarks along the face's own
   axes, turned by their roll (the line through the eyes), so a tilted head is seen upright as
   in single images (optionally moved by the face's last frame-to-frame shift,
   ``motion_prediction``), and runs the landmark model on all of them in one batch;
2. checks each result (:mod:`facepoints.tracking.health`): a *failed* track (face
   confidence < 0.7 when the model has a confidence branch, landmarks that left the frame,
   collapsed or exploded, or a *cut*: the colours or picture in its box changed at once,
   :mod:`facepoints.tracking.appearance`) or a *suspect* one (its size drifted since the
   detector last confirmed it) asks for the detector;
3. runs the face detector then, every ``redetect_every`` frames (to pick up new faces and
   bound drift), on the first frame, and every ``search_every`` frames while no face is
   tracked. Detections are matched to tracks by IoU; a failed or suspect track that a
   detection confirms, or one whose landmarks from the detector box disagree with the
   tracked ones, is re-located from that box as a single image would be (same id; this
   resets any drift; the detector's eye keypoints give the crop's roll, as for a photo). A
   cut track ends (the detection that matched it starts a new track, so another face never
   inherits the old one's id and smoothed history). A failed
   track without a detection is dropped; a healthy one counts a miss, unless the model's
   own confidence vouches for it, and is dropped after ``max_misses`` misses in a row.
   Unmatched detections start new tracks;
4. drops the younger of two tracks that converged on one face, and smooths each track's
   landmarks (:class:`facepoints.tracking.smoothing.LandmarkSmoother`).

**The ROI and the "25 % margin".** The thesis crops the bounding rectangle of the
previous landmarks with "25 % extension of each boundary": the crop its network was
trained on. Here the ROI handed to the model is that bounding rectangle itself (the tight
landmark box, the box convention every facepoints model is trained on) and the extension is
the model's own: its :class:`facepoints.pipeline.crop.CropSpec` crops a square of
``margin`` x the box's longer side (1.25 for ``atpn_lite0_68``: 12.5 % on each side),
exactly as in training. A wider crop (the thesis's 1.5 x) would show this network a face
smaller than any it was trained on and cost accuracy; the margin plus the training's
shift augmentation absorb the face's motion between frames.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..detectors import Detection
from ..detectors.rotated import detection_roll
from ..geometry import box_from_points, box_iou
from ..pipeline.images import to_rgb_uint8
from ..pipeline.rotation import landmark_roll, upright_box
from ..results import Face
from .appearance import Appearance, appearance, cut_reason
from .frame_result import FrameResult, TrackedFace
from .health import HealthLimits, box_side, drift_suspicion, track_failure
from .smoothing import LandmarkSmoother, SmoothingConfig, smoothing_preset

if TYPE_CHECKING:  # the facade sits below this layer; only its interface is used
    from ..landmarker import Landmarker


@dataclass(frozen=True)
class TrackerConfig:
    """Policy of :class:`FaceTracker` (see the module docstring).

    ``redetect_every``: frames between scheduled detector runs (new faces appear within
    that many frames; 30 = one second at 30 fps, 3.3 % of frames). ``search_every``:
    frames between detector runs while no face is tracked. ``match_iou``: IoU above which
    a detection is the same face as a track. ``max_misses``: scheduled detector runs in a
    row that may miss a track whose face confidence is unknown before it is dropped.
    ``relocate_iou``: a healthy track that a detection confirms keeps its tracked landmarks
    unless those found from the detector box overlap them by less than this IoU (it drifted);
    re-locating on every scheduled run would make the landmarks jump each time.
    ``motion_prediction``: share of the last frame-to-frame shift of the landmark box added
    to the next ROI (0 = ROI on the previous landmarks, 1 = constant velocity). Off by
    default: the shift of raw landmarks is noisy, and the network's output moves with its
    crop, so extrapolating it fed noise back (on 10 synthetic clips of 300W training faces,
    ``facepoints stability --motion-prediction 1`` raised raw jitter from 2.6 % to 3.6 % of
    the inter-ocular distance at equal NME); the crop margin absorbs ordinary motion.
    """

    redetect_every: int = 30
    search_every: int = 5
    match_iou: float = 0.3
    duplicate_iou: float = 0.5
    max_misses: int = 2
    relocate_iou: float = 0.8
    motion_prediction: float = 0.0
    health: HealthLimits = field(default_factory=HealthLimits)
    smoothing: SmoothingConfig | str = field(default_factory=SmoothingConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "smoothing", smoothing_preset(self.smoothing))  # a preset name -> its config
        if self.redetect_every < 1 or self.search_every < 1:
            raise ValueError("redetect_every and search_every must be >= 1 frame")
        if not 0 < self.match_iou < 1 or not 0 < self.duplicate_iou <= 1 or not 0 <= self.relocate_iou <= 1:
            raise ValueError("IoU thresholds must lie in [0, 1] (match_iou strictly inside)")
        if not (self.max_misses >= 0 and self.motion_prediction >= 0):  # NaN fails too
            raise ValueError(f"max_misses and motion_prediction must be >= 0, got {self.max_misses} and "
                             f"{self.motion_prediction}")


class _Track:
    """One followed face: its latest raw face, tight box, smoother and bookkeeping.

    ``anchor_side`` is the box side when the detector last confirmed the face (the
    reference of the drift check); ``failure`` / ``suspect`` say why this frame's tracked
    result needs the detector (see :mod:`facepoints.tracking.health`)."""

    def __init__(self, track_id: int, face: Face, smoothing: SmoothingConfig) -> None:
        self.track_id, self.face, self.source = track_id, face, "detector"
        self.box = box_from_points(face.landmarks)
        self.anchor_side = box_side(self.box)
        self.smoother = LandmarkSmoother(smoothing)
        self.velocity = np.zeros(2, np.float32)
        self.age = self.misses = 0
        self.failure: str | None = None
        self.suspect: str | None = None
        self.appearance: Appearance | None = None
        self.cut = False

    def roi(self, motion_prediction: float) -> np.ndarray:
        """The next frame's crop box: this frame's tight landmark box, moved by the predicted shift."""
        return self.box + np.tile(self.velocity * motion_prediction, 2)

    def upright_roi(self, roll: float, motion_prediction: float) -> np.ndarray:
        """The same along the face's own axes: the upright box of its landmarks turned by ``roll``."""
        return upright_box(self.face.landmarks, roll) + np.tile(self.velocity * motion_prediction, 2)

    def follow(self, face: Face) -> None:
        """Take the face tracked into this frame; the box centre's shift becomes the velocity."""
        box = box_from_points(face.landmarks)
        self.velocity = ((box[:2] + box[2:]) - (self.box[:2] + self.box[2:])) / 2
        self.face, self.source, self.box = face, "track", box

    def confirm(self) -> None:
        """The detector saw the face where the track has it: keep the tracked landmarks."""
        self.anchor_side, self.suspect, self.misses = box_side(self.box), None, 0

    def relocate(self, face: Face) -> None:
        """Take the face found from a detector box (the drift check's new reference); a jump
        away from the tracked position restarts the smoother and the velocity."""
        box = box_from_points(face.landmarks)
        if box_iou(self.box[None], box[None])[0, 0] < 0.5:
            self.smoother.reset()
            self.velocity = np.zeros(2, np.float32)
        self.face, self.source, self.box = face, "detector", box
        self.anchor_side = box_side(box)
        self.failure = self.suspect = None
        self.misses = 0


class FaceTracker:
    """Follows faces through consecutive frames of one video (one instance per video)."""

    def __init__(self, landmarker: "Landmarker", config: TrackerConfig | None = None) -> None:
        if config is not None and not isinstance(config, TrackerConfig):
            raise TypeError(f"config must be a TrackerConfig (e.g. TrackerConfig(smoothing='light')), "
                            f"got {type(config).__name__}")
        self.landmarker = landmarker
        self.config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._frames = 0
        self._last_detection: int | None = None
        self._last_time: float | None = None

    @property
    def num_tracks(self) -> int:
        return len(self._tracks)

    def step(self, rgb: np.ndarray, index: int | None = None, time: float | None = None) -> FrameResult:
        """Faces in the next frame (RGB; grey (H, W) and other pixel types as ``Landmarker`` takes
        them); ``index``/``time`` default to a 30 fps count. A frame that is not an image
        (empty, wrong shape) raises ``ImageError`` (a ``ValueError``)."""
        index = self._frames if index is None else int(index)
        rgb = to_rgb_uint8(rgb, "RGB", source=f"frame {index}")  # no copy for an RGB uint8 frame
        time = self._monotonic(index / 30.0 if time is None else float(time))
        self._follow(rgb)
        detect = self._detection_due(index)
        if detect:
            self._last_detection = index
            self._assign(rgb, self.landmarker._detect_faces(rgb))
        self._drop_duplicates()
        for t in self._tracks:  # tracks followed into this frame took theirs in _follow
            if t.source == "detector" or t.appearance is None:
                t.appearance = appearance(rgb, t.box)
        self._frames += 1
        faces = []
        for t in self._tracks:
            f = t.face
            smoothed = t.smoother(f.landmarks, time, f.sigma, f.confidence)
            faces.append(TrackedFace(t.track_id, f, smoothed, t.source, t.age))
            t.age += 1
        return FrameResult(index, time, faces, detect)

    # -- the steps ----------------------------------------------------------------------
    def _follow(self, rgb: np.ndarray) -> None:
        """Landmarks for every track from its ROI, and their health."""
        if not self._tracks:
            return
        limits, shift = self.config.health, self.config.motion_prediction
        rois = np.stack([t.roi(shift) for t in self._tracks])
        rolls = self._rolls()
        upright = None if rolls is None else np.stack([t.upright_roi(r, shift) for t, r in zip(self._tracks, rolls)])
        faces = self.landmarker.landmarks_for_boxes(rgb, rois, [t.face.score for t in self._tracks], "track",
                                                    rolls=rolls, upright_boxes=upright)
        for track, face in zip(self._tracks, faces):
            track.failure = track_failure(face, rgb.shape, track.box, limits)
            if track.failure is None:  # a failed track keeps its last good face until the detector decides
                track.follow(face)
                track.suspect = drift_suspicion(track.box, track.anchor_side, limits)
                now = appearance(rgb, track.box)
                cut = cut_reason(track.appearance, now, limits.max_colour_change, limits.min_layout_similarity)
                track.appearance = now
                if cut:  # the detector starts a new track for whatever face is there now
                    track.cut, track.failure = True, cut

    def _rolls(self) -> np.ndarray | None:
        """Each track's roll (degrees) from its last landmarks' eyes: the next crop is turned by it,
        so a tilted head is seen upright as in single images (``None``: a model located at plane
        points, whose landmarks have no eyes to measure)."""
        lm = self.landmarker
        if lm.points is not None:
            return None
        return np.asarray(landmark_roll(np.stack([t.face.landmarks for t in self._tracks]), lm.scheme), np.float64)

    def _detection_due(self, index: int) -> bool:
        last, c = self._last_detection, self.config
        if last is None or any(t.failure or t.suspect for t in self._tracks):
            return True
        return index - last >= (c.redetect_every if self._tracks else c.search_every)

    def _assign(self, rgb: np.ndarray, detections: list[Detection]) -> None:
        """Match detections to tracks by IoU, settle each track (:meth:`_settle`) and start
        tracks for the detections no kept track covers."""
        c = self.config
        det_boxes = np.stack([d.box for d in detections]) if detections else np.zeros((0, 4), np.float32)
        matches = _greedy_match(np.stack([t.box for t in self._tracks]) if self._tracks else np.zeros((0, 4)),
                                det_boxes, c.match_iou)
        relocated = dict(zip(matches, self._locate(rgb, [detections[j] for j in matches.values()])))
        keep = [self._settle(t, relocated.get(i), rgb.shape) for i, t in enumerate(self._tracks)]
        kept = [t for t, k in zip(self._tracks, keep) if k]
        used = {j for i, j in matches.items() if keep[i]}  # a cut track's detection starts a new track
        kept_boxes = np.stack([t.box for t in kept]) if kept else np.zeros((0, 4), np.float32)
        fresh = [d for j, d in enumerate(detections) if j not in used
                 and (len(kept_boxes) == 0 or box_iou(kept_boxes, d.box[None]).max() < c.match_iou)]
        for face in self._locate(rgb, fresh):
            if track_failure(face, rgb.shape, None, c.health) is None:
                kept.append(_Track(self._next_id, face, c.smoothing))
                self._next_id += 1
        self._tracks = kept

    def _settle(self, track: _Track, found: Face | None, shape: tuple[int, ...]) -> bool:
        """A track's fate at a detector run (True: keep it). ``found``: its landmarks from the
        detection that matched it, or ``None`` when no detection did."""
        c = self.config
        if track.cut:
            return False
        if found is not None and track_failure(found, shape, None, c.health) is None:
            drifted = box_iou(track.box[None], box_from_points(found.landmarks)[None])[0, 0] < c.relocate_iou
            if track.failure or track.suspect or drifted:
                track.relocate(found)
            else:
                track.confirm()
            return True
        if track.failure:
            return False
        if track.face.confidence is not None:  # the model vouches for a face the detector missed
            track.misses = 0
            return True
        track.misses += 1
        track.anchor_side, track.suspect = box_side(track.box), None
        return track.misses <= c.max_misses

    def _locate(self, rgb: np.ndarray, detections: list[Detection]) -> list[Face]:
        """Landmarks from detector boxes, re-centred like single images (``Landmarker.refine``)."""
        if not detections:
            return []
        lm = self.landmarker
        return lm.landmarks_for_boxes(rgb, np.stack([d.box for d in detections]), [d.score for d in detections],
                                      lm.detector.name, refine=lm.refine, rolls=[detection_roll(d) for d in detections])

    def _drop_duplicates(self) -> None:
        """Of two tracks on one face (IoU above ``duplicate_iou``), keep the older."""
        kept: list[_Track] = []
        for track in sorted(self._tracks, key=lambda t: t.track_id):
            if all(box_iou(k.box[None], track.box[None])[0, 0] <= self.config.duplicate_iou for k in kept):
                kept.append(track)
        self._tracks = kept

    def _monotonic(self, time: float) -> float:
        """Strictly increasing times (a broken container may repeat a timestamp)."""
        if self._last_time is not None and time <= self._last_time:
            time = self._last_time + 1e-3
        self._last_time = time
        return time


def _greedy_match(a: np.ndarray, b: np.ndarray, min_iou: float) -> dict[int, int]:
    """Pairs (row of ``a`` -> row of ``b``) taken in decreasing IoU, each row used once, IoU >= ``min_iou``."""
    if len(a) == 0 or len(b) == 0:
        return {}
    iou = box_iou(a, b)
    pairs: dict[int, int] = {}
    for flat in np.argsort(-iou, axis=None):
        i, j = np.unravel_index(flat, iou.shape)
        if iou[i, j] < min_iou:
            break
        if i not in pairs and j not in pairs.values():
            pairs[int(i)] = int(j)
    return pairs
