"""From a face detector's box to the tight box around the face's 68 landmarks.

Every detector draws its box its own way (dlib's HOG box sits on eyes-to-lips and cuts
the forehead and chin; OpenCV's Haar box is larger and higher). The landmark crop
(:mod:`facepoints.pipeline.crop`) expects the tight landmark box, so each detector gets a
`BoxCalibration`, fitted once on annotated faces by ``tools/fit_detector_calibration.py``
and shipped as ``pipeline/calibrations/<detector>.json``.

Model (per axis, relative to the detector box of width ``w`` and height ``h``)::

    tight centre = detector centre + (offset_x * w, offset_y * h)
    tight size   = (scale_w * w, scale_h * h)

Why this model: a detector scans a sliding window over an image pyramid, so the box it
returns for a face moves with the face and grows with it; the mapping to the landmark box
must do the same (translation and scale equivariant). A general linear fit with constant
terms in pixels would not, and would depend on the face sizes it was fitted on. Four
numbers are fitted, each as the median of its per-face ratio, which ignores wrong
matches and unusual faces (profile, open mouth) without a tuning constant. The fit also
keeps each ratio's robust spread (1.4826 x MAD; for scales, of the log ratio), i.e. how far
one face's tight box typically is from the calibrated box.
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any, Mapping

import numpy as np

from ..geometry import validate_boxes

__all__ = ["BoxCalibration", "load_calibration", "MODEL"]

MODEL = "centre_offset_scale/v1"
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class BoxCalibration:
    """Maps detector boxes to tight landmark boxes (see the module docstring for the model).

    ``spread`` holds the fit's robust residual spread per parameter (``offset_x``,
    ``offset_y``: fractions of the box side; ``log_scale_w``, ``log_scale_h``: natural log
    of the size ratio); ``n_samples`` is how many faces the fit used; ``meta`` is free-form
    provenance (data, detection rate, command...).
    """

    detector: str
    offset_x: float = 0.0
    offset_y: float = 0.0
    scale_w: float = 1.0
    scale_h: float = 1.0
    spread: Mapping[str, float] = field(default_factory=dict)
    n_samples: int = 0
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("offset_x", "offset_y", "scale_w", "scale_h"):
            value = float(getattr(self, key))
            if not math.isfinite(value):
                raise ValueError(f"{key} must be finite, got {value}")
            object.__setattr__(self, key, value)
        if self.scale_w <= 0 or self.scale_h <= 0:
            raise ValueError(f"scales must be positive, got {self.scale_w}, {self.scale_h}")
        object.__setattr__(self, "spread", {k: float(v) for k, v in dict(self.spread).items()})
        object.__setattr__(self, "meta", dict(self.meta))
        object.__setattr__(self, "n_samples", int(self.n_samples))

    @classmethod
    def identity(cls, detector: str) -> "BoxCalibration":
        """The calibration that leaves boxes unchanged."""
        return cls(detector)

    @property
    def is_identity(self) -> bool:
        return (self.offset_x, self.offset_y, self.scale_w, self.scale_h) == (0.0, 0.0, 1.0, 1.0)

    def apply(self, boxes) -> np.ndarray:
        """Calibrated (K, 4) float32 xyxy boxes for (K, 4) (or one (4,)) detector boxes."""
        b = validate_boxes(boxes).astype(np.float64)
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        cx = (b[:, 0] + b[:, 2]) / 2 + self.offset_x * w
        cy = (b[:, 1] + b[:, 3]) / 2 + self.offset_y * h
        hw, hh = self.scale_w * w / 2, self.scale_h * h / 2
        return np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=1).astype(np.float32)

    @classmethod
    def fit(cls, det_boxes, tight_boxes, detector: str = "unknown",
            meta: Mapping[str, Any] | None = None) -> "BoxCalibration":
        """Fit on matched (K, 4) detector and tight boxes (row i of each = the same face).

        Each parameter is the median of its per-face value (for the scales, of the log
        ratio), so up to half the pairs can be wrong without moving the fit far.
        """
        det, tight = validate_boxes(det_boxes).astype(np.float64), validate_boxes(tight_boxes).astype(np.float64)
        if len(det) != len(tight):
            raise ValueError(f"{len(det)} detector boxes but {len(tight)} tight boxes")
        if len(det) == 0:
            raise ValueError("cannot fit a calibration on no boxes")
        w, h = det[:, 2] - det[:, 0], det[:, 3] - det[:, 1]
        ratios = {
            "offset_x": ((tight[:, 0] + tight[:, 2]) - (det[:, 0] + det[:, 2])) / 2 / w,
            "offset_y": ((tight[:, 1] + tight[:, 3]) - (det[:, 1] + det[:, 3])) / 2 / h,
            "log_scale_w": np.log((tight[:, 2] - tight[:, 0]) / w),
            "log_scale_h": np.log((tight[:, 3] - tight[:, 1]) / h),
        }
        centre = {k: float(np.median(v)) for k, v in ratios.items()}
        spread = {k: float(_MAD_TO_SIGMA * np.median(np.abs(v - centre[k]))) for k, v in ratios.items()}
        return cls(detector, centre["offset_x"], centre["offset_y"],
                   math.exp(centre["log_scale_w"]), math.exp(centre["log_scale_h"]),
                   spread, len(det), dict(meta or {}))

    # -- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {"model": MODEL, **d, "spread": dict(self.spread), "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "BoxCalibration":
        model = data.get("model", MODEL)
        if model != MODEL:
            raise ValueError(f"unsupported box calibration model {model!r} (expected {MODEL!r})")
        keys = ("detector", "offset_x", "offset_y", "scale_w", "scale_h", "spread", "n_samples", "meta")
        missing = [k for k in ("detector", "offset_x", "offset_y", "scale_w", "scale_h") if k not in data]
        if missing:
            raise ValueError(f"box calibration lacks {', '.join(missing)}")
        return cls(**{k: data[k] for k in keys if k in data})

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent) + ("\n" if indent is not None else "")

    @classmethod
    def from_json(cls, text: str) -> "BoxCalibration":
        return cls.from_dict(json.loads(text))


def load_calibration(detector_name: str) -> BoxCalibration:
    """The shipped calibration for a detector (``pipeline/calibrations/<name>.json``).

    For a detector with no shipped file (e.g. a plugin), warns and returns the identity.
    """
    if not detector_name or any(c in detector_name for c in "/\\") or detector_name.startswith("."):
        raise ValueError(f"bad detector name {detector_name!r}")
    resource = resources.files(__package__).joinpath("calibrations").joinpath(f"{detector_name}.json")
    try:
        text = resource.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        warnings.warn(f"no box calibration shipped for detector {detector_name!r}: using its boxes "
                      "unchanged, which may misplace the landmark crop", stacklevel=2)
        return BoxCalibration.identity(detector_name)
    cal = BoxCalibration.from_json(text)
    if cal.detector != detector_name:
        raise ValueError(f"calibrations/{detector_name}.json is for detector {cal.detector!r}")
    return cal
