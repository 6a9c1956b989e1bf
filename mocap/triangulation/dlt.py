"""Batched, weighted linear (DLT) triangulation: all points solved at once, no Python loop per point."""

from __future__ import annotations

import numpy as np

from mocap.camera import CameraRig


def undistort_views(rig: CameraRig, xy: np.ndarray) -> np.ndarray:
    """Pixels ``(C, ..., 2)`` -> undistorted normalized coordinates ``(C, ..., 2)``; NaN kept."""
    return np.stack([cam.undistort_points(xy[c]) for c, cam in enumerate(rig.cameras)])


def triangulate_dlt(
    rig: CameraRig,
    xy: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    normalized: bool = False,
    min_views: int = 2,
) -> np.ndarray:
    """Triangulate ``xy (C, ..., 2)`` pixel observations into world points ``(..., 3)``.

    Args:
        rig: the ``C`` calibrated cameras.
        xy: observations per camera; NaN where a camera does not see the point.
        weights: optional ``(C, ...)`` non-negative confidence per observation.
        normalized: ``xy`` is already undistorted normalized coordinates.
        min_views: points seen by fewer cameras come out NaN.

    Each row of the DLT system is ``w * (x * P3 - P1)`` with ``P = [R | t]`` in normalized
    coordinates, so the residual is measured in the same units for every camera.
    """
    xy = np.asarray(xy, dtype=float)
    n_cams = xy.shape[0]
    batch = xy.shape[1:-1]
    nrm = xy if normalized else undistort_views(rig, xy)
    nrm = nrm.reshape(n_cams, -1, 2)
    w = np.ones(nrm.shape[:2]) if weights is None else np.asarray(weights, float).reshape(n_cams, -1).copy()
    seen = np.isfinite(nrm).all(axis=-1) & (w > 0)
    w = np.where(seen, w, 0.0)
    nrm = np.where(seen[..., None], nrm, 0.0)
    P = np.stack([np.hstack([c.R, c.t[:, None]]) for c in rig.cameras])  # (C, 3, 4)
    # rows: (C, M, 2, 4)
    rows = nrm[..., :, None] * P[:, None, 2:3, :] - P[:, None, :2, :]
    rows = rows * w[..., None, None]
    A = np.transpose(rows, (1, 0, 2, 3)).reshape(nrm.shape[1], 2 * n_cams, 4)
    # Normalise rows so the smallest singular vector is well conditioned.
    _, _, vt = np.linalg.svd(A.transpose(0, 2, 1) @ A)
    X = vt[:, -1, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        pts = X[:, :3] / X[:, 3:]
    pts[seen.sum(axis=0) < min_views] = np.nan
    return pts.reshape(batch + (3,))
