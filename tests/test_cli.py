"""The ``facepoints`` command line, in-process through ``main()`` and once as a real process."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from facepoints.cli.main import main
from facepoints.datasets.formats.pts import read_pts, write_pts
from facepoints.geometry import box_from_points
from facepoints.pipeline.images import load_image


def strict_json(text: str):
    """Parse standard JSON only (no NaN / Infinity, which other tools reject)."""
    def reject(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=reject)


def one_error_line(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{err}"
    assert "Traceback" not in err
    assert lines[0].startswith(f"facepoints {command}: error: ")
    return lines[0]


def _write_rgb(path, rgb: np.ndarray) -> None:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _pin_to_box(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """``points`` with their tight box made exactly ``box``: points outside are clipped and the
    extreme point on each side moved onto the box edge (a few points move by a few px)."""
    out = np.clip(points, box[:2], box[2:])
    for axis in (0, 1):
        out[np.argmin(out[:, axis]), axis] = box[axis]
        out[np.argmax(out[:, axis]), axis] = box[axis + 2]
    return out


# Crops (x0, y0, x1, y1) of the astronaut around her face; the names decide the hash split:
# with val_fraction 0.2, face_a.jpg goes to validation and face_b/face_c to training.
CROPS = {"face_a.jpg": (130, 30, 310, 210), "face_b.jpg": (120, 40, 300, 200), "face_c.jpg": (150, 20, 290, 230)}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory, astronaut, astronaut_face_box, landmarker):
    """Three JPEG crops with a 1-based ``.pts`` beside each, and ``list.txt``.

    The annotation is the shipped model's own prediction, made self-consistent with the
    evaluation protocol (which crops around the annotation's tight box): predict from a
    rough box, predict again from the tight box of that prediction and pin the result's
    tight box to that box. The model then reproduces the annotation up to the few pinned
    points, so the NME of a correctly wired evaluation is ~0 whatever the model's accuracy.
    """
    root = tmp_path_factory.mktemp("tiny")
    (root / "images").mkdir()
    for name, (x0, y0, x1, y1) in CROPS.items():
        path = root / "images" / name
        _write_rgb(path, np.ascontiguousarray(astronaut[y0:y1, x0:x1]))
        rgb = load_image(path)  # the decoded JPEG, exactly as evaluation will see it
        first = landmarker(rgb, boxes=astronaut_face_box - np.array([x0, y0, x0, y0], np.float32))[0]
        box = box_from_points(first.landmarks)
        points = _pin_to_box(landmarker(rgb, boxes=box)[0].landmarks, box)
        write_pts(path.with_suffix(".pts"), points)  # 1-based on disk
    (root / "list.txt").write_text("".join(f"images/{n}\n" for n in CROPS))
    return root


# --- detect -------------------------------------------------------------------------------------

def test_detect_sample(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["detect", "--sample", "astronaut", "--out", str(out), "--threads", "1"]) == 0
    data = strict_json((out / "astronaut.json").read_text())
    assert data["image"] == "sample:astronaut" and (data["width"], data["height"]) == (512, 512)
    assert data["model"] == "atpn_lite0_68"
    assert len(data["faces"]) >= 1
    for face in data["faces"]:
        assert len(face["landmarks"]) == 68 and all(len(p) == 2 for p in face["landmarks"])
        assert len(face["box"]) == 4 and face["scheme"] == "ibug68"
    overlay = cv2.imread(str(out / "astronaut_overlay.png"))
    assert overlay is not None and overlay.shape == (512, 512, 3)
    assert "face(s)" in capsys.readouterr().out


def test_detect_folder_with_a_face_and_a_blank(tmp_path, astronaut, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    _write_rgb(folder / "person.jpg", astronaut)
    _write_rgb(folder / "blank.png", np.full((200, 300, 3), 127, np.uint8))
    (folder / "notes.txt").write_text("not an image, and not picked up from a folder")
    out = tmp_path / "out"
    assert main(["detect", str(folder), "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    person = strict_json((out / "person.json").read_text())
    blank = strict_json((out / "blank.json").read_text())
    assert len(person["faces"]) >= 1 and len(person["faces"][0]["landmarks"]) == 68
    assert blank["faces"] == []
    assert cv2.imread(str(out / "blank_overlay.png")).shape == (200, 300, 3)
    assert not (out / "notes.json").exists()


def test_detect_explicit_box_and_no_overlay(tmp_path, astronaut, astronaut_face_box):
    path = tmp_path / "a.png"
    _write_rgb(path, astronaut)
    box = ",".join(str(v) for v in astronaut_face_box)
    out = tmp_path / "out"
    assert main(["detect", str(path), "--box", box, "--no-overlay", "--out", str(out), "--threads", "1"]) == 0
    (face,) = strict_json((out / "a.json").read_text())["faces"]
    assert face["box"] == [round(float(v), 2) for v in astronaut_face_box] and face["box_source"] == "given"
    assert not (out / "a_overlay.png").exists()


def test_detect_same_stem_in_two_folders_keeps_both(tmp_path, astronaut):
    """Two inputs named face.png in different folders must not overwrite each other's results."""
    for sub, rgb in (("one", astronaut), ("two", np.full((100, 100, 3), 90, np.uint8))):
        (tmp_path / sub).mkdir()
        _write_rgb(tmp_path / sub / "face.png", rgb)
    out = tmp_path / "out"
    assert main(["detect", str(tmp_path / "one"), str(tmp_path / "two" / "face.png"), "--out", str(out),
                 "--no-progress", "--threads", "1"]) == 0
    results = sorted(out.glob("*.json"))
    assert len(results) == 2, results
    images = {strict_json(p.read_text())["image"] for p in results}
    assert images == {str(tmp_path / "one" / "face.png"), str(tmp_path / "two" / "face.png")}
    assert len(list(out.glob("*_overlay.png"))) == 2


def test_detect_missing_path_exit_2(tmp_path, capsys):
    assert main(["detect", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys.readouterr().err, "detect")
    assert "nope.jpg" in line and "no such file" in line


def test_detect_non_image_exit_2(tmp_path, capsys):
    fake = tmp_path / "fake.jpg"
    fake.write_text("plain text, not a JPEG\n")
    assert main(["detect", str(fake), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "fake.jpg" in one_error_line(captured.err, "detect")
    assert "results in" not in captured.out  # no results to point at
    assert not (tmp_path / "out" / "fake.json").exists()


def test_detect_bad_box_and_no_input_exit_2(tmp_path, capsys):
    assert main(["detect", "--sample", "astronaut", "--box", "1,2,3", "--out", str(tmp_path)]) == 2
    assert "X0,Y0,X1,Y1" in one_error_line(capsys.readouterr().err, "detect")
    assert main(["detect", "--out", str(tmp_path)]) == 2
    assert "--sample" in one_error_line(capsys.readouterr().err, "detect")


def test_real_process_exit_code_and_single_stderr_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "facepoints", "detect", str(tmp_path / "missing.png"),
                           "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    line = one_error_line(proc.stderr, "detect")
    assert "missing.png" in line


# --- models, benchmark --------------------------------------------------------------------------

def test_models_lists_the_shipped_model(capsys):
    assert main(["models"]) == 0
    assert "atpn_lite0_68" in capsys.readouterr().out


def test_models_card_json_on_request(capsys):
    assert main(["models", "--card", "atpn_lite0_68", "--json"]) == 0
    card = strict_json(capsys.readouterr().out)
    assert card["name"] == "atpn_lite0_68" and card["scheme"] == "ibug68"
    assert set(card["weights"]) >= {"torch"}
    assert main(["models", "--json"]) == 2
    assert "--card" in one_error_line(capsys.readouterr().err, "models")


@pytest.mark.parametrize("name", ["atpn_lite0_68", "dslpt_lite0_68"])
def test_models_card_is_a_readable_summary(capsys, name):
    """`models --card` once printed 484 lines of JSON with the licence on line 483."""
    from facepoints.registry import get_card

    card = get_card(name)
    assert main(["models", "--card", name]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert len(lines) < 80 and not text.lstrip().startswith("{")
    head = "\n".join(lines[:12])
    for field in ("architecture", "scheme", "input", "licence", "data"):
        assert f"  {field} " in head
    assert card.licence.split()[0] in head and f"{card.config['input_size']} px" in head
    assert f"{100 * card.metrics['overall']['nme']:.2f} %" in text  # the headline NME ...
    assert f"      $ {card.metrics['command']}" in lines  # ... with its command, whole on one line
    assert f"$ {card.speed['command']}" in text
    for key, note in card.speed.items():  # a re-export timed against the old file: its ratio and command
        if isinstance(note, dict):
            assert f"{note['ratio_median']:.2f}x the previous file's median time" in text
            assert f"      $ {note['command']}" in lines
    for runtime, info in card.weights.items():
        assert info["file"] in text and info["sha256"] in text


def test_models_unknown_card_exit_2(capsys):
    assert main(["models", "--card", "nope"]) == 2
    line = one_error_line(capsys.readouterr().err, "models")
    assert "nope" in line and "atpn_lite0_68" in line


def test_cost_without_model_measures_the_default_model(tmp_path, capsys):
    """`facepoints cost` once measured DSLPT when no --model was given."""
    from facepoints.registry import DEFAULT_MODEL, get_card

    out = tmp_path / "cost.json"
    assert main(["cost", "--points", "19", "--repeats", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{DEFAULT_MODEL}: {get_card(DEFAULT_MODEL).architecture} (")
    assert "stage count(s) 2, 3 skipped" in text  # the default model has one stage
    data = strict_json(out.read_text())
    assert f"--model {DEFAULT_MODEL}" in data["command"] and [r["stages"] for r in data["rows"]] == [1]


def test_benchmark_prints_a_median(tmp_path, capsys):
    out = tmp_path / "speed.json"
    assert main(["benchmark", "--repeats", "5", "--backend", "onnx", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "median" in text and "ms/face" in text
    (row,) = strict_json(out.read_text())["landmark_stage"]
    assert row["repeats"] == 5 and row["median_ms"] > 0 and row["threads"] == 1



def test_benchmark_against_a_reference_alternates_rounds_and_prints_ratios(tmp_path, capsys):
    """Issue 16: speed bars are set against today's model, timed in the same run."""
    out = tmp_path / "pair.json"
    assert main(["benchmark", "--model", "dslpt_lite0_68", "--against", "atpn_lite0_68", "--repeats", "6",
                 "--rounds", "2", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "x atpn_lite0_68" in text
    data = strict_json(out.read_text())
    for key in ("landmark_stage", "tracking_step"):
        reference, model = data[key]
        assert (reference["model"], model["model"]) == ("atpn_lite0_68", "dslpt_lite0_68")
        assert reference["ratio"] == 1.0 and model["ratio"] == pytest.approx(model["median_ms"] / reference["median_ms"], abs=1e-3)
        assert len(model["median_per_round"]) == 2 and model["repeats"] == 6
    assert "--against atpn_lite0_68" in data["command"]


@pytest.mark.parametrize("extra, expected", [(["--against", "no_such_model"], "no_such_model"),
                                             (["--against", "atpn_lite0_68", "--repeats", "2", "--rounds", "3"], "rounds"),
                                             (["--against", "atpn_lite0_68", "--batch", "."], "--batch")])
def test_benchmark_against_refuses_bad_input_in_one_line(extra, expected, capsys):
    assert main(["benchmark", *extra]) == 2
    assert expected in one_error_line(capsys.readouterr().err, "benchmark")


# --- evaluate -----------------------------------------------------------------------------------

def test_evaluate_own_predictions_scores_near_zero(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", str(tiny_dataset / "list.txt"), "--out", str(out), "--per-face",
                 "--no-progress", "--threads", "1"]) == 0
    stdout = capsys.readouterr().out
    assert "NME" in stdout
    data = strict_json((out / f"atpn_lite0_68_{tiny_dataset.name}_list_gt.json").read_text())
    assert data["overall"]["count"] == 3
    assert data["overall"]["nme"] < 0.01
    assert data["overall"]["fr"] == 0.0 and data["overall"]["auc"] > 0.85
    assert len(data["per_face"]) == 3
    png = cv2.imread(str(out / f"atpn_lite0_68_{tiny_dataset.name}_list_gt_ced.png"))
    assert png is not None and png.shape[0] > 100


def test_equally_named_lists_in_two_folders_keep_separate_results(tiny_dataset, tmp_path, capsys):
    """300W/train.txt and ytf68/train.txt once wrote the same result files."""
    for folder in ("300W", "ytf68"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "train.txt").write_text(f"{tiny_dataset / 'images' / 'face_a.jpg'}\n")
        assert main(["evaluate", str(tmp_path / folder / "train.txt"), "--out", str(tmp_path / "eval"),
                     "--no-progress", "--threads", "1"]) == 0
    assert {p.name for p in (tmp_path / "eval").glob("*.json")} == {"atpn_lite0_68_300W_train_gt.json",
                                                                  "atpn_lite0_68_ytf68_train_gt.json"}


def test_evaluate_detector_mode_counts_misses_and_writes_valid_json(tiny_dataset, tmp_path, capsys):
    """A face the detector cannot find scores as a failure (NME infinity); the JSON stays standard."""
    missed = tmp_path / "missed.png"
    cv2.imwrite(str(missed), np.full((180, 180, 3), 127, np.uint8))
    write_pts(missed.with_suffix(".pts"), read_pts(tiny_dataset / "images" / "face_a.pts"))
    lst = tmp_path / "withmiss.txt"  # absolute paths in a list are used as they are
    lst.write_text("".join(f"{tiny_dataset / 'images' / n}\n" for n in CROPS) + f"{missed}\n")
    out = tmp_path / "eval"
    assert main(["evaluate", str(lst), "--boxes", "detector", "--per-face", "--out", str(out),
                 "--no-progress", "--threads", "1"]) == 0
    capsys.readouterr()
    data = strict_json((out / f"atpn_lite0_68_{tmp_path.name}_withmiss_detector.json").read_text())
    assert data["overall"]["count"] == 4
    assert data["detection_rate"] <= 0.75
    assert data["overall"]["fr"] >= 0.25
    assert data["per_face"][3] == {"image": str(missed), "nme": None}
    assert cv2.imread(str(out / f"atpn_lite0_68_{tmp_path.name}_withmiss_detector_ced.png")) is not None


def test_evaluate_missing_list_exit_2(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "none.txt"), "--out", str(tmp_path)]) == 2
    assert "none.txt" in one_error_line(capsys.readouterr().err, "evaluate")


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """Training commands set torch's thread count; put it back after each test."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


# --- train --------------------------------------------------------------------------------------

def _train_config(path, data_root, out, **extra) -> str:
    cfg = {"name": "tiny", "data_root": str(data_root), "train_lists": ["list.txt"], "val_fraction": 0.2,
           "model": {"num_points": 68, "input_size": 112}, "imagenet_init": False, "epochs": 2,
           "batch_size": 2, "warmup_epochs": 1, "workers": 0, "threads": 1, "output_dir": str(out)}
    cfg.update(extra)
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return str(path)


def test_train_then_resume(tiny_dataset, tmp_path, capsys):
    config = _train_config(tmp_path / "tiny.yaml", tiny_dataset, tmp_path / "runs")
    assert main(["train", config, "--no-progress"]) == 0
    run = tmp_path / "runs" / "tiny"
    for name in ("last.pt", "best.pt", "log.jsonl", "config.json"):
        assert (run / name).is_file(), name
    rows = [strict_json(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(np.isfinite(r["train_loss"]) and np.isfinite(r["val_nme"]) for r in rows)
    first = capsys.readouterr().out
    assert "resumed" not in first and "done" in first

    assert main(["train", config, "--epochs", "3", "--no-progress"]) == 0
    second = capsys.readouterr().out
    assert "resumed" in second and "epoch 3/3" in second and "epoch 2/3" not in second
    rows2 = [strict_json(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert rows2[:2] == rows and len(rows2) == 3 and rows2[2]["epoch"] == 3
    state = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 2 and state["config"]["epochs"] == 3


def test_train_without_validation_keeps_best_and_valid_log(tiny_dataset, tmp_path, capsys):
    """Regression: with no validation faces best.pt was never written and the log held NaN."""
    config = _train_config(tmp_path / "noval.yaml", tiny_dataset, tmp_path / "runs", val_fraction=0.0,
                           epochs=1)
    assert main(["train", config, "--no-progress"]) == 0
    run = tmp_path / "runs" / "tiny"
    assert (run / "best.pt").is_file()
    row = strict_json((run / "log.jsonl").read_text().splitlines()[0])
    assert row["val_nme"] is None


def test_train_fine_tunes_from_a_checkpoint(tiny_dataset, tmp_path, capsys):
    first = _train_config(tmp_path / "a.yaml", tiny_dataset, tmp_path / "runs", epochs=1)
    assert main(["train", first, "--no-progress"]) == 0
    start = torch.load(tmp_path / "runs" / "tiny" / "best.pt", map_location="cpu", weights_only=True)
    second = _train_config(tmp_path / "b.yaml", tiny_dataset, tmp_path / "runs", epochs=1, name="tiny_ft",
                           init_checkpoint=str(tmp_path / "runs" / "tiny" / "best.pt"), lr=0.0)
    capsys.readouterr()
    assert main(["train", second, "--no-progress"]) == 0
    assert "initialised from" in capsys.readouterr().out
    tuned = torch.load(tmp_path / "runs" / "tiny_ft" / "last.pt", map_location="cpu", weights_only=True)
    key = "head.out.weight"  # lr 0: the weights are exactly the starting checkpoint's
    assert torch.equal(tuned["model"][key], start["model"][key])


def test_weight_average_warms_up_then_caps():
    from facepoints.training.trainer import ema_decay_at

    assert ema_decay_at(0, 0.999) == pytest.approx(0.1)  # the first updates follow the weights
    assert ema_decay_at(90, 0.999) == pytest.approx(0.91)
    assert ema_decay_at(10 ** 6, 0.999) == 0.999


def test_train_with_weight_averaging_saves_the_average_and_resumes(tiny_dataset, tmp_path, capsys):
    config = _train_config(tmp_path / "ema.yaml", tiny_dataset, tmp_path / "runs", epochs=2, ema_decay=0.5)
    assert main(["train", config, "--no-progress"]) == 0
    run = tmp_path / "runs" / "tiny"
    state = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    key = "head.out.weight"  # zero-initialised: the raw weights moved, the average lags behind them
    assert state["ema_updates"] > 0
    assert not torch.equal(state["model"][key], state["raw_model"][key])
    assert state["model"][key].abs().sum() < state["raw_model"][key].abs().sum()
    assert main(["train", config, "--epochs", "4", "--no-progress"]) == 0
    assert "resumed" in capsys.readouterr().out
    resumed = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    assert resumed["ema_updates"] == 2 * state["ema_updates"]


def test_train_dslpt_from_an_atpn_backbone(tiny_dataset, tmp_path, capsys):
    atpn = _train_config(tmp_path / "a.yaml", tiny_dataset, tmp_path / "runs", epochs=1)
    assert main(["train", atpn, "--no-progress"]) == 0
    source = tmp_path / "runs" / "tiny" / "best.pt"
    config = _train_config(tmp_path / "d.yaml", tiny_dataset, tmp_path / "runs", epochs=1, name="tiny_dslpt",
                           architecture="dslpt", init_backbone=str(source),
                           model={"num_points": 68, "input_size": 64, "dim": 32, "heads": 2, "layers": 2})
    capsys.readouterr()
    assert main(["train", config, "--no-progress"]) == 0
    assert "backbone initialised from" in capsys.readouterr().out
    state = torch.load(tmp_path / "runs" / "tiny_dslpt" / "best.pt", map_location="cpu", weights_only=True)
    assert state["config"]["architecture"] == "dslpt"
    key = "backbone._conv_stem.weight"  # one epoch at a tiny lr keeps it close to the ATPN backbone
    start = torch.load(source, map_location="cpu", weights_only=True)["model"][key]
    assert torch.allclose(state["model"][key], start, atol=1e-2)


def test_train_starts_from_a_shipped_model_by_name(tiny_dataset, tmp_path, capsys):
    """``init_backbone`` / ``init_checkpoint`` take a registered model's name, so a config can
    start from a shipped model on a fresh checkout (no earlier run folder needed)."""
    from facepoints.registry import get_card, weights_path

    config = _train_config(tmp_path / "d.yaml", tiny_dataset, tmp_path / "runs", epochs=1, name="tiny_dslpt",
                           architecture="dslpt", init_backbone="atpn_lite0_68", lr=0.0,
                           model={"num_points": 68, "input_size": 64, "dim": 32, "heads": 2, "layers": 2})
    assert main(["train", config, "--no-progress"]) == 0
    assert "backbone initialised from atpn_lite0_68" in capsys.readouterr().out
    shipped = torch.load(weights_path(get_card("atpn_lite0_68")), map_location="cpu", weights_only=True)
    trained = torch.load(tmp_path / "runs" / "tiny_dslpt" / "last.pt", map_location="cpu", weights_only=True)
    key = "backbone._conv_stem.weight"  # lr 0: exactly the shipped model's
    assert torch.equal(trained["model"][key], shipped[key])

    absent = _train_config(tmp_path / "x.yaml", tiny_dataset, tmp_path / "runs", name="tiny_x",
                           init_checkpoint="no_such_model")
    assert main(["train", absent, "--no-progress"]) == 2
    assert "no_such_model" in one_error_line(capsys.readouterr().err, "train")
    assert not (tmp_path / "runs" / "tiny_x").exists()  # regression: a refused run left an empty folder


def test_train_starts_from_a_weights_file_and_refuses_a_non_checkpoint(tiny_dataset, tmp_path, capsys):
    """Regression: a plain state-dict file failed with 'error: model', and a file that is not a
    checkpoint at all ended in an unpickling traceback."""
    from facepoints.registry import get_card, weights_path

    weights = str(weights_path(get_card("atpn_lite0_68")))
    config = _train_config(tmp_path / "w.yaml", tiny_dataset, tmp_path / "runs", epochs=1, name="tiny_w",
                           architecture="dslpt", init_backbone=weights,
                           model={"num_points": 68, "input_size": 64, "dim": 32, "heads": 2, "layers": 2})
    assert main(["train", config, "--no-progress"]) == 0
    assert "backbone initialised from" in capsys.readouterr().out

    text = tmp_path / "notes.txt"
    text.write_text("# not weights\n")
    bad = _train_config(tmp_path / "b.yaml", tiny_dataset, tmp_path / "runs", name="tiny_b", init_checkpoint=str(text))
    assert main(["train", bad, "--no-progress"]) == 2
    assert "not a PyTorch checkpoint" in one_error_line(capsys.readouterr().err, "train")
    assert not (tmp_path / "runs" / "tiny_b").exists()


def test_train_bad_configs_exit_2(tiny_dataset, tmp_path, capsys):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: [unclosed\nepochs: 2\n")
    assert main(["train", str(bad_yaml)]) == 2
    assert "bad.yaml" in one_error_line(capsys.readouterr().err, "train")

    unknown = _train_config(tmp_path / "unknown.yaml", tiny_dataset, tmp_path / "runs", epochz=3)
    assert main(["train", unknown]) == 2
    assert "epochz" in one_error_line(capsys.readouterr().err, "train")

    nested = _train_config(tmp_path / "nested.yaml", tiny_dataset, tmp_path / "runs",
                           model={"num_points": 68, "widht": 32})
    assert main(["train", nested]) == 2
    assert "widht" in one_error_line(capsys.readouterr().err, "train")

    assert main(["train", str(tmp_path / "absent.yaml")]) == 2
    assert "absent.yaml" in one_error_line(capsys.readouterr().err, "train")


def test_train_batch_larger_than_training_set_exit_2(tiny_dataset, tmp_path, capsys):
    """Two training faces cannot fill one batch of 4 (drop_last): refuse instead of 'training'
    zero steps and reporting success."""
    config = _train_config(tmp_path / "big.yaml", tiny_dataset, tmp_path / "runs", batch_size=4)
    assert main(["train", config, "--no-progress"]) == 2
    line = one_error_line(capsys.readouterr().err, "train")
    assert "batch_size" in line
    assert not (tmp_path / "runs" / "tiny" / "last.pt").exists()
