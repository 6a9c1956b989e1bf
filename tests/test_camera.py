"""Camera model: projection matches OpenCV, undistortion inverts it, rigs round-trip through TOML."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import ring

from mocap.camera import Camera, CameraRig
from mocap.errors import InputError
from mocap.geometry import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    rotation_angle_deg,
)


@pytest.mark.parametrize("model", ["pinhole", "fisheye"])
def test_projection_matches_opencv(model):
    rig = ring(4, fisheye=(0, 1, 2, 3) if model == "fisheye" else ())
    pts = np.random.default_rng(0).normal([0, 0, 1], 0.5, (200, 3))
    for cam in rig:
        rvec = cv2.Rodrigues(cam.R)[0]
        if model == "fisheye":
            ref = cv2.fisheye.projectPoints(pts.reshape(-1, 1, 3), rvec, cam.t, cam.K, cam.dist)[0][:, 0]
        else:
            ref = cv2.projectPoints(pts, rvec, cam.t, cam.K, cam.dist)[0][:, 0]
        np.testing.assert_allclose(cam.project(pts), ref, atol=1e-8)


@pytest.mark.parametrize("model", ["pinhole", "fisheye"])
def test_undistort_inverts_projection(model):
    cam = ring(1, fisheye=(0,) if model == "fisheye" else ())[0]
    pts = np.random.default_rng(1).normal([0, 0, 1], 0.4, (100, 3))
    xc = cam.world_to_camera(pts)
    nrm = cam.undistort_points(cam.project(pts))
    np.testing.assert_allclose(nrm, xc[:, :2] / xc[:, 2:], atol=1e-7)


def test_points_behind_camera_are_nan_and_nan_is_kept():
    cam = ring(1)[0]
    behind = cam.center - 2 * cam.R[2]  # two metres behind, along the optical axis
    assert np.isnan(cam.project(behind[None])).all()
    assert np.isnan(cam.undistort_points(np.array([[np.nan, np.nan], [10.0, 20.0]]))[0]).all()


def test_rig_round_trip_keeps_order_and_values(tmp_path):
    rig = ring(4, fisheye=(2,))
    rig = CameraRig(tuple(c.replace(mirrored=(i == 1)) for i, c in enumerate(reversed(rig.cameras))), {"a": 1})
    path = rig.save(tmp_path / "rig.toml")
    back = CameraRig.load(path)
    assert back.names == rig.names == ["cam3", "cam2", "cam1", "cam0"]
    for a, b in zip(rig, back):
        np.testing.assert_allclose(a.K, b.K)
        np.testing.assert_allclose(a.dist, b.dist)
        np.testing.assert_allclose(a.R, b.R)
        np.testing.assert_allclose(a.t, b.t)
        assert (a.model, a.mirrored, a.size) == (b.model, b.mirrored, b.size)
    assert back.metadata == {"a": 1}
    assert "schema_version = 1" in path.read_text()


def test_transformed_rig_projects_the_same():
    rig = ring(3)
    R = axis_angle_to_matrix(np.array([0.1, -0.3, 0.7]))
    t = np.array([0.5, -1.0, 2.0])
    moved = rig.transformed(R, t)
    pts = np.random.default_rng(2).normal([0, 0, 1], 0.3, (50, 3))
    np.testing.assert_allclose(moved.project(pts @ R.T + t), rig.project(pts), atol=1e-9)


def test_mirrored_pixels():
    cam = Camera("c", (640, 480), np.eye(3), [], mirrored=True)
    np.testing.assert_allclose(cam.from_video_pixels([[0.0, 5.0], [639.0, 7.0]]), [[639.0, 5.0], [0.0, 7.0]])


def test_rodrigues_round_trip():
    r = np.random.default_rng(3).normal(0, 1, (20, 3))
    R = axis_angle_to_matrix(r)
    np.testing.assert_allclose(R @ np.swapaxes(R, 1, 2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(axis_angle_to_matrix(matrix_to_axis_angle(R)), R, atol=1e-10)
    assert rotation_angle_deg(R[:1], axis_angle_to_matrix(np.array([[0.0, 0.0, 1e-3]])) @ R[:1]).item() > 0.05


def test_malformed_rig_file_names_file(tmp_path):
    bad = tmp_path / "rig.toml"
    bad.write_text('schema_version = 1\n[[cameras]]\nname = "a"\nsize = [640, 480]\n')
    with pytest.raises(InputError, match="rig.toml"):
        CameraRig.load(bad)
    bad.write_text("not toml [[[")
    with pytest.raises(InputError, match="not valid TOML"):
        CameraRig.load(bad)
    with pytest.raises(InputError, match="not found"):
        CameraRig.load(tmp_path / "missing.toml")
