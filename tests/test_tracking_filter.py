"""Temporal smoothing: the One Euro filter, per-point trust and the landmark smoother, on known signals."""
from __future__ import annotations

import numpy as np
import pytest

from facepoints.geometry import apply_affine, fit_similarity, similarity_matrix
from facepoints.schemes import get_scheme
from facepoints.tracking import LandmarkSmoother, OneEuroFilter, PointTrust, ResidualNoise, SmoothingConfig

FPS = 30.0


def run_filter(filt: OneEuroFilter, signal: np.ndarray, trust=None) -> np.ndarray:
    """Filter a (T, N, D) signal sampled at FPS; returns the (T, N, D) output."""
    return np.stack([filt(x, t / FPS, trust=trust) for t, x in enumerate(signal)])


def settle_frames(out: np.ndarray, step_at: int, level: float = 0.9) -> int:
    """Frames after ``step_at`` until a 0 -> 1 step response first reaches ``level``."""
    return int(np.argmax(out[step_at:] >= level))


def test_one_euro_smooths_noise_on_a_still_point():
    rng = np.random.default_rng(0)
    noisy = 5.0 + rng.normal(0, 1.0, (300, 1, 2))
    out = run_filter(OneEuroFilter(min_cutoff=1.0, beta=0.0), noisy)
    assert out[100:].std() < 0.35 * noisy[100:].std()
    assert abs(out[100:].mean() - 5.0) < 0.1  # no bias


def test_one_euro_follows_a_step_with_bounded_lag_and_speed_helps():
    step = np.zeros((90, 1, 1))
    step[30:] = 1.0
    slow = run_filter(OneEuroFilter(min_cutoff=1.0, beta=0.0), step)
    fast = run_filter(OneEuroFilter(min_cutoff=1.0, beta=5.0), step)
    assert 0 < settle_frames(fast, 30) < settle_frames(slow, 30) <= 15  # half a second at most
    assert fast[-1, 0, 0] == pytest.approx(1.0, abs=1e-3) and slow[-1, 0, 0] == pytest.approx(1.0, abs=1e-2)
    assert fast.max() <= 1.0 + 1e-9  # a first-order filter never overshoots


def test_one_euro_trusted_points_are_smoothed_less():
    rng = np.random.default_rng(1)
    signal = np.zeros((120, 2, 1))
    signal[60:] = 1.0
    signal += rng.normal(0, 0.05, signal.shape) * np.array([1.0, 1.0])[None, :, None]
    out = run_filter(OneEuroFilter(min_cutoff=1.0, beta=0.0), signal, trust=np.array([4.0, 0.25]))
    trusted, doubted = out[:, 0, 0], out[:, 1, 0]
    assert settle_frames(trusted, 60) < settle_frames(doubted, 60)  # follows the step sooner
    assert np.diff(doubted[10:60]).std() < 0.5 * np.diff(trusted[10:60]).std()  # jitters less


def test_one_euro_speed_is_in_units_of_scale():
    """The same motion seen on a face twice as large (twice the pixels) gives twice the output."""
    t = np.arange(60)
    motion = np.sin(t / 6.0)[:, None, None] * np.ones((1, 3, 2))
    f1, f2 = OneEuroFilter(1.0, 3.0), OneEuroFilter(1.0, 3.0)
    out1 = np.stack([f1(x, k / FPS, scale=1.0) for k, x in enumerate(motion)])
    out2 = np.stack([f2(2 * x, k / FPS, scale=2.0) for k, x in enumerate(motion)])
    assert np.allclose(out2, 2 * out1)


def test_one_euro_rejects_bad_use():
    f = OneEuroFilter()
    f(np.zeros((3, 2)), 0.0)
    with pytest.raises(ValueError, match="increase"):
        f(np.zeros((3, 2)), 0.0)
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0.0)
    assert OneEuroFilter()(np.arange(4.0), 0.0).shape == (4,)  # 1-D: N scalar points


def test_fit_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(2)
    m = similarity_matrix((10.0, 20.0), 1.3, 17.0, (50.0, -5.0))
    src = rng.normal(size=(30, 2)) * 40
    assert np.allclose(fit_similarity(src, apply_affine(m, src)), m, atol=1e-4)
    src[3] = np.nan  # missing points are ignored
    assert np.allclose(fit_similarity(src, apply_affine(m, src)), m, atol=1e-4)
    dst = apply_affine(m, src).astype(np.float64)
    dst[5] += 300.0  # an outlier with no weight changes nothing; with weight it pulls the fit
    weights = np.ones(len(src))
    weights[5] = 0.0
    assert np.allclose(fit_similarity(src, dst, weights), m, atol=1e-4)
    assert not np.allclose(fit_similarity(src, dst), m, atol=1e-2)


def moving_face(frames: int, noise: np.ndarray, seed: int = 0) -> np.ndarray:
    """(T, 68, 2) a mean-shape face (100 px) sliding and turning rigidly, with per-point noise std ``noise``."""
    rng = np.random.default_rng(seed)
    mean = get_scheme("ibug68").mean_shape * 50 + 150
    out = []
    for t in range(frames):
        m = similarity_matrix((150, 150), 1 + 0.05 * np.sin(t / 20), 5 * np.sin(t / 15), (150 + t, 150 + 0.5 * t))
        out.append(apply_affine(m, mean) + rng.normal(size=(68, 2)) * noise[:, None])
    return np.stack(out)


def test_residual_noise_ranks_points_by_their_noise_despite_motion():
    noise = np.where(np.arange(68) < 34, 0.3, 2.0)
    estimate, sigma = ResidualNoise(halflife=1.0), None
    for t, points in enumerate(moving_face(90, noise)):
        sigma = estimate.update(points, scale=100.0, dt=1 / FPS)
    assert sigma is not None and sigma.shape == (68,)
    assert np.median(sigma[34:]) > 3 * np.median(sigma[:34])
    assert np.median(sigma[34:]) * 100 == pytest.approx(2.0, rel=0.35)  # pixels, back from face units


def test_point_trust_follows_sigma_and_confidence():
    trust = PointTrust("auto")
    points = moving_face(1, np.zeros(68))[0]
    sigma = np.where(np.arange(68) < 34, 1.0, 4.0)[:, None] * np.ones((1, 2))
    w = trust(points, 100.0, 1 / FPS, sigma=sigma)
    assert w[:34].min() > w[34:].max()
    sure = PointTrust("uniform")(points, 100.0, 1 / FPS, confidence=0.95)
    unsure = PointTrust("uniform")(points, 100.0, 1 / FPS, confidence=0.5)
    assert np.all(unsure < sure)
    assert PointTrust("uniform")(points, 100.0, 1 / FPS) is None  # plain One Euro
    with pytest.raises(ValueError, match="sigma"):
        PointTrust("sigma")(points, 100.0, 1 / FPS)


def test_smoother_reduces_jitter_of_a_moving_face_and_trusts_quiet_points():
    noise = np.where(np.arange(68) < 34, 0.3, 2.0)
    faces = moving_face(150, noise, seed=3)
    truth = moving_face(150, np.zeros(68))
    smoother = LandmarkSmoother(SmoothingConfig(trust="residual"))
    out = np.stack([smoother(p, t / FPS) for t, p in enumerate(faces)])
    jitter = lambda x: np.linalg.norm(np.diff(x - truth, axis=0), axis=-1)[60:]  # noqa: E731
    assert jitter(out).mean() < 0.5 * jitter(faces).mean()
    # quiet points (trusted more) keep a larger share of their own raw jitter than noisy ones
    share = jitter(out).mean(axis=0) / jitter(faces).mean(axis=0)
    assert np.median(share[:34]) > np.median(share[34:])
    assert LandmarkSmoother(SmoothingConfig(enabled=False))(faces[0], 0.0) == pytest.approx(faces[0])


def test_rigid_shape_mode_beats_per_point_filtering_on_a_moving_rigid_face():
    """A fixed shape under smooth similarity motion plus per-point noise: splitting motion and
    shape removes more noise than filtering each point alone, and follows the motion."""
    shape = get_scheme(68).mean_shape * 60 + 200
    errors = {}
    for mode in ("points", "rigid_shape"):
        smoother = LandmarkSmoother(SmoothingConfig(mode=mode, trust="uniform"))
        rng = np.random.default_rng(0)
        err = []
        for i in range(120):
            t = i / 30
            motion = similarity_matrix((200, 200), 1 + 0.1 * np.sin(t), 10 * np.sin(0.7 * t),
                                       (200 + 40 * np.sin(0.5 * t), 200 + 20 * np.cos(0.4 * t)))
            truth = apply_affine(motion, shape)
            out = smoother(truth + rng.normal(0, 1.0, truth.shape), t)
            if i >= 10:
                err.append(np.linalg.norm(out - truth, axis=1).mean())
        errors[mode] = float(np.mean(err))
    assert errors["rigid_shape"] < 0.8 * errors["points"]
    assert errors["rigid_shape"] < 0.8  # well under the 1.25 px mean noise magnitude


def test_smoothing_mode_is_validated():
    with pytest.raises(ValueError, match="mode"):
        SmoothingConfig(mode="nope")


def test_trust_median_is_numpys_median():
    from facepoints.tracking.point_trust import _median

    rng = np.random.default_rng(3)
    for n in (1, 2, 67, 68):
        values = rng.random(n)
        assert _median(values) == float(np.median(values))


@pytest.mark.parametrize("field, value", [("measurement_noise", float("nan")), ("measurement_noise", float("inf")),
                                          ("motion_beta", float("nan")), ("motion_noise", -1.0),
                                          ("min_cutoff", float("nan")), ("shape_cutoff", 0.0),
                                          ("shape_cutoff", float("inf")), ("beta", -1.0), ("noise_halflife", 0.0)])
def test_smoothing_config_refuses_non_finite_and_out_of_range_numbers(field, value):
    """Regression: NaN and infinity passed (`stability --motion-beta nan` wrote NaN results; as a
    tracker setting they made every smoothed landmark NaN); One Euro values failed only at a
    track's first frame."""
    with pytest.raises(ValueError, match=f"smoothing {field} must be a finite number"):
        SmoothingConfig(**{field: value})


def test_stability_refuses_a_nan_smoothing_option_before_work(tiny_list, tmp_path, capsys):
    from facepoints.cli.main import main

    out = tmp_path / "runs"
    assert main(["stability", str(tiny_list), "--clips", "1", "--frames", "3", "--motion-beta", "nan",
                 "--out", str(out), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == ["facepoints stability: error: smoothing motion_beta must be a "
                                                 "finite number >= 0, got nan"]
    assert captured.out == "" and not out.exists()
