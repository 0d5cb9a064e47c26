"""Shared fixtures: a real public-domain portrait, one shared Landmarker, the data folder."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

# The astronaut's face in skimage.data.astronaut() (512x512), as a loose xyxy box. Tests only
# rely on it to say "the face is about here", never on a model's exact accuracy.
ASTRONAUT_FACE = (175.0, 75.0, 266.0, 167.0)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """(512, 512, 3) uint8 RGB portrait (NASA, public domain), read-only."""
    from skimage import data

    image = np.ascontiguousarray(data.astronaut())
    image.setflags(write=False)  # a test that mutates the shared image fails loudly
    return image


@pytest.fixture(scope="session")
def astronaut_face_box() -> np.ndarray:
    return np.array(ASTRONAUT_FACE, np.float32)


@pytest.fixture(scope="module")
def landmarker():
    """The default model and detector, one thread (a background job shares this machine)."""
    import facepoints

    return facepoints.Landmarker(threads=1)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared benchmark data folder (``<repo>/../shared/data``); skips when absent."""
    root = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not root.is_dir():
        pytest.skip(f"shared data folder {root} is not available")
    return root
