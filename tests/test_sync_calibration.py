"""Sync of the calibration take: offsets from the board's own motion (known answers from a board moved
smoothly in front of unsynchronized virtual cameras), detections resampled onto one timeline, and a real
calibration of the ring4 sample with one camera's video started late (hand-given offset, then sound)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import SAMPLE_SESSION, ring

from mocap.calibration.board import load_board
from mocap.calibration.detect import BoardDetections
from mocap.sync.calibration import align_detections, board_motion_sync
from mocap.sync.clock import CameraClock, TakeSync
from mocap.sync.resample import common_timeline

FPS = [30.0, 30.0, 60.0, 25.0]
OFFSETS = [0.0, 0.37 / 30, 0.5, -0.3]


def board_pose(t: np.ndarray):
    """A board carried around smoothly: ``R (T, 3, 3)`` board-to-world and ``t (T, 3)``."""
    yaw = 2 * np.pi * 0.12 * t + 0.6 * np.sin(1.3 * t)
    tilt = 0.35 * np.sin(0.9 * t + 1.0)
    cz, sz, cx, sx = np.cos(yaw), np.sin(yaw), np.cos(tilt), np.sin(tilt)
    zero, one = np.zeros_like(t), np.ones_like(t)
    Rz = np.stack([np.stack([cz, -sz, zero], -1), np.stack([sz, cz, zero], -1), np.stack([zero, zero, one], -1)], 1)
    Rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cx, -sx], -1), np.stack([zero, sx, cx], -1)], 1)
    upright = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # board y down the world's -z: held upright
    centre = np.stack([0.4 * np.sin(0.5 * t), 0.3 * np.cos(0.37 * t), 1.1 + 0.2 * np.sin(0.7 * t)], -1)
    return Rz @ Rx @ upright, centre


def moving_board_detections(rig, board, seconds=12.0, noise=0.2, seed=0):
    rng = np.random.default_rng(seed)
    tracks = []
    half = np.r_[board.size_m[0] / 2, board.size_m[1] / 2, 0.0]
    for cam, off, fps in zip(rig, OFFSETS, FPS):
        t = off + np.arange(int(seconds * fps)) / fps
        R, c = board_pose(t)
        pts = np.einsum("tij,nj->tni", R, board.corners_3d - half) + c[:, None]
        px = cam.project(pts) + rng.normal(0, noise, pts.shape[:2] + (2,))
        normal = R[:, :, 2]  # the printed face looks along -z of the board
        facing = np.einsum("ti,ti->t", -normal, cam.center - c) / np.linalg.norm(cam.center - c, axis=1)
        w, h = cam.size
        inside = (px[..., 0] > 0) & (px[..., 0] < w) & (px[..., 1] > 0) & (px[..., 1] < h)
        px[~inside | (np.abs(facing) < 0.3)[:, None]] = np.nan
        tracks.append(px)
    n = max(len(p) for p in tracks)
    corners = np.full((len(tracks), n, board.n_corners, 2), np.nan, np.float32)
    for k, p in enumerate(tracks):
        corners[k, : len(p)] = p
    sizes = np.array([cam.size for cam in rig])
    return BoardDetections(corners, np.arange(n), tuple(rig.names), sizes, board.name)


def test_offsets_from_the_boards_motion():
    rig, board = ring(4), load_board("charuco_7x5_a1")
    det = moving_board_detections(rig, board)
    found = board_motion_sync(det, board, FPS)
    err = np.array([(c.time_offset - o) * f for c, o, f in zip(found.sync, OFFSETS, FPS)])
    print(f"\nboard-motion offset errors {np.round(err, 3)} frames, methods {[c.method for c in found.sync]}")
    assert [c.method for c in found.sync] == ["motion"] * 4
    assert np.all(np.abs(err) < 0.5)  # pose noise: coarser than sound or keypoints (0.14 frame here)
    assert len(found.curves.correlations) == 3


def test_detections_on_one_timeline():
    rig, board = ring(4), load_board("charuco_7x5_a1")
    det = moving_board_detections(rig, board, noise=0.0)
    sync = TakeSync(tuple(CameraClock(n, o, f, method="manual") for n, o, f in zip(rig.names, OFFSETS, FPS)))
    aligned = align_detections(det, sync)
    # rows are the fastest camera's (60 fps) instants where two cameras record
    times = common_timeline(sync, [det.n_frames] * 4).times
    assert aligned.n_frames == len(times) and np.allclose(np.diff(times), 1 / 60)
    assert np.abs(aligned.frame_indices - times * 30).max() <= 0.5 + 1e-6  # cam0's nearest frames
    # every camera's row k shows the board where it was at the row's instant (linear interpolation: ~0.1 px)
    R, c = board_pose(times)
    half = np.r_[board.size_m[0] / 2, board.size_m[1] / 2, 0.0]
    pts = np.einsum("tij,nj->tni", R, board.corners_3d - half) + c[:, None]
    for k, cam in enumerate(rig):
        err = np.linalg.norm(aligned.corners[k] - cam.project(pts), axis=-1)
        assert np.nanmedian(err) < 0.5, (cam.name, np.nanmedian(err))
    same = TakeSync(tuple(CameraClock(n, 0.0, 30.0) for n in rig.names))
    assert align_detections(det, same) is det  # a synchronized rig: untouched


def cut_video(src, dst, skip: int):
    """``src`` without its first ``skip`` frames (a camera started ``skip`` frames late)."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    dst.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, frames[0].shape[1::-1])
    for img in frames[skip:]:
        writer.write(img)
    writer.release()
    return dst


@pytest.mark.slow  # three calibrations of the ring4 sample, about two minutes
def test_calibration_with_a_late_camera(tmp_path):
    """cam2's calibration video starts 6 frames late: with its offset (given by hand, or heard from a clap)
    the calibration matches the truth as the synchronized one does; without it, it is off."""
    pytest.importorskip("av")
    from mocap.calibration.compare import compare_rigs
    from mocap.calibration.pipeline import calibrate_session
    from mocap.camera import CameraRig
    from mocap.session import Session
    from mocap.sync.calibration import calibration_aligner
    from mocap.sync.stage import SyncConfig
    from mocap.synth.audio import synth_take_audio

    skip = 6
    base = Session.load(SAMPLE_SESSION)
    truth = CameraRig.load(SAMPLE_SESSION / "ground_truth" / "camera_rig.toml")
    videos = list(base.calibration_videos)
    videos[2] = cut_video(videos[2], tmp_path / "cut" / "cam2.mp4", skip)

    def calibrate(name, offsets=None, audio_videos=None):
        session = dataclasses.replace(base, output_dir=tmp_path / name, calibration_videos=tuple(audio_videos or videos),
                                      calibration_time_offsets=offsets or {})
        result = calibrate_session(session, accept=True, align=calibration_aligner(session, SyncConfig()))
        return compare_rigs(result.rig, truth), TakeSync.load(session.layout.calibration.sync)

    good, sync = calibrate("manual", {"cam2": skip / 30.0})
    assert sync["cam2"].method == "manual"
    assert good["center_error_mm_max"] < 5.0 and good["rotation_error_deg_max"] < 0.2, good
    # every camera hears the same claps: the sound gives cam2's offset
    clocks = [CameraClock(n, skip / 30.0 if n == "cam2" else 0.0, 30.0) for n in base.camera_names]
    heard = [cut_video(v, tmp_path / "sound" / f"{n}.mp4", 0) for n, v in zip(base.camera_names, videos)]
    synth_take_audio(heard, clocks, claps=[0.8, 2.5, 4.0], footsteps=[1.3, 3.1], rate=16000, seed=2)
    by_ear, sync = calibrate("audio", audio_videos=heard)
    assert sync["cam2"].method == "audio" and abs(sync["cam2"].time_offset - skip / 30) < 5e-4
    # (all four videos went through one more lossy encoding here: a little less precise corners)
    assert by_ear["center_error_mm_max"] < 5.0 and by_ear["rotation_error_deg_max"] < 0.3, by_ear
    naive, _ = calibrate("naive", {"cam2": 0.0})  # as calibration was before sync
    print(f"\nlate cam2: centre error {naive['center_error_mm_max']:.1f} mm unsynchronized, "
          f"{good['center_error_mm_max']:.1f} mm with its offset by hand, {by_ear['center_error_mm_max']:.1f} mm by ear")
    assert naive["center_error_mm_max"] > 3 * good["center_error_mm_max"]
