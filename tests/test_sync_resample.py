"""Resampling 2D tracks onto a common timeline: known answers, NaN rules, and triangulation."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.errors import MocapError
from mocap.sync.clock import CameraClock, TakeSync
from mocap.sync.resample import common_timeline, interpolate_frames, resample_camera, resample_take
from mocap.synth.unsynced import make_take, procedural_motion, ring_rig
from mocap.multiview import triangulate_dlt


def test_linear_interpolation_and_its_nan_rules():
    v = np.array([[0.0], [10.0], [np.nan], [30.0], [40.0]])
    out = interpolate_frames(v, np.array([0.5, 1.0, 1.5, 2.0, 3.25, -0.1, 4.0, 4.01, 3.0 + 1e-9]))
    np.testing.assert_allclose(out[:, 0], [5.0, 10.0, np.nan, np.nan, 32.5, np.nan, 40.0, np.nan, 30.0])


def test_resampled_track_is_the_motion_at_the_requested_times():
    # a joint moving at constant velocity: linear interpolation is exact
    clock = CameraClock("c", time_offset=0.3, fps=25.0, drift_ppm=50.0)
    t_frames = clock.frame_times(50)
    xy = np.stack([100 + 40 * t_frames, 200 - 10 * t_frames], -1)[:, None, :]  # (F, 1, 2)
    conf = np.full((50, 1), 0.9)
    conf[10] = 0.5
    xy[20] = np.nan
    times = np.array([0.31, 0.5, 0.3 + 20.5 / 25, 0.0, 5.0])
    out, c = resample_camera(xy, conf, clock, times)
    expect = np.stack([100 + 40 * times, 200 - 10 * times], -1)
    np.testing.assert_allclose(out[:2, 0], expect[:2], atol=1e-9)
    assert np.isnan(out[2:, 0]).all()  # a missing neighbour, before the recording, after it
    assert c[0, 0] == pytest.approx(0.9) and (c[2:] == 0).all()


def test_default_timeline_is_the_fastest_camera_where_two_cameras_record():
    sync = TakeSync((CameraClock("a", 0.0, 30.0), CameraClock("b", 0.5, 60.0), CameraClock("c", -1.0, 25.0)))
    tl = common_timeline(sync, [90, 120, 50])  # a: 0-2.967, b: 0.5-2.483, c: -1-0.96: two record 0-2.483
    assert tl.fps == 60.0
    assert tl.times[0] == pytest.approx(0.0)  # from the start of a, b's frame grid
    assert np.allclose(np.diff(tl.times), 1 / 60)
    assert tl.times[-1] == pytest.approx(0.5 + 119 / 60)
    k = (tl.times - 0.5) * 60
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)  # on b's frames


def test_a_camera_that_starts_after_the_others_stopped_is_an_error():
    sync = TakeSync((CameraClock("a", 0.0, 30.0), CameraClock("b", 0.0, 30.0), CameraClock("late", 3.0, 30.0)))
    xy = [np.zeros((60, 2, 2))] * 3  # 2 s each; 'late' starts at 3 s
    with pytest.raises(MocapError) as err:
        resample_take(xy, [None] * 3, sync)
    assert "camera 'late'" in str(err.value) and "overlaps no other camera" in str(err.value)


def test_triangulating_resampled_tracks_recovers_the_motion():
    rig = ring_rig(4)
    motion = procedural_motion(3)
    take = make_take(motion, rig, [0.0, 0.4 / 30, 0.71, -1.3], [30.0, 60.0, 25.0, 29.97], 6.0, noise_px=0.5, seed=2)
    synced = resample_take(take.xy, take.conf, take.truth)
    assert synced.xy.shape[:2] == (4, len(synced.times)) and synced.fps == 60.0
    pts = triangulate_dlt(rig, synced.xy, synced.conf)
    err = np.linalg.norm(pts - motion(synced.times), axis=-1)
    # naive: frame i of every camera is the same instant (what the pipeline assumes today)
    n = min(len(x) for x in take.xy)
    naive = triangulate_dlt(rig, np.stack([x[:n] for x in take.xy]))
    naive_err = np.linalg.norm(naive - motion(np.arange(n) / 30.0), axis=-1)
    assert np.nanmedian(err) < 0.005, np.nanmedian(err)
    assert np.nanmedian(naive_err) > 10 * np.nanmedian(err)
