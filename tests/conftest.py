"""Shared fixtures: a real public-domain portrait (alone, with plausible points, or as a tiny
annotated image list), one shared Landmarker, the data folder."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from web_helpers import web_server  # noqa: F401 - one `facepoints serve` for the web tests of a session

# The astronaut's face in skimage.data.astronaut() (512x512), as a loose xyxy box. Tests only
# rely on it to say "the face is about here", never on a model's exact accuracy.
ASTRONAUT_FACE = (175.0, 75.0, 266.0, 167.0)


# Tests never read or write the real user folder (``FACEPOINTS_HOME``), from collection on
# (module-level ``list_models()`` calls); subprocesses inherit it.
_USER_FOLDER = Path(tempfile.mkdtemp(prefix="facepoints-home-"))
os.environ["FACEPOINTS_HOME"] = str(_USER_FOLDER)


@pytest.fixture(autouse=True)
def user_folder(tmp_path_factory, monkeypatch) -> Path:
    """Each test its own empty user folder: a model one test saves (``facepoints finetune``,
    ``facepoints package``) is not listed in the next one's."""
    folder = tmp_path_factory.mktemp("facepoints-home")
    monkeypatch.setenv("FACEPOINTS_HOME", str(folder))
    return folder


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


@pytest.fixture(scope="session")
def astronaut_points(astronaut_face_box) -> np.ndarray:
    """A plausible 68-point layout: the iBUG mean shape placed in the astronaut's face box."""
    from facepoints.schemes import get_scheme

    box = np.asarray(astronaut_face_box, np.float64)
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]).max() / 2
    return (centre + get_scheme("ibug68").mean_shape * half).astype(np.float32)


@pytest.fixture
def tiny_list(astronaut, astronaut_points, tmp_path) -> Path:
    """Two real faces (the astronaut and her mirror image) with mean-shape .pts, as an image list."""
    import cv2

    from facepoints.datasets.formats.pts import write_pts
    from facepoints.schemes import get_scheme

    src = tmp_path / "src"
    src.mkdir()
    for name, image in (("one.png", astronaut), ("two.png", astronaut[:, ::-1])):
        cv2.imwrite(str(src / name), cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
    write_pts(src / "one.pts", astronaut_points)
    write_pts(src / "two.pts", get_scheme("ibug68").flip(astronaut_points, astronaut.shape[1]))
    (src / "list.txt").write_text("one.png\ntwo.png\n")
    return src / "list.txt"


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
