"""Synthetic face-free crops ("clutter") for the face-confidence branch's negatives: printed text,
soft blobs, drawn shapes and noise, the things a face detector fires on that photos of people
rarely show around their faces. Drawn with OpenCV from a seeded generator; no image files."""
from __future__ import annotations

import string

import cv2
import numpy as np

KINDS = ("text", "blobs", "shapes", "noise")
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
          cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX_SMALL, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX)


def clutter_crop(size: int, rng: np.random.Generator) -> np.ndarray:
    """One (size, size, 3) uint8 RGB face-free crop of a random kind (``KINDS``)."""
    kind = KINDS[int(rng.integers(len(KINDS)))]
    big = 2 * size  # drawn at twice the size, then shrunk: anti-aliased like a photo
    image = {"text": _text, "blobs": _blobs, "shapes": _shapes, "noise": _noise}[kind](big, rng)
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.5))
    return np.ascontiguousarray(image)


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(low, high, 3))


def _text(size: int, rng: np.random.Generator) -> np.ndarray:
    """Lines of random words, dark on light (or the reverse), at a random scale and angle."""
    light = rng.random() < 0.8
    paper, ink = (_colour(rng, 170), _colour(rng, 0, 90)) if light else (_colour(rng, 0, 90), _colour(rng, 170))
    canvas = np.empty((2 * size, 2 * size, 3), np.uint8)
    canvas[:] = paper
    font, scale = _FONTS[int(rng.integers(len(_FONTS)))], rng.uniform(0.6, 3.0)
    thickness = int(rng.integers(1, 4))
    step = int(30 * scale) + 4
    for y in range(int(rng.integers(step // 2, step + 1)), 2 * size, step):
        words = " ".join("".join(rng.choice(list(string.ascii_letters + string.digits), int(rng.integers(2, 9))))
                         for _ in range(8))
        cv2.putText(canvas, words, (int(rng.integers(-size // 2, 8)), y), font, scale, ink, thickness, cv2.LINE_AA)
    matrix = cv2.getRotationMatrix2D((size, size), rng.uniform(-30, 30), 1.0)
    canvas = cv2.warpAffine(canvas, matrix, (2 * size, 2 * size), borderValue=paper)
    return canvas[size // 2:size // 2 + size, size // 2:size // 2 + size]


def _blobs(size: int, rng: np.random.Generator) -> np.ndarray:
    """One to six soft ellipses on a plain background (lamps, balls, spots, buttons)."""
    image = np.empty((size, size, 3), np.float32)
    image[:] = _colour(rng)
    for _ in range(int(rng.integers(1, 7))):
        layer = np.zeros((size, size), np.uint8)
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        axes = tuple(int(v) for v in rng.integers(size // 16, size // 2, 2))
        cv2.ellipse(layer, centre, axes, rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA)
        alpha = cv2.GaussianBlur(layer.astype(np.float32) / 255, (0, 0), rng.uniform(1, size / 8))[..., None]
        image = image * (1 - alpha) + np.array(_colour(rng), np.float32) * alpha
    return image.clip(0, 255).astype(np.uint8)


def _shapes(size: int, rng: np.random.Generator) -> np.ndarray:
    """Lines, circles and rectangles, outlined or filled (signs, logos, patterns)."""
    image = np.empty((size, size, 3), np.uint8)
    image[:] = _colour(rng)
    for _ in range(int(rng.integers(3, 15))):
        colour, width = _colour(rng), int(rng.choice([-1, 1, 2, 4, 8]))
        p, q = (tuple(int(v) for v in rng.integers(-size // 4, size + size // 4, 2)) for _ in range(2))
        shape = int(rng.integers(3))
        if shape == 0:
            cv2.line(image, p, q, colour, max(width, 1), cv2.LINE_AA)
        elif shape == 1:
            cv2.circle(image, p, int(rng.integers(4, size // 3)), colour, width, cv2.LINE_AA)
        else:
            cv2.rectangle(image, p, q, colour, width, cv2.LINE_AA)
    return image


def _noise(size: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform noise, blurred noise at a random scale, or a colour gradient with grain."""
    kind = int(rng.integers(3))
    noise = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    if kind == 0:
        return noise
    if kind == 1:
        blurred = cv2.GaussianBlur(noise.astype(np.float32), (0, 0), rng.uniform(1, size / 6))
        spread = blurred - blurred.mean()
        return (128 + spread * (60 / max(spread.std(), 1e-3))).clip(0, 255).astype(np.uint8)
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    a, b = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    grid = ramp[None, :, None] if rng.random() < 0.5 else ramp[:, None, None]
    image = a + (b - a) * grid + rng.normal(0, rng.uniform(0, 12), (size, size, 3))
    return image.clip(0, 255).astype(np.uint8)
