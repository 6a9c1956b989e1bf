"""Known-answer calibration: the shipped synthetic session (rendered board, true cameras known).

The sample session has 4 cameras at 1280x720 with lens distortion, one of them mirrored; the board is
carried in front of each camera, between neighbouring cameras, then laid on the floor with ChArUco
corner 0 on the world origin. The calibrated rig must match the true one in an upright, metric world.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import SAMPLE_SESSION

from mocap.calibration.compare import compare_rigs
from mocap.calibration.pipeline import calibrate_session
from mocap.camera import CameraRig
from mocap.session import Session

pytestmark = pytest.mark.slow  # whole-pipeline runs: in `make test`, not in `make test-fast`


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    out = tmp_path_factory.mktemp("ring4_out")
    session = dataclasses.replace(Session.load(SAMPLE_SESSION), output_dir=out)
    return calibrate_session(session), out


def test_recovers_true_cameras(calibrated):
    result, _ = calibrated
    truth = CameraRig.load(SAMPLE_SESSION / "ground_truth" / "camera_rig.toml")
    cmp = compare_rigs(result.rig, truth)
    assert result.rig.names == truth.names
    assert cmp["focal_error_pct_max"] < 0.5
    assert cmp["center_error_mm_max"] < 5.0
    assert cmp["rotation_error_deg_max"] < 0.2
    assert [c.mirrored for c in result.rig] == [c.mirrored for c in truth] == [False, True, False, False]


def test_world_is_upright_metric_and_on_the_floor(calibrated):
    result, _ = calibrated
    q = result.quality
    assert q.passed, q.failures
    assert q.world["source"] == "floor_board"
    assert q.world["floor_tilt_deg"] < 2.0
    heights = np.array([c.center[2] for c in result.rig])
    assert (heights > 1.0).all()  # cameras are above the floor, not below it
    up = np.mean([-c.R[1] for c in result.rig], axis=0)
    assert up[2] > 0.9  # the cameras' image "up" points along +Z
    assert abs(q.square_error_mean_mm) < 0.5 and q.square_error_std_mm < 1.5


def test_outputs_written(calibrated):
    result, out = calibrated
    cal = out / "calibration"
    for name in ("camera_rig.toml", "calibration_quality.toml", "calibration_quality.png", "board_detections.npz",
                 "calibration_config.toml"):
        assert (cal / name).is_file(), name
    assert not list(cal.glob("*.part*"))
    assert CameraRig.load(cal / "camera_rig.toml").names == result.rig.names
    assert (cal / "calibration_quality.png").stat().st_size > 20_000


def test_fisheye_camera_known_answer(tmp_path):
    """A rig with one fisheye camera (rendered at 960x540): the fisheye model is fitted and recovered."""
    from mocap.calibration.board import load_board
    from mocap.synth.calibration_take import ring_rig, write_calibration_session

    rig = ring_rig(4, size=(960, 540), focal=700.0, fisheye=(2,), seed=3)
    folder = write_calibration_session(tmp_path / "fish", load_board("charuco_7x5_a1"), rig, n_per_camera=24,
                                       n_per_pair=16, n_floor=8, video_suffix=".avi", seed=3)
    result = calibrate_session(folder)
    assert [c.model for c in result.rig] == ["pinhole", "pinhole", "fisheye", "pinhole"]
    cmp = compare_rigs(result.rig, CameraRig.load(folder / "ground_truth" / "camera_rig.toml"))
    # Fewer, smaller views than the sample session: looser than its 0.5 % / 5 mm / 0.2 deg.
    assert cmp["focal_error_pct_max"] < 1.0
    assert cmp["center_error_mm_max"] < 15.0
    assert cmp["rotation_error_deg_max"] < 0.4
    assert result.quality.world["source"] == "floor_board"


def test_world_frame_options(calibrated):
    """floor = "none" takes Z from the cameras; origin_frame pins the floor to a chosen frame."""
    from mocap.calibration.board import load_board
    from mocap.calibration.config import CalibrationConfig
    from mocap.calibration.pipeline import calibrate_detections

    result, _ = calibrated
    det = result.detections
    board = load_board("charuco_7x5_a1")
    mirrored = [c.mirrored for c in result.rig]
    floor_frame = int(np.load(SAMPLE_SESSION / "ground_truth" / "board_poses.npz")["floor_frames"][0])

    rig_up, q_up = calibrate_detections(det, board, mirrored=mirrored, config=CalibrationConfig(floor="none"))
    assert q_up.world["source"] == "camera_up"
    up = np.mean([-c.R[1] for c in rig_up], axis=0)
    assert up[2] / np.linalg.norm(up) > 0.999
    dists = [np.linalg.norm(a.center - b.center) for rig in (rig_up, result.rig) for a, b in zip(rig, rig[1:])]
    np.testing.assert_allclose(dists[:3], dists[3:], atol=0.002)  # same rig, another world frame

    rig_o, q_o = calibrate_detections(det, board, mirrored=mirrored, config=CalibrationConfig(origin_frame=floor_frame))
    assert q_o.world["source"] == "board_frame"
    for a, b in zip(rig_o, result.rig):
        assert np.linalg.norm(a.center - b.center) < 0.003


def test_separate_floor_take(tmp_path):
    """A floor take (board lying elsewhere, turned 90 degrees) defines origin and axes of the world."""
    from mocap.calibration.board import load_board
    from mocap.synth.calibration_take import render_calibration_take, write_video

    truth = CameraRig.load(SAMPLE_SESSION / "ground_truth" / "camera_rig.toml")
    board = load_board("charuco_7x5_a1")
    bx, by, bz = np.array([0.0, 1, 0]), np.array([1.0, 0, 0]), np.array([0, 0, -1.0])  # face up, turned
    R_f = np.column_stack([bx, by, bz])
    t_f = np.array([0.4, -0.9, 0.0])
    n = 6
    frames = [imgs for _, imgs in render_calibration_take(truth, board, np.repeat(R_f[None], n, 0),
                                                          np.repeat(t_f[None], n, 0), mirrored=["cam1"])]
    floor = [write_video(tmp_path / "floor" / f"{cam.name}.avi", [f[c] for f in frames])
             for c, cam in enumerate(truth)]
    base = Session.load(SAMPLE_SESSION)
    session = dataclasses.replace(base, output_dir=tmp_path / "out", floor_videos=tuple(floor))
    result = calibrate_session(session)
    assert result.quality.world["source"] == "board_frame"
    # Expected world: origin at the floor board's corner 0, X along its x axis, Z up.
    p0 = R_f @ board.corners_3d[0] + t_f
    z = np.array([0, 0, 1.0])
    M = np.stack([bx, np.cross(z, bx), z])
    expected = truth.transformed(M, -M @ p0)
    cmp = compare_rigs(result.rig, expected)
    assert cmp["center_error_mm_max"] < 6.0
    assert cmp["rotation_error_deg_max"] < 0.25
