"""Text on overlays: face labels and the legend, on dark plates, placed clear of what they explain."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
#: a rectangle (x0, y0, x1, y1) in pixels
Rect = tuple[float, float, float, float]
#: one legend line: (text, RGB colour) pieces drawn left to right
Line = Sequence[tuple[str, tuple[int, int, int]]]
#: the legend is left out when it would cover more than this share of the picture
LEGEND_MAX_SHARE = 0.2


class TextStyle:
    """Font scale, stroke and padding for an image: 0.45 from 400 to 640 pixels, growing with
    larger images, shrinking to 0.27 on small ones."""

    def __init__(self, image: np.ndarray) -> None:
        side = max(image.shape[:2])
        grow = max(side / 640, min(1.0, side / 400), 0.6)
        self.scale = 0.45 * grow
        self.thickness = max(1, int(round(grow)))
        self.pad = max(2, int(round(3 * grow)))
        (_, self.height), self.baseline = cv2.getTextSize("Ag", FONT, self.scale, self.thickness)

    def width(self, text: str) -> int:
        return cv2.getTextSize(text, FONT, self.scale, self.thickness)[0][0]

    @property
    def line_height(self) -> int:
        return self.height + self.baseline + self.pad


def plate(image: np.ndarray, origin: tuple[int, int], size: tuple[int, int]) -> None:
    """Darken ``size`` = (w, h) pixels from ``origin`` (top-left) in place, so text on it reads."""
    x, y = origin
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + size[0]), min(h, y + size[1])
    if x1 > x0 and y1 > y0:
        image[y0:y1, x0:x1] = (image[y0:y1, x0:x1] * 0.35).astype(image.dtype)


def put_line(image: np.ndarray, line: Line, x: int, y_top: int, style: TextStyle) -> None:
    """One line of coloured pieces, its top at ``y_top``."""
    baseline_y = y_top + style.pad + style.height
    for text, colour in line:
        cv2.putText(image, text, (x, baseline_y), FONT, style.scale, colour, style.thickness, cv2.LINE_AA)
        x += style.width(text)


def label_rect(style: TextStyle, text: str) -> tuple[int, int]:
    """(w, h) of a one-line label on its plate."""
    return style.width(text) + 2 * style.pad, style.height + style.baseline + 2 * style.pad


def place_label(image: np.ndarray, size: tuple[int, int], box: Rect, avoid: Sequence[Rect]) -> tuple[int, int]:
    """Top-left corner for a label of ``size`` beside a face ``box``: the free spot nearest to
    just above the box (above or below it, or past the rectangles in ``avoid``, e.g. pose
    axes and other labels) that overlaps neither the box nor ``avoid``; inside the image."""
    h, w = image.shape[:2]
    lw, lh = size
    x = int(np.clip(box[0], 0, max(0, w - lw)))
    blocks = [box, *avoid]
    wanted = box[1] - lh - 1
    candidates = [r[1] - lh - 1 for r in blocks] + [r[3] + 1 for r in blocks]
    candidates = sorted((y for y in candidates if 0 <= y <= h - lh), key=lambda y: (abs(y - wanted), y > wanted))
    for y in candidates:
        rect = (x, y, x + lw, y + lh)
        if not any(overlaps(rect, r) for r in blocks):
            return x, int(y)
    return x, int(np.clip(wanted, 0, max(0, h - lh)))


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def draw_labels(image: np.ndarray, texts: Sequence[str], colour, boxes: Sequence[Rect], avoid: Sequence[Rect],
                style: TextStyle) -> list[Rect]:
    """Each face's label on a plate beside its box, clear of ``avoid``, the other boxes and the
    labels before it; a leader line joins a label pushed away from its box. Returns where they went."""
    placed: list[Rect] = []
    for i, (text, box) in enumerate(zip(texts, boxes)):
        size = label_rect(style, text)
        x, y = place_label(image, size, box, [*avoid, *boxes[:i], *boxes[i + 1:], *placed])
        placed.append((x, y, x + size[0], y + size[1]))
    for (x, y, _, y1), box in zip(placed, boxes):  # leaders first: no line crosses a label
        if y1 < box[1] - 2 * style.pad or y > box[3] + 2 * style.pad:
            lx = int(round(np.clip(x + style.pad, box[0], box[2])))
            ends = (y1, box[1]) if y < box[1] else (y, box[3])
            cv2.line(image, (lx, int(ends[0])), (lx, int(round(ends[1]))), colour, style.thickness, cv2.LINE_AA)
    for text, (x, y, x1, y1) in zip(texts, placed):
        plate(image, (x, y), (x1 - x, y1 - y))
        put_line(image, [(text, colour)], x + style.pad, y, style)
    return placed


def draw_legend(image: np.ndarray, lines: Sequence[Line], occupied: Sequence[Rect], style: TextStyle) -> None:
    """The legend in the image corner that covers least of ``occupied`` (faces and their labels),
    bottom corners first (faces in photos tend to sit high)."""
    if not lines:
        return
    h, w = image.shape[:2]
    lw = max(sum(style.width(t) for t, _ in line) for line in lines) + 2 * style.pad
    lh = len(lines) * style.line_height + style.pad + style.baseline
    corners = [(0, h - lh), (w - lw, h - lh), (0, 0), (w - lw, 0)]

    def covered(corner: tuple[int, int]) -> float:
        x, y = corner
        return sum(max(0, min(x + lw, r[2]) - max(x, r[0])) * max(0, min(y + lh, r[3]) - max(y, r[1]))
                   for r in occupied)

    if lw * lh > LEGEND_MAX_SHARE * w * h:  # on a small picture the legend would hide it
        return
    x, y = min(corners, key=covered)
    x, y = max(0, x), max(0, y)
    plate(image, (x, y), (lw, lh))
    for i, line in enumerate(lines):
        put_line(image, line, x + style.pad, y + i * style.line_height, style)
