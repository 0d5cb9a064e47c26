"""COFW (29 points, Burgos-Artizzu et al.) and COFW68 (68 points, Ghiasi & Fowlkes) ``.mat`` files.

``COFW_train_color.mat`` holds ``IsTr`` (cell of images), ``phisTr`` (N x 87: 29 x,
29 y, 29 occlusion flags) and ``bboxesTr`` (N x 4: x y w h); ``COFW_test_color.mat``
the same as ``IsT``/``phisT``/``bboxesT``. The release is MATLAB v7.3 (HDF5, read
with h5py); v5 files (scipy) are read too. COFW68's ``test_annotations/<i>_points.mat``
hold ``Points`` (68 x 2) and ``Occ`` (68, 1 = occluded) for image ``i`` (1-based) of
``COFW_test_color.mat``. All coordinates are MATLAB 1-based pixels: 1 is subtracted.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..records import FaceRecord
from ._common import format_error, xywh_to_xyxy

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_COFW_NAMES = (("IsTr", "phisTr", "bboxesTr"), ("IsT", "phisT", "bboxesT"))


def read_cofw_mat(path: str | Path) -> tuple[list[FaceRecord], list[np.ndarray]]:
    """COFW records (scheme ``cofw29``) and their RGB uint8 images, in file order.

    ``image_path`` is ``"<mat path>#<0-based index>"``; ``box`` the xyxy face box;
    ``visible`` is False where the occlusion flag is 1. Grey images become 3-channel.
    """
    path = Path(path)
    data = _load_mat(path)
    names = next((n for n in _COFW_NAMES if all(v in data for v in n)), None)
    if names is None:
        raise format_error(path, None, "needs IsTr/phisTr/bboxesTr or IsT/phisT/bboxesT")
    images, phis, boxes = (data[n] for n in names)
    if not isinstance(images, list) or isinstance(phis, list) or isinstance(boxes, list):
        raise format_error(path, None, f"{names[0]} must be a cell array, {names[1]}/{names[2]} numeric")
    phis, boxes = np.asarray(phis, dtype=np.float64), np.asarray(boxes, dtype=np.float64)
    if phis.ndim != 2 or phis.shape[1] != 87:
        raise format_error(path, None, f"{names[1]} is {phis.shape}, expected (N, 87)")
    if boxes.shape != (len(phis), 4) or len(images) != len(phis):
        raise format_error(path, None, f"{len(images)} images, {len(phis)} shapes and "
                                       f"{boxes.shape} boxes do not match")
    records = []
    for i, (phi, box) in enumerate(zip(phis, boxes)):
        flags = phi[58:]
        if not np.all((flags == 0) | (flags == 1)):
            raise format_error(path, None, f"{names[1]} row {i + 1}: occlusion flags must be 0 or 1")
        points = np.stack([phi[:29], phi[29:58]], axis=1) - 1.0
        records.append(FaceRecord(f"{path}#{i}", points, "cofw29", box=xywh_to_xyxy(box, offset=1.0),
                                  visible=flags == 0))
    return records, [_to_rgb(im, path, i) for i, im in enumerate(images)]


def read_cofw68_mat(path: str | Path, images_mat: str | Path | None = None) -> list[FaceRecord]:
    """The one face of a COFW68 ``<i>_points.mat`` (scheme ``ibug68``), ``visible`` = ``Occ == 0``.

    ``image_path`` is ``"<images_mat>#<i - 1>"`` (default ``images_mat``:
    ``COFW_test_color.mat``, unresolved), matching `read_cofw_mat`'s indices.
    """
    path = Path(path)
    stem = path.stem.split("_")[0]
    if not stem.isdigit():
        raise format_error(path, None, "COFW68 annotation names are '<image number>_points.mat'")
    data = _load_mat(path)
    if "Points" not in data or "Occ" not in data:
        raise format_error(path, None, "needs variables Points and Occ")
    points, occ = np.asarray(data["Points"], dtype=np.float64), np.asarray(data["Occ"]).reshape(-1)
    if points.shape == (2, 68):  # HDF5 transposes
        points = points.T
    if points.shape != (68, 2) or occ.shape != (68,):
        raise format_error(path, None, f"Points {points.shape} / Occ {occ.shape}, expected (68, 2) / (68,)")
    image = f"{images_mat or 'COFW_test_color.mat'}#{int(stem) - 1}"
    return [FaceRecord(image, points - 1.0, "ibug68", visible=occ == 0)]


def read_cofw68_folder(folder: str | Path, images_mat: str | Path | None = None) -> list[FaceRecord]:
    """All ``*_points.mat`` of a COFW68 ``test_annotations`` folder, by image number."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such COFW68 annotation folder")
    files = sorted(folder.glob("*_points.mat"), key=lambda p: (len(p.stem), p.stem))
    return [rec for f in files for rec in read_cofw68_mat(f, images_mat)]


def _load_mat(path: Path) -> dict:
    """Variables of a v5 (scipy) or v7.3/HDF5 (h5py) ``.mat``; HDF5 arrays are transposed back
    to MATLAB's order and cells become lists."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such .mat file")
    if _is_hdf5(path):
        return _load_hdf5(path)
    import scipy.io

    try:
        data = scipy.io.loadmat(str(path))
    except NotImplementedError:  # scipy's answer to v7.3 files with an unexpected header
        return _load_hdf5(path)
    except Exception as exc:  # scipy raises assorted types (MatReadError, ValueError, IndexError...)
        raise format_error(path, None, f"not a readable .mat file ({exc})") from exc
    return {k: (list(v.ravel()) if v.dtype == object else v) for k, v in data.items() if not k.startswith("__")}


def _is_hdf5(path: Path) -> bool:
    """HDF5 signature at offset 0 or at a user-block offset (512, 1024, ... as in MATLAB v7.3)."""
    with path.open("rb") as f:
        offset = 0
        while True:
            f.seek(offset)
            head = f.read(8)
            if len(head) < 8:
                return False
            if head == _HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else offset * 2


def _load_hdf5(path: Path) -> dict:
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{path} is a MATLAB v7.3 (HDF5) file: reading it needs h5py "
                          "(pip install h5py)") from None
    out = {}
    with h5py.File(path, "r") as f:
        for name, item in f.items():
            if not isinstance(item, h5py.Dataset) or name.startswith("#"):
                continue
            value = item[()]
            if value.dtype == h5py.ref_dtype or value.dtype == object:
                out[name] = [np.asarray(f[ref][()]).T for ref in value.T.ravel()]
            else:
                out[name] = np.asarray(value).T
    return out


def _to_rgb(image: np.ndarray, path: Path, index: int) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise format_error(path, None, f"image {index} has shape {image.shape}, expected (H, W[, 3])")
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)
