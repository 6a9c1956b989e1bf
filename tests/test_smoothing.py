"""Smoothing of 3D trajectories with known answers: synthetic motion + 3 mm noise, gaps, steps, bones."""

from __future__ import annotations

import ast
import dataclasses
import inspect

import numpy as np
import pytest

import mocap.smoothing as smoothing
from mocap.smoothing.filters import (
    SmoothConfig,
    bone_lengths,
    butterworth,
    fill_gaps,
    gap_lengths,
    kalman_rts,
    max_gap_frames,
    one_euro,
    smooth,
    stabilize_bone_lengths,
)

NOISE = 0.003  # metres


def motion(fps, seconds=8.0, channels=60, seed=0, freqs=(0.5, 1.3, 2.1, 3.0), amps=(0.2, 0.1, 0.05, 0.03)):
    """``truth, noisy (F, channels)``: sums of sinusoids (random phases) in metres, + 3 mm noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fps)) / fps
    phase = rng.uniform(0, 2 * np.pi, (len(freqs), channels))
    truth = sum(a * np.sin(2 * np.pi * f * t[:, None] + phase[i]) for i, (f, a) in enumerate(zip(freqs, amps)))
    return truth, truth + rng.normal(0, NOISE, truth.shape)


def gentle(fps, **kw):
    """Slower body-like motion (0.5-2 Hz) for gap tests, where 0.25 s of a 3 Hz wiggle is unknowable."""
    return motion(fps, freqs=(0.5, 1.0, 2.0), amps=(0.2, 0.1, 0.02), **kw)


def rms(a):
    return float(np.sqrt(np.nanmean(np.square(a))))


def best_shift(out, truth, max_shift=10):
    """The delay in frames (positive = ``out`` trails ``truth``) that best aligns ``out`` with ``truth``."""
    n = len(truth)
    shifts = range(-max_shift, max_shift + 1)
    errors = [rms(out[max_shift + s : n - max_shift + s] - truth[max_shift : n - max_shift]) for s in shifts]
    return int(np.argmin(errors)) - max_shift


def min_jerk_reach(fps, duration, distance=0.5, seconds=3.0):
    """``(F, 1)``: a 0.5 m minimum-jerk move starting at t = 1 s; ``duration`` 0 gives an ideal step."""
    t = np.arange(int(seconds * fps)) / fps
    if duration == 0:
        return np.where(t >= 1.0, distance, 0.0)[:, None]
    u = np.clip((t - 1.0) / duration, 0, 1)
    return (distance * (10 * u**3 - 15 * u**4 + 6 * u**5))[:, None]


def overshoot(out, distance=0.5):
    return max(out.max() - distance, -out.min(), 0.0) / distance


def punch_holes(shape, gap, fps, seed=1, per_channel=3):
    """``(F, C)`` mask of ``per_channel`` separate gaps of ``gap`` frames per channel, away from the ends."""
    rng = np.random.default_rng(seed)
    holes = np.zeros(shape, bool)
    stride = (shape[0] - 2 * fps) // per_channel
    for c in range(shape[1]):
        for k in range(per_channel):
            a = fps + k * stride + rng.integers(0, stride - gap - 2)
            holes[a : a + gap, c] = True
    return holes


# ------------------------------------------------------------------------------------------- gaps


def test_gap_lengths_known_answer():
    x = np.array([np.nan, 1, np.nan, 3, np.nan, np.nan, np.nan, 5, 6, np.nan])
    np.testing.assert_array_equal(gap_lengths(x), [1, 0, 1, 0, 3, 3, 3, 0, 0, 1])
    xyz = np.zeros((4, 2, 3))
    xyz[1:3, 1] = np.nan
    assert gap_lengths(xyz).shape == xyz.shape
    assert (gap_lengths(xyz)[1:3, 1] == 2).all() and gap_lengths(xyz)[:, 0].sum() == 0
    assert max_gap_frames(0.25, 30) == 8 and max_gap_frames(0.25, 120) == 30


@pytest.mark.parametrize("method", ["cubic", "linear"])
def test_fill_gaps_exact_on_polynomials_and_keeps_long_and_edge_gaps(method):
    t = np.arange(40.0)
    x = 0.001 * t**3 - 0.03 * t**2 + t if method == "cubic" else 2.0 - 0.5 * t  # not-a-knot reproduces cubics
    holed = x.copy()
    holed[:3] = np.nan  # leading
    holed[10:13] = np.nan  # short: filled
    holed[20:27] = np.nan  # long (7 > 4): stays
    holed[37:] = np.nan  # trailing
    out = fill_gaps(holed, max_gap=4, method=method)
    np.testing.assert_allclose(out[10:13], x[10:13], atol=1e-9)
    assert np.isnan(out[:3]).all() and np.isnan(out[20:27]).all() and np.isnan(out[37:]).all()
    valid = ~np.isnan(holed)
    np.testing.assert_array_equal(out[valid], holed[valid])
    assert np.isnan(holed[10:13]).all()  # the input is not modified


def test_fill_gaps_per_channel_and_long_gap_isolates_stretches():
    truth, _ = gentle(60, channels=4)
    x = truth.copy()
    x[192:196, 0] = np.nan  # short gap in channel 0 only, 4 samples before...
    x[200:260, 0] = np.nan  # ...a long gap
    out = fill_gaps(x, max_gap=10)
    assert not np.isnan(out[192:196, 0]).any() and np.isnan(out[200:260, 0]).all()
    np.testing.assert_array_equal(out[:, 1:], truth[:, 1:])  # other channels untouched
    # Changing the data beyond the long gap does not change the fill before it.
    x2 = x.copy()
    x2[260:, 0] += 1.0
    np.testing.assert_array_equal(fill_gaps(x2, max_gap=10)[:200], out[:200])


@pytest.mark.parametrize("fps", [30, 120])
def test_fill_gaps_within_millimetres_of_clean_motion(fps):
    truth, _ = gentle(fps)
    for gap_s, tol_mm in ((0.1, 2.0), (0.25, 20.0)):
        gap = max_gap_frames(gap_s, fps)
        holes = punch_holes(truth.shape, gap, fps)
        out = fill_gaps(np.where(holes, np.nan, truth), gap)
        assert not np.isnan(out).any()
        assert np.abs(out - truth)[holes].max() < tol_mm / 1000, (gap_s, np.abs(out - truth)[holes].max())


# -------------------------------------------------------------------------------------- filters


@pytest.mark.parametrize(("fps", "butter_gain", "kalman_gain"), [(30, 1.4, 1.35), (120, 1.75, 2.4)])
def test_zero_phase_filters_reduce_noise_without_lag(fps, butter_gain, kalman_gain):
    truth, noisy = motion(fps)
    before = rms(noisy - truth)
    for out, gain in ((butterworth(noisy, fps), butter_gain), (kalman_rts(noisy, fps), kalman_gain)):
        assert before / rms(out - truth) > gain
        assert best_shift(out, truth) == 0


def test_butterworth_order4_keeps_more_band_at_120fps():
    truth, noisy = motion(120)
    assert rms(noisy - truth) / rms(butterworth(noisy, 120, 6.0, order=4) - truth) > 3.0


@pytest.mark.parametrize("fps", [30, 120])
def test_cutoffs_are_half_amplitude_points(fps):
    """Butterworth is -6 dB at cutoff_hz; the RTS smoother at fc = (q fps / r)^(1/4) / 2 pi, as documented."""
    t = np.arange(20 * fps) / fps
    mid = slice(2 * fps, -2 * fps)
    amplitude = lambda y: np.sqrt(2 * np.mean(y[mid] ** 2))  # noqa: E731
    assert amplitude(butterworth(np.sin(2 * np.pi * 6.0 * t), fps, 6.0)) == pytest.approx(0.5, abs=0.01)
    fc = (1.0 * fps / NOISE**2) ** 0.25 / (2 * np.pi)
    assert amplitude(kalman_rts(np.sin(2 * np.pi * fc * t), fps, 1.0, NOISE)) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("fps", [30, 120])
def test_fast_move_overshoot_is_small(fps):
    """A 0.5 m reach in 0.15 s (peak 5 m/s): the defaults overshoot < 3 %; an ideal step < 6 %."""
    reach, step = min_jerk_reach(fps, 0.15), min_jerk_reach(fps, 0.0)
    for f in (lambda y: butterworth(y, fps), lambda y: kalman_rts(y, fps), lambda y: smooth(y, fps)):
        assert overshoot(f(reach)) < 0.03
        assert overshoot(f(step)) < 0.06
    # order 4 rings more: the reason the default is order 2
    assert overshoot(butterworth(reach, fps, order=4)) > overshoot(butterworth(reach, fps)) + 0.01
    assert overshoot(butterworth(reach, fps, order=4)) < 0.05
    assert overshoot(one_euro(reach, fps)) == 0.0  # first-order sections never overshoot


def test_butterworth_nan_segments_are_filtered_independently():
    truth, noisy = motion(60, channels=3)
    x = noisy.copy()
    x[200:230, 0] = np.nan
    x[400:406, 0] = np.nan
    x[402, 1] = np.nan
    x[0, 2] = np.nan
    out = butterworth(x, 60)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
    np.testing.assert_allclose(out[:200, 0], butterworth(x[:200, 0], 60))  # a segment alone gives the same
    x2 = x.copy()
    x2[230:400, 0] += 10.0  # a wild neighbouring segment does not leak across the gap
    np.testing.assert_array_equal(butterworth(x2, 60)[:200, 0], out[:200, 0])
    # Short segments (shorter than the default padding) are smoothed, single frames are kept.
    short = np.full(20, np.nan)
    short[2:8] = noisy[2:8, 0]
    short[10] = 0.7
    s = butterworth(short, 60)
    assert np.isfinite(s[2:8]).all() and s[10] == 0.7 and np.isnan(s[[0, 1, 8, 9, 11]]).all()
    assert np.abs(s[2:8] - truth[2:8, 0]).max() < 0.01


@pytest.mark.parametrize(("fps", "gain"), [(30, 2.5), (120, 4.0)])
def test_one_euro_removes_jitter_at_rest_and_lags_at_most_a_frame(fps, gain):
    rng = np.random.default_rng(3)
    still = np.array([0.1, 1.2, 0.9]) + rng.normal(0, NOISE, (10 * fps, 20, 3))
    out = one_euro(still, fps)
    assert out.shape == still.shape
    assert NOISE / rms(out[fps:] - [0.1, 1.2, 0.9]) > gain
    truth, noisy = motion(fps)
    assert 0 <= best_shift(one_euro(noisy, fps), truth) <= 1


def test_one_euro_is_causal_restarts_after_gaps_and_keeps_constants():
    _, noisy = motion(60, channels=2)
    out = one_euro(noisy, 60)
    changed = noisy.copy()
    changed[300:] += 1.0
    np.testing.assert_array_equal(one_euro(changed, 60)[:300], out[:300])
    x = noisy.copy()
    x[100:103, 0] = np.nan
    gapped = one_euro(x, 60)
    assert np.isnan(gapped[100:103, 0]).all() and gapped[103, 0] == x[103, 0]
    np.testing.assert_array_equal(gapped[:, 1], out[:, 1])
    np.testing.assert_allclose(one_euro(np.full((50, 3), 0.42), 60), 0.42)


@pytest.mark.parametrize("fps", [30, 120])
def test_kalman_fills_short_gaps_keeps_long_and_edge_gaps(fps):
    truth, noisy = gentle(fps, channels=30)
    gap = max_gap_frames(0.1, fps)
    holes = punch_holes(truth.shape, gap, fps)
    x = np.where(holes, np.nan, noisy)
    x[: fps // 2, :5] = np.nan  # leading
    x[-fps // 2 :, 5:10] = np.nan  # trailing
    long_gap = slice(4 * fps, 4 * fps + fps)
    x[long_gap, 10:15] = np.nan  # 1 s: too long
    out = kalman_rts(x, fps)  # max_gap 0.25 s
    assert rms((out - truth)[holes]) < 0.005
    assert np.isnan(out[: fps // 2, :5]).all() and np.isnan(out[-fps // 2 :, 5:10]).all()
    assert np.isnan(out[long_gap, 10:15]).all()
    assert np.isnan(out).sum() == 2 * (fps // 2) * 5 + fps * 5  # nothing else is NaN
    # Each channel is independent, and the stretch after a long gap equals smoothing it alone.
    np.testing.assert_allclose(out[:, 20], kalman_rts(x[:, 20], fps), atol=1e-12)
    before, after = slice(None, long_gap.start), slice(long_gap.stop, None)
    np.testing.assert_allclose(out[before, 10], kalman_rts(x[before, 10], fps), atol=1e-12)
    np.testing.assert_allclose(out[after, 10], kalman_rts(x[after, 10], fps), atol=1e-12)


def test_kalman_max_gap_argument():
    x = np.sin(np.arange(100) / 10)
    x[40:46] = np.nan
    assert np.isnan(kalman_rts(x, 30, max_gap=5)[40:46]).all()
    assert np.isfinite(kalman_rts(x, 30, max_gap=6)).all()


# ------------------------------------------------------------------------------------- pipeline


@pytest.mark.parametrize("fps", [30, 120])
def test_smooth_default_fills_gaps_from_the_noisy_neighbourhood(fps):
    truth, noisy = gentle(fps, channels=3 * 10)
    gap = max_gap_frames(0.1, fps)
    holes = punch_holes(truth.shape, gap, fps)
    x = np.where(holes, np.nan, noisy)
    x[:5] = np.nan
    xyz = x.reshape(len(x), 10, 3)
    out = smooth(xyz, fps)
    assert out.shape == xyz.shape
    err = (out.reshape(x.shape) - truth)
    assert rms(err[holes]) < 0.005  # vs 12 mm for a cubic spline through the noisy samples at 120 fps
    assert rms(err[5:][~holes[5:]]) < NOISE / 1.4
    assert np.isnan(out[:5]).all() and np.isfinite(out[5:]).all()
    spline = smooth(xyz, fps, SmoothConfig(fill_method="cubic")).reshape(x.shape)
    assert rms((spline - truth)[holes]) > rms(err[holes])


@pytest.mark.parametrize("method", ["butterworth", "one_euro", "kalman", "none"])
def test_smooth_every_method_keeps_shape_and_long_gaps(method):
    _, noisy = motion(60, channels=6)
    xyz = noisy.reshape(-1, 2, 3)
    xyz[100:103, 0] = np.nan
    xyz[200:300, 1] = np.nan
    out = smooth(xyz, 60, SmoothConfig(method=method))
    assert out.shape == xyz.shape
    assert np.isfinite(out[100:103]).all() and np.isnan(out[200:300, 1]).all()
    assert np.isfinite(out[200:300, 0]).all()
    if method == "none":
        np.testing.assert_array_equal(out[~np.isnan(xyz)], xyz[~np.isnan(xyz)])


def test_smooth_config_is_frozen_and_every_field_has_a_docstring():
    config = SmoothConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.method = "kalman"  # type: ignore[misc]
    body = ast.parse(inspect.getsource(SmoothConfig)).body[0].body
    documented = {
        stmt.target.id
        for stmt, nxt in zip(body, body[1:])
        if isinstance(stmt, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
    }
    assert documented == {f.name for f in dataclasses.fields(SmoothConfig)}


# ------------------------------------------------------------------------------------ bone lengths


def skeleton(frames=600, fps=120):
    """Truth ``(F, 5, 3)``: a 3-bone chain 0-1-2-3 plus a branch 1-4 swinging around a moving root."""
    t = np.arange(frames) / fps
    edges = np.array([[0, 1], [1, 2], [2, 3], [1, 4]])
    lengths = np.array([0.3, 0.25, 0.2, 0.15])
    xyz = np.zeros((frames, 5, 3))
    xyz[:, 0] = np.array([0, 0, 1.0]) + 0.1 * np.sin(t)[:, None]
    for e, (p, c) in enumerate(edges):
        d = np.stack(
            [
                np.sin(2 * np.pi * (0.3 + 0.2 * e) * t + e),
                np.cos(0.8 * np.pi * t + 2 * e),
                0.5 + 0.3 * np.sin(3 * t + e),
            ],
            axis=-1,
        )
        xyz[:, c] = xyz[:, p] + lengths[e] * d / np.linalg.norm(d, axis=-1, keepdims=True)
    return xyz, edges, lengths


def test_stabilize_bone_lengths_constant_and_within_noise():
    truth, edges, lengths = skeleton()
    noisy = truth + np.random.default_rng(0).normal(0, NOISE, truth.shape)
    out = stabilize_bone_lengths(noisy, edges)
    bl = bone_lengths(out, edges)
    assert bl.std(axis=0).max() < 1e-6
    np.testing.assert_allclose(bl[0], lengths, atol=0.5e-3)  # median of noisy lengths
    err_in = np.linalg.norm(noisy - truth, axis=-1)
    err_out = np.linalg.norm(out - truth, axis=-1)
    assert np.sqrt((err_out**2).mean()) < 1.05 * np.sqrt((err_in**2).mean())
    np.testing.assert_array_equal(out[:, 0], noisy[:, 0])  # the root does not move
    given = stabilize_bone_lengths(noisy, edges, lengths=lengths)
    np.testing.assert_allclose(bone_lengths(given, edges), np.broadcast_to(lengths, bl.shape), atol=1e-12)


def test_stabilize_bone_lengths_nan_aware():
    truth, edges, _ = skeleton(frames=50)
    x = truth * 1.0
    x[5:8, 1] *= 1.1  # a wrong frame to correct
    x[10, 2] = np.nan  # child missing: stays NaN
    x[20, 1] = np.nan  # parent missing: children 2 and 4 keep their positions
    out = stabilize_bone_lengths(x, edges)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
    np.testing.assert_array_equal(out[20, [2, 4]], x[20, [2, 4]])
    bl = bone_lengths(out, edges)
    ok = np.isfinite(bl)
    assert np.allclose(bl[ok], np.nanmedian(bone_lengths(x, edges), axis=0)[np.nonzero(ok)[1]])


# ------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: butterworth(np.zeros((10, 3)), 0), "fps must be a positive"),
        (lambda: butterworth(np.zeros((10, 3)), -30), "fps must be a positive"),
        (lambda: butterworth(np.zeros((10, 3)), 30, cutoff_hz=15), "below the Nyquist frequency fps/2 = 15"),
        (lambda: butterworth(np.zeros((10, 3)), 30, order=0), "order must be an integer >= 1"),
        (lambda: smooth(np.zeros((10, 3)), 10, SmoothConfig(cutoff_hz=6)), "Nyquist"),
        (lambda: kalman_rts(np.zeros((10, 3)), 30, measurement_noise=0), "measurement_noise must be a positive"),
        (lambda: kalman_rts(np.zeros((10, 3)), 30, max_gap=-1), "max_gap must be an integer >= 0"),
        (lambda: one_euro(np.zeros((10, 3)), 30, beta=-1), "beta must be"),
        (lambda: fill_gaps(np.zeros((10, 3)), 2.5), "max_gap must be an integer"),
        (lambda: fill_gaps(np.zeros((10, 3)), 2, method="quadratic"), "'cubic' or 'linear'"),
        (lambda: fill_gaps(np.float64(1.0), 2), "at least one frame on axis 0"),
        (lambda: smooth(np.zeros((0, 33, 3)), 30), "at least one frame"),
        (lambda: smooth(np.zeros((10, 3)), 30, {"method": "kalman"}), "must be a SmoothConfig"),
        (lambda: SmoothConfig(method="savgol"), "'butterworth', 'one_euro', 'kalman' or 'none'"),
        (lambda: SmoothConfig(max_gap_s=-1), "max_gap_s must be"),
        (lambda: stabilize_bone_lengths(np.zeros((10, 5, 2)), [[0, 1]]), r"points3d \(F, J, 3\)"),
        (lambda: stabilize_bone_lengths(np.zeros((10, 5, 3)), [[0, 5]]), "edges index joints 0..4"),
        (lambda: stabilize_bone_lengths(np.zeros((10, 5, 3)), [[0, 1.5]]), r"integer array \(E, 2\)"),
        (lambda: stabilize_bone_lengths(np.zeros((10, 5, 3)), [[1, 2], [0, 1]]), "parent-before-child"),
        (lambda: stabilize_bone_lengths(np.zeros((10, 5, 3)), [[0, 2], [1, 2]]), "drop loop-closing edges"),
    ],
)
def test_bad_input_says_how_to_fix(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_any_trailing_shape_and_inf_as_missing():
    _, noisy = motion(60, channels=30)
    x = noisy.reshape(-1, 2, 5, 3)
    flat = butterworth(noisy, 60)
    np.testing.assert_allclose(butterworth(x, 60).reshape(flat.shape), flat)
    y = noisy[:, 0].copy()
    y[50] = np.inf
    assert np.isnan(butterworth(y, 60)[50]) and np.isfinite(smooth(y, 60)).all()
    assert set(smoothing.__all__) <= set(dir(smoothing))
