"""Smoothing that follows a moving head (issue 21): the Kalman filter, the default smoother on
known motions, presets, and the motion-band clips."""
from __future__ import annotations

import numpy as np
import pytest

from facepoints.datasets.motion_clips import BANDS, MotionSpec, make_motion_clip
from facepoints.geometry import apply_affine, similarity_matrix
from facepoints.schemes import get_scheme
from facepoints.tracking import LandmarkSmoother, SmoothingConfig, TrackerConfig
from facepoints.tracking.kalman import ConstantVelocityKalman
from facepoints.tracking.smoothing import PRESETS, smoothing_preset

FPS = 25.0
SHAPE = get_scheme(68).mean_shape * 100  # a face about 200 px wide


def iod(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[36] - points[45]))


def smooth(frames: np.ndarray, config: SmoothingConfig | None = None) -> np.ndarray:
    smoother = LandmarkSmoother(config)
    return np.stack([smoother(p, t / FPS) for t, p in enumerate(frames)])


def jitter(points: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per frame pair: mean point |d points - d truth| over the inter-ocular distance."""
    return np.linalg.norm(np.diff(points - truth, axis=0), axis=-1).mean(axis=-1) / iod(truth[0])


def test_kalman_follows_a_constant_rate_without_lag_and_smooths_noise():
    kf, rng = ConstantVelocityKalman(), np.random.default_rng(0)
    t = np.arange(200) / FPS
    ramp = np.stack([50 + 300 * t, -20 * t], 1)  # two channels at constant rates
    out = np.stack([kf(x, s, q=1.0, r=1.0) for x, s in zip(ramp, t)])
    assert np.abs(out[20:] - ramp[20:]).max() < 0.01  # 12 units a frame, followed to 0.01 after 20 frames
    kf.reset()
    noisy = 5 + rng.normal(0, 1, (200, 1))
    out = np.stack([kf(x, s, q=1.0, r=1.0) for x, s in zip(noisy, t)])
    assert np.std(out[50:] - 5) < 0.3 * np.std(noisy[50:] - 5)
    with pytest.raises(ValueError, match="increase"):
        kf([1.0], 0.0, 1.0, 1.0)


@pytest.mark.parametrize("preset", ["light", "strong"])
def test_a_noiseless_face_at_constant_velocity_comes_out_without_lag(preset):
    """Translation 12 px a frame plus slow constant zoom: within 0.5 % IOD of the truth after 15 frames."""
    frames = 120
    truth = np.stack([apply_affine(similarity_matrix((0, 0), 1 + 0.001 * t, 0.0, (100 + 12 * t, 240 + 3 * t)), SHAPE)
                      for t in range(frames)]).astype(np.float64)
    out = smooth(truth, smoothing_preset(preset))
    error = np.linalg.norm(out - truth, axis=-1).mean(axis=-1) / iod(truth[0])
    assert error[15:].max() < 0.005


def test_a_still_face_with_noise_has_its_jitter_at_least_halved():
    rng = np.random.default_rng(1)
    truth = np.repeat((SHAPE + 320)[None], 150, axis=0).astype(np.float64)
    noisy = truth + rng.normal(0, 0.01 * iod(truth[0]), truth.shape)  # 1 % IOD per coordinate
    raw, out = jitter(noisy, truth)[10:].mean(), jitter(smooth(noisy), truth)[10:].mean()
    assert out <= 0.5 * raw
    error = lambda x: np.linalg.norm(x - truth[10:], axis=-1).mean()  # noqa: E731
    assert error(smooth(noisy)[10:]) < error(noisy[10:])


def test_a_turning_head_is_followed_closely_while_noise_is_cut():
    """Rotation at 2 degrees a frame with per-point noise: smoothed error below raw, jitter lower."""
    rng = np.random.default_rng(2)
    truth = np.stack([apply_affine(similarity_matrix((0, 0), 1.0, 15 * np.sin(t / 7.5), (320, 240)), SHAPE)
                      for t in range(120)]).astype(np.float64)
    noisy = truth + rng.normal(0, 0.01 * iod(truth[0]), truth.shape)
    out = smooth(noisy)
    err = lambda x: np.linalg.norm(x - truth, axis=-1)[10:].mean()  # noqa: E731
    assert err(out) < err(noisy)
    assert jitter(out, truth)[10:].mean() < 0.8 * jitter(noisy, truth)[10:].mean()


def test_presets_by_name_in_the_tracker_config():
    assert TrackerConfig(smoothing="off").smoothing.enabled is False
    assert TrackerConfig(smoothing="light").smoothing == PRESETS["light"]
    assert TrackerConfig().smoothing == PRESETS["strong"] == SmoothingConfig()
    custom = SmoothingConfig(measurement_noise=0.01)
    assert TrackerConfig(smoothing=custom).smoothing is custom
    with pytest.raises(ValueError, match="one of off, light, strong") as err:
        TrackerConfig(smoothing="heavy")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="measurement_noise"):
        SmoothingConfig(measurement_noise=0)


def test_motion_bands_move_at_their_speed(astronaut, astronaut_points):
    for band, (speed, _, _) in BANDS.items():
        clip = make_motion_clip(astronaut, astronaut_points, MotionSpec(band, frames=30), seed=3)
        steps = np.linalg.norm(np.diff(clip.truth.mean(axis=1), axis=0), axis=1)
        # the face centre moves by the translation (rotation and zoom are about it); edges may clip a step
        assert speed[0] - 0.5 <= np.median(steps) <= speed[1] + 0.5, band
        assert clip.truth.shape == (30, 68, 2)


def test_clip_frames_show_the_face_where_the_truth_says(astronaut, astronaut_points):
    """A small face pasted on a still background: the frame differs from the background inside
    the truth's box and nowhere far from it; a cut swaps the face; the mouth opens in the truth."""
    spec = MotionSpec("medium", frames=8, layout="small", face_size=0.2, cut_at=4)
    second = (np.ascontiguousarray(astronaut[..., ::-1]), astronaut_points)
    clip = make_motion_clip(astronaut, astronaut_points, spec, seed=0, second=second)
    for t, frame in enumerate(clip.frames()):
        assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
        diff = np.abs(frame.astype(np.float32) - clip.background).mean(axis=-1)
        x0, y0 = clip.truth[t].min(axis=0).astype(int)
        x1, y1 = clip.truth[t].max(axis=0).astype(int)
        inside = diff[y0:y1, x0:x1].mean()
        far = np.ones_like(diff, bool)
        far[max(0, y0 - 60):y1 + 60, max(0, x0 - 60):x1 + 60] = False
        assert inside > 20 and diff[far].mean() < 6, t  # pixel noise (std 3) only, away from the face
    assert (clip.face == np.r_[np.zeros(4), np.ones(4)]).all()
    mouth = make_motion_clip(astronaut, astronaut_points, MotionSpec("slow", frames=60, expression=0.3), seed=0)
    lips_apart = [np.linalg.norm(t[57] - t[51]) for t in mouth.truth]
    assert max(lips_apart) > min(lips_apart) + 0.1 * iod(mouth.truth[0])  # opens and closes
    nose = np.array([np.linalg.norm(t[30] - t[27]) / iod(t) for t in mouth.truth])
    assert np.ptp(nose) < 0.005  # the rest of the face keeps its shape (up to the zoom)
    occluded = make_motion_clip(astronaut, astronaut_points, MotionSpec("slow", frames=20, occluder=0.4), seed=0)
    assert np.isfinite(occluded.occluder_path).all(axis=1).sum() == 8  # crosses during 40 % of the clip
    with pytest.raises(ValueError, match="band"):
        MotionSpec("warp")
    with pytest.raises(ValueError, match="second face"):
        make_motion_clip(astronaut, astronaut_points, MotionSpec(cut_at=5))


def test_cut_check_tells_a_moved_face_from_another_picture(astronaut):
    from facepoints.tracking.appearance import appearance, cut_reason

    box = np.array([175.0, 75.0, 266.0, 167.0])
    before = appearance(astronaut, box)
    moved = appearance(np.roll(astronaut, (3, 4), axis=(0, 1)), box + [4, 3, 4, 3])
    assert cut_reason(before, moved, 0.38, 0.35) is None
    other = appearance(np.ascontiguousarray(astronaut[::-1, ::-1, ::-1]), box)  # another picture in the box
    assert cut_reason(before, other, 0.38, 0.35).startswith("cut: ")
    assert cut_reason(before, None, 0.38, 0.35) is None
    assert appearance(astronaut, np.array([600.0, 600.0, 700.0, 700.0])) is None  # outside the frame
