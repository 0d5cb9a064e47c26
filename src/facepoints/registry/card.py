"""Model cards: what a shipped model is, how it was trained, how well it does."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ModelCard:
    """A registry entry, stored as ``registry/cards/<name>.json``.

    ``weights`` maps a runtime (``torch``, ``onnx``) to ``{"file": ..., "sha256": ...}`` with
    files under ``registry/weights``; ``crop`` holds the pipeline's ``CropSpec`` fields.
    """

    name: str
    architecture: str
    config: dict
    scheme: str
    crop: dict
    weights: dict
    summary: str = ""
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    speed: dict = field(default_factory=dict)
    licence: str = ""

    @classmethod
    def from_json(cls, data: dict) -> "ModelCard":
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class WeightsError(RuntimeError):
    """Shipped weights that are missing or do not match their model card's sha256."""


def verified_path(card: ModelCard, path: Path, runtime: str) -> Path:
    """``path`` if it exists and matches the card's sha256 for ``runtime``; else ``WeightsError``."""
    entry = card.weights[runtime]
    if not path.is_file():
        raise WeightsError(f"model {card.name}: weights file {path} is missing (reinstall facepoints)")
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise WeightsError(f"model {card.name}: {path.name} sha256 {actual[:12]}... does not match the "
                           f"model card ({entry['sha256'][:12]}...); the file is corrupt or was replaced")
    return path
