"""Bad input: a clear message naming the file and the fix, a non-zero exit, and no partial outputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import SAMPLE_SESSION, ring

from mocap.calibration.board import load_board
from mocap.calibration.detect import BoardDetections
from mocap.calibration.pipeline import calibrate_detections
from mocap.errors import MocapError
from mocap.geometry import axis_angle_to_matrix
from mocap.synth.calibration_take import write_video

VIDEOS = [SAMPLE_SESSION / "calibration" / f"cam{k}.mp4" for k in range(4)]


def write_session(folder, videos, board="charuco_7x5_a1", extra=""):
    folder.mkdir(parents=True, exist_ok=True)
    cams = "".join(f'[[cameras]]\nname = "cam{k}"\n' for k in range(len(videos)))
    vids = ", ".join(f'"{v}"' for v in videos)
    (folder / "session.toml").write_text(f'board = "{board}"\n{cams}[calibration]\nvideos = [{vids}]\n{extra}')
    return folder


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mocap.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def assert_failed_cleanly(proc, *fragments, folder=None):
    assert proc.returncode != 0, proc.stdout
    for f in fragments:
        assert f in proc.stderr, proc.stderr
    assert "fix:" in proc.stderr
    if folder is not None:
        out = folder / "output" / "calibration"
        assert not (out / "camera_rig.toml").exists()
        assert not list(folder.rglob("*.part*"))


def test_video_without_board(tmp_path):
    blank = write_video(tmp_path / "blank.avi", [np.full((360, 640), 120, np.uint8)] * 5)
    folder = write_session(tmp_path / "s", [VIDEOS[0], blank])
    proc = run_cli("calibrate", folder)
    assert_failed_cleanly(proc, "blank.avi", "was not found in camera cam1", folder=folder)


def test_wrong_board_definition(tmp_path):
    folder = write_session(tmp_path / "s", VIDEOS[:2], board="sleap_anipose_8x11")
    proc = run_cli("calibrate", folder)
    assert_failed_cleanly(proc, "cam0.mp4", "sleap_anipose_8x11", "matches the printed board", folder=folder)


def test_corrupt_and_missing_video(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(VIDEOS[0].read_bytes()[:2000])
    folder = write_session(tmp_path / "s", [VIDEOS[0], bad])
    assert_failed_cleanly(run_cli("calibrate", folder), "broken.mp4", "cannot be decoded", folder=folder)
    folder2 = write_session(tmp_path / "s2", [VIDEOS[0], tmp_path / "gone.mp4"])
    assert_failed_cleanly(run_cli("calibrate", folder2), "gone.mp4", "video not found", folder=folder2)


def test_malformed_session_and_config(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "session.toml").write_text("board = \n")
    assert_failed_cleanly(run_cli("calibrate", folder), "session.toml", "not valid TOML")
    (folder / "session.toml").write_text('board = "charuco_7x5_a1"\n')
    assert_failed_cleanly(run_cli("calibrate", folder), "session.toml", "no cameras listed")
    write_session(folder, VIDEOS[:2], extra="max_frames_typo = 3\n")
    assert_failed_cleanly(run_cli("calibrate", folder), "session.toml", "unknown setting")
    assert_failed_cleanly(run_cli("calibrate", tmp_path / "nowhere"), "session file not found")


def test_malformed_calibration_file_on_convert(tmp_path):
    bad = tmp_path / "calib.toml"
    bad.write_text('[cam_0]\nname = "a"\nsize = [640, 480]\n')
    proc = run_cli("calib", "convert", bad, tmp_path / "out.toml")
    assert_failed_cleanly(proc, "calib.toml")
    assert not (tmp_path / "out.toml").exists()


def test_cameras_without_overlap():
    """Cameras 0-1 and 2-3 never see the board at the same time: the error names the cut-off cameras."""
    board = load_board("charuco_7x5_a1")
    rig = ring(4)
    rng = np.random.default_rng(0)
    n = 40
    corners = np.full((4, n, board.n_corners, 2), np.nan, np.float32)
    for f in range(n):
        pair = (0, 1) if f < n // 2 else (2, 3)
        look = rig[pair[0]].center + rig[pair[1]].center
        normal = look / np.linalg.norm(look)
        R = axis_angle_to_matrix(rng.normal(0, 0.2, 3)) @ _facing(normal)
        t = np.array([0, 0, 1.0]) + rng.normal(0, 0.2, 3) - R @ np.array([0.38, 0.27, 0])
        pts = board.corners_3d @ R.T + t
        for c in pair:
            corners[c, f] = rig[c].project(pts)
    det = BoardDetections(corners, np.arange(n), tuple(rig.names), np.array([c.size for c in rig]), board.name)
    with pytest.raises(MocapError, match="never see the board at the same time") as exc:
        calibrate_detections(det, board)
    msg = str(exc.value)
    assert ("cam2" in msg and "cam3" in msg) or ("cam0" in msg and "cam1" in msg)


def _facing(normal):
    bz = -normal
    bx = np.cross([0, 0, 1.0], bz)
    bx /= np.linalg.norm(bx)
    return np.column_stack([bx, np.cross(bz, bx), bz])
