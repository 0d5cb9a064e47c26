"""Sample images shipped with the package (so ``facepoints detect --sample`` needs no extra).

``assets/astronaut.jpg``: Eileen Collins, NASA portrait (public domain), as in scikit-image's
``skimage.data.astronaut()`` (512 x 512), stored as JPEG (quality 92).
"""
from __future__ import annotations

from importlib import resources

import numpy as np

#: names accepted by ``sample_image``
SAMPLES = ("astronaut",)


def sample_image(name: str) -> np.ndarray:
    """A shipped sample image as (H, W, 3) uint8 RGB; ``ValueError`` for an unknown name."""
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r}; samples: {', '.join(SAMPLES)}")
    from PIL import Image

    with resources.as_file(resources.files(__name__).joinpath("assets", f"{name}.jpg")) as path, Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
