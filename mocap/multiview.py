"""Linear multi-view geometry on a calibrated rig: batched, weighted DLT triangulation (no Python loop per
point). Used by calibration (board checks) and by the triangulation stage."""

from __future__ import annotations

import numpy as np

from mocap.camera import CameraRig


def undistort_views(rig: CameraRig, xy: np.ndarray) -> np.ndarray:
    """Pixels ``(C, ..., 2)`` -> undistorted normalized coordinates ``(C, ..., 2)``; NaN kept."""
    return np.stack([cam.undistort_points(xy[c]) for c, cam in enumerate(rig.cameras)])


def projection_rows(rig: CameraRig, nrm: np.ndarray) -> np.ndarray:
    """DLT rows ``(C, M, 2, 4)`` from normalized coordinates ``nrm (C, M, 2)`` (NaN -> 0).

    Each row is ``x * P3 - P1`` (and ``y * P3 - P2``) with ``P = [R | t]``, so residuals are measured
    in the same (normalized) units for every camera.
    """
    P = np.stack([np.hstack([c.R, c.t[:, None]]) for c in rig.cameras])  # (C, 3, 4)
    nrm = np.nan_to_num(nrm)
    return nrm[..., :, None] * P[:, None, 2:3, :] - P[:, None, :2, :]


def solve_dlt(rows: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted linear triangulation: ``rows (C, M, 2, 4)``, ``w (C, M)`` -> points ``(M, 3)``.

    Minimises ``|A [X; 1]|^2`` (the DLT rows, weighted) with the homogeneous coordinate fixed to 1,
    which is a 3x3 linear solve per point (batched) instead of an eigen decomposition; points seen
    by fewer than two views come out NaN.
    """
    n_cams, m = w.shape
    A = (rows * w[..., None, None]).transpose(1, 0, 2, 3).reshape(m, 2 * n_cams, 4)
    AtA = np.matmul(A.transpose(0, 2, 1), A)  # (M, 4, 4)
    X = np.full((m, 3), np.nan)
    ok = (w > 0).sum(axis=0) >= 2
    if ok.any():
        H = AtA[ok, :3, :3]
        g = AtA[ok, :3, 3]
        good = np.abs(np.linalg.det(H)) > 1e-12 * np.abs(H).max(axis=(1, 2)) ** 3
        sol = np.full(g.shape, np.nan)
        sol[good] = np.linalg.solve(H[good], -g[good][..., None])[..., 0]
        X[ok] = sol
    return X


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
    """
    xy = np.asarray(xy, dtype=float)
    n_cams = xy.shape[0]
    batch = xy.shape[1:-1]
    nrm = (xy if normalized else undistort_views(rig, xy)).reshape(n_cams, -1, 2)
    w = np.ones(nrm.shape[:2]) if weights is None else np.asarray(weights, float).reshape(n_cams, -1)
    w = np.where(np.isfinite(nrm).all(axis=-1) & (w > 0), w, 0.0)
    pts = solve_dlt(projection_rows(rig, nrm), w)
    pts[(w > 0).sum(axis=0) < min_views] = np.nan
    return pts.reshape(batch + (3,))
