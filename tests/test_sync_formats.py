"""What sync adds to the files and settings other stages read: per-camera frame counts and rates in
keypoints2d.npz (older files still load), timestamps in points3d npz files, hand-given clock values in
session.toml, and the common timeline triangulation reads (synchronized takes left exactly as they were)."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.errors import InputError
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.session import Session
from mocap.sync.clock import CameraClock, TakeSync
from mocap.sync.curves import Correlation, DriftWindows, SyncCurves
from mocap.sync.stage import synced_keypoints
from mocap.triangulation.points import Points3D


def small_keypoints(counts=(10, 10), rates=(30.0, 30.0)) -> Keypoints2D:
    rng = np.random.default_rng(0)
    n = max(counts)
    xy = rng.uniform(0, 100, (len(counts), n, 3, 2)).astype(np.float32)
    for c, k in enumerate(counts):
        xy[c, k:] = np.nan
    return Keypoints2D(xy, np.ones(xy.shape[:3], np.float32), "t", ("a", "b", "c"), tuple(f"cam{c}" for c in
                       range(len(counts))), np.arange(n) / rates[0], rates[0], np.array(counts), np.array(rates))


def test_keypoints_keep_each_cameras_frames_and_rate(tmp_path):
    kp = small_keypoints((10, 7), (30.0, 25.0))
    back = Keypoints2D.load(kp.save(tmp_path / "kp.npz"))
    assert list(back.frame_counts) == [10, 7] and list(back.camera_fps) == [30.0, 25.0]
    assert back.camera_tracks(1)[0].shape == (7, 3, 2)
    np.testing.assert_array_equal(back.detection_rate(), [1.0, 1.0])  # of the frames each camera recorded


def test_keypoints_schema_1_files_still_load(tmp_path):
    kp = small_keypoints()
    path = tmp_path / "old.npz"
    np.savez(path, schema_version=np.array(1), xy=kp.xy, conf=kp.conf, keypoint_set=np.array("t"),
             joint_names=np.array(kp.joint_names), camera_names=np.array(kp.camera_names), timestamps=kp.timestamps,
             fps=np.array(30.0))
    old = Keypoints2D.load(path)
    assert list(old.frame_counts) == [10, 10] and list(old.camera_fps) == [30.0, 30.0]


def test_points3d_timestamps_and_old_files(tmp_path):
    xyz = np.zeros((4, 2, 3))
    pts = Points3D(xyz, np.zeros((4, 2)), np.zeros((4, 2), np.int16), ("a", "b"), 60.0,
                   timestamps=np.array([0.5, 0.52, 0.53, 0.55]))
    assert Points3D.load(pts.save(tmp_path / "p.npz")).timestamps[1] == 0.52
    np.savez(tmp_path / "old.npz", schema_version=np.array(1), xyz=xyz, reprojection_error=np.zeros((4, 2)),
             n_views=np.zeros((4, 2)), joint_names=np.array(["a", "b"]), fps=np.array(30.0), swaps=np.zeros((0, 0)))
    np.testing.assert_allclose(Points3D.load(tmp_path / "old.npz").timestamps, np.arange(4) / 30.0)
    with pytest.raises(ValueError):
        Points3D(xyz, np.zeros((4, 2)), np.zeros((4, 2)), ("a", "b"), 30.0, timestamps=np.zeros(3))


def test_synchronized_cameras_are_left_exactly_as_they_were():
    kp = small_keypoints()
    sync = TakeSync((CameraClock("cam0", 0.0, 30.0, 0.0, 1.0, "motion"), CameraClock("cam1", 0.0, 30.0, 0.0, 0.5,
                                                                                      "motion")))
    assert synced_keypoints(kp, sync) is kp


def test_keypoints_on_the_common_timeline():
    kp = small_keypoints((10, 7), (30.0, 25.0))
    sync = TakeSync((CameraClock("cam0", 0.0, 30.0), CameraClock("cam1", 0.1, 25.0, method="manual")))
    out = synced_keypoints(kp, sync)
    assert out.fps == 30.0 and out.n_frames == len(out.timestamps)
    # the span both cameras record: cam1 from 0.1 s to 0.1 + 6/25 s; on cam0's frame grid
    assert out.timestamps[0] == pytest.approx(0.1) and out.timestamps[-1] <= 0.1 + 6 / 25 + 1e-9
    np.testing.assert_allclose(out.xy[0, 0], kp.xy[0, 3], rtol=1e-6)  # cam0's frame 3 is at 0.1 s
    np.testing.assert_allclose(out.xy[1, 0], kp.xy[1, 0], rtol=1e-6)  # cam1's frame 0 too
    half = synced_keypoints(kp, sync, fps=60.0)  # a chosen output rate
    assert half.fps == 60.0 and half.n_frames == 2 * out.n_frames - 1
    with pytest.raises(InputError, match="no clock for camera"):
        synced_keypoints(kp, TakeSync((CameraClock("cam0", 0.0, 30.0), CameraClock("camX", 0.0, 30.0))))


def test_sync_curves_round_trip(tmp_path):
    curves = SyncCurves((Correlation("b", "a", "audio", np.linspace(-1, 1, 5), np.arange(5.0), 0.25),),
                        (DriftWindows("b", "motion", np.array([10.0, 50.0]), np.array([0.1, 0.1004])),))
    back = SyncCurves.load(curves.save(tmp_path / "c.npz"))
    assert back.correlations[0].against == "a" and back.correlations[0].peak == 0.25
    np.testing.assert_array_equal(back.windows[0].offsets, [0.1, 0.1004])
    assert SyncCurves.load(SyncCurves().save(tmp_path / "empty.npz")).correlations == ()


def session_text(cameras: str, take: str = "", calibration: str = "") -> dict:
    import tomllib

    return tomllib.loads(f'board = "charuco_7x5_a1"\n{cameras}[calibration]\n{calibration}[[takes]]\nname = "t"\n{take}')


def test_hand_given_clock_values_in_session_toml(tmp_path):
    cams = ('[[cameras]]\nname = "a"\n[[cameras]]\nname = "b"\nfps = 29.97\ndrift_ppm = 12\ntime_offset = 0.5\n'
            '[[cameras]]\nname = "c"\ntime_offset = -1\n')
    s = Session.from_dict(session_text(cams, "time_offsets = { b = 0.25 }\n", "time_offsets = { c = 0.1 }\n"),
                          root=tmp_path)
    assert s.sync_overrides("t") == {"b": {"fps": 29.97, "drift_ppm": 12.0, "time_offset": 0.25},
                                     "c": {"time_offset": -1.0}}
    assert s.sync_overrides(None) == {"b": {"fps": 29.97, "drift_ppm": 12.0, "time_offset": 0.5},
                                      "c": {"time_offset": 0.1}}
    assert s.calibration_options == {}  # time_offsets is not a calibration setting
    synced = Session.from_dict(session_text(cams, "synchronized = true\ntime_offsets = { c = 0.5 }\n"), root=tmp_path)
    assert {n: v["time_offset"] for n, v in synced.sync_overrides("t").items()} == {"a": 0.0, "b": 0.0, "c": 0.5}


@pytest.mark.parametrize("cams, words", [
    ('[[cameras]]\nname = "a"\nfps = "30"\n', r"\[cameras #1\] fps must be the camera's real frames per second"),
    ('[[cameras]]\nname = "a"\nfps = 0\n', "camera 'a': fps must be positive"),
    ('[[cameras]]\nname = "a"\ntime_offset = true\n', r"\[cameras #1\] time_offset must be seconds after"),
    ('[[cameras]]\nname = "a"\n[[takes]]\nname = "u"\nsynchronized = 1\n', r"\[takes #1\] synchronized must be true"),
])
def test_bad_clock_values_name_the_key(tmp_path, cams, words):
    with pytest.raises(InputError, match=words) as err:
        Session.from_dict(session_text(cams), root=tmp_path)
    assert "session.toml" in str(err.value)


def test_points_on_the_timeline_read_at_a_cameras_frames():
    from mocap.sync.resample import points_at_frames

    times = 0.1 + np.arange(20) / 60.0  # a 60 fps timeline from 0.1 s
    values = times[:, None] * np.array([1.0, 2.0])  # (T, 2), linear in time
    sync = TakeSync((CameraClock("a", 0.0, 60.0), CameraClock("b", 0.05, 25.0)))
    got = points_at_frames(values, times, sync, "b", 10)  # b's frames at 0.05 + f / 25
    t = 0.05 + np.arange(10) / 25.0
    inside = (t >= times[0]) & (t <= times[-1] + 1e-9)
    np.testing.assert_allclose(got[inside], t[inside, None] * np.array([1.0, 2.0]))
    assert np.isnan(got[~inside]).all() and (~inside).any()
    # a synchronized take: frame f is row f (padded with NaN)
    np.testing.assert_array_equal(points_at_frames(values, times, None, "a", 22)[:20], values)
