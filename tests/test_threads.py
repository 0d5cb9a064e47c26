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
    # each image has the astronaut's face (the mirrored crop also gets a 0.64-scored detection
    # that the face check or BlazeFace's certain_score may keep); the point here is threaded == sequential
    assert all(len(faces) >= 1 for faces in expected)
    lm = Landmarker(detector=detector, threads=1)  # fresh: the first run races to create its detector
    for _ in range(RUNS):
        results = _threaded(lm, images)
        assert len(results) == 2 * THREADS
        for (_, i), got in results.items():
            assert len(got) == len(expected[i])
            for g, w in zip(got, expected[i]):
                np.testing.assert_array_equal(g, w)


def test_every_detector_subclass_runs_one_call_at_a_time():
    """The lock comes from ``FaceDetector`` itself, so plugins (and subclasses calling their
    parent's ``detect``) are serialised per instance without doing anything; instances are not."""
    import time

    from facepoints.detectors import Detection, FaceDetector

    class Slow(FaceDetector):
        name = "slow_test"

        def __init__(self) -> None:
            self.active = self.most = 0

        def detect(self, image):
            self.active += 1
            self.most = max(self.most, self.active)
            time.sleep(0.02)
            self.active -= 1
            return [Detection([0, 0, 10, 10], 1.0)]

    class Slower(Slow):
        def detect(self, image):
            return super().detect(image)  # re-entrant: the same instance's lock again

    image = np.zeros((16, 16, 3), np.uint8)
    for cls in (Slow, Slower):
        detector = cls()
        threads = [threading.Thread(target=lambda: [detector.detect(image) for _ in range(3)]) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert detector.most == 1 and detector.active == 0
