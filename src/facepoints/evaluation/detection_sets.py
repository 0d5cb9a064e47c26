"""Test sets for face finding, made from an annotated image list: rotated copies, composite
large photos (faces pasted small into a collage of face-free pictures), small faces in video
frames (one face pasted into a 640 x 480 face-free frame), and face-free images.

Each generator yields ``(RGB image, (F, N, 2) landmarks of the faces in it)``; the occluded
copy is ``facepoints.datasets.occluded_copy.occlude_records`` (``evaluate-occlusion``'s).
Face-free pictures are scikit-image's sample photos (``pip install 'facepoints[eval]'``).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from ..datasets.records import FaceRecord
from ..geometry import box_from_points
from ..pipeline.images import load_image

__all__ = ["rotate_image", "rotated_copies", "composites", "small_in_frames", "face_patch", "face_free_images",
           "COMPOSITE_SIZES", "FACE_FREE_PHOTOS"]

#: tight-landmark-box sides (pixels) the composite photos' faces cycle through
COMPOSITE_SIZES = (40, 50, 60, 80, 100, 140, 200, 300, 400)
#: scikit-image sample photos without faces
FACE_FREE_PHOTOS = ("coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "brick", "grass",
                    "gravel", "moon", "page", "text", "coins", "horse", "clock", "checkerboard", "retina",
                    "colorwheel", "logo", "cell")
_BACKGROUNDS = FACE_FREE_PHOTOS[:5]

Sample = tuple[np.ndarray, np.ndarray]


def _skimage_photo(name: str) -> np.ndarray:
    """A scikit-image sample photo as (H, W, 3) uint8 RGB."""
    try:
        from skimage import data  # noqa: PLC0415 - optional, for the generated sets only
    except ImportError as exc:
        raise ImportError("face-free pictures come from scikit-image: pip install 'facepoints[eval]'") from exc
    im = getattr(data, name)()
    if im.dtype != np.uint8:
        im = (255 * (im.astype(float) / max(1, im.max()))).astype(np.uint8)
    im = np.repeat(im[..., None], 3, 2) if im.ndim == 2 else im[..., :3]
    return np.ascontiguousarray(im)


def rotate_image(image: np.ndarray, points: np.ndarray, angle: float) -> Sample:
    """``image`` turned by ``angle`` degrees counter-clockwise on screen (enlarged to keep it
    whole, black corners) and ``points`` (..., 2) turned with it."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(round(h * sin + w * cos)), int(round(h * cos + w * sin))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    turned = cv2.warpAffine(image, m, (nw, nh), flags=cv2.INTER_LINEAR)
    return turned, (np.asarray(points, np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)


def rotated_copies(records: Sequence[FaceRecord], angle: float) -> Iterator[Sample]:
    """Each record's image turned by ``angle`` degrees, with its face."""
    for rec in records:
        image, points = rotate_image(load_image(rec.image_path), rec.landmarks, angle)
        yield image, points[None]


def face_patch(record: FaceRecord, side: float) -> tuple[np.ndarray, np.ndarray]:
    """The record's face with its surroundings (twice its tight box), scaled so that the tight
    box's longer side is ``side`` pixels, and its landmarks in that patch."""
    image, box = load_image(record.image_path), box_from_points(record.landmarks)
    longer = max(box[2] - box[0], box[3] - box[1])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0, y0 = int(max(0, cx - longer)), int(max(0, cy - longer))
    x1, y1 = int(min(image.shape[1], cx + longer)), int(min(image.shape[0], cy + longer))
    s = side / longer
    pw, ph = max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s))
    patch = cv2.resize(image[y0:y1, x0:x1], (pw, ph), interpolation=cv2.INTER_AREA)
    # continuous coordinates: pixel edges scale, centres sit half a pixel in
    points = (record.landmarks - [x0, y0] + 0.5) * [pw / (x1 - x0), ph / (y1 - y0)] - 0.5
    return patch, points.astype(np.float32)


def small_in_frames(records: Sequence[FaceRecord], side: float = 95.0, width: int = 640, height: int = 480,
                    seed: int = 0) -> Iterator[Sample]:
    """Each record's face scaled to a ``side``-pixel tight box and pasted at a random place into a
    ``width`` x ``height`` frame cut from the face-free photos (a small face in a video frame)."""
    rng = np.random.default_rng(seed)
    backgrounds = [_skimage_photo(name) for name in _BACKGROUNDS]
    for rec in records:
        frame = cv2.resize(backgrounds[rng.integers(len(backgrounds))], (width, height))
        patch, points = face_patch(rec, side)
        ph, pw = patch.shape[:2]
        x, y = int(rng.integers(0, max(1, width - pw + 1))), int(rng.integers(0, max(1, height - ph + 1)))
        patch, points = patch[:height - y, :width - x], points + [x, y]
        frame[y:y + patch.shape[0], x:x + patch.shape[1]] = patch
        yield frame, points[None].astype(np.float32)


def composites(records: Sequence[FaceRecord], faces: int = 96, width: int = 4000, height: int = 3000,
               seed: int = 0) -> Iterator[Sample]:
    """Large photos: ``faces`` faces of the list (drawn at random), each with its surroundings
    (twice its tight box), scaled so the tight box is one of ``COMPOSITE_SIZES`` and packed in
    rows into ``width`` x ``height`` collages of face-free photos; yields each collage."""
    rng = np.random.default_rng(seed)
    backgrounds = [_skimage_photo(name) for name in _BACKGROUNDS]

    def canvas() -> np.ndarray:
        out = np.zeros((height, width, 3), np.uint8)
        for y in range(0, height, 1000):
            for x in range(0, width, 1000):
                tile = cv2.resize(backgrounds[rng.integers(len(backgrounds))], (1000, 1000))
                out[y:y + 1000, x:x + 1000] = tile[:height - y, :width - x]
        return out

    out, placed, x, y, row = canvas(), [], 20, 20, 0
    for k in range(faces):
        rec = records[int(rng.integers(len(records)))]
        patch, points = face_patch(rec, COMPOSITE_SIZES[k % len(COMPOSITE_SIZES)])
        ph, pw = patch.shape[:2]
        if x + pw > width - 20:
            x, y, row = 20, y + row + 20, 0
        if y + ph > height - 20:
            yield out, np.stack(placed)
            out, placed, x, y, row = canvas(), [], 20, 20, 0
        out[y:y + ph, x:x + pw] = patch
        placed.append((points + [x, y]).astype(np.float32))
        x, row = x + pw + 20, max(row, ph)
    if placed:
        yield out, np.stack(placed)


def face_free_images(n: int = 200, seed: int = 0) -> list[np.ndarray]:
    """``n`` RGB uint8 images without faces: scikit-image's face-free photos, six random crops of
    each at random scales, then uniform noise, blurred noise and flat colours (deterministic).
    ``seed`` 0 is the reported set; any other seed is a tuning set with other crops and noise
    and a seventh crop in place of each whole photo, so it shares no image with seed 0."""
    if seed < 0:
        raise ValueError(f"face-free seed must be >= 0, not {seed}")
    rng = np.random.default_rng(seed)
    images = []
    for name in FACE_FREE_PHOTOS:
        im = _skimage_photo(name)
        if seed == 0:
            images.append(im)
        for _ in range(6 if seed == 0 else 7):
            h, w = im.shape[:2]
            s, f = rng.uniform(0.3, 0.8), rng.uniform(0.5, 2.0)
            ch, cw = int(h * s), int(w * s)
            y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            images.append(cv2.resize(im[y:y + ch, x:x + cw], (max(16, int(cw * f)), max(16, int(ch * f)))))
    while len(images) < n:
        h, w = rng.integers(200, 800, 2)
        kind = len(images) % 3
        noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        images.append(noise if kind == 0 else cv2.GaussianBlur(noise, (0, 0), rng.uniform(1, 6)) if kind == 1
                      else np.full((h, w, 3), rng.integers(0, 256, 3), np.uint8))
    return [np.ascontiguousarray(im) for im in images[:n]]
