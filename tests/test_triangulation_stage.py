"""The triangulation stage on a session: files in, smoothed 3D points and exports out."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from conftest import SAMPLE_SESSION

from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.io.points3d_formats import read_points
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.session import Session, Take
from mocap.smoothing.stage import smooth_take
from mocap.triangulation.stage import triangulate_take


def smooth_motion(n_frames=120, fps=30.0, seed=0):
    """A few 'joints' moving smoothly through the capture volume (metres)."""
    t = np.arange(n_frames) / fps
    rng = np.random.default_rng(seed)
    base = rng.normal([0, 0, 1.0], 0.25, (6, 3))
    amp = rng.uniform(0.05, 0.3, (6, 3))
    freq = rng.uniform(0.3, 1.5, (6, 3))
    return base + amp * np.sin(2 * np.pi * freq * t[:, None, None])


@pytest.fixture
def session(tmp_path):
    truth = CameraRig.load(SAMPLE_SESSION / "ground_truth" / "camera_rig.toml")
    s = dataclasses.replace(Session.load(SAMPLE_SESSION), output_dir=tmp_path / "out", takes=(Take("move", ()),))
    truth.save(s.layout.calibration.rig)
    return s, truth


def write_keypoints(session, rig, xyz, noise=2.0, fps=30.0):
    rng = np.random.default_rng(1)
    px = rig.project(xyz) + rng.normal(0, noise, (len(rig),) + xyz.shape[:2] + (2,))
    px = np.stack([cam.to_video_pixels(px[c]) for c, cam in enumerate(rig)])  # cam1's video is mirrored
    names = ("head", "left_hand", "right_hand", "pelvis", "left_foot", "right_foot")
    kp = Keypoints2D(px.astype(np.float32), np.full(px.shape[:3], 0.9, np.float32), "test", names,
                     tuple(rig.names), np.arange(len(xyz)) / fps, fps)
    return kp.save(session.layout.take("move").folder / "keypoints2d.npz")


def test_stage_writes_points_and_exports(session):
    s, rig = session
    xyz = smooth_motion()
    write_keypoints(s, rig, xyz)
    triangulate_take(s, "move")
    result = smooth_take(s, "move")
    raw_err = np.linalg.norm(result.raw.xyz - xyz, axis=-1)
    smooth_err = np.linalg.norm(result.smoothed.xyz - xyz, axis=-1)
    assert np.nanmean(raw_err) < 0.006
    assert np.nanmean(smooth_err) < np.nanmean(raw_err)  # smoothing removes noise on smooth motion
    for fmt in ("trc", "c3d", "csv"):
        back = read_points(result.files[fmt])
        np.testing.assert_allclose(back.xyz, result.smoothed.xyz, atol=2e-4)
        assert back.joint_names == result.smoothed.joint_names


def test_stage_errors(session, tmp_path):
    s, rig = session
    with pytest.raises(InputError, match="mocap detect"):
        triangulate_take(s, "move")
    with pytest.raises(InputError, match="no take named"):
        triangulate_take(s, "nope")
    s.layout.calibration.rig.unlink()
    with pytest.raises(InputError, match="mocap calibrate"):
        triangulate_take(s, "move")


def test_cli_triangulate(tmp_path):
    folder = tmp_path / "sess"
    folder.mkdir()
    truth = CameraRig.load(SAMPLE_SESSION / "ground_truth" / "camera_rig.toml")
    (folder / "session.toml").write_text(
        'board = "charuco_7x5_a1"\n' + "".join(f'[[cameras]]\nname = "{n}"\n' for n in truth.names)
        + '[[takes]]\nname = "move"\n')
    s = Session.load(folder)
    truth.save(s.layout.calibration.rig)
    kp = write_keypoints(s, truth, smooth_motion())
    proc = subprocess.run([sys.executable, "-m", "mocap.cli", "triangulate", folder, "--take", "move"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (s.layout.take("move").folder / "points3d.trc").is_file()
    assert kp.is_file()
    proc = subprocess.run([sys.executable, "-m", "mocap.cli", "triangulate", folder, "--take", "move",
                           "--smoothing-method", "wobbly"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "'wobbly' is not one of 'butterworth'" in proc.stderr
