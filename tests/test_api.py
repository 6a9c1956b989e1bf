"""The Python API mirrors the CLI: ``mocap.run(session, config)`` and friends, importable without heavy deps."""
import subprocess
import sys

import numpy as np

import mocap


def test_import_is_light_and_run_is_callable():
    code = ("import sys, mocap; assert callable(mocap.run); from mocap.pipeline import RunConfig; "
            "print(sorted(m for m in ('torch', 'bpy', 'mediapipe', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_export_api_on_arrays(tmp_path):
    from mocap.body import lbs
    from mocap.body.motion import BodyMotion
    from mocap.export.bvh import read_bvh

    model = lbs.load_model()
    betas = np.zeros(10)
    pose = np.zeros((4, 55, 3))
    pose[:, 18, 1] = np.linspace(0, -1.2, 4)                 # bend the left elbow
    motion = BodyMotion.from_full_pose(pose, np.zeros((4, 3)), betas, lbs.rest_joints(model, betas), 30.0)
    path = mocap.export_motion(motion, tmp_path / "take.bvh")
    assert abs(read_bvh(path).frame_time - 1 / 30.0) < 1e-6
    again = mocap.export_motion(motion, tmp_path / "take.npz")
    assert np.allclose(mocap.load_body_motion(again).body_pose, motion.body_pose, atol=1e-6)
