"""A torch ``Dataset`` of face crops and normalised landmark targets."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..geometry import apply_affine, box_from_points
from ..pipeline.crop import CropSpec, warp_crop
from ..pipeline.images import load_image
from ..schemes import LandmarkScheme
from .augment import AugmentConfig, augmented
from .records import FaceRecord


class LandmarkDataset(Dataset):
    """Crops around each record's tight landmark box (the evaluation protocol).

    Items: ``image`` (3, S, S) float32 RGB 0-255, ``target`` (N, 2) in [-1, 1] crop
    coordinates, ``index``, ``key`` (the sampler key, see ``__getitem__``) and ``source`` (the
    record's entry of ``sources``, e.g. its training list; 0 without). With ``augment`` set, every
    item is a fresh seeded draw of (seed, epoch, index) so runs are reproducible and resumable.
    ``hidden`` point indices get NaN targets (their labels never leave the data set; a flip moves
    the NaN to the mirrored index with the label); the crop box still uses all labelled points.
    ``weights`` (one (N,) array per record, or ``None`` for all ones) add a ``weight`` item, the
    record's per-point loss weights, renumbered with the points when the crop is mirrored.
    """

    def __init__(self, records: Sequence[FaceRecord], scheme: LandmarkScheme, spec: CropSpec,
                 augment: AugmentConfig | None = None, seed: int = 0, cache_images: bool = True,
                 sources: Sequence[int] | None = None, hidden: Sequence[int] = (),
                 weights: Sequence[np.ndarray | None] | None = None) -> None:
        if sources is not None and len(sources) != len(records):
            raise ValueError(f"{len(sources)} sources for {len(records)} records")
        if weights is not None and len(weights) != len(records):
            raise ValueError(f"{len(weights)} weight arrays for {len(records)} records")
        self.weights = None if weights is None else list(weights)
        self.sources = None if sources is None else [int(s) for s in sources]
        self.hidden = sorted(set(int(i) for i in hidden))
        self.records = list(records)
        self.scheme = scheme
        self.spec = spec
        self.augment = augment
        self.seed = seed
        self._cache: dict[int, np.ndarray] | None = {} if cache_images else None

    def __len__(self) -> int:
        return len(self.records)

    def image(self, index: int) -> np.ndarray:
        if self._cache is None:
            return load_image(self.records[index].image_path)
        if index not in self._cache:
            self._cache[index] = load_image(self.records[index].image_path)
        return self._cache[index]

    def __getitem__(self, key: int) -> dict:
        """``key`` = epoch * len(self) + index (see ``EpochSampler``) selects the augmentation draw."""
        epoch, index = divmod(int(key), len(self.records))
        rec = self.records[index]
        image = self.image(index)
        box = rec.box if rec.box is not None else box_from_points(rec.landmarks)
        labels = rec.landmarks
        if self.hidden:
            labels = labels.copy()
            labels[self.hidden] = np.nan
        flip = False
        if self.augment is None:
            matrix = self.spec.box_matrix(box)
            crop, pts = warp_crop(image, matrix, self.spec.size), apply_affine(matrix, labels)
        else:
            rng = np.random.default_rng([self.seed, epoch, index])
            crop, pts, flip = augmented(image, labels, box, self.spec, self.scheme, self.augment, rng)
        item = {
            "image": torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))).float(),
            "target": torch.from_numpy(self.spec.to_normalised(pts)),
            "index": index,
            "key": int(key),
            "source": 0 if self.sources is None else self.sources[index],
        }
        if self.weights is not None:
            weight = self.weights[index]
            weight = np.ones(len(pts), np.float32) if weight is None else np.asarray(weight, np.float32)
            item["weight"] = torch.from_numpy(weight[list(self.scheme.flip_permutation)] if flip else weight.copy())
        return item


class EpochSampler(torch.utils.data.Sampler[int]):
    """Seeded shuffled order of one epoch, yielding ``epoch * n + index`` keys."""

    def __init__(self, size: int, seed: int = 0, shuffle: bool = True) -> None:
        self.size, self.seed, self.shuffle, self.epoch = size, seed, shuffle, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.size)
                 if self.shuffle else np.arange(self.size))
        return iter((self.epoch * self.size + order).tolist())
