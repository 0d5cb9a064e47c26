"""One ``Landmarker`` shared by 4 threads gives the sequential results exactly (issue 20, item 3:
dlib's HOG detector aborted the process and OpenCV's cascade raised when shared)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from facepoints import Landmarker

RUNS = 10
THREADS = 4


@pytest.fixture(scope="module")
def images(astronaut) -> list[np.ndarray]:
    """Real faces (small, for speed): crops of the astronaut around her face, mirrored, shifted,
    and a 2x-blockier copy."""
    a = np.asarray(astronaut)[30:250, 110:330]
    return [np.ascontiguousarray(x) for x in
            (a, a[:, ::-1], a[10:, 15:], a[::2, ::2].repeat(2, 0).repeat(2, 1))]


def _landmarks(lm: Landmarker, image: np.ndarray) -> list[np.ndarray]:
    return [f.landmarks for f in lm(image)]


def _threaded(lm: Landmarker, images: list[np.ndarray]) -> dict:
    """Each thread runs two images, starting at a different one; results per (thread, image)."""
    start, results, errors = threading.Barrier(THREADS), {}, []

    def work(t: int) -> None:
        start.wait()
        try:
            for k in range(2):
                i = (t + k) % len(images)
                results[t, i] = _landmarks(lm, images[i])
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("detector", ["default", "opencv_haar"])
def test_shared_landmarker_matches_sequential(images, detector):
    expected = [_landmarks(Landmarker(detector=detector, threads=1), im) for im in images]
    assert all(len(faces) == 1 for faces in expected)  # each image has the astronaut's face
    lm = Landmarker(detector=detector, threads=1)  # fresh: the first run races to create its detector
    for _ in range(RUNS):
        results = _threaded(lm, images)
        assert len(results) == 2 * THREADS
        for (_, i), got in results.items():
            assert len(got) == len(expected[i])
            for g, w in zip(got, expected[i]):
                np.testing.assert_array_equal(g, w)
