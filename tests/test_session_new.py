"""A session from a plain folder of videos (`mocap session new`): takes and cameras from the file names, the
calibration take by name or by its board, clear errors for names it cannot understand; and (slow) the sample
session's videos renamed as a phone user names them give the shipped session's results."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from mocap.calibration.board import load_board
from mocap.errors import InputError
from mocap.projects import new_session
from mocap.session import Session

STUDIO4 = REPO / "sample_sessions" / "studio4"


def video(path: Path, frames: int = 4, size=(320, 240), fps: float = 25.0, board: str | None = None) -> Path:
    """A short video: black, or showing a built-in board."""
    import cv2

    img = np.zeros((size[1], size[0], 3), np.uint8)
    if board is not None:
        art = load_board(board).render(px_per_square=40)
        img[:] = 255
        h, w = art.shape
        y, x = (size[1] - h) // 2, (size[0] - w) // 2
        img[y:y + h, x:x + w] = art[..., None]
    path.parent.mkdir(parents=True, exist_ok=True)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for _ in range(frames):
        out.write(img)
    out.release()
    return path


def test_take_and_camera_in_the_file_names(tmp_path):
    folder = tmp_path / "shoot"
    video(folder / "calib_cam1.avi", board="charuco_7x5_a4")
    video(folder / "Cam 2 - calib.avi", board="charuco_7x5_a4")
    video(folder / "walk_cam1.avi", fps=30.0)
    video(folder / "Walk-CAM2.avi", fps=30.0)
    video(folder / "jump_cam1.avi")
    video(folder / "jump_camera2.avi")   # "camera2" is the same camera as "cam2"? No: another word, another camera
    with pytest.raises(InputError, match="no video for camera") as info:
        new_session(folder)
    assert "take jump: cam1 = jump_cam1.avi, camera2 = jump_camera2.avi" in info.value.fix  # what it understood
    (folder / "jump_camera2.avi").rename(folder / "jump_cam2.avi")
    (folder / "Walk-CAM2.avi").rename(folder / "walk-CAM2.avi")
    draft = new_session(folder)
    assert draft.cameras == ["cam1", "cam2"]
    assert [t.name for t in draft.takes] == ["jump", "walk"]
    assert [v.name for v in draft.takes[1].videos] == ["walk_cam1.avi", "walk-CAM2.avi"]
    assert [v.name for v in draft.calibration_videos] == ["calib_cam1.avi", "Cam 2 - calib.avi"]
    assert draft.board == "charuco_7x5_a1"  # the 7x5 pattern: the first of the boards that show it
    path = draft.write(folder)
    s = Session.load(folder)
    assert s.camera_names == ["cam1", "cam2"] and [t.name for t in s.takes] == ["jump", "walk"]
    assert s.calibration_videos[1] == folder / "Cam 2 - calib.avi"
    text = path.read_text()
    assert "cam1: walk_cam1.avi: 320x240, 30 fps, 4 frames" in text            # fps, size and length
    assert "calibration take: 'calib' (by its name)" in text
    assert "charuco_7x5_a4" in text and "cannot tell" in text                   # a board the video cannot size
    assert all(c["mirrored"] == "auto" for c in tomllib.loads(text)["cameras"])


def test_one_subfolder_per_take_and_a_board_found_by_detection(tmp_path):
    folder = tmp_path / "shoot"
    for cam in ("left", "right"):
        video(folder / "take1" / f"{cam}.avi", board="charuco_7x5_a4")   # not named a calibration take
        video(folder / "take2" / f"{cam}.avi")
    draft = new_session(folder, board="charuco_7x5_a4")
    assert draft.cameras == ["left", "right"] and draft.board == "charuco_7x5_a4"
    assert [v.parent.name for v in draft.calibration_videos] == ["take1", "take1"]
    assert [t.name for t in draft.takes] == ["take2"]
    out = tmp_path / "session"
    draft.write(out)
    s = Session.load(out)
    assert s.takes[0].videos[0] == out / ".." / "shoot" / "take2" / "left.avi"


def test_trailing_numbers_and_no_calibration_take(tmp_path):
    folder = tmp_path / "shoot"
    for take in ("walk", "run"):
        for cam in (1, 2, 3):
            video(folder / f"{take}_{cam}.avi")
    draft = new_session(folder)
    assert draft.cameras == ["cam1", "cam2", "cam3"] and [t.name for t in draft.takes] == ["run", "walk"]
    assert draft.board is None and draft.calibration_videos is None
    draft.write(folder)
    text = (folder / "session.toml").read_text()
    assert "NO CALIBRATION TAKE FOUND" in text and '# rig = "' in text
    with pytest.raises(InputError, match="no board given") as info:   # mocap run says what to add
        Session.load(folder)
    assert "rig" in info.value.fix


def test_names_it_cannot_understand_are_errors_that_show_what_it_understood(tmp_path):
    folder = tmp_path / "a"
    video(folder / "walk_cam1.avi")
    video(folder / "walk_cam2.avi")
    video(folder / "walk.avi")
    with pytest.raises(InputError, match="walk.avi: no camera names") as info:
        new_session(folder)
    assert "walk_cam1.avi: camera cam1" in info.value.fix and "walk.avi: 0 camera names" in info.value.fix
    folder = tmp_path / "b"
    video(folder / "walk_cam1_cam2.avi")
    video(folder / "walk_cam2.avi")
    with pytest.raises(InputError, match="several camera names"):
        new_session(folder)
    folder = tmp_path / "c"
    video(folder / "walk_cam1.avi")
    video(folder / "walk cam1.avi")
    with pytest.raises(InputError, match="two videos for camera 'cam1'"):
        new_session(folder)
    folder = tmp_path / "d"
    video(folder / "x.avi")
    video(folder / "sub" / "cam1.avi")
    with pytest.raises(InputError, match="both in the folder"):
        new_session(folder)
    folder = tmp_path / "e"
    folder.mkdir()
    with pytest.raises(InputError, match="no videos"):
        new_session(folder)
    proc = subprocess.run([sys.executable, "-m", "mocap.cli", "session", "new", str(tmp_path / "a")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert not (tmp_path / "a" / "session.toml").exists()


@pytest.mark.slow
def test_phone_named_videos_of_the_sample_session_give_its_results(tmp_path):
    """Must show (issue 16): `mocap session new` on the sample session's videos renamed as a phone user names them
    makes a session whose `mocap run` matches the shipped session's results."""
    from mocap.body.motion import BodyMotion
    from mocap.camera import CameraRig
    from mocap.triangulation.points import Points3D

    phone = tmp_path / "my recordings"
    for k in range(4):  # cam0..cam3 -> "Calibration - Phone 1.mp4" ... "Dance phone4.MP4"
        shutil.copy(STUDIO4 / "calibration" / f"cam{k}.mp4", phone / f"Calibration - Phone {k + 1}.mp4"
                    if phone.is_dir() else _mkdir(phone) / f"Calibration - Phone {k + 1}.mp4")
        shutil.copy(STUDIO4 / "takes" / "demo" / f"cam{k}.mp4", phone / f"Dance phone{k + 1}.MP4")
    cli = [sys.executable, "-m", "mocap.cli"]
    proc = subprocess.run([*cli, "session", "new", str(phone), "--board", str(STUDIO4 / "board.toml")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    s = Session.load(phone)
    assert s.camera_names == ["phone1", "phone2", "phone3", "phone4"] and [t.name for t in s.takes] == ["Dance"]
    ours, shipped = tmp_path / "ours", tmp_path / "shipped"
    for folder, out in ((phone, ours), (STUDIO4, shipped)):
        proc = subprocess.run([*cli, "run", str(folder), "-o", str(out)], capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    rig_a, rig_b = CameraRig.load(ours / "calibration" / "camera_rig.toml"), \
        CameraRig.load(shipped / "calibration" / "camera_rig.toml")
    assert [c.mirrored for c in rig_a] == [c.mirrored for c in rig_b] == [False] * 4  # "auto" found them unmirrored
    for a, b in zip(rig_a, rig_b):
        np.testing.assert_allclose(a.K, b.K, rtol=1e-6)
        np.testing.assert_allclose(a.center, b.center, atol=1e-6)
    pa = Points3D.load(ours / "takes" / "Dance" / "points3d.npz")
    pb = Points3D.load(shipped / "takes" / "demo" / "points3d.npz")
    np.testing.assert_allclose(pa.xyz, pb.xyz, atol=1e-5)
    ma = BodyMotion.load(ours / "takes" / "Dance" / "body_motion.npz")
    mb = BodyMotion.load(shipped / "takes" / "demo" / "body_motion.npz")
    np.testing.assert_allclose(ma.transl, mb.transl, atol=1e-4)
    np.testing.assert_allclose(ma.body_pose, mb.body_pose, atol=1e-3)
    np.testing.assert_allclose(ma.betas, mb.betas, atol=1e-4)
    assert sorted(p.suffix for p in (ours / "takes" / "Dance" / "export").iterdir()) == [".bvh", ".fbx", ".glb"]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
