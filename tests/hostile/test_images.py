"""Hostile and odd images (issue 20, items 4-6 and "Also"): each gives a one-line ``ImageError``
(a ``ValueError``), exit 2 and one line from the CLI, or a correct result; bombs stay under 1 GB."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from facepoints.pipeline import images
from facepoints.pipeline.images import ImageError, as_rgb, load_image
from facepoints.schemes import as_plane_points

from .image_bombs import bomb_png

SRC = Path(__file__).resolve().parents[2] / "src"
GIB = 1024 ** 3


def _python(code: str, *args: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``python -c code args`` in a fresh process; (result, its peak RSS in bytes). The
    children's peak is read after a run in a forked helper, so only that child counts."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    helper = textwrap.dedent("""
        import resource, subprocess, sys
        p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
        sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)
        print("PEAK_KB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        sys.exit(p.returncode)
    """)
    result = subprocess.run([sys.executable, "-c", helper, sys.executable, "-c", code, *args],
                            capture_output=True, text=True, env=env, timeout=timeout)
    peak = int(result.stdout.rsplit("PEAK_KB", 1)[1]) * 1024
    return result, peak


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# --- item 4: resource bombs ------------------------------------------------------------------

def test_bomb_png_is_refused_from_its_header_under_1_gib(tmp_path):
    """30000 x 30000 in ~100 KB: was 53 s and 8.3 GB RSS, now refused before decoding."""
    bomb = bomb_png(tmp_path / "bomb.png", 30000, 30000)
    before = bomb.read_bytes()
    result, peak = _python("import sys; from facepoints.cli.main import main; sys.exit(main())", "detect", str(bomb),
                           "--out", str(tmp_path / "out"), "--no-progress")
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert line.startswith("facepoints detect: error:") and "900,000,000 pixels" in line
    assert peak < GIB, peak
    assert bomb.read_bytes() == before


def test_pixel_limit_is_ours_and_configurable(tmp_path, monkeypatch):
    """Above MAX_PIXELS (but under Pillow's own bomb limit) an image is refused, and the limit moves."""
    path = tmp_path / "wide.png"
    assert cv2.imwrite(str(path), np.zeros((600, 4000), np.uint8))  # 2.4 M pixels
    monkeypatch.setattr(images, "MAX_PIXELS", 2_000_000)
    with pytest.raises(ImageError, match=r"4000x600 pixels, more than the limit of 2,000,000") as info:
        load_image(path)
    assert "\n" not in str(info.value)
    with pytest.raises(ImageError, match="limit"):  # PIL images are checked before they decode
        as_rgb(Image.open(path))
    monkeypatch.setattr(images, "MAX_PIXELS", 3_000_000)
    assert load_image(path).shape == (600, 4000, 3)


def test_max_pixels_from_the_environment(tmp_path):
    path = tmp_path / "small.png"
    assert cv2.imwrite(str(path), np.zeros((100, 100), np.uint8))
    code = "import sys; from facepoints.pipeline.images import load_image; load_image(sys.argv[1])"
    env = dict(os.environ, PYTHONPATH=str(SRC), FACEPOINTS_MAX_PIXELS="5000")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env)
    assert result.returncode == 1 and "100x100 pixels, more than the limit of 5,000" in result.stderr
    env["FACEPOINTS_MAX_PIXELS"] = "lots"  # a bad value: one line from the command, not a traceback
    result = subprocess.run([sys.executable, "-m", "facepoints.cli.main", "detect", str(path), "--out",
                             str(tmp_path / "out"), "--no-progress"], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert _one_line(result.stderr) == ("facepoints detect: error: $FACEPOINTS_MAX_PIXELS must be a number "
                                        "of pixels, got 'lots'")


def test_header_above_2_pow_30_pixels_is_one_line(tmp_path):
    """40000 x 40000 (OpenCV's own cap raised cv2.error here before)."""
    with pytest.raises(ImageError, match="1,600,000,000 pixels") as info:
        load_image(bomb_png(tmp_path / "huge.png", 40000, 40000))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("count", [400, pytest.param(1000, marks=pytest.mark.slow)])
def test_many_boxes_run_in_chunks_under_1_gib(count):
    """1000 boxes on one image went to the network as one batch: 5 GB RSS, kept after the call
    (400 boxes: 2 GB before the fix)."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from skimage import data
        from facepoints import Landmarker
        n = int(sys.argv[1])
        boxes = np.array([175, 75, 266, 167], np.float32) + np.random.default_rng(0).uniform(-10, 10, (n, 4))
        faces = Landmarker(detector=None, threads=1)(data.astronaut(), boxes=boxes)
        assert len(faces) == n and all(np.isfinite(f.landmarks).all() for f in faces)
    """)
    result, peak = _python(code, str(count))
    assert result.returncode == 0, result.stderr
    assert peak < GIB, peak


def test_chunked_boxes_equal_one_by_one(landmarker, astronaut, astronaut_face_box):
    from facepoints.landmarker import MAX_BATCH

    boxes = astronaut_face_box + np.arange(MAX_BATCH + 3, dtype=np.float32)[:, None]
    together = landmarker._predict(astronaut, boxes)
    for k in (0, MAX_BATCH, MAX_BATCH + 2):
        alone = landmarker._predict(astronaut, boxes[k:k + 1])
        np.testing.assert_allclose(together.landmarks[k], alone.landmarks[0], atol=1e-3)
        np.testing.assert_allclose(together.pose[k], alone.pose[0], atol=1e-3)


# --- item 5: pixel types, colour conversion ---------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_tiff_pixel_types_load(tmp_path, astronaut, dtype):
    """float64 / int32 TIFF: the colour order was converted before the pixel type was normalised."""
    rgb = np.asarray(astronaut[::4, ::4])
    values = rgb / 255.0 if np.issubdtype(dtype, np.floating) else rgb.astype(np.int32) * 257
    path = tmp_path / "image.tif"
    assert cv2.imwrite(str(path), np.ascontiguousarray(values[..., ::-1]).astype(dtype))
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == dtype
    assert np.abs(load_image(path).astype(int) - rgb).max() <= 1


def test_negative_pixels_are_one_line():
    with pytest.raises(ImageError, match="negative pixel values") as info:
        as_rgb(np.full((16, 16, 3), -5, np.int32))
    assert "\n" not in str(info.value)


# --- item 6: accepted nonsense ----------------------------------------------------------------

def test_pil_mode_i_with_16_bit_values_is_scaled_not_clipped(astronaut):
    grey = cv2.cvtColor(np.asarray(astronaut), cv2.COLOR_RGB2GRAY)
    pil = Image.fromarray(grey.astype(np.int32) * 257, "I")
    assert pil.mode == "I"
    out = as_rgb(pil)
    assert np.abs(out[..., 0].astype(int) - grey).max() <= 1  # was: everything above 255 -> 255
    eight_bit = Image.fromarray(grey.astype(np.int32), "I")  # values up to 255 stay 8-bit
    np.testing.assert_array_equal(as_rgb(eight_bit)[..., 0], grey)


@pytest.mark.parametrize("bad", [[[1e39, 0.0]], [[0.0, -1e300]], [[11.0, 0.0]]])
def test_plane_points_beyond_range_are_refused(bad):
    """Points beyond float32 range became inf and NaN landmarks; now a one-line ValueError."""
    with pytest.raises(ValueError, match=r"within \[-10, 10\]") as info:
        as_plane_points(bad)
    assert "\n" not in str(info.value)


# --- "Also": documented behaviour -------------------------------------------------------------

def test_detector_face_box_is_the_calibrated_detector_box(landmarker, astronaut):
    """``Face.box`` is the box the face was cropped from (docstring, README): for a detector
    face, the detector's box after calibration, not the landmarks' tight box."""
    (face,) = landmarker(astronaut)
    detections = landmarker._detect_faces(np.asarray(astronaut))  # also a false positive, dropped later
    assert any(np.array_equal(face.box, d.box) for d in detections)
    assert face.box_source == landmarker.detector.name


def test_arrays_are_rgb_unless_told_bgr(astronaut):
    rgb = np.asarray(astronaut)
    np.testing.assert_array_equal(as_rgb(rgb), rgb)
    np.testing.assert_array_equal(as_rgb(np.ascontiguousarray(rgb[..., ::-1]), "BGR"), rgb)
    with pytest.raises(ValueError, match="color_order"):
        as_rgb(rgb, "BRG")


def test_png_chunk_longer_than_the_file_is_refused_without_allocating(tmp_path, astronaut):
    """Found by tools/fuzz_images.py: an IDAT length of 1 GB in a 30 KB PNG made OpenCV's reader
    allocate 1 GB (1.36 GB peak RSS); now a one-line refusal before decoding."""
    path = tmp_path / "long_chunk.png"
    assert cv2.imwrite(str(path), np.ascontiguousarray(np.asarray(astronaut)[:64, :64, ::-1]))
    data = bytearray(path.read_bytes())
    idat = data.index(b"IDAT") - 4
    data[idat:idat + 4] = (2 ** 30).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    code = "import sys; from facepoints.pipeline.images import load_image; load_image(sys.argv[1])"
    result, peak = _python(code, str(path))
    assert result.returncode == 1
    assert "ImageError" in result.stderr and "PNG chunk 'IDAT' declares 1,073,741,824 bytes in a file of" in result.stderr
    assert peak < 600 * 1024 ** 2, peak
