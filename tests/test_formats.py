"""Readers of the official annotation formats, on tiny files written in those formats."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facepoints.datasets.formats.aflw19 import read_aflw19_csv
from facepoints.datasets.formats.celeba import read_celeba_landmarks, read_mafl_list, select_records
from facepoints.datasets.formats.hrnet_csv import read_hrnet_csv
from facepoints.datasets.formats.ibug300w import read_300w_split, read_pts_folder
from facepoints.datasets.formats.merl_rav import read_merl_rav_folder, read_merl_rav_pts
from facepoints.datasets.formats.pts import AnnotationFormatError, write_pts
from facepoints.datasets.formats.wflw import WFLW_ATTRIBUTES, read_wflw, wflw_subsets

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _image(path: Path, size: int = 32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((size, size, 3), 127, np.uint8))
    return path


def _shape(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(1, 30, size=(n, 2)).round(3)


# --- HRNet CSV -------------------------------------------------------------------------

def _hrnet_csv(path: Path, rows: list[tuple[str, float, float, float, np.ndarray]], box_size: bool = False) -> None:
    n = len(rows[0][4])
    meta = ["image_name", "scale"] + (["box_size"] if box_size else []) + ["center_w", "center_h"]
    header = meta + [f"original_{i}_{a}" for i in range(n) for a in "xy"]
    lines = [",".join(header)]
    for name, scale, cx, cy, pts in rows:
        extra = [f"{scale * 200 * 0.8:g}"] if box_size else []
        lines.append(",".join([name, f"{scale:g}", *extra, f"{cx:g}", f"{cy:g}"] + [f"{v:g}" for v in pts.ravel()]))
    path.write_text("\n".join(lines) + "\n")


def test_hrnet_csv(tmp_path):
    pts68, pts98 = _shape(68), _shape(98, 1)
    _hrnet_csv(tmp_path / "a.csv", [("ibug/image_003_1.jpg", 0.5, 16.0, 15.0, pts68)])
    (rec,) = read_hrnet_csv(tmp_path / "a.csv", images_root=tmp_path / "images")
    assert rec.image_path == tmp_path / "images/ibug/image_003_1.jpg"
    assert rec.scheme == "ibug68"
    np.testing.assert_allclose(rec.landmarks, pts68, atol=1e-4)
    np.testing.assert_allclose(rec.box, [-34, -35, 66, 65])  # 100 px square around (16, 15)
    assert rec.attributes == {"scale": 0.5, "center": [16.0, 15.0]}
    recs = read_hrnet_csv(tmp_path / "a.csv", one_based=True)
    np.testing.assert_allclose(recs[0].landmarks, pts68 - 1, atol=1e-4)
    assert recs[0].attributes["center"] == [15.0, 14.0]
    _hrnet_csv(tmp_path / "b.csv", [("x.png", 1.0, 0, 0, pts98), ("y.png", 2.0, 1, 1, pts98)])
    recs = read_hrnet_csv(tmp_path / "b.csv")
    assert [r.scheme for r in recs] == ["wflw98", "wflw98"] and recs[0].image_path == tmp_path / "x.png"


@pytest.mark.parametrize("text", [
    "",                                                             # no header
    "image_name,scale,center_w\n",                                  # missing columns
    "image_name,scale,center_w,center_h,original_0_x\na.jpg,1,2,3,4\n",   # odd point columns
    "image_name,scale,center_w,center_h,original_0_x,original_0_y\na.jpg,1,2,3,4\n",  # short row
    "image_name,scale,center_w,center_h,original_0_x,original_0_y\na.jpg,1,2,3,4,x5\n",  # not a number
    "image_name,scale,center_w,center_h,original_0_y,original_0_x\na.jpg,1,2,3,4,5\n",  # y before x
])
def test_hrnet_csv_malformed(tmp_path, text):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(AnnotationFormatError, match="bad.csv"):
        read_hrnet_csv(tmp_path / "bad.csv", scheme="ibug68")


def test_hrnet_csv_error_names_line(tmp_path):
    (tmp_path / "bad.csv").write_text("image_name,scale,center_w,center_h,original_0_x,original_0_y\n"
                                      "a.jpg,1,2,3,4,5\nb.jpg,1,2,3,4,oops\n")
    with pytest.raises(AnnotationFormatError, match=r"bad.csv:3: .*'oops'"):
        read_hrnet_csv(tmp_path / "bad.csv", scheme="x")


# --- AFLW-19 ---------------------------------------------------------------------------

def test_aflw19(tmp_path):
    pts = _shape(19)
    _hrnet_csv(tmp_path / "face_landmarks_aflw_test.csv", [("0/image00002.jpg", 0.75, 20, 21, pts)], box_size=True)
    (rec,) = read_aflw19_csv(tmp_path / "face_landmarks_aflw_test.csv")
    assert rec.scheme == "aflw19" and rec.image_path == tmp_path / "0/image00002.jpg"
    np.testing.assert_allclose(rec.landmarks, pts, atol=1e-4)
    assert rec.attributes["box_size"] == pytest.approx(120.0)
    np.testing.assert_allclose(rec.box, [-55, -54, 95, 96])


def test_aflw19_malformed(tmp_path):
    _hrnet_csv(tmp_path / "no_box.csv", [("a.jpg", 1, 2, 3, _shape(19))])
    with pytest.raises(AnnotationFormatError, match="box_size"):
        read_aflw19_csv(tmp_path / "no_box.csv")
    _hrnet_csv(tmp_path / "n68.csv", [("a.jpg", 1, 2, 3, _shape(68))], box_size=True)
    with pytest.raises(AnnotationFormatError, match="19"):
        read_aflw19_csv(tmp_path / "n68.csv")


# --- WFLW ------------------------------------------------------------------------------

def _wflw_line(pts: np.ndarray, box, flags, name) -> str:
    return " ".join([f"{v:.6f}" for v in pts.ravel()] + [str(b) for b in box] + [str(f) for f in flags] + [name])


def test_wflw(tmp_path):
    ann = tmp_path / "WFLW_annotations/list_98pt_rect_attr_train_test"
    ann.mkdir(parents=True)
    (tmp_path / "WFLW_images").mkdir()
    a, b = _shape(98, 1), _shape(98, 2)
    lines = [_wflw_line(a, (3, 4, 30, 31), (1, 0, 0, 1, 0, 0), "51--Dresses/51_Dresses_wearingdress_51_377.jpg"),
             _wflw_line(b, (0, 1, 20, 22), (0, 0, 1, 1, 0, 1), "0--Parade/0_Parade_marchingband_1_116.jpg")]
    (ann / "list_98pt_rect_attr_test.txt").write_text("\n".join(lines) + "\n")
    recs = read_wflw(ann / "list_98pt_rect_attr_test.txt")
    assert len(recs) == 2 and all(r.scheme == "wflw98" for r in recs)
    assert recs[0].image_path == tmp_path / "WFLW_images/51--Dresses/51_Dresses_wearingdress_51_377.jpg"
    np.testing.assert_allclose(recs[0].landmarks, a, atol=1e-5)
    np.testing.assert_allclose(recs[1].landmarks, b, atol=1e-5)
    np.testing.assert_array_equal(recs[0].box, [3, 4, 30, 31])
    assert WFLW_ATTRIBUTES == ("pose", "expression", "illumination", "makeup", "occlusion", "blur")
    assert recs[0].attributes == dict(zip(WFLW_ATTRIBUTES, [True, False, False, True, False, False]))
    assert all(isinstance(v, bool) for v in recs[1].attributes.values())
    subsets = wflw_subsets(recs)
    assert subsets == {"pose": [0], "expression": [], "illumination": [1], "makeup": [0, 1],
                       "occlusion": [], "blur": [1]}
    other = read_wflw(ann / "list_98pt_rect_attr_test.txt", images_root=tmp_path / "imgs")
    assert other[1].image_path == tmp_path / "imgs/0--Parade/0_Parade_marchingband_1_116.jpg"


@pytest.mark.parametrize("mutate", [
    lambda f: f[:-1],                          # missing image name
    lambda f: f[:5] + ["1.5x"] + f[6:],        # bad coordinate
    lambda f: f[:200] + ["2"] + f[201:],       # flag not 0/1
])
def test_wflw_malformed(tmp_path, mutate):
    good = _wflw_line(_shape(98), (1, 2, 3, 4), (0,) * 6, "a/b.jpg")
    fields = mutate(good.split())
    (tmp_path / "list.txt").write_text(good + "\n" + " ".join(fields) + "\n")
    with pytest.raises(AnnotationFormatError, match=r"list.txt:2:"):
        read_wflw(tmp_path / "list.txt")


# --- CelebA / MAFL -----------------------------------------------------------------------

CELEBA_HEADER = ("lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
                 "leftmouth_x leftmouth_y rightmouth_x rightmouth_y")


def test_celeba_and_mafl(tmp_path):
    text = ("3\n" + CELEBA_HEADER + "\n"
            "000001.jpg 69  109  106  113   77  142   73  152  108  154\n"
            "000002.jpg 69  110  107  112   81  135   70  151  108  153\n"
            "000003.jpg 76  112  104  106  108  128   74  156   98  158\n")
    (tmp_path / "list_landmarks_align_celeba.txt").write_text(text)
    recs = read_celeba_landmarks(tmp_path / "list_landmarks_align_celeba.txt", images_root=tmp_path / "img")
    assert [r.image_path.name for r in recs] == ["000001.jpg", "000002.jpg", "000003.jpg"]
    assert recs[0].image_path == tmp_path / "img/000001.jpg" and recs[0].scheme == "celeba5"
    np.testing.assert_array_equal(recs[2].landmarks, [[76, 112], [104, 106], [108, 128], [74, 156], [98, 158]])
    (tmp_path / "testing.txt").write_text("000003.jpg\n000001.jpg\n")
    names = read_mafl_list(tmp_path / "testing.txt")
    assert names == ["000003.jpg", "000001.jpg"]
    assert [r.image_path.name for r in select_records(recs, names)] == names
    subset = read_celeba_landmarks(tmp_path / "list_landmarks_align_celeba.txt", names=names)
    assert [r.image_path.name for r in subset] == ["000001.jpg", "000003.jpg"]
    with pytest.raises(KeyError):
        select_records(recs, ["999999.jpg"])


@pytest.mark.parametrize("text,line", [
    ("x\n" + CELEBA_HEADER + "\n", 1),                                  # count not a number
    ("1\nlefteye_x lefteye_y\n000001.jpg 1 2 3 4 5 6 7 8 9 10\n", 2),  # wrong header
    ("1\n" + CELEBA_HEADER + "\n000001.jpg 1 2 3 4 5 6 7 8 9\n", 3),   # 9 coordinates
    ("1\n" + CELEBA_HEADER + "\n000001.jpg 1 2 3 4 5 6 7 8 9 z\n", 3),  # not a number
    ("2\n" + CELEBA_HEADER + "\n000001.jpg 1 2 3 4 5 6 7 8 9 10\n", 1),  # count mismatch
])
def test_celeba_malformed(tmp_path, text, line):
    (tmp_path / "list_landmarks_celeba.txt").write_text(text)
    with pytest.raises(AnnotationFormatError, match=rf"list_landmarks_celeba.txt:{line}:"):
        read_celeba_landmarks(tmp_path / "list_landmarks_celeba.txt")


def test_mafl_malformed(tmp_path):
    (tmp_path / "training.txt").write_text("000001.jpg\n000002.jpg 3\n")
    with pytest.raises(AnnotationFormatError, match="training.txt:2:"):
        read_mafl_list(tmp_path / "training.txt")


# --- MERL-RAV ----------------------------------------------------------------------------

def _raw_pts(path: Path, rows: list[str]) -> None:
    path.write_text(f"version: 1\nn_points:  {len(rows)}\n{{\n" + "\n".join(rows) + "\n}\n")


def test_merl_rav(tmp_path):
    rows = ["-1 -1", "-1443.54 -474.32", "1382.78 680.12"] + [f"{10 + i} {20 + i}" for i in range(65)]
    _raw_pts(tmp_path / "image03891.pts", rows)
    _image(tmp_path / "image03891.jpg")
    rec = read_merl_rav_pts(tmp_path / "image03891.pts")
    assert rec.image_path == tmp_path / "image03891.jpg" and rec.scheme == "ibug68"
    assert np.isnan(rec.landmarks[0]).all()
    np.testing.assert_allclose(rec.landmarks[1], [1442.54, 473.32], atol=1e-2)
    np.testing.assert_allclose(rec.landmarks[2], [1381.78, 679.12], atol=1e-2)
    np.testing.assert_allclose(rec.landmarks[3], [9, 19])
    assert rec.visible[:4].tolist() == [False, False, True, True] and rec.visible[3:].all()
    assert rec.attributes["self_occluded"][:3].tolist() == [True, False, False]
    raw = read_merl_rav_pts(tmp_path / "image03891.pts", one_based=False)
    np.testing.assert_allclose(raw.landmarks[3], [10, 20])
    assert len(read_merl_rav_folder(tmp_path)) == 1


@pytest.mark.parametrize("row", ["-12 30", "12 abc"])
def test_merl_rav_malformed(tmp_path, row):
    _raw_pts(tmp_path / "bad.pts", [row] + ["1 2"] * 67)
    with pytest.raises(AnnotationFormatError, match="bad.pts"):
        read_merl_rav_pts(tmp_path / "bad.pts")


# --- 300W splits and .pts folders --------------------------------------------------------

def _face(folder: Path, stem: str, points: np.ndarray, suffix: str = ".jpg") -> None:
    _image(folder / f"{stem}{suffix}")
    write_pts(folder / f"{stem}.pts", points)


def test_read_300w_split(tmp_path):
    layout = {"afw": ["111_1"], "helen/trainset": ["h1", "h2"], "lfpw/trainset": ["l1"],
              "helen/testset": ["ht1"], "lfpw/testset": ["lt1", "lt2"], "ibug": ["image_003_1"],
              "300W/01_Indoor": ["indoor_001"], "300W/02_Outdoor": ["outdoor_001"]}
    truth = {}
    for k, (folder, stems) in enumerate(layout.items()):
        for j, stem in enumerate(stems):
            pts = _shape(68, 10 * k + j)
            _face(tmp_path / folder, stem, pts, ".png" if folder.startswith("300W") else ".jpg")
            truth[stem] = pts
    train = read_300w_split(tmp_path, "train")
    assert [r.image_path.stem for r in train] == ["111_1", "h1", "h2", "l1"]
    assert [r.attributes["subset"] for r in train] == ["afw", "helen/trainset", "helen/trainset", "lfpw/trainset"]
    for rec in train:
        np.testing.assert_allclose(rec.landmarks, truth[rec.image_path.stem], atol=1e-3)
        assert rec.scheme == "ibug68"
    assert [r.image_path.stem for r in read_300w_split(tmp_path, "common")] == ["ht1", "lt1", "lt2"]
    assert [r.image_path.stem for r in read_300w_split(tmp_path, "challenging")] == ["image_003_1"]
    assert len(read_300w_split(tmp_path, "full")) == 4
    private = read_300w_split(tmp_path, "private")
    assert [r.image_path.name for r in private] == ["indoor_001.png", "outdoor_001.png"]
    with pytest.raises(ValueError, match="unknown 300W split 'test'"):
        read_300w_split(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="ibug"):
        read_300w_split(tmp_path / "afw", "challenging")


def test_read_300w_split_malformed(tmp_path):
    _face(tmp_path / "ibug", "image_003_1", _shape(68))
    (tmp_path / "ibug/image_004_1.pts").write_text("version: 1\nn_points: 68\n{\n1 2\n}\n")
    _image(tmp_path / "ibug/image_004_1.jpg")
    with pytest.raises(AnnotationFormatError, match="image_004_1.pts"):
        read_300w_split(tmp_path, "challenging")


def test_read_pts_folder_menpo(tmp_path):
    _face(tmp_path, "aflw__face_39967", _shape(68), ".jpeg")
    _face(tmp_path, "profile_1", _shape(39), ".png")
    recs = read_pts_folder(tmp_path)
    assert [(r.image_path.name, r.scheme, len(r.landmarks)) for r in recs] == [
        ("aflw__face_39967.jpeg", "ibug68", 68), ("profile_1.png", "menpo39", 39)]
    write_pts(tmp_path / "lonely.pts", _shape(68))
    with pytest.raises(FileNotFoundError, match="lonely.pts"):
        read_pts_folder(tmp_path)


def test_read_pts_folder_unknown_count(tmp_path):
    _face(tmp_path, "odd", _shape(7))
    with pytest.raises(AnnotationFormatError, match="7 points"):
        read_pts_folder(tmp_path)
    assert read_pts_folder(tmp_path, scheme="custom7")[0].scheme == "custom7"


# --- real data ---------------------------------------------------------------------------

@pytest.mark.skipif(not (SHARED_DATA / "300W" / "afw").is_dir(), reason="../shared/data/300W/afw absent")
def test_real_300w_afw():
    recs = read_pts_folder(SHARED_DATA / "300W" / "afw")
    assert len(recs) == 337
    for rec in recs[:20]:
        assert rec.scheme == "ibug68" and rec.landmarks.shape == (68, 2)
        assert rec.image_path.suffix == ".jpg" and rec.image_path.is_file()
        assert np.isfinite(rec.landmarks).all()
        h, w = cv2.imread(str(rec.image_path)).shape[:2]
        assert (rec.landmarks > -1).all() and (rec.landmarks[:, 0] < w).all() and (rec.landmarks[:, 1] < h).all()
