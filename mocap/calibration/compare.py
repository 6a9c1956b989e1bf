"""Compare two camera rigs (e.g. a calibration against ground truth or another tool's result)."""

from __future__ import annotations

import numpy as np

from mocap.camera import CameraRig
from mocap.geometry import rotation_angle_deg


def compare_rigs(rig: CameraRig, truth: CameraRig) -> dict:
    """Per-camera focal (%), principal point (px), centre (mm) and rotation (deg) errors, by camera name."""
    out = {"cameras": {}}
    for cam in rig.cameras:
        ref = truth[cam.name]
        out["cameras"][cam.name] = {
            "focal_error_pct": float(100 * np.max(np.abs(cam.K[[0, 1], [0, 1]] / ref.K[[0, 1], [0, 1]] - 1))),
            "principal_point_error_px": float(np.linalg.norm(cam.K[:2, 2] - ref.K[:2, 2])),
            "center_error_mm": float(1000 * np.linalg.norm(cam.center - ref.center)),
            "rotation_error_deg": float(rotation_angle_deg(cam.R, ref.R)),
        }
    for key in ("focal_error_pct", "principal_point_error_px", "center_error_mm", "rotation_error_deg"):
        out[f"{key}_max"] = max(c[key] for c in out["cameras"].values())
    return out
