"""Model cards: what a shipped model is, how it was trained, how well it does."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..pipeline.crop import CropSpec

if TYPE_CHECKING:
    from .checkpoint import Checkpoint


@dataclass(frozen=True)
class ModelCard:
    """A registry entry, stored as ``registry/cards/<name>.json``.

    ``weights`` maps a runtime (``torch``, ``onnx``) to ``{"file": ..., "sha256": ...}`` with
    files under ``registry/weights``; ``crop`` is the pipeline's ``CropSpec`` (a ``{"size", "margin"}``
    mapping in the JSON file; a mapping given here becomes one).
    """

    name: str
    architecture: str
    config: dict
    scheme: str
    crop: CropSpec
    weights: dict
    summary: str = ""
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    speed: dict = field(default_factory=dict)
    licence: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.crop, CropSpec):
            object.__setattr__(self, "crop", CropSpec(**self.crop))

    @classmethod
    def from_json(cls, data: dict) -> "ModelCard":
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_checkpoint(cls, checkpoint: "Checkpoint", name: str, weights: dict, **fields) -> "ModelCard":
        """The card of a model made from a training ``checkpoint``: its architecture, network config,
        scheme and crop come from the checkpoint; ``weights`` and the other ``fields`` (summary,
        training, metrics, speed, licence) from the caller. The one place a card is built from a run."""
        return cls(name=name, architecture=checkpoint.architecture, config=checkpoint.model_config,
                   scheme=checkpoint.scheme, crop=checkpoint.crop, weights=weights, **fields)

    def to_json(self) -> dict:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {**data, "crop": asdict(self.crop)}


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
