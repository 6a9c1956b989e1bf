"""ChArUco detection on rendered boards with known corner positions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import ring

from mocap.calibration.board import CharucoBoard, load_board
from mocap.calibration.detect import (
    BoardDetector,
    DetectConfig,
    detect_cameras,
    detect_mirroring,
)
from mocap.errors import InputError
from mocap.synth.board_render import BoardRenderer
from mocap.synth.calibration_take import write_video


def facing_pose(cam, board: CharucoBoard, distance: float = 2.0, tilt: float = 0.3):
    """Board pose ``distance`` in front of ``cam``, printed face towards it, tilted about x."""
    center = cam.center + distance * cam.R[2]
    bx, by, bz = cam.R[0], cam.R[1], cam.R[2]  # board axes aligned with the camera's
    c, s = np.cos(tilt), np.sin(tilt)
    R = np.column_stack([bx, c * by + s * bz, -s * by + c * bz])
    half = np.array([board.size_m[0] / 2, board.size_m[1] / 2, 0.0])
    return R, center - R @ half


@pytest.mark.parametrize("board_name,model", [("charuco_7x5_a1", "pinhole"), ("caliscope_4x5_inverted", "pinhole"),
                                              ("charuco_7x5_a1", "fisheye")])
def test_detected_corners_match_projection(board_name, model):
    board = load_board(board_name)
    cam = ring(1, size=(960, 540), focal=800.0, fisheye=(0,) if model == "fisheye" else ())[0]
    renderer = BoardRenderer(board, seed=1)
    det = BoardDetector(board)
    errs = []
    for dist, tilt in [(1.2, 0.0), (1.8, 0.5), (2.5, -0.6)]:
        R, t = facing_pose(cam, board, dist * board.size_m[0] / 0.77, tilt)
        img = renderer.render(cam, R, t, noise_sigma=1.0)
        found = det.detect(img)
        truth = cam.project(board.corners_3d @ R.T + t)
        ok = np.isfinite(found[:, 0])
        assert ok.sum() >= min(6, board.n_corners)
        errs.append(np.linalg.norm(found[ok] - truth[ok], axis=1))
    errs = np.concatenate(errs)
    # Unbiased sub-pixel corners (OpenCV's half-pixel offset removed).
    assert np.median(errs) < 0.2
    assert errs.max() < 1.0


def test_fast_path_matches_full_search():
    board = load_board("charuco_7x5_a1")
    cam = ring(1, size=(960, 540), focal=800.0)[0]
    R, t = facing_pose(cam, board, 2.0, 0.4)
    img = BoardRenderer(board).render(cam, R, t)
    fast = BoardDetector(board, DetectConfig(fast=True)).detect(img)
    full = BoardDetector(board, DetectConfig(fast=False)).detect(img)
    np.testing.assert_allclose(fast, full, atol=5e-3)


def test_parallel_detection_and_mirroring(tmp_path):
    board = load_board("charuco_7x5_a1")
    rig = ring(2, size=(640, 360), focal=500.0)
    renderer = BoardRenderer(board)
    videos = []
    for k, cam in enumerate(rig):
        frames = []
        for tilt in np.linspace(-0.5, 0.5, 6):
            img = renderer.render(cam, *facing_pose(cam, board, 1.8, tilt))
            frames.append(cv2.flip(img, 1) if k == 1 else img)
        frames.append(renderer.background(cam).astype(np.uint8))  # a frame without the board
        videos.append(write_video(tmp_path / f"{cam.name}.avi", frames))
    assert detect_mirroring(videos[0], board) is False
    assert detect_mirroring(videos[1], board) is True
    det = detect_cameras(videos, board, camera_names=rig.names, mirrored=[False, True])
    assert det.corners.shape == (2, 7, board.n_corners, 2)
    counts = det.counts()
    assert (counts[:, :6] >= 20).all() and (counts[:, 6] == 0).all()
    # Un-mirrored corners of camera 1 agree with its (un-mirrored) model.
    R, t = facing_pose(rig[1], board, 1.8, -0.5)
    truth = rig[1].project(board.corners_3d @ R.T + t)
    assert np.nanmedian(np.linalg.norm(det.corners[1, 0] - truth, axis=1)) < 0.5
    back = det.save(tmp_path / "d.npz")
    from mocap.calibration.detect import BoardDetections

    loaded = BoardDetections.load(back)
    np.testing.assert_array_equal(loaded.corners, det.corners)
    assert loaded.camera_names == ("cam0", "cam1")


def test_missing_and_corrupt_videos(tmp_path):
    board = load_board("charuco_7x5_a1")
    with pytest.raises(InputError, match="video not found"):
        detect_cameras([tmp_path / "nope.mp4"], board, camera_names=["a"])
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x01 not a video" * 100)
    with pytest.raises(InputError, match="cannot be decoded") as exc:
        detect_cameras([bad], board, camera_names=["a"])
    assert "bad.mp4" in str(exc.value)
