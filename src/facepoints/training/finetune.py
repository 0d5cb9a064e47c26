"""Few-shot TUFA: a new landmark scheme from N annotated faces (thesis ch. 6.2.4).

"We first calculate a mean shape from the very few training samples. This mean shape is then
added with a group of newly defined learnable semantic alignment embeddings. Finally, the
pretrained TUFA is fine-tuned end-to-end on the new dataset without any changes of the structure."

``finetune(cfg)``: the N faces' mean shape in plane coordinates (each face's tight landmark box
-> [-1, 1], averaged: ``mean_shape_from_landmarks``) becomes a new alignment set ``cfg.scheme``
with zero offsets, made the model's default (``forward`` predicts its P points), and the whole
network is trained with TUFA's objective (masked anchors of the new set, eq. 6.12 L1) by the
one training loop (``FinetuneObjective``, a ``TufaObjective``; resumable: rerun the same config).
The base model's alignment sets stay in the model (unchanged: they get no gradient). An epoch is ``epoch_steps`` optimiser steps,
ceil(max(N, epoch_samples) / batch_size): with few faces each is repeated (fresh augmentation
per repeat, ``RepeatedFaces``), so N=1 fills a batch. ``from_scratch`` trains the same
architecture without the pretrained weights (the baseline of the few-shot protocol).

The checkpoint's config is a ``TrainConfig`` (``facepoints.registry.load_trained`` and
``facepoints package`` rebuild the model from it); a custom scheme's definition travels in
the checkpoint (``scheme_definition``) and the fine-tuning record in ``finetune``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from torch import nn

from ..datasets.records import FaceRecord
from ..datasets.repeat import RepeatedFaces
from ..models import TUFA
from ..schemes import LandmarkScheme, register_scheme
from ..schemes.mean_shape import mean_shape_from_landmarks
from .config import TrainConfig
from .config_checks import check_values
from .finetune_config import FinetuneConfig
from .finetune_setup import BaseTUFA, draw_faces, epoch_steps, load_tufa_base, read_faces, resolve_scheme
from .trainer import Trainer
from .tufa_objective import TufaObjective

__all__ = ["FinetuneConfig", "FinetunePlan", "FinetuneObjective", "prepare", "finetune"]


@dataclass
class FinetunePlan:
    """Everything ``FinetuneObjective`` needs besides its ``TrainConfig``."""

    base: BaseTUFA
    train: list[FaceRecord]
    val: list[FaceRecord]
    mean: np.ndarray
    scheme: LandmarkScheme
    custom: bool
    record: dict = field(default_factory=dict)


class FinetuneObjective(TufaObjective):
    """TUFA's objective on the drawn faces, repeated to fixed-length epochs, with the base TUFA plus
    the new alignment set (or a fresh TUFA ``from_scratch``)."""

    def __init__(self, cfg: TrainConfig, plan: FinetunePlan) -> None:
        self.plan = plan
        super().__init__(cfg)

    @property
    def scratch(self) -> bool:
        return bool(self.plan.record["config"]["from_scratch"])

    def load_data(self) -> tuple[list, list, list[int]]:
        return self.plan.train, self.plan.val, [0] * len(self.plan.train)

    def training_set(self, records: list, sources: list[int]) -> RepeatedFaces:
        cfg = self.cfg
        steps = epoch_steps(len(records), self.plan.record["config"]["epoch_samples"], cfg.batch_size)
        return RepeatedFaces(super().training_set(records, sources), steps * cfg.batch_size, cfg.seed)

    def build_model(self) -> nn.Module:
        name = self.cfg.model.scheme
        if self.scratch:
            return TUFA(self.cfg.model, self.plan.mean)
        model = self.plan.base.model
        if name in model.alignment:
            raise ValueError(f"the base model already has an alignment set {name!r}; choose another scheme name "
                             f"(it has: {', '.join(model.schemes)})")
        model.add_scheme(name, self.plan.mean)
        model.set_default_scheme(name)
        return model

    def initialise(self, model: nn.Module) -> None:
        if self.scratch:  # pretrained runs start from the base weights (build_model)
            super().initialise(model)

    def checkpoint_extras(self) -> dict:
        extras = {"finetune": self.plan.record}
        if self.plan.custom:
            extras["scheme_definition"] = self.plan.scheme.to_json()
        return extras


def prepare(cfg: FinetuneConfig) -> tuple[TrainConfig, FinetunePlan]:
    """Read and draw the faces, load the base, resolve the scheme (a custom one is registered
    for this process) and build the ``TrainConfig`` of the run."""
    base = load_tufa_base(cfg.base)
    data = Path(cfg.data).resolve()
    label = cfg.like or cfg.scheme
    train = draw_faces(read_faces(data, label), cfg.limit, cfg.draw_seed)
    val = read_faces(cfg.val_list, label) if cfg.val_list else []
    points = len(train[0].landmarks)
    if any(len(r.landmarks) != points for r in val):
        raise ValueError(f"{cfg.val_list}: validation faces must have the training faces' {points} points")
    mean = mean_shape_from_landmarks(np.stack([r.landmarks for r in train]))
    scheme, flip_ok = resolve_scheme(cfg.scheme, mean, cfg.like, cfg.flip_pairs, cfg.interocular)
    custom = cfg.like is None
    if custom:
        register_scheme(scheme)
    base_cfg = base.model.config
    model = replace(base_cfg, scheme=cfg.scheme, num_points=points,
                    keep_fraction=base_cfg.keep_fraction if cfg.keep_fraction is None else cfg.keep_fraction)
    augment = base.augment if flip_ok else replace(base.augment, flip=0.0)
    train_cfg = TrainConfig(
        name=cfg.run_name, data_root="", train_lists=[str(data)], val_fraction=0.0, scheme=scheme.name,
        architecture="tufa", model=model, crop_margin=base.crop_margin,
        imagenet_init=cfg.from_scratch and cfg.imagenet_init,
        init_checkpoint=None if cfg.from_scratch else base.checkpoint, augment=augment,
        alignment_sets=[cfg.scheme], epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
        weight_decay=cfg.weight_decay, warmup_epochs=cfg.warmup_epochs, seed=cfg.seed, threads=cfg.threads,
        workers=cfg.workers, output_dir=cfg.output_dir)
    record = {"config": asdict(cfg), "faces": [str(r.image_path) for r in train],
              "base_checkpoint": base.checkpoint, "points": points,
              "epoch_steps": epoch_steps(len(train), cfg.epoch_samples, cfg.batch_size)}
    return train_cfg, FinetunePlan(base, train, val, mean, scheme, custom, record)


def finetune(cfg: FinetuneConfig, progress: bool = True) -> Path:
    """Run (or resume, or find finished) one fine-tuning; returns its ``best.pt`` (lowest
    validation NME; the last epoch without a validation list)."""
    check_values(asdict(cfg), FinetuneConfig)  # one line naming a bad setting, before any work
    train_cfg, plan = prepare(cfg)
    _check_same_run(cfg.run_dir / "finetune.json", plan.record)
    trainer = Trainer(FinetuneObjective(train_cfg, plan), progress)
    (cfg.run_dir / "finetune.json").write_text(json.dumps(plan.record, indent=1))
    if plan.custom:
        plan.scheme.save(cfg.run_dir / "scheme.json")
    trainer.run()
    return cfg.run_dir / "best.pt"


def _check_same_run(path: Path, record: dict) -> None:
    """A run folder holds one fine-tuning: refuse to resume it with other faces or another base."""
    if not path.is_file():
        return
    old = json.loads(path.read_text())
    if old.get("faces") != record["faces"] or old.get("base_checkpoint") != record["base_checkpoint"]:
        raise ValueError(f"{path.parent} holds a fine-tuning run on other faces or another base; "
                         "choose another name or output folder")
