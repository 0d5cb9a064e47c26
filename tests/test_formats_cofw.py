"""COFW / COFW68 ``.mat`` readers on tiny files written with scipy (v5) and h5py (v7.3-like)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from facepoints.datasets.formats.cofw import read_cofw68_folder, read_cofw68_mat, read_cofw_mat
from facepoints.datasets.formats.pts import AnnotationFormatError

HAS_H5PY = importlib.util.find_spec("h5py") is not None


def _cofw_data(n: int = 2):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (32, 30, 3), dtype=np.uint8), rng.integers(0, 255, (20, 24), dtype=np.uint8)][:n]
    xy = rng.uniform(1, 20, size=(n, 2, 29)).round(2)
    occ = (rng.uniform(size=(n, 29)) < 0.3).astype(float)
    phis = np.concatenate([xy[:, 0], xy[:, 1], occ], axis=1)
    boxes = np.asarray([[2, 3, 20, 25], [1, 1, 15, 16]], dtype=float)[:n]
    return images, xy, occ, phis, boxes


def _cell(items) -> np.ndarray:
    cell = np.empty((len(items), 1), dtype=object)
    for i, item in enumerate(items):
        cell[i, 0] = item
    return cell


def _check_cofw(path: Path, images, xy, occ, boxes) -> None:
    records, loaded = read_cofw_mat(path)
    assert len(records) == len(loaded) == len(images)
    for i, rec in enumerate(records):
        assert str(rec.image_path) == f"{path}#{i}" and rec.scheme == "cofw29"
        np.testing.assert_allclose(rec.landmarks, xy[i].T - 1, atol=1e-4)
        np.testing.assert_array_equal(rec.visible, occ[i] == 0)
        x, y, w, h = boxes[i]
        np.testing.assert_allclose(rec.box, [x - 1, y - 1, x - 1 + w, y - 1 + h])
        assert loaded[i].dtype == np.uint8 and loaded[i].shape == images[i].shape[:2] + (3,)
        expected = images[i] if images[i].ndim == 3 else np.repeat(images[i][:, :, None], 3, axis=2)
        np.testing.assert_array_equal(loaded[i], expected)


@pytest.mark.parametrize("train", [True, False])
def test_cofw_v5(tmp_path, train):
    images, xy, occ, phis, boxes = _cofw_data()
    names = ("IsTr", "phisTr", "bboxesTr") if train else ("IsT", "phisT", "bboxesT")
    path = tmp_path / ("COFW_train_color.mat" if train else "COFW_test_color.mat")
    scipy.io.savemat(path, dict(zip(names, (_cell(images), phis, boxes))))
    _check_cofw(path, images, xy, occ, boxes)


def _write_v73(path: Path, variables: dict) -> None:
    """A MATLAB v7.3-like file: 512-byte MATLAB header user block, arrays stored transposed,
    cells as object references into ``#refs#``."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        for name, value in variables.items():
            if isinstance(value, list):
                cell = np.empty((1, len(value)), dtype=h5py.ref_dtype)
                for i, item in enumerate(value):
                    cell[0, i] = refs.create_dataset(f"{name}_{i}", data=np.asarray(item).T).ref
                f.create_dataset(name, data=cell, dtype=h5py.ref_dtype)
            else:
                f.create_dataset(name, data=np.asarray(value).T)
    with path.open("r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .")


@pytest.mark.skipif(not HAS_H5PY, reason="h5py not installed")
def test_cofw_v73(tmp_path):
    images, xy, occ, phis, boxes = _cofw_data()
    path = tmp_path / "COFW_test_color.mat"
    _write_v73(path, {"IsT": images, "phisT": phis, "bboxesT": boxes})
    _check_cofw(path, images, xy, occ, boxes)


@pytest.mark.skipif(HAS_H5PY, reason="h5py installed")
def test_cofw_v73_without_h5py_says_pip_install(tmp_path):
    path = tmp_path / "COFW_test_color.mat"
    path.write_bytes(b"MATLAB 7.3 MAT-file".ljust(512, b" ") + b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(ImportError, match="pip install h5py"):
        read_cofw_mat(path)


@pytest.mark.parametrize("variables", [
    {"IsT": None, "phisT": np.zeros((2, 87))},                         # no boxes
    {"IsT": None, "phisT": np.zeros((2, 58)), "bboxesT": np.ones((2, 4))},   # no occlusion columns
    {"IsT": None, "phisT": np.full((2, 87), 2.0), "bboxesT": np.ones((2, 4))},  # flags not 0/1
    {"IsT": None, "phisT": np.zeros((3, 87)), "bboxesT": np.ones((3, 4))},   # 2 images, 3 shapes
])
def test_cofw_malformed(tmp_path, variables):
    images = _cofw_data()[0]
    variables = {k: (_cell(images) if v is None else v) for k, v in variables.items()}
    path = tmp_path / "COFW_test_color.mat"
    scipy.io.savemat(path, variables)
    with pytest.raises(AnnotationFormatError, match="COFW_test_color.mat"):
        read_cofw_mat(path)


def test_cofw_not_a_mat(tmp_path):
    (tmp_path / "COFW_test_color.mat").write_text("not a mat file at all")
    with pytest.raises(AnnotationFormatError, match="COFW_test_color.mat"):
        read_cofw_mat(tmp_path / "COFW_test_color.mat")


def test_cofw68(tmp_path):
    folder = tmp_path / "test_annotations"
    folder.mkdir()
    rng = np.random.default_rng(3)
    truth = {}
    for i in (1, 2, 10):
        points = rng.uniform(1, 30, size=(68, 2)).round(2)
        occ = (rng.uniform(size=(68, 1)) < 0.25).astype(np.uint8)
        scipy.io.savemat(folder / f"{i}_points.mat", {"Points": points, "Occ": occ})
        truth[i] = points, occ.ravel()
    (rec,) = read_cofw68_mat(folder / "10_points.mat", images_mat=tmp_path / "COFW_test_color.mat")
    assert str(rec.image_path) == f"{tmp_path / 'COFW_test_color.mat'}#9" and rec.scheme == "ibug68"
    np.testing.assert_allclose(rec.landmarks, truth[10][0] - 1, atol=1e-4)
    np.testing.assert_array_equal(rec.visible, truth[10][1] == 0)
    recs = read_cofw68_folder(folder)
    assert [str(r.image_path) for r in recs] == ["COFW_test_color.mat#0", "COFW_test_color.mat#1",
                                                  "COFW_test_color.mat#9"]


def test_cofw68_malformed(tmp_path):
    scipy.io.savemat(tmp_path / "1_points.mat", {"Points": np.zeros((29, 2)), "Occ": np.zeros((29, 1))})
    with pytest.raises(AnnotationFormatError, match="1_points.mat"):
        read_cofw68_mat(tmp_path / "1_points.mat")
    scipy.io.savemat(tmp_path / "2_points.mat", {"pts": np.zeros((68, 2))})
    with pytest.raises(AnnotationFormatError, match="Points and Occ"):
        read_cofw68_mat(tmp_path / "2_points.mat")
    scipy.io.savemat(tmp_path / "points.mat", {"Points": np.zeros((68, 2)), "Occ": np.zeros(68)})
    with pytest.raises(AnnotationFormatError, match="image number"):
        read_cofw68_mat(tmp_path / "points.mat")
