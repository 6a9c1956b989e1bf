"""Overlay videos: detected keypoints and reprojected 3D points drawn on each camera's frames."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
from conftest import SAMPLE_SESSION

from mocap.camera import CameraRig
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.pipeline import overlay_take
from mocap.session import Session, Take
from mocap.triangulation.points import Points3D


def test_overlay_take(tmp_path):
    rig = CameraRig.load(SAMPLE_SESSION / "ground_truth" / "camera_rig.toml")
    base = Session.load(SAMPLE_SESSION)
    session = dataclasses.replace(base, output_dir=tmp_path, takes=(Take("t", base.calibration_videos[:2]),))
    session = dataclasses.replace(session, cameras=session.cameras[:2])
    rig2 = rig.subset(session.camera_names)
    rig2.save(session.layout.calibration.rig)
    n = 20
    xyz = np.tile(np.array([[0.0, 0.0, 1.0], [0.3, 0.0, 1.2]]), (n, 1, 1))
    px = np.stack([cam.to_video_pixels(cam.project(xyz)) for cam in rig2])
    kp = Keypoints2D(px.astype(np.float32), np.ones(px.shape[:3], np.float32), "custom", ("a", "b"),
                     tuple(rig2.names), np.arange(n) / 30.0, 30.0)
    kp.save(session.layout.take("t").folder / "keypoints2d.npz")
    Points3D(xyz, np.zeros((n, 2)), np.full((n, 2), 2), ("a", "b"), 30.0).save(session.layout.take("t").folder / "points3d.npz")
    paths = overlay_take(session, "t")
    assert [p.name for p in paths] == ["cam0.mp4", "cam1.mp4"]
    for c, p in enumerate(paths):
        cap = cv2.VideoCapture(str(p))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) > n
        ok, img = cap.read()
        x, y = np.round(px[c, 0, 0]).astype(int)
        b, g, r = img[y, x].astype(int)
        assert r > 150 and g < 150 and b > 150  # the magenta reprojection is drawn on the green detection
