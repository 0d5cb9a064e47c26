"""`FaceRecord`: one annotated face, the common output of every format reader."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class FaceRecord:
    """One annotated face.

    ``landmarks`` are (N, 2) float32 0-based pixel coordinates (NaN where a point is not
    labelled); ``visible`` is an optional (N,) bool mask (False = occluded); ``box`` an
    optional xyxy box given by the dataset; ``attributes`` free-form flags (e.g. WFLW's).
    """

    image_path: Path
    landmarks: np.ndarray
    scheme: str
    box: np.ndarray | None = None
    visible: np.ndarray | None = None
    attributes: dict = field(default_factory=dict)
    frame: int | None = None

    def __post_init__(self) -> None:
        self.image_path = Path(self.image_path)
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32).reshape(-1, 2)
        if self.box is not None:
            self.box = np.asarray(self.box, dtype=np.float32).reshape(4)
        if self.visible is not None:
            self.visible = np.asarray(self.visible, dtype=bool).reshape(-1)
