"""Configuration of few-shot TUFA fine-tuning (``training.finetune``), read from a YAML file or
built by ``facepoints finetune`` from its options."""
from __future__ import annotations

from dataclasses import dataclass

from .yaml_config import RunConfig


@dataclass(kw_only=True)
class FinetuneConfig(RunConfig):
    """One few-shot run. ``base``: a TUFA training checkpoint or registered model name; ``data``:
    image list of the annotated faces (any point count P, ``.pts`` beside each image), of which
    ``limit`` are drawn with ``draw_seed`` (all when ``None``); ``scheme``: the new alignment set's
    name (and the custom scheme's, unless ``like`` names the known scheme the points follow, e.g.
    ``ibug68``); ``flip_pairs`` / ``interocular``: a custom scheme's mirror pairs (``None``:
    unknown, no flip augmentation) and normaliser groups (``None``: inferred, see
    ``schemes.custom``); ``keep_fraction``: anchor masking (``None``: the base model's);
    ``name``: the run folder (``None``: ``run_name``'s default)."""

    objective: str = "finetune"
    base: str
    data: str
    scheme: str
    like: str | None = None
    flip_pairs: list[list[int]] | None = None
    interocular: list[list[int]] | None = None
    limit: int | None = None
    draw_seed: int = 0
    val_list: str | None = None
    epochs: int = 30
    epoch_samples: int = 200
    batch_size: int = 16
    lr: float = 2e-4
    warmup_epochs: int = 1
    keep_fraction: float | None = None
    from_scratch: bool = False
    imagenet_init: bool = True  # from_scratch only
    threads: int = 2  # a 10-shot run of the shipped TUFA: under 10 min on 2 cores
    workers: int = 0
    name: str | None = None

    @property
    def run_name(self) -> str:
        """``name``, else ``<scheme>_<finetune|scratch>[_<limit>shot_d<draw_seed>]``."""
        if self.name:
            return self.name
        shots = f"_{self.limit}shot_d{self.draw_seed}" if self.limit is not None else ""
        return f"{self.scheme}_{'scratch' if self.from_scratch else 'finetune'}{shots}"
