"""Cached inputs of the ATPN branches: heatmap-fused stride-4 features of generated crops.

Everything in front of the branches is frozen (stages 2 and 3), so each crop's fused
features ``F x H`` (eq. 3.2) are computed once, stored as float16 and reused every epoch.
Caches live in ``<run>/cache`` keyed by the base weights' sha256 and the sampling settings,
so a rerun (or a resume after a kill) skips the work and new weights never reuse stale ones.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..datasets.branch_samples import (SampleConfig, moved_points, negative_box, negative_crop, pose_crop,
                                       positive_crop)
from ..datasets.augment import photometric
from ..datasets.clutter import clutter_crop
from ..datasets.records import FaceRecord
from ..geometry import box_from_points
from ..models import ATPN
from ..pipeline.crop import CropSpec
from ..pipeline.images import load_image
from ..schemes import LandmarkScheme
from .checkpoint import load_checkpoint, save_atomic
from .pose_labels import fit_pose

CHUNK = 256


class FusedFeatures(nn.Module):
    """(B, 3, S, S) crops -> (B, C, S/4, S/4) backbone features times the landmark heatmap."""

    def __init__(self, model: ATPN) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feats = self.model.features(images)
        return self.model.fuse_heatmap(feats[0], self.model.landmarks_from(feats))


class FeatureExtractor:
    """Fused features for uint8 crops, through ONNX Runtime when available (3-4x faster on one
    CPU thread than PyTorch), else PyTorch."""

    def __init__(self, model: ATPN, work_dir: Path, tag: str, threads: int = 1) -> None:
        self.module = FusedFeatures(model).eval()
        self.session = None
        try:
            import onnx  # noqa: F401  (the exporter needs it)
            import onnxruntime as ort
        except ImportError:
            return
        work_dir.mkdir(parents=True, exist_ok=True)
        path = work_dir / f"fused_{tag}.onnx"
        if not path.is_file():
            size = model.config.input_size
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(self.module, torch.rand(1, 3, size, size) * 255, str(path),
                                  input_names=["crops"], output_names=["fused"],
                                  dynamic_axes={"crops": {0: "batch"}, "fused": {0: "batch"}},
                                  opset_version=17, dynamo=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, crops: np.ndarray) -> torch.Tensor:
        """(B, S, S, 3) uint8 RGB -> (B, C, G, G) float16."""
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)
        if self.session is not None:
            return torch.from_numpy(self.session.run(None, {"crops": x})[0]).half()
        with torch.inference_mode():
            return self.module(torch.from_numpy(x)).half()


def cache_key(**parts) -> str:
    """Short stable hash of JSON-able settings."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def build_cached(path: Path, extractor: FeatureExtractor,
                 samples: Iterator[tuple[np.ndarray, np.ndarray]], total: int, desc: str,
                 progress: bool = True) -> dict[str, torch.Tensor]:
    """Load ``path``, or run ``samples`` ((crop, label) pairs) through ``extractor`` and save
    ``{"features": (K, C, G, G) float16, "labels": (K, ...) float32}`` there."""
    if path.is_file():
        return load_checkpoint(path)
    feats, labels, crops = [], [], []
    bar = tqdm(total=total, desc=desc, unit="crop", leave=False, disable=not progress)

    def flush() -> None:
        if crops:
            feats.append(extractor(np.stack(crops)))
            bar.update(len(crops))
            crops.clear()

    for crop, label in samples:
        crops.append(crop)
        labels.append(label)
        if len(crops) == CHUNK:
            flush()
    flush()
    bar.close()
    data = {"features": torch.cat(feats), "labels": torch.from_numpy(np.asarray(labels, np.float32))}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(data, path)
    return data


def _face_box(rec: FaceRecord) -> np.ndarray:
    return rec.box if rec.box is not None else box_from_points(rec.landmarks)


def confidence_samples(records: Sequence[FaceRecord], spec: CropSpec, cfg: SampleConfig, positives: int,
                       negatives: int, seed: int, clutter: int = 0) -> Iterator[tuple[np.ndarray, float]]:
    """(crop, 1.0) face and (crop, 0.0) background crops: ``negatives`` per positive, seeded per face
    (``cfg.face_occluder`` paints occluders over both, placed by the face's landmarks), then
    ``clutter`` synthetic face-free crops per positive (``datasets.clutter``)."""
    occluding = cfg.face_occluder > 0
    for index, rec in enumerate(records):
        rng = np.random.default_rng([seed, 2, index])
        image, box = load_image(rec.image_path), _face_box(rec)
        for _ in range(positives):
            yield positive_crop(image, box, spec, cfg, rng, rec.landmarks if occluding else None), 1.0
            for _ in range(negatives):
                neg = negative_box(box, image.shape, cfg, rng)
                if neg is not None:
                    points = moved_points(rec.landmarks, box, neg) if occluding else None
                    yield negative_crop(image, neg, spec, cfg, rng, points), 0.0
            for _ in range(clutter):
                yield photometric(clutter_crop(spec.size, rng), cfg.photometric, rng), 0.0


def pose_samples(records: Sequence[FaceRecord], spec: CropSpec, scheme: LandmarkScheme, augment,
                 views: int, focal_per_side: float, seed: int,
                 label: Callable = fit_pose) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(crop, pose radians) pairs: per face the plain crop, then ``views - 1`` augmented ones; each
    label is fitted to that crop's own (rotated, mirrored) landmarks, so it matches the crop."""
    for index, rec in enumerate(records):
        rng = np.random.default_rng([seed, 3, index])
        image, box = load_image(rec.image_path), _face_box(rec)
        for view in range(views):
            crop, pts = pose_crop(image, rec.landmarks, box, spec, scheme, augment if view else None, rng)
            yield crop, np.deg2rad(label(pts, spec.size, focal_per_side)).astype(np.float32)
