"""TUFA training: two sources with alignment sets, anchor masking, withheld (zero-shot) points,
validation on kept points, config checks, and a trained checkpoint used as a Landmarker."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from facepoints import Landmarker
from facepoints.cli.main import main
from facepoints.datasets.augment import AugmentConfig
from facepoints.datasets.formats.pts import write_pts
from facepoints.datasets.landmark_dataset import LandmarkDataset
from facepoints.datasets.records import FaceRecord
from facepoints.models import TUFAConfig
from facepoints.models.tufa import masked_anchor_batch
from facepoints.pipeline.crop import CropSpec
from facepoints.registry import list_models, unregister_model
from facepoints.schemes import get_scheme
from facepoints.training.checkpoint import load_grown_state, register_checkpoint
from facepoints.training.config import TrainConfig
from facepoints.training.landmark_objective import build_model, load_splits, validate
from facepoints.training.tufa_objective import TufaObjective, anchor_l1_loss, batch_generator
from facepoints.training.tufa_setup import kept_points, prepare_config, source_schemes

torch.set_num_threads(1)

IBUG = get_scheme("ibug68")
TINY_MODEL = {"num_points": 68, "input_size": 64, "dim": 32, "heads": 2, "layers": 2, "mlp_ratio": 2}
# the 25 interpolation points (0-based iBUG)
ZERO_SHOT = [1, 3, 5, 7, 9, 11, 13, 15, 18, 20, 23, 25, 28, 32, 34, 37, 40, 43, 46, 49, 51, 53, 55, 57, 59]
# with val_fraction 0.2 the file-name hash puts face_a.jpg in validation, face_b/face_c in training
CROPS = {"face_a.jpg": (130, 30, 310, 210), "face_b.jpg": (120, 40, 300, 200), "face_c.jpg": (150, 20, 290, 230)}
FACE_BOX = np.array([175.0, 75.0, 266.0, 167.0], np.float32)  # the astronaut's face, roughly


def _face_points(box: np.ndarray, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """The scheme's mean shape filling ``box``, slightly perturbed (a plausible annotation)."""
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]).max() / 2
    return (IBUG.mean_shape * half + centre + rng.normal(0, jitter, (68, 2))).astype(np.float32)


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory, astronaut) -> Path:
    """``300W/list.txt`` and ``ytf68/list.txt``: three astronaut crops each, annotated with the
    mean shape in her face box (the two folders name the two sources)."""
    root = tmp_path_factory.mktemp("tufa_data")
    rng = np.random.default_rng(0)
    for folder in ("300W", "ytf68"):
        (root / folder).mkdir()
        for name, (x0, y0, x1, y1) in CROPS.items():
            path = root / folder / name
            crop = np.ascontiguousarray(astronaut[y0:y1, x0:x1])
            assert cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            write_pts(path.with_suffix(".pts"), _face_points(FACE_BOX - [x0, y0, x0, y0], 1.0, rng))
        (root / folder / "list.txt").write_text("".join(f"{n}\n" for n in CROPS))
    return root


def _cfg(root: Path, **extra) -> TrainConfig:
    raw = {"name": "tiny_tufa", "architecture": "tufa", "data_root": str(root),
           "train_lists": ["300W/list.txt", "ytf68/list.txt"], "val_fraction": 0.2,
           "model": TUFAConfig(**TINY_MODEL), "imagenet_init": False, "epochs": 1, "batch_size": 2,
           "warmup_epochs": 1, "workers": 0, "threads": 1, "seed": 3}
    raw.update(extra)
    return TrainConfig(**raw)


def _batch(cfg: TrainConfig, sources: list[int], keys: list[int] | None = None) -> dict:
    gen = torch.Generator().manual_seed(5)
    b = len(sources)
    return {"image": torch.rand(b, 3, 64, 64, generator=gen) * 255,
            "target": torch.rand(b, 68, 2, generator=gen) * 1.2 - 0.6,
            "source": torch.tensor(sources), "key": torch.tensor(keys if keys is not None else list(range(b)))}


# --- the train command, end to end ------------------------------------------------------------

def test_tufa_trains_on_two_sources_and_serves_as_a_landmarker(two_sources, tmp_path, astronaut, capsys):
    threads = torch.get_num_threads()
    name = None
    try:
        raw = {"name": "tiny_tufa", "architecture": "tufa", "data_root": str(two_sources),
               "train_lists": ["300W/list.txt", "ytf68/list.txt"], "val_fraction": 0.2, "model": TINY_MODEL,
               "imagenet_init": False, "epochs": 1, "batch_size": 2, "warmup_epochs": 1, "workers": 0,
               "threads": 1, "withhold": [1, 3], "backbone_lr_scale": 0.1, "output_dir": str(tmp_path / "runs")}
        config = tmp_path / "tufa.yaml"
        config.write_text(json.dumps(raw))  # JSON is YAML
        assert main(["train", str(config), "--no-progress"]) == 0
        run = tmp_path / "runs" / "tiny_tufa"
        assert (run / "best.pt").is_file() and "done" in capsys.readouterr().out
        row = json.loads((run / "log.jsonl").read_text().splitlines()[0])
        assert np.isfinite(row["train_loss"]) and np.isfinite(row["val_nme"])
        state = torch.load(run / "best.pt", map_location="cpu", weights_only=True)
        assert state["config"]["model"]["scheme"] == "300w"  # the first source is the default set
        assert {"alignment.300w", "alignment.ytf68", "mean_ytf68"} <= set(state["model"])
        rest, backbone = state["optimizer"]["param_groups"]  # the backbone learns at 0.1 x the rate
        assert backbone["lr_scale"] == 0.1 and backbone["lr"] == pytest.approx(0.1 * rest["lr"])

        name = register_checkpoint(run / "best.pt", tmp_path / "models")
        lm = Landmarker(name, detector=None, backend="torch", threads=1)
        faces = lm(astronaut, boxes=FACE_BOX[None])
        assert len(faces) == 1 and faces[0].landmarks.shape == (68, 2)
        assert np.isfinite(faces[0].landmarks).all()
    finally:
        torch.set_num_threads(threads)
        if name:
            unregister_model(name)


def test_parameter_groups_split_off_the_backbone(two_sources):
    from facepoints.training.landmark_objective import feature_backbone, parameter_groups

    model = build_model(prepare_config(_cfg(two_sources)))
    assert len(parameter_groups(model)) == 1
    rest, backbone = parameter_groups(model, 0.1)
    inner = {id(p) for p in feature_backbone(model).parameters()}
    assert {id(p) for p in backbone["params"]} == inner and backbone["lr_scale"] == 0.1
    assert not inner & {id(p) for p in rest["params"]}
    assert len(rest["params"]) + len(backbone["params"]) == len(list(model.parameters()))
    with pytest.raises(ValueError, match="positive"):
        parameter_groups(model, 0.0)


def test_lists_with_another_point_count_are_refused(two_sources, tmp_path, capsys):
    folder = tmp_path / "cofw"
    folder.mkdir()
    (folder / "face.jpg").write_bytes((two_sources / "300W" / "face_b.jpg").read_bytes())
    write_pts(folder / "face.pts", np.zeros((29, 2)))
    (folder / "list.txt").write_text("face.jpg\n")
    cfg = {"name": "odd", "architecture": "tufa", "data_root": str(tmp_path), "model": TINY_MODEL,
           "train_lists": [str(two_sources / "300W/list.txt"), "cofw/list.txt"], "imagenet_init": False,
           "workers": 0, "threads": 1, "output_dir": str(tmp_path / "runs")}
    (tmp_path / "odd.yaml").write_text(json.dumps(cfg))
    threads = torch.get_num_threads()
    try:
        assert main(["train", str(tmp_path / "odd.yaml")]) == 2
    finally:
        torch.set_num_threads(threads)
    assert "29 points" in capsys.readouterr().err


# --- sources and alignment sets ------------------------------------------------------------------

def test_list_repeats_give_a_list_a_larger_share_of_each_epoch(two_sources):
    train, val, sources = load_splits(_cfg(two_sources))
    more, val2, sources2 = load_splits(_cfg(two_sources, list_repeats=[3, 1]))
    assert [r.image_path for r in val2] == [r.image_path for r in val]  # validation is untouched
    assert sources.count(0) == 2 and sources2.count(0) == 6 and sources2.count(1) == sources.count(1) == 3
    assert [r.image_path for r, s in zip(more, sources2) if s == 0] == [r.image_path for r in train[:2]] * 3
    # each repeat is its own augmentation draw (the item index seeds it)
    data = LandmarkDataset(more, IBUG, CropSpec(64, 1.25), AugmentConfig(), seed=0, sources=sources2)
    assert not torch.equal(data[0]["image"], data[2]["image"])
    for bad in ([2], [0, 1], [1.5, 1]):
        with pytest.raises(ValueError, match="list_repeats"):
            load_splits(_cfg(two_sources, list_repeats=bad))


def test_each_source_trains_its_own_alignment_set(two_sources):
    cfg = prepare_config(_cfg(two_sources))
    assert cfg.model.scheme == "300w" and source_schemes(cfg) == ["300w", "ytf68"]
    model = build_model(cfg)
    assert model.schemes == ["300w", "ytf68"]
    assert torch.equal(model.anchors("ytf68"), torch.from_numpy(IBUG.mean_shape))  # plane coordinates
    TufaObjective(cfg).loss(model, _batch(cfg, [1, 1])).backward()
    assert model.alignment["ytf68"].grad.abs().sum() > 0 and model.alignment["300w"].grad is None


def test_without_alignment_every_source_uses_the_default_anchors(two_sources):
    cfg = prepare_config(_cfg(two_sources, alignment=False))
    assert source_schemes(cfg) == ["300w", "300w"]
    model = build_model(cfg)
    assert model.schemes == ["300w"]
    TufaObjective(cfg).loss(model, _batch(cfg, [1, 1])).backward()
    assert model.alignment["300w"].grad.abs().sum() > 0


# --- masking and the loss ------------------------------------------------------------------------

def test_masking_gives_shape_consistent_reproducible_batches(two_sources):
    cfg = prepare_config(_cfg(two_sources))
    model = build_model(cfg)
    names = ["300w", "ytf68", "ytf68", "300w"]
    kept = kept_points(68, ZERO_SHOT)
    draw = [masked_anchor_batch(model, names, generator=batch_generator(3, torch.tensor([7, 8, 9, 10])),
                                allowed={n: kept for n in names}) for _ in range(2)]
    (anchors, idx), (_, again) = draw
    assert anchors.shape == (4, 11, 2) and idx.shape == (4, 11)  # round(0.25 * 43 kept points)
    assert torch.equal(idx, again)  # same seed and sampler keys, same masks (resumable)
    other = masked_anchor_batch(model, names, generator=batch_generator(3, torch.tensor([11, 12, 13, 14])))[1]
    assert other.shape == (4, 17) and not torch.equal(other[:, :11], idx)  # all 68 allowed: 17
    for row, name in enumerate(names):
        assert torch.equal(anchors[row], model.anchors(name)[idx[row]])
    loss = TufaObjective(cfg).loss(model, _batch(cfg, [0, 1, 1, 0]))
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_anchor_loss_is_eq_6_12_and_skips_missing_labels():
    target = torch.tensor([[[0.0, 0.0], [1.0, 1.0]], [[0.5, 0.5], [float("nan"), 0.0]]])
    pred = torch.tensor([[[0.1, -0.2], [1.0, 1.0]], [[0.5, 0.2], [9.0, 9.0]]], requires_grad=True)
    loss = anchor_l1_loss(pred, target)
    assert torch.isclose(loss, torch.tensor((0.3 + 0.0 + 0.3) / 3))  # |dx| + |dy| over the 3 labelled
    loss.backward()
    assert torch.isfinite(pred.grad).all() and (pred.grad[1, 1] == 0).all()
    layers = torch.stack([pred.detach(), pred.detach()])  # intermediate supervision: mean over layers
    assert torch.isclose(anchor_l1_loss(layers, target), loss.detach())


# --- withheld points (zero-shot protocol) --------------------------------------------------------

def test_withheld_points_are_never_anchors_and_their_offsets_get_no_gradient(two_sources):
    cfg = prepare_config(_cfg(two_sources, withhold=ZERO_SHOT, model=TUFAConfig(**TINY_MODEL, keep_fraction=1.0)))
    model = build_model(cfg)
    kept = kept_points(68, ZERO_SHOT)
    assert len(ZERO_SHOT) == len(set(ZERO_SHOT)) == 25 and len(kept) == 43
    for step in range(5):
        idx = masked_anchor_batch(model, ["300w", "ytf68"], keep=20, generator=batch_generator(step, torch.arange(2)),
                                  allowed={"300w": kept, "ytf68": kept})[1]
        assert not set(idx.flatten().tolist()) & set(ZERO_SHOT)
        TufaObjective(cfg).loss(model, _batch(cfg, [0, 1], keys=[2 * step, 2 * step + 1])).backward()
    for name in ("300w", "ytf68"):
        grad = model.alignment[name].grad
        assert (grad[ZERO_SHOT] == 0).all() and (grad[kept].abs().sum(dim=1) > 0).all()  # keep 1.0: all kept


def test_withheld_labels_never_leave_the_data_set_even_flipped(two_sources):
    spec = CropSpec(64, 1.25)
    record = FaceRecord(two_sources / "300W" / "face_b.jpg",
                        _face_points(FACE_BOX - [120, 40, 120, 40], 0.0, np.random.default_rng(0)), "ibug68")
    plain = LandmarkDataset([record], IBUG, spec, hidden=ZERO_SHOT, sources=[4])[0]
    assert plain["source"] == 4 and plain["key"] == 0
    assert torch.isnan(plain["target"][ZERO_SHOT]).all()
    assert torch.isfinite(plain["target"][kept_points(68, ZERO_SHOT)]).all()
    flipped = LandmarkDataset([record], IBUG, spec, AugmentConfig(flip=1.0), hidden=ZERO_SHOT)[0]
    mirrored = sorted(IBUG.flip_permutation[i] for i in ZERO_SHOT)  # the eye-lid set is not mirror-closed
    assert torch.isnan(flipped["target"][mirrored]).all() and torch.isfinite(flipped["target"]).sum() == 2 * 43
    assert LandmarkDataset([record], IBUG, spec)[0]["source"] == 0  # other architectures: unchanged items


def test_validation_ignores_withheld_points():
    target = torch.from_numpy(IBUG.mean_shape * 0.8)[None]
    wrong = target.clone()
    wrong[0, 5] += 0.5  # only a withheld point is wrong

    class Fixed(torch.nn.Module):
        def forward(self, images):
            return wrong

    loader = [{"image": torch.zeros(1, 3, 64, 64), "target": target}]
    assert validate(Fixed(), loader, IBUG) > 0.01
    assert validate(Fixed(), loader, IBUG, kept_points(68, [5])) == 0.0


def test_a_refined_model_starts_from_a_plain_checkpoint_and_runs_chosen_stages(two_sources, tmp_path, astronaut,
                                                                             capsys):
    plain = build_model(prepare_config(_cfg(two_sources)))
    torch.save({"model": plain.state_dict()}, tmp_path / "plain.pt")
    refined_model = TUFAConfig(**TINY_MODEL, refine_stages=1, refine_layers=1, refine_grid=3)
    cfg = _cfg(two_sources, model=refined_model, init_checkpoint=str(tmp_path / "plain.pt"),
               output_dir=str(tmp_path / "runs"))
    refined = build_model(prepare_config(cfg))
    fresh = load_grown_state(refined, plain.state_dict())
    assert fresh and all(key.startswith("refiner.") for key in fresh)
    assert torch.equal(refined.decoder[0].mlp[0].weight, plain.decoder[0].mlp[0].weight)
    with pytest.raises(KeyError, match="weights this model lacks"):
        load_grown_state(plain, refined.state_dict())
    config = tmp_path / "refined.yaml"
    config.write_text(json.dumps({**{k: v for k, v in vars(cfg).items() if k not in ("model", "augment")},
                                  "model": vars(refined_model)}))
    assert main(["train", str(config), "--no-progress"]) == 0
    assert "new, freshly initialised: refiner" in capsys.readouterr().out
    name = register_checkpoint(tmp_path / "runs" / "tiny_tufa" / "best.pt", tmp_path / "models")
    try:  # stage 1 is the decoder alone, stage 2 adds the refinement
        coarse, fine = (Landmarker(name, detector=None, backend="torch", threads=1, stages=k)(
            astronaut, boxes=FACE_BOX[None])[0].landmarks for k in (1, 2))
        assert np.abs(coarse - fine).max() > 0
        with pytest.raises(ValueError, match="between 1 and 2"):
            Landmarker(name, detector=None, stages=3)
    finally:
        unregister_model(name)


# --- config checks -------------------------------------------------------------------------------

def test_bad_tufa_configs_are_refused(two_sources):
    with pytest.raises(ValueError, match="plane_to_crop"):
        prepare_config(_cfg(two_sources, crop_margin=1.5))
    with pytest.raises(ValueError, match="needs architecture tufa"):
        prepare_config(_cfg(two_sources, architecture="atpn", withhold=[3]))
    with pytest.raises(ValueError, match="inter-ocular"):
        prepare_config(_cfg(two_sources, withhold=[36]))
    with pytest.raises(ValueError, match="0..67"):
        prepare_config(_cfg(two_sources, withhold=[68]))
    with pytest.raises(ValueError, match="leave model.scheme out"):
        prepare_config(_cfg(two_sources, model=TUFAConfig(**TINY_MODEL, scheme="wflw")))
    explicit = _cfg(two_sources, model=TUFAConfig(**TINY_MODEL, scheme="300w"))
    assert prepare_config(explicit) == prepare_config(replace(explicit, model=TUFAConfig(**TINY_MODEL)))


def test_tufa_experiment_configs_parse():
    root = Path(__file__).resolve().parents[1] / "configs"
    configs = sorted((root / "experiments").glob("tufa_*.yaml")) + sorted(root.glob("tufa_*.yaml"))  # + the shipped one
    assert len(configs) == 13
    parsed = {p.stem: prepare_config(TrainConfig.from_yaml(p)) for p in configs}
    ytf = parsed.pop("tufa_lite0_68_ytf")  # few-shot base: ytf68 only, so its default set is "ytf68"
    assert ytf.model.scheme == "ytf68" and ytf.imagenet_init and ytf.init_backbone is None
    assert all(c.architecture == "tufa" and c.model.scheme == "300w" for c in parsed.values())
    # the zero-shot runs may not start from a backbone that saw the withheld points
    assert all(parsed[n].init_backbone is None for n in ("tufa_lite0_68_zeroshot", "tufa_lite0_68_zeroshot_jaw"))
    assert parsed["tufa_lite0_68_zeroshot"].withhold == ZERO_SHOT
    assert parsed["tufa_lite0_68_zeroshot_jaw"].withhold == list(range(17))
    assert source_schemes(parsed["tufa_lite0_68_multi_noalign"]) == ["300w", "300w"]
    assert parsed["tufa_lite0_68_multi_refine"].model.refine_stages == 2
    assert parsed["tufa_lite0_68_multi_refine_dslpt"].init_backbone in list_models()
    assert parsed["tufa_lite0_68_multi_refine_dslpt"].list_repeats == [2, 1]
    assert parsed["tufa_lite0_68_multi_refine_dslpt_300w4"].list_repeats == [4, 1]
    # the encoder trials differ in the encoder (and its ImageNet start) alone
    trials = [parsed[f"tufa_encoder_{e}"] for e in ("cnn_lite0", "vit_s16", "vit_s8")]
    assert [t.model.encoder for t in trials] == ["cnn_lite0", "vit_s16", "vit_s8"]
    assert len({json.dumps({**t.to_dict(), "name": "", "imagenet_init": None,
                            "model": {**t.model.to_dict(), "encoder": ""}}) for t in trials}) == 1
