"""Motion sync with known answers: a 3D motion seen by 4 virtual cameras, each sampled at its own
rate and offset (0.37 frame to 3 s; 30/60, 25/30, 29.97/30 fps; 100 ppm drift over 2 minutes),
with pixel noise and dropouts. Offsets must come back within 0.1 frame, drift within 20 ppm.

The motion is a procedural one (always available) and, when the shared data is on this machine,
real CMU motion-capture clips.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import shared_path

from mocap.errors import MocapError
from mocap.sync.motion import keypoint_velocity, motion_sync, up_directions
from mocap.synth.unsynced import cmu_motion, make_take, procedural_motion, ring_rig




def frame_errors(result, take) -> np.ndarray:
    """Per camera, offset error in that camera's frames."""
    return np.array([(a.time_offset - b.time_offset) * b.fps for a, b in zip(result.sync, take.truth)])


CASES = {
    "30/30": ([30.0, 30.0, 30.0, 30.0], [0.0, 0.37 / 30, 1.234, -2.95]),
    "30/60": ([30.0, 60.0, 30.0, 60.0], [0.0, 0.37 / 60, -0.871, 2.999]),
    "25/30": ([25.0, 30.0, 25.0, 30.0], [0.0, 0.37 / 30, 2.0417, -1.5]),
    "29.97/30": ([29.97, 30.0, 30.0, 29.97], [0.0, 0.37 / 30, -0.4, 1.77]),
}


@pytest.mark.parametrize("case", CASES)
def test_offsets_recovered_within_a_tenth_of_a_frame(case):
    fps, offsets = CASES[case]
    rig = ring_rig(4)
    take = make_take(procedural_motion(7), rig, offsets, fps, 12.0, noise_px=1.5, dropout=0.03, seed=11)
    t0 = time.perf_counter()
    res = motion_sync(rig, take.xy, take.conf, fps)
    err = frame_errors(res, take)
    print(f"\n{case}: offset errors {np.round(err, 4)} frames, {time.perf_counter() - t0:.2f} s")
    assert np.all(np.abs(err) < 0.1), err
    assert all(c.method == "motion" for c in res.sync) and res.sync[0].time_offset == 0.0
    assert res.residual_px < 3.0


@pytest.mark.parametrize("clip, fps", [("05_20_moderndance", [30.0, 60.0, 25.0, 29.97]),
                                       ("131_01_walk", [30.0, 30.0, 60.0, 29.97])])
def test_offsets_on_real_human_motion(clip, fps):
    files = sorted(shared_path("bvh").glob(f"*{clip}*.bvh"))
    if not files:
        pytest.skip(f"CMU clip {clip} not available")
    motion, names, length = cmu_motion(files[0])
    rig = ring_rig(4)
    offsets = [0.0, 0.37 / fps[1], 1.618, -2.4]
    take = make_take(motion, rig, offsets, fps, min(length, 14.0), noise_px=2.0, dropout=0.03, seed=5)
    res = motion_sync(rig, take.xy, take.conf, fps)
    err = frame_errors(res, take)
    print(f"\n{clip}: offset errors {np.round(err, 4)} frames")
    assert np.all(np.abs(err) < 0.1), err


def test_drift_over_two_minutes():
    fps = [30.0, 30.0, 60.0, 29.97]
    drift = [0.0, 100.0, -60.0, 40.0]
    rig = ring_rig(4)
    take = make_take(procedural_motion(2, n_joints=12), rig, [0.0, 0.5, -0.8, 2.2], fps, 120.0,
                     drift_ppm=drift, noise_px=1.0, dropout=0.02, seed=3)
    t0 = time.perf_counter()
    res = motion_sync(rig, take.xy, take.conf, fps)
    err = frame_errors(res, take)
    derr = np.array([c.drift_ppm for c in res.sync]) - drift
    print(f"\ndrift errors {np.round(derr, 1)} ppm, offset errors {np.round(err, 4)} frames, "
          f"{time.perf_counter() - t0:.1f} s")
    assert np.all(np.abs(derr) < 20), derr
    assert np.all(np.abs(err) < 0.1), err
    assert len(res.window_times) >= 2


def test_all_cameras_static_is_a_clear_error():
    rig = ring_rig(4)
    still = procedural_motion(1)
    pose = still(np.array([0.0]))[0]
    take = make_take(lambda t: np.broadcast_to(pose, (len(t),) + pose.shape), rig, [0, 0.1, 0.2, 0.3],
                     [30.0] * 4, 5.0, noise_px=1.0, seed=0)
    with pytest.raises(MocapError) as err:
        motion_sync(rig, take.xy, take.conf, [30.0] * 4)
    msg = str(err.value)
    assert "no camera sees enough motion" in msg
    assert "clap" in err.value.fix and "time_offset" in err.value.fix


def test_one_static_camera_is_named():
    rig = ring_rig(4)
    take = make_take(procedural_motion(1), rig, [0, 0.1, 0.2, 0.3], [30.0] * 4, 5.0, seed=0)
    xy = list(take.xy)
    xy[2] = np.broadcast_to(np.nanmedian(xy[2], axis=0), xy[2].shape) + np.random.default_rng(0).normal(0, 0.5, xy[2].shape)
    with pytest.raises(MocapError) as err:
        motion_sync(rig, xy, take.conf, [30.0] * 4)
    assert "camera cam2 does not see enough motion" in str(err.value)
    assert "time_offsets = { cam2 =" in err.value.fix


def test_a_camera_that_never_overlaps_the_reference_is_timed_through_the_others():
    # cam0 records 0-3 s, cam3 4-7 s: cam3 is timed through cam1 and cam2 (0.2-8.2 s, -0.3-7.7 s)
    rig = ring_rig(4)
    take = make_take(procedural_motion(4), rig, [0.0, 0.2, -0.3, 4.0], [30.0] * 4, [3.0, 8.0, 8.0, 3.0], seed=1)
    res = motion_sync(rig, take.xy, take.conf, [30.0] * 4)
    assert np.all(np.abs(frame_errors(res, take)) < 0.1)


def test_a_video_shorter_than_its_offset_is_a_clear_error():
    # every other camera stops at 3 s; cam3 starts at 4 s: nothing to compare it with
    rig = ring_rig(4)
    take = make_take(procedural_motion(4), rig, [0.0, 0.2, -0.3, 4.0], [30.0] * 4, [3.0, 2.8, 3.3, 3.0], seed=1)
    with pytest.raises(MocapError) as err:
        motion_sync(rig, take.xy, take.conf, [30.0] * 4)
    assert "camera 'cam3'" in str(err.value) and "time_offset" in err.value.fix


def test_vertical_velocity_is_upward_pixels_per_second():
    rig = ring_rig(2)
    up = up_directions(rig)
    assert np.all(up[:, 1] < -0.9)  # upright cameras: world up is image -y
    xy = np.zeros((5, 1, 2))
    xy[:, 0, 1] = 100 - 3.0 * np.arange(5)  # moving up 3 px per frame
    v = keypoint_velocity(xy, 30.0, np.array([0.0, -1.0]))
    np.testing.assert_allclose(v[1:-1, 0], 90.0)
    assert np.isnan(v[[0, -1]]).all()
