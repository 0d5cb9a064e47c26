"""``Landmarker.batch``: many real images, the single-image results in input order, bad images
carried as errors, and the crops of several images in one network call."""
from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from facepoints import ImageResult, Landmarker
from facepoints.pipeline.gather import Gatherer


class CountingRuntime:
    """A real runtime that records how many crops each network call got."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.sizes = inner, inner.name, []
        self._lock = threading.Lock()

    def __call__(self, crops):
        with self._lock:
            self.sizes.append(len(crops))
        return self.inner(crops)


@pytest.fixture(scope="module")
def inputs(astronaut, tmp_path_factory) -> list:
    """Files and arrays: the astronaut, mirrored, shifted, a blank, a broken file, a tiny array."""
    folder = tmp_path_factory.mktemp("batch")
    a = np.asarray(astronaut)
    paths = []
    for name, rgb in (("one.jpg", a), ("two.png", a[:, ::-1]), ("blank.png", np.full((120, 160, 3), 90, np.uint8))):
        assert cv2.imwrite(str(folder / name), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
        paths.append(folder / name)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return [paths[0], np.ascontiguousarray(a[40:, 20:]), paths[1], folder / "broken.png", paths[2],
            np.zeros((4, 4, 3), np.uint8), folder / "missing.jpg", str(paths[0])]


def _single(lm: Landmarker, image) -> list | str:
    try:
        return lm(image)
    except ValueError as exc:
        return str(exc)


@pytest.mark.parametrize("batch_size,workers", [(3, 2), (16, 1), (1, 3)])
def test_batch_gives_the_single_image_results_in_order(inputs, batch_size, workers):
    lm = Landmarker(threads=1)
    expected = [_single(lm, image) for image in inputs]
    results = list(lm.batch(iter(inputs), batch_size=batch_size, workers=workers))
    assert [r.index for r in results] == list(range(len(inputs)))
    for result, want in zip(results, expected):
        assert isinstance(result, ImageResult)
        if isinstance(want, str):  # the error the single call raises, on one line, naming the file
            assert not result.ok and result.faces == [] and result.width is None
            assert result.error == want or result.error.endswith(want), (result.error, want)
            continue
        assert result.ok and len(result.faces) == len(want)
        for got, face in zip(result.faces, want):
            np.testing.assert_allclose(got.landmarks, face.landmarks, atol=1e-3)
            np.testing.assert_allclose(got.box, face.box, atol=1e-4)
            assert got.confidence == pytest.approx(face.confidence, abs=1e-5)
            np.testing.assert_allclose(got.pose, face.pose, atol=1e-3)
    assert [len(r.faces) for r in results] == [1, 1, 1, 0, 0, 0, 0, 1]
    assert results[0].source == str(inputs[0]) and results[1].source == "<array>"
    assert "broken.png" in results[3].error and "missing.jpg" in results[6].error
    assert (results[0].width, results[0].height) == (512, 512) and results[4].faces == [] and results[4].ok


def test_batch_puts_several_images_in_one_network_call(inputs):
    lm = Landmarker(threads=1)
    lm.runtime = lm._box_runtime = CountingRuntime(lm.runtime)
    faces = [image for image in inputs if not isinstance(_single(lm, image), str) and _single(lm, image)]
    lm.runtime.sizes.clear()
    results = list(lm.batch(faces * 2, batch_size=8, workers=2, keep_images=True))
    assert all(len(r.faces) >= 1 for r in results) and len(results) == 8
    assert max(lm.runtime.sizes) >= 5, lm.runtime.sizes  # crops of several images per call
    assert len(lm.runtime.sizes) < 2 * len(results)  # the loop makes two calls an image (refine=1)
    assert results[0].image.shape == (512, 512, 3) and results[0].image.dtype == np.uint8


def test_batch_with_boxes_per_image_and_dslpt(astronaut, astronaut_face_box):
    lm = Landmarker("dslpt_lite0_68", detector=None, threads=1)
    box = astronaut_face_box.tolist()
    results = list(lm.batch([astronaut, astronaut[:, ::-1]], boxes=[[box], None], batch_size=2))
    np.testing.assert_allclose(results[0].faces[0].landmarks, lm(astronaut, boxes=[box])[0].landmarks, atol=1e-3)
    assert results[0].faces[0].sigma.shape == (68, 2)
    assert "no face detector" in results[1].error  # None: detect, and this Landmarker has no detector
    with pytest.raises(ValueError, match="batch_size"):
        next(lm.batch([astronaut], batch_size=0))
    with pytest.raises(ValueError, match="workers"):
        next(lm.batch([astronaut], workers=1.5))
    assert list(lm.batch([])) == []
    encoded = cv2.imencode(".png", np.ascontiguousarray(astronaut[:, :, ::-1]))[1].tobytes()
    (result,) = lm.batch([encoded], boxes=[[box]])
    assert result.source == "<bytes>" and len(result.faces) == 1


def test_gatherer_runs_members_together_and_hands_errors_back():
    """Four threads' calls become one call; a failing call raises in every member it held."""
    seen = []

    def runtime(crops):
        seen.append(len(crops))
        if crops.max() > 100:
            raise RuntimeError("network failed")
        from facepoints.pipeline.runtime import NetworkOutput
        return NetworkOutput(crops[:, :2, 0, :2].astype(np.float32))

    runtime.name = "plain"
    gatherer = Gatherer(4, max_batch=64)
    wrapped, out, errors = gatherer.wrap(runtime), {}, []

    def member(i: int) -> None:
        try:
            out[i] = wrapped(np.full((i + 1, 4, 4, 3), i, np.uint8)).landmarks
        except RuntimeError as exc:
            errors.append(exc)
        finally:
            gatherer.leave()

    threads = [threading.Thread(target=member, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [10] and gatherer.calls == 1
    assert all(out[i].shape == (i + 1, 2, 2) and (out[i] == i).all() for i in range(4))
    g2 = Gatherer(2)
    w2 = g2.wrap(runtime)
    done = []

    def bad(value: int) -> None:
        try:
            w2(np.full((1, 4, 4, 3), value, np.uint8))
        except RuntimeError as exc:
            done.append(str(exc))
        finally:
            g2.leave()

    threads = [threading.Thread(target=bad, args=(v,)) for v in (5, 200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert done == ["network failed"] * 2


def test_benchmark_batch_reports_both_paths_side_by_side(tmp_path, capsys):
    """``facepoints benchmark --batch`` on copies of the shipped sample (a real face each)."""
    import json

    from facepoints.cli.main import main
    from facepoints.samples import sample_image

    rgb = sample_image("astronaut")
    for i in range(4):
        assert cv2.imwrite(str(tmp_path / f"s{i}.jpg"), cv2.cvtColor(np.roll(rgb, 7 * i, axis=1), cv2.COLOR_RGB2BGR))
    (tmp_path / "list.txt").write_text("".join(f"s{i}.jpg\n" for i in range(4)))
    out = tmp_path / "speed.json"
    assert main(["benchmark", "--batch", str(tmp_path / "list.txt"), "--rounds", "2", "--batch-size", "2",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "one-image loop" in text and "images/s" in text and "median" in text
    row = json.loads(out.read_text())
    assert row["images"] == 4 and len(row["loop_images_per_s"]) == len(row["batch_images_per_s"]) == 2
    assert row["faces_loop"] == row["faces_batch"] == row["faces_loop_1thread_detector"] == 4
    assert row["median_ratio_to_loop"] > 0 and len(row["ratio_to_loop_1thread_detector_per_round"]) == 2
    assert main(["benchmark", "--batch", str(tmp_path), "--workers", "0"]) == 2
