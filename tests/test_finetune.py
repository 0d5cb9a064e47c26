"""Few-shot TUFA (thesis ch. 6.2.4): ``facepoints finetune`` to a new point set, the custom scheme
it needs, fixed-length epochs over few faces, and the few-shot protocol runner."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from facepoints import Landmarker
from facepoints.cli.main import main
from facepoints.datasets.formats.pts import write_pts
from facepoints.datasets.repeat import RepeatedFaces
from facepoints.evaluation import few_shot
from facepoints.evaluation.few_shot import FewShotConfig, finished_results, planned_runs, run_protocol, write_summary
from facepoints.geometry import box_from_points
from facepoints.models import TUFA, TUFAConfig
from facepoints.registry import load_network, unregister_model
from facepoints.schemes import LandmarkScheme, get_scheme, register_scheme, unregister_scheme
from facepoints.schemes.custom import custom_scheme, infer_normaliser
from facepoints.schemes.mean_shape import mean_shape_from_landmarks
from facepoints.training.checkpoint import load_checkpoint
from facepoints.training.config import TrainConfig
from facepoints.training.finetune import FinetuneConfig, finetune
from facepoints.training.finetune_setup import draw_faces, epoch_steps, read_faces, resolve_scheme
from facepoints.training.landmark_objective import landmark_objective
from facepoints.training.trainer import Trainer

IBUG = get_scheme("ibug68")
FIVE = [36, 45, 30, 48, 54]  # outer eye corners, nose tip, mouth corners (image left first)
TINY_MODEL = TUFAConfig(num_points=68, input_size=64, dim=32, heads=2, layers=1, mlp_ratio=2)
FACE_BOX = np.array([175.0, 75.0, 266.0, 167.0], np.float32)  # the astronaut's face, roughly
CROPS = {"face_a.jpg": (130, 30, 310, 210), "face_b.jpg": (120, 40, 300, 200), "face_c.jpg": (150, 20, 290, 230),
         "face_d.jpg": (140, 35, 300, 215)}
NEW_SCHEMES = ("eyes5", "five_pts", "proto5", "300w")
TINY = {"epochs": 1, "epoch_samples": 4, "batch_size": 2, "threads": 1}


@pytest.fixture(autouse=True)
def _one_thread_and_clean_registry():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
    for name in NEW_SCHEMES:
        unregister_scheme(name)


@pytest.fixture(scope="module")
def data(tmp_path_factory, astronaut) -> Path:
    """``300W/list.txt`` (68 points) and ``five/list.txt`` (5 of them): four astronaut crops
    annotated with the mean shape in her face box, slightly perturbed."""
    root = tmp_path_factory.mktemp("few_shot_data")
    rng = np.random.default_rng(0)
    for folder in ("300W", "five"):
        (root / folder).mkdir()
    for name, (x0, y0, x1, y1) in CROPS.items():
        crop = cv2.cvtColor(np.ascontiguousarray(astronaut[y0:y1, x0:x1]), cv2.COLOR_RGB2BGR)
        box = FACE_BOX - [x0, y0, x0, y0]
        points = IBUG.mean_shape * (box[2:] - box[:2]).max() / 2 + (box[:2] + box[2:]) / 2
        points = points + rng.normal(0, 1.0, points.shape)
        for folder, pts in (("300W", points), ("five", points[FIVE])):
            assert cv2.imwrite(str(root / folder / name), crop)
            write_pts((root / folder / name).with_suffix(".pts"), pts)
    for folder in ("300W", "five"):
        (root / folder / "list.txt").write_text("".join(f"{n}\n" for n in CROPS))
    return root


@pytest.fixture(scope="module")
def base(data, tmp_path_factory) -> Path:
    """A tiny TUFA trained one step on the 68-point faces (alignment set ``300w``)."""
    threads = torch.get_num_threads()
    cfg = TrainConfig(name="base", architecture="tufa", data_root=str(data), train_lists=["300W/list.txt"],
                      val_fraction=0.0, model=TINY_MODEL, imagenet_init=False, epochs=1, batch_size=4,
                      warmup_epochs=1, workers=0, threads=1, output_dir=str(tmp_path_factory.mktemp("base")))
    try:
        Trainer(landmark_objective(cfg), progress=False).run()
    finally:
        torch.set_num_threads(threads)
    return cfg.run_dir / "best.pt"


def _model(checkpoint: Path) -> TUFA:
    state = load_checkpoint(checkpoint)
    return load_network("tufa", state["config"]["model"], state["model"]).eval()


# --- the command, end to end -----------------------------------------------------------------------

def test_finetune_to_a_new_five_point_scheme_saves_a_model_and_detects(data, base, tmp_path, astronaut, monkeypatch,
                                                                      capsys):
    """The result is saved in the user folder and used by name, here and in a later process."""
    monkeypatch.setenv("FACEPOINTS_HOME", str(tmp_path / "home"))
    five = str(data / "five" / "list.txt")
    args = ["finetune", str(base), "--data", five, "--scheme", "eyes5", "--shots", "2", "--draw-seed", "0",
            "--val", five, "--epochs", "1", "--epoch-samples", "4", "--batch-size", "2", "--threads", "1",
            "--out", str(tmp_path), "--no-progress"]
    name = "eyes5_finetune_2shot_d0"
    try:
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "validation NME" in out and f"saved model {name!r}" in out
        run = tmp_path / name
        state = load_checkpoint(run / "best.pt")
        picked = draw_faces(read_faces(five, "eyes5"), 2, 0)
        assert state["finetune"]["faces"] == [str(r.image_path) for r in picked]  # the reproducible draw
        assert state["config"]["augment"]["flip"] == 0.0  # flip pairs unknown: no flips
        assert state["scheme_definition"]["num_points"] == 5

        model, before = _model(run / "best.pt"), _model(base)
        assert model.schemes == ["eyes5", "300w"] and model(torch.zeros(1, 3, 64, 64)).shape == (1, 5, 2)
        assert torch.equal(model.anchors("300w"), before.anchors("300w"))  # the base set is kept, untouched
        mean = mean_shape_from_landmarks(np.stack([r.landmarks for r in picked]))
        assert np.allclose(model.mean_eyes5.numpy(), mean)

        lm = Landmarker(name, detector=None, backend="torch", threads=1)
        box = box_from_points(read_faces(five, "eyes5")[0].landmarks) + [130, 30, 130, 30]  # face_a's offset
        faces = lm(astronaut, boxes=box[None])
        assert len(faces) == 1 and faces[0].landmarks.shape == (5, 2) and faces[0].scheme == "eyes5"
        assert np.isfinite(faces[0].landmarks).all()
        code = ("import sys; from facepoints import Landmarker; from skimage import data; "
                f"f = Landmarker({name!r}, detector=None)(data.astronaut(), boxes=[{box.tolist()}])[0]; "
                "print(f.scheme, f.landmarks.shape[0], 'torch' in sys.modules)")
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
        later = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
        assert later.returncode == 0, later.stderr
        assert later.stdout.split() == ["eyes5", "5", "False"]  # its own scheme, found in the user folder; no torch
        assert main(["models"]) == 0 and name in capsys.readouterr().out
        # saved as one file holding both runtimes' weights (registry.onnx_state)
        assert sorted(p.name for p in (tmp_path / "home" / "models" / "weights").iterdir()) == [f"{name}.onnx"]
        # scored on its own 5-point list: the list is read in the model's scheme (it read as ibug68: IndexError)
        assert main(["evaluate", five, "--model", name, "--threads", "1", "--no-progress",
                     "--out", str(tmp_path / "ev")]) == 0
        assert "NME" in capsys.readouterr().out
    finally:
        unregister_model(name)
        unregister_scheme("eyes5")


def test_a_list_of_other_points_than_the_model_is_refused_in_one_line(data, capsys, tmp_path):
    """Regression: the 68-point model on a 5-point list raised an IndexError with a traceback."""
    assert main(["evaluate", str(data / "five" / "list.txt"), "--threads", "1", "--no-progress",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "5 annotated points, but ibug68 has 68" in err and len(err.splitlines()) == 1


def test_one_face_fills_a_batch_and_epochs_are_fixed_steps(data, base, tmp_path, capsys):
    cfg = FinetuneConfig(base=str(base), data=str(data / "five" / "list.txt"), scheme="five_pts", like="celeba5",
                         limit=1, draw_seed=3, output_dir=str(tmp_path), **{**TINY, "batch_size": 4,
                                                                            "epoch_samples": 10})
    best = finetune(cfg, progress=False)
    state = load_checkpoint(best)
    assert len(state["finetune"]["faces"]) == 1 and state["finetune"]["epoch_steps"] == 3  # ceil(10 / 4)
    assert state["config"]["scheme"] == "celeba5" and "scheme_definition" not in state  # a known scheme
    assert state["config"]["augment"]["flip"] > 0  # celeba5 knows its mirror pairs
    assert np.isfinite(json.loads((best.parent / "log.jsonl").read_text())["train_loss"])
    assert "no validation faces" in capsys.readouterr().out  # not "val NME nan %"
    finetune(cfg, progress=False)  # finished: resuming trains nothing more
    assert "(best: no validation faces)" in capsys.readouterr().out
    assert _model(best)(torch.zeros(2, 3, 64, 64)).shape == (2, 5, 2)
    other = FinetuneConfig(**{**cfg.__dict__, "draw_seed": 1, "name": cfg.run_name})
    with pytest.raises(ValueError, match="other faces"):  # one run folder, one fine-tuning
        finetune(other, progress=False)


def test_a_finetune_config_file_runs_through_train_and_finetune(data, base, tmp_path, capsys):
    """``FinetuneConfig`` reads from YAML: ``facepoints train`` runs it (objective: finetune), and
    ``facepoints finetune --config`` takes the same file (here: the finished run, nothing retrained)."""
    cfg = {"objective": "finetune", "base": str(base), "data": str(data / "five" / "list.txt"), "scheme": "five_pts",
           "like": "celeba5", "limit": 1, "output_dir": str(tmp_path), **TINY}
    path = tmp_path / "ft.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    assert main(["train", str(path), "--no-progress"]) == 0
    assert "done: 5 points from 1 face(s)" in capsys.readouterr().out
    run = tmp_path / "five_pts_finetune_1shot_d0"
    log = (run / "log.jsonl").read_text()
    assert main(["finetune", "--config", str(path), "--no-progress"]) == 0
    assert "resumed" in capsys.readouterr().out and (run / "log.jsonl").read_text() == log
    assert main(["finetune", "--config", str(path), "--epochs", "0"]) == 2  # options are checked as the file is
    assert "epochs must be" in capsys.readouterr().err
    assert main(["finetune", str(base), "--scheme", "x5"]) == 2
    assert "give --data (or --config FILE with them)" in capsys.readouterr().err


def test_a_name_the_base_already_uses_is_refused(data, base, tmp_path):
    cfg = FinetuneConfig(base=str(base), data=str(data / "five" / "list.txt"), scheme="300w",
                         output_dir=str(tmp_path), **TINY)
    with pytest.raises(ValueError, match="already has an alignment set '300w'"):
        finetune(cfg, progress=False)


# --- the protocol ---------------------------------------------------------------------------------

def test_protocol_writes_runs_and_summary_and_skips_finished_runs(data, base, tmp_path, monkeypatch):
    five = str(data / "five" / "list.txt")
    template = FinetuneConfig(base=str(base), data=five, scheme="proto5", interocular=[[0], [1]],
                              imagenet_init=False, **TINY)
    cfg = FewShotConfig(template, test_list=five, output_dir=str(tmp_path / "fs"), sizes=[1, None], draws=2)
    assert [r.name for r in planned_runs(cfg)] == ["finetune_n1_d0", "finetune_n1_d1", "finetune_nall_d0",
                                                   "scratch_n1_d0", "scratch_n1_d1", "scratch_nall_d0"]
    rows = run_protocol(cfg)
    out = tmp_path / "fs"
    assert len(list((out / "results").glob("*.json"))) == 6
    result = json.loads((out / "results" / "scratch_n1_d1.json").read_text())
    assert result["mode"] == "scratch" and len(result["faces"]) == 1 and result["test"]["count"] == 4
    assert [(r["mode"], r["size"], r["runs"]) for r in rows] == [("finetune", "1", 2), ("finetune", "all", 1),
                                                                 ("scratch", "1", 2), ("scratch", "all", 1)]
    assert all(np.isfinite(r["nme"]) and r["nme_std"] >= 0 for r in rows)
    assert "| finetune | 1 | 2 |" in (out / "summary.md").read_text()
    assert cv2.imread(str(out / "summary.png")).shape[2] == 3
    assert not (out / "runs" / "finetune_n1_d0" / "last.pt").exists()

    def refuse(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(few_shot, "finetune", refuse)
    assert run_protocol(cfg) == rows
    (out / "results" / "scratch_nall_d0.json").unlink()  # an unfinished run is left out of a summary
    assert [r["runs"] for r in write_summary(cfg, finished_results(cfg))] == [2, 1, 2]
    with pytest.raises(ValueError, match="no finished few-shot runs"):
        write_summary(cfg, [])


# --- pieces -----------------------------------------------------------------------------------------

def test_draws_are_reproducible_nested_and_all_when_limit_is_large(data):
    records = read_faces(data / "five" / "list.txt", "celeba5")
    names = lambda rs: [r.image_path.name for r in rs]  # noqa: E731
    assert names(draw_faces(records, 2, 0)) == names(draw_faces(records, 2, 0))
    assert set(names(draw_faces(records, 1, 0))) <= set(names(draw_faces(records, 2, 0)))
    assert len({tuple(names(draw_faces(records, 2, s))) for s in range(6)}) > 1
    assert draw_faces(records, None) == draw_faces(records, 10) == records
    with pytest.raises(ValueError, match="at least 1"):
        draw_faces(records, 0)


def test_repeated_faces_balance_faces_and_give_unique_keys():
    class Keys:
        def __len__(self):
            return 3

        def __getitem__(self, key):
            return {"key": key, "index": key % 3}

    epoch = RepeatedFaces(Keys(), 8, seed=1)
    items = [epoch[e * 8 + i] for e in range(2) for i in range(8)]
    assert len({it["key"] for it in items}) == 16  # every repeat is its own augmentation draw
    counts = np.bincount([it["index"] for it in items[:8]], minlength=3)
    assert sorted(counts) == [2, 3, 3]
    assert epoch_steps(1, 200, 16) == 13 and epoch_steps(3000, 200, 16) == 188 and epoch_steps(1, 1, 16) == 1


def test_custom_scheme_pairs_normaliser_and_refusals():
    mean = IBUG.mean_shape[FIVE]
    scheme = custom_scheme("five_pts", mean, flip_pairs=[[0, 1], [3, 4]], interocular=[[0], [1]])
    assert scheme.flip_permutation == (1, 0, 2, 4, 3) and scheme.interocular == ((0,), (1,))
    assert infer_normaliser(mean) == ((0, 3), (1, 4))  # left of centre against right of centre
    assert custom_scheme("five_pts", mean).flip_permutation == tuple(range(5))
    with pytest.raises(ValueError, match="each in one pair"):
        custom_scheme("five_pts", mean, flip_pairs=[[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="shipped scheme"):
        resolve_scheme("celeba5", mean, None, None, None)
    with pytest.raises(ValueError, match="scheme ibug68 68"):
        resolve_scheme("five_pts", mean, "ibug68", None, None)
    assert resolve_scheme("five_pts", mean, "celeba5", None, None) == (get_scheme("celeba5"), True)


def test_registered_schemes_are_found_by_name_but_cannot_shadow_shipped_ones():
    scheme = LandmarkScheme.from_json({**get_scheme("celeba5").to_json(), "name": "five_pts"})
    register_scheme(scheme)
    assert get_scheme("five_pts") is scheme
    unregister_scheme("five_pts")
    with pytest.raises(KeyError):
        get_scheme("five_pts")
    with pytest.raises(ValueError, match="shipped"):
        register_scheme(get_scheme("celeba5"))


def test_set_default_scheme_switches_what_forward_predicts():
    torch.manual_seed(0)
    model = TUFA(TINY_MODEL, IBUG.mean_shape).eval()
    model.add_scheme("five_pts", IBUG.mean_shape[FIVE])
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 68, 2)
    model.set_default_scheme("five_pts")
    assert model.config.scheme == "five_pts" and model.config.num_points == 5
    assert model.schemes == ["five_pts", "ibug68"] and model(torch.zeros(1, 3, 64, 64)).shape == (1, 5, 2)
    with pytest.raises(KeyError):
        model.set_default_scheme("nope")


def test_mean_shape_skips_unlabelled_points():
    shapes = np.stack([IBUG.mean_shape[FIVE] * 40 + 100, IBUG.mean_shape[FIVE] * 50 + 80])
    expected = mean_shape_from_landmarks(shapes)
    shapes[1, 2] = np.nan  # the nose tip of face 2 unlabelled: face 1's alone
    assert np.allclose(mean_shape_from_landmarks(shapes), expected, atol=1e-6)


def test_subset_tool_writes_the_chosen_points_beside_linked_images(data, tmp_path):
    """tools/subset_points_list.py (the data of the documented 10-shot run): same faces, chosen points
    in the given order; an existing folder is never written into."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("subset_points_list",
                                                  Path(__file__).resolve().parents[1] / "tools" / "subset_points_list.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    listing = tool.write_subset(data / "300W" / "list.txt", tmp_path / "five", FIVE)
    want = read_faces(str(data / "five" / "list.txt"), "five")
    got = read_faces(str(listing), "five")
    assert len(got) == len(want) == len(CROPS)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1e-3)
        assert a.image_path.resolve() == (data / "300W" / b.image_path.name).resolve()
    assert tool.main([str(data / "300W" / "list.txt"), "--out", str(tmp_path / "five"), "--points", *map(str, FIVE)]) == 2
