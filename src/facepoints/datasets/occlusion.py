"""Deterministic synthetic occluders (face masks, pasted patches, hands).

``occlude`` paints one occluder on a copy of an image and says which landmarks lie under it
(``datasets.occluded_copy`` applies it to a whole image list; ``datasets.augment`` to training
crops). Everything random comes from the ``numpy.random.Generator`` given, so a result is
reproducible. Only the 68-point iBUG layout is supported; its index choices are all in
``IBUG68`` below.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

#: The iBUG-68 indices the occluders use (0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes,
#: 48-67 mouth). "a" is the image-left side of a frontal face (jaw 0, eye 36-41), "b" the other.
IBUG68 = {
    "num_points": 68,
    "bridge": (28, 29),  # the face mask's top edge sits between these two nose-bridge points
    "nose_tip": 30,
    "mask_jaw": tuple(range(1, 16)),  # jaw outline the face mask follows (1 and 15: cheek ends)
    "chin_drop": {5: 0.3, 6: 0.6, 7: 0.9, 8: 1.0, 9: 0.9, 10: 0.6, 11: 0.3},  # extra depth below the chin
    "eye_a_lower": (39, 40, 41, 36),  # inner corner, lower lid, outer corner
    "eye_b_lower": (42, 47, 46, 45),
    "eye_a": tuple(range(36, 42)),
    "eye_b": tuple(range(42, 48)),
    "outline": tuple(range(0, 27)),  # jaw + brows: the face region (skin colour for hands)
    "targets": {  # the face parts a patch or hand can cover
        "eyes": tuple(range(36, 48)),
        "mouth": tuple(range(48, 68)),
        "nose": tuple(range(27, 36)),
        "side_a": tuple(range(0, 8)) + tuple(range(17, 22)) + tuple(range(36, 42)),
        "side_b": tuple(range(9, 17)) + tuple(range(22, 27)) + tuple(range(42, 48)),
    },
}

KINDS = ("face_mask", "patch", "hand")
MASK_STYLES = ("light_blue", "white", "black", "stripes")
PATCH_FILLS = ("texture", "noise", "solid")
_MASK_COLOURS = {"light_blue": (150, 195, 225), "white": (232, 234, 236), "black": (32, 32, 36)}
_PATCH_ASPECT = {"eyes": (1.8, 3.2), "mouth": (1.0, 2.0), "nose": (0.5, 1.0), "side_a": (0.4, 0.8),
                 "side_b": (0.4, 0.8)}  # width / height range of a patch over each target


@dataclass(frozen=True)
class OccluderConfig:
    """Which occluders to draw and how big. Sizes are fractions of the face size (the square
    root of the tight landmark box's area) unless said otherwise."""

    kinds: tuple[str, ...] = ("face_mask", "patch")  #: drawn with equal probability
    mask_styles: tuple[str, ...] = MASK_STYLES
    mask_top: tuple[float, float] = (0.0, 0.8)  #: top edge between bridge points 28 (0) and 29 (1)
    mask_margin: float = 0.04  #: how far the mask reaches beyond the jaw outline
    mask_chin_drop: tuple[float, float] = (0.04, 0.10)  #: extra depth below the chin
    eye_gap: float = 0.035  #: clearance between the mask's top edge and the lower eyelids
    shading: float = 0.12  #: amplitude of the random brightness gradient on masks and hands
    patch_area: tuple[float, float] = (0.15, 0.40)  #: covered fraction of the (in-image) face box
    patch_count: tuple[int, int] = (1, 2)
    patch_targets: tuple[str, ...] = tuple(IBUG68["targets"])
    patch_fills: tuple[str, ...] = PATCH_FILLS  #: "donor" also allowed when donor images are given
    hand_targets: tuple[str, ...] = ("mouth", "side_a", "side_b")

    def __post_init__(self) -> None:
        for name, values, known in (("kinds", self.kinds, KINDS), ("mask_styles", self.mask_styles, MASK_STYLES),
                                    ("patch_targets", self.patch_targets, tuple(IBUG68["targets"])),
                                    ("hand_targets", self.hand_targets, tuple(IBUG68["targets"])),
                                    ("patch_fills", self.patch_fills, PATCH_FILLS + ("donor",))):
            bad = [v for v in values if v not in known]
            if not values or bad:
                raise ValueError(f"OccluderConfig.{name}: {bad or 'empty'}; choose from {', '.join(known)}")
        lo, hi = self.patch_area
        if not 0 < lo <= hi < 1:
            raise ValueError(f"OccluderConfig.patch_area must satisfy 0 < low <= high < 1, got {self.patch_area}")


@dataclass
class OcclusionResult:
    """An occluded copy of an image: ``occluded`` (N,) flags the points under the occluder,
    ``mask`` (H, W) its pixels; ``details`` says how it was drawn (style, targets, coverage)."""

    image: np.ndarray
    occluded: np.ndarray
    kind: str
    mask: np.ndarray
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _FaceFrame:
    """Face-aligned coordinates: origin at the nose tip, ``a`` to the image-right of a frontal
    face, ``b`` up the face; ``size`` is the face size in pixels."""

    origin: np.ndarray
    right: np.ndarray
    up: np.ndarray
    size: float

    @classmethod
    def from_landmarks(cls, pts: np.ndarray) -> "_FaceFrame":
        def unit(v: np.ndarray) -> np.ndarray:
            return v / max(float(np.linalg.norm(v)), 1e-6)

        eyes = pts[list(IBUG68["eye_b"])].mean(0) - pts[list(IBUG68["eye_a"])].mean(0)
        right = unit(unit(eyes) + unit(pts[16] - pts[0]))
        wh = pts.max(0) - pts.min(0)
        return cls(pts[IBUG68["nose_tip"]].astype(np.float64), right, np.array([right[1], -right[0]]),
                   max(float(np.sqrt(wh[0] * wh[1])), 1.0))

    def to_face(self, pts: np.ndarray) -> np.ndarray:
        d = np.asarray(pts, np.float64) - self.origin
        return np.stack([d @ self.right, d @ self.up], -1)

    def to_image(self, fc: np.ndarray) -> np.ndarray:
        return self.origin + fc[..., :1] * self.right + fc[..., 1:] * self.up


def occludable(landmarks: np.ndarray) -> bool:
    """Whether ``occlude`` can paint over these points: a complete iBUG-68 set, all labelled."""
    pts = np.asarray(landmarks)
    return len(pts) == IBUG68["num_points"] and bool(np.isfinite(pts).all())


def occlude(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator,
            config: OccluderConfig | None = None, donors: Sequence[np.ndarray] = ()) -> OcclusionResult:
    """Paint one occluder (kind drawn from ``config.kinds``) on a copy of an (H, W, 3) uint8 RGB
    image with (68, 2) pixel ``landmarks``; the input is not modified. ``donors`` are optional
    RGB images whose texture the "donor" patch fill pastes."""
    cfg = config or OccluderConfig()
    pts = np.asarray(landmarks, np.float64).reshape(-1, 2)
    if not occludable(pts):
        raise ValueError(f"occlude needs {IBUG68['num_points']} labelled iBUG points, got {len(pts)}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"occlude needs an (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
    frame = _FaceFrame.from_landmarks(pts)
    kind = str(rng.choice(cfg.kinds))
    out = image.copy()
    painter = {"face_mask": _face_mask, "patch": _patches, "hand": _hand}[kind]
    mask, details = painter(out, image, pts, frame, rng, cfg, donors)
    return OcclusionResult(out, points_under(mask, pts), kind, mask, details)


def points_under(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N,) True where a point's (rounded) pixel is set in ``mask``; points outside it are False."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    h, w = mask.shape
    ok = np.isfinite(pts).all(1)
    xy = np.zeros((len(pts), 2), np.int64)
    xy[ok] = np.round(pts[ok]).astype(np.int64)
    inside = ok & (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    flags = np.zeros(len(pts), bool)
    flags[inside] = mask[xy[inside, 1], xy[inside, 0]]
    return flags


# ----------------------------------------------------------------------------- face mask
def _face_mask(out, original, pts, frame, rng, cfg, donors) -> tuple[np.ndarray, dict]:
    fc = frame.to_face(pts) / frame.size
    lo, hi = IBUG68["bridge"]
    top = fc[lo] + rng.uniform(*cfg.mask_top) * (fc[hi] - fc[lo])

    def under_eye(indices: tuple[int, ...]) -> np.ndarray:
        eye = fc[list(indices)]
        return np.stack([eye[:, 0], np.minimum(eye[:, 1] - cfg.eye_gap, top[1])], -1)

    jaw = fc[list(IBUG68["mask_jaw"])]
    jaw = jaw + cfg.mask_margin * jaw / np.maximum(np.linalg.norm(jaw, axis=1, keepdims=True), 1e-6)
    drop = rng.uniform(*cfg.mask_chin_drop)
    for i, weight in IBUG68["chin_drop"].items():
        jaw[IBUG68["mask_jaw"].index(i), 1] -= drop * weight
    # top, under eye b (inner -> outer), jaw 15 -> 1, under eye a (outer -> inner)
    poly = np.concatenate([top[None], under_eye(IBUG68["eye_b_lower"]), jaw[::-1],
                           under_eye(IBUG68["eye_a_lower"])[::-1]])
    mask = _fill(out.shape[:2], [frame.to_image(_chaikin(poly, 2) * frame.size)])
    style = str(rng.choice(cfg.mask_styles))
    fcm = _pixel_face_coords(mask, frame)
    if style == "stripes":
        c1, c2 = rng.integers(0, 256, (2, 3))
        period = rng.uniform(0.05, 0.1)
        colour = np.where((np.floor(fcm[:, 1:] / period) % 2) == 0, c1, c2).astype(np.float64)
    else:
        colour = np.array(_MASK_COLOURS[style], np.float64) + rng.uniform(-12, 12, 3)
        if style != "black":  # surgical pleats: faint horizontal bands
            colour = colour * (1 - 0.05 * (0.5 + 0.5 * np.sin(2 * np.pi * fcm[:, 1:] / rng.uniform(0.08, 0.14))))
    _paint(out, mask, colour * _shade(fcm, rng, cfg.shading), rng)
    return mask, {"style": style}


def _chaikin(poly: np.ndarray, iterations: int) -> np.ndarray:
    """Corner-cutting smoothing of a closed polygon."""
    for _ in range(iterations):
        nxt = np.roll(poly, -1, axis=0)
        poly = np.stack([0.75 * poly + 0.25 * nxt, 0.25 * poly + 0.75 * nxt], 1).reshape(-1, 2)
    return poly


# ----------------------------------------------------------------------------- patches
def _patches(out, original, pts, frame, rng, cfg, donors) -> tuple[np.ndarray, dict]:
    h, w = out.shape[:2]
    x0, y0 = np.clip(np.floor(pts.min(0)), 0, [w - 1, h - 1]).astype(int)
    x1, y1 = np.clip(np.ceil(pts.max(0)) + 1, 1, [w, h]).astype(int)
    count = min(int(rng.integers(cfg.patch_count[0], cfg.patch_count[1] + 1)), len(cfg.patch_targets))
    targets = [str(t) for t in rng.choice(cfg.patch_targets, size=count, replace=False)]
    shapes = []
    for target in targets:
        centre = frame.to_face(pts[list(IBUG68["targets"][target])]).mean(0) / frame.size
        centre = centre + rng.uniform(-0.06, 0.06, 2)
        aspect = rng.uniform(*_PATCH_ASPECT[target])
        half = 0.25 * rng.uniform(0.7, 1.3) * np.array([np.sqrt(aspect), 1 / np.sqrt(aspect)])
        outline = _ellipse(half) if rng.random() < 0.5 else half * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]])
        shapes.append((centre, _rotate(outline, rng.uniform(-15, 15))))

    def polygons(scale: float) -> list[np.ndarray]:
        return [frame.to_image((c + scale * o) * frame.size) for c, o in shapes]

    def coverage(scale: float) -> float:
        return float(_fill(out.shape[:2], polygons(scale))[y0:y1, x0:x1].mean())

    goal = rng.uniform(*cfg.patch_area)
    lo, hi = 0.0, 1.0
    while coverage(hi) < goal and hi < 16:
        lo, hi = hi, hi * 2
    for _ in range(16):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if coverage(mid) < goal else (lo, mid)
    if coverage(hi) > cfg.patch_area[1] and lo > 0:  # a one-pixel step past the range's top
        hi = lo
    fills = []
    for poly in polygons(hi):
        part = _fill(out.shape[:2], [poly])
        fills.append(_fill_patch(out, original, part, rng, cfg, donors))
    mask = _fill(out.shape[:2], polygons(hi))
    return mask, {"targets": targets, "fills": fills, "coverage": round(coverage(hi), 4)}


def _ellipse(half: np.ndarray, n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([half[0] * np.cos(t), half[1] * np.sin(t)], -1)


def _rotate(points: np.ndarray, degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return points @ np.array([[c, s], [-s, c]])


def _fill_patch(out, original, part, rng, cfg, donors) -> str:
    """Fill the pixels of ``part`` with a texture from elsewhere, noise or a solid colour."""
    if not part.any():
        return "none"
    fills = [f for f in cfg.patch_fills if f != "donor" or len(donors)]
    kind = str(rng.choice(fills)) if fills else "solid"
    ys, xs = np.nonzero(part)
    bx, by, bw, bh = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    if kind == "solid":
        tile = np.broadcast_to(rng.integers(0, 256, 3).astype(np.uint8), (bh, bw, 3))
    elif kind == "noise":
        cell = int(rng.integers(1, 9))
        coarse = rng.integers(0, 256, (bh // cell + 1, bw // cell + 1, 3)).astype(np.uint8)
        tile = cv2.resize(coarse, (bw, bh), interpolation=cv2.INTER_LINEAR)
    else:
        source = original if kind == "texture" else donors[int(rng.integers(len(donors)))]
        tile = _texture(source, (bx, by, bw, bh), kind == "texture", rng)
    out[ys, xs] = tile[ys - by, xs - bx]
    return kind


def _texture(source: np.ndarray, box: tuple[int, int, int, int], avoid: bool, rng) -> np.ndarray:
    """A crop of ``source`` (enlarged when too small) the size of ``box`` (x, y, w, h), randomly
    mirrored; with ``avoid``, the one of 16 random places that overlaps ``box`` least."""
    x, y, bw, bh = box
    if not avoid:
        x, y = -2 * bw, -2 * bh
    h, w = source.shape[:2]
    if bw > w or bh > h:
        f = max(bw / w, bh / h)
        source = cv2.resize(source, (int(np.ceil(w * f)), int(np.ceil(h * f))), interpolation=cv2.INTER_LINEAR)
        h, w = source.shape[:2]
    cand = np.stack([rng.integers(0, w - bw + 1, 16), rng.integers(0, h - bh + 1, 16)], 1)
    overlap = (np.clip(np.minimum(cand[:, 0] + bw, x + bw) - np.maximum(cand[:, 0], x), 0, None)
               * np.clip(np.minimum(cand[:, 1] + bh, y + bh) - np.maximum(cand[:, 1], y), 0, None))
    sx, sy = cand[int(np.argmin(overlap))]
    tile = source[sy:sy + bh, sx:sx + bw]
    return tile[:, ::-1] if rng.random() < 0.5 else tile


# ----------------------------------------------------------------------------- hand
def _hand(out, original, pts, frame, rng, cfg, donors) -> tuple[np.ndarray, dict]:
    """A flat hand (palm ellipse + four fingers + thumb) in a skin tone taken from the face."""
    target = str(rng.choice(cfg.hand_targets))
    centre = frame.to_face(pts[list(IBUG68["targets"][target])]).mean(0) / frame.size + rng.uniform(-0.05, 0.05, 2)
    base = {"side_a": 25.0, "side_b": -25.0}.get(target, 90.0 * rng.choice([-1, 1]))  # across the mouth
    tilt = base + rng.uniform(-30, 30)
    palm = _rotate(_ellipse(np.array([0.2, 0.24]) * rng.uniform(0.85, 1.15)), tilt)
    size = frame.size
    hand = np.zeros(out.shape[:2], np.uint8)
    hand[_fill(hand.shape, [frame.to_image((centre + palm) * size)])] = 1
    width = max(1, int(round(0.075 * size)))
    bases = [(-0.13, 0.18, 0.30), (-0.045, 0.22, 0.36), (0.045, 0.22, 0.37), (0.13, 0.18, 0.30), (0.19, -0.05, 0.24)]
    for i, (a, b, length) in enumerate(bases):
        direction = np.array([0.0, 1.0]) if i < 4 else np.array([0.85, 0.5])
        seg = _rotate(np.array([[a, b], [a, b] + length * direction]), tilt)
        p0, p1 = np.round(frame.to_image((centre + seg) * size)).astype(int)
        cv2.line(hand, tuple(int(v) for v in p0), tuple(int(v) for v in p1), 1, width, cv2.LINE_8)
    mask = hand.astype(bool)
    face = _fill(out.shape[:2], [cv2.convexHull(pts[list(IBUG68["outline"])].astype(np.float32))[:, 0]])
    skin = np.median(original[face & ~mask] if (face & ~mask).any() else original.reshape(-1, 3), axis=0)
    skin = skin * rng.uniform(0.85, 1.1) + rng.uniform(-8, 8, 3)
    fcm = _pixel_face_coords(mask, frame)
    _paint(out, mask, np.broadcast_to(skin, (len(fcm), 3)) * _shade(fcm, rng, cfg.shading), rng)
    return mask, {"target": target}


# ----------------------------------------------------------------------------- drawing helpers
def _fill(shape: tuple[int, int], polygons: Iterable[np.ndarray]) -> np.ndarray:
    """(H, W) bool mask of the union of polygons given in (sub-)pixel image coordinates."""
    canvas = np.zeros(shape, np.uint8)
    for poly in polygons:  # one call each: fillPoly with several contours fills their overlap even-odd
        cv2.fillPoly(canvas, [np.round(np.asarray(poly, np.float64) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return canvas.astype(bool)


def _pixel_face_coords(mask: np.ndarray, frame: _FaceFrame) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return frame.to_face(np.stack([xs, ys], -1)) / frame.size


def _shade(fc: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """(M, 1) brightness factors: a linear gradient in a random direction over the face."""
    direction = _rotate(np.array([[1.0, 0.0]]), rng.uniform(0, 360))[0]
    return (1 + amplitude * np.clip(fc @ direction, -1, 1))[:, None]


def _paint(out: np.ndarray, mask: np.ndarray, colours: np.ndarray, rng: np.random.Generator) -> None:
    """Write (M, 3) float colours (plus faint noise) to the pixels of ``mask``, in place."""
    noisy = colours + rng.normal(0, 3, colours.shape)
    out[mask] = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
