"""Error bounds for triangulation: what pixel noise alone implies for 3D accuracy."""

from __future__ import annotations

import numpy as np

from mocap.camera import CameraRig


def triangulation_error_bound(rig: CameraRig, xyz: np.ndarray, sigma_px: float,
                              visible: np.ndarray | None = None) -> np.ndarray:
    """Expected 3D error (RMS, metres) of an unbiased per-frame triangulation: ``(...)``.

    The Cramér-Rao bound for a point seen by the cameras with isotropic Gaussian pixel noise
    ``sigma_px``: ``sqrt(trace((sum_c J_c^T J_c)^-1)) * sigma_px`` with ``J_c`` the ``2x3`` Jacobian of
    camera ``c``'s projection at the point. No per-frame method can beat it on average; temporal
    smoothing can, because it pools frames.

    Args:
        xyz: ``(..., 3)`` true points.
        visible: ``(C, ...)`` bool, the views that observe each point (default all).
    """
    pts = np.asarray(xyz, float).reshape(-1, 3)
    info = np.zeros((len(pts), 3, 3))
    vis = np.ones((len(rig),) + pts.shape[:1], bool) if visible is None else visible.reshape(len(rig), -1)
    h = 1e-6
    for c, cam in enumerate(rig.cameras):
        base = cam.project(pts)
        J = np.stack([(cam.project(pts + h * np.eye(3)[k]) - base) / h for k in range(3)], axis=-1)  # (M, 2, 3)
        J = np.where(vis[c][:, None, None] & np.isfinite(J), J, 0.0)
        info += np.einsum("mki,mkj->mij", J, J)
    with np.errstate(invalid="ignore"):
        cov = np.linalg.pinv(info)
    return (sigma_px * np.sqrt(np.trace(cov, axis1=1, axis2=2))).reshape(np.shape(xyz)[:-1])
