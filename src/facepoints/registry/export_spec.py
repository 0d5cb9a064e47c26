"""What someone running an exported network elsewhere needs besides the ONNX file: its input
(size, layout, value range), the crop rule from a face box, the layout and units of every
output, and the detector-box calibrations. ``facepoints export`` writes it as ``NAME.json``;
docs/export.md explains each field with a worked example."""
from __future__ import annotations

import json
from importlib import resources

from ..pipeline.runtime import PLANE_ANCHORS_KEY
from ..models.capabilities import capabilities
from ..schemes import get_scheme
from .card import ModelCard

SPEC_FORMAT = "facepoints-export/1"

_OUTPUTS = {
    "landmarks": (["batch", "N", 2], "x, y of each landmark in normalised crop coordinates, -1..1 over the crop: "
                                   "crop pixel = value * size / 2 + (size - 1) / 2"),
    "pose": (["batch", 3], "yaw, pitch, roll in radians (yaw > 0: the subject turns to their left; pitch > 0: "
                           "looking up; roll > 0: counter-clockwise in the image)"),
    "face_prob": (["batch"], "probability that the crop holds a face, 0..1"),
    "sigma": (["batch", "N", 2], "per-point, per-axis spread (Laplace scale) in normalised crop units: "
                               "crop pixels = value * size / 2, image pixels = that / s (crop rule)"),
}


def _calibrations() -> dict[str, dict]:
    """The shipped detector-box calibrations (detector box -> tight landmark box)."""
    out = {}
    for entry in sorted(resources.files("facepoints.pipeline").joinpath("calibrations").iterdir(),
                        key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text())
            out[data["detector"]] = {k: data[k] for k in ("offset_x", "offset_y", "scale_w", "scale_h")}
    return out


def export_spec(card: ModelCard, files: dict[str, str], fp16: bool = False) -> dict:
    """The pre- and post-processing of ``card``'s network; ``files``: ``{"default": NAME.onnx,
    "stagesK": ...}`` as written."""
    caps = capabilities(card.architecture, card.config)
    size, margin = card.crop.size, card.crop.margin
    scheme = get_scheme(card.scheme)
    return {
        "format": SPEC_FORMAT,
        "model": card.name,
        "architecture": card.architecture,
        "scheme": {"name": scheme.name, "points": scheme.num_points,
                   "flip_permutation": list(scheme.flip_permutation)},
        "files": files,
        "weights": "float16 stored, cast to float32 when loaded (compute, input and outputs are float32)"
                   if fp16 else "float32",
        "input": {"name": "crops", "shape": ["batch", 3, size, size], "dtype": "float32", "layout": "NCHW",
                  "channels": "RGB", "range": [0, 255],
                  "normalisation": "none outside the graph: pass the crop's 0-255 RGB values as float32 "
                                   "(the network normalises inside)"},
        "crop": {
            "size": size, "margin": margin,
            "box": "xyxy pixels of the tight box around the face's landmarks; pixel centres are at integer "
                   "coordinates (0-based)",
            "rule": "side = margin * max(x1 - x0, y1 - y0); (cx, cy) = box centre; s = size / side; "
                    "image -> crop matrix M = [[s, 0, (size - 1) / 2 - s * cx], [0, s, (size - 1) / 2 - s * cy]]",
            "rotated": "facepoints turns the crop of a face rolled in-plane by a crop angle a (degrees; 0 for an "
                       "upright face; sign: facepoints.pipeline.rotation): M = [[s*cos a, s*sin a, tx], "
                       "[-s*sin a, s*cos a, ty]], (tx, ty) taking (cx, cy) to ((size - 1) / 2, (size - 1) / 2)",
            "warp": "bilinear, constant black border (OpenCV: cv2.warpAffine(image, M, (size, size), "
                    "flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0))",
        },
        "outputs": {name: {"shape": [scheme.num_points if d == "N" else d for d in _OUTPUTS[name][0]],
                           "meaning": _OUTPUTS[name][1]} for name in caps.outputs},
        "to_image": "image point = inverse(M) applied to the crop pixel",
        "detector_boxes": {
            "rule": "a detector's box (centre cx, cy; size w, h) -> tight box: centre (cx + offset_x * w, "
                    "cy + offset_y * h), size (scale_w * w, scale_h * h)",
            "calibrations": _calibrations(),
        },
        "refine": "with a detector box, facepoints crops once from the calibrated box, then again from the tight "
                  "box of the predicted landmarks, and reports the second prediction",
        "points": None if not caps.takes_points else {
            "input": "points", "shape": ["P", 2], "dtype": "float32",
            "meaning": "any P points of the canonical face plane (facepoints plane, Landmarker.plane_points); "
                       "the output landmarks are then (batch, P, 2), one per point, same units",
            "anchors": f"the file's metadata '{PLANE_ANCHORS_KEY}' holds each landmark set's plane anchors "
                       "(JSON {set: [[x, y], ...]}, default set first): pass them to get the model's own landmarks"},
        "stages": None if caps.stages is None else {
            "trained": caps.stages, "note": "files['stagesK'] runs K coarse-to-fine stages (fewer: faster, coarser)"},
    }
