"""Fixed-length epochs over a few faces (few-shot training: N may be 1)."""
from __future__ import annotations

import math

import numpy as np
from torch.utils.data import Dataset

from .landmark_dataset import LandmarkDataset


class RepeatedFaces(Dataset):
    """``length`` items per epoch from the n faces of ``faces``: the epoch is ceil(length / n)
    seeded shuffles of the faces, concatenated and cut to ``length``, so every face appears
    ``length // n`` or one more times. Keys follow ``EpochSampler`` (epoch * length + i); item
    i of epoch e is ``faces``' key for draw (e * copies + copy) of its face, so each repeat of a
    face is a different augmentation draw, and every item's ``key`` is unique (mask seeds)."""

    def __init__(self, faces: LandmarkDataset, length: int, seed: int = 0) -> None:
        if len(faces) == 0 or length < 1:
            raise ValueError("need at least one face and a positive epoch length")
        self.faces, self.length, self.seed = faces, int(length), int(seed)
        self.copies = math.ceil(self.length / len(faces))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int) -> dict:
        n = len(self.faces)
        epoch, i = divmod(int(key), self.length)
        copy, j = divmod(i, n)
        face = int(np.random.default_rng([self.seed, epoch, copy]).permutation(n)[j])
        return self.faces[(epoch * self.copies + copy) * n + face]
