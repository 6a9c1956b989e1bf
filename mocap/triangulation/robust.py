"""Robust multi-view triangulation of keypoints, vectorized over all frames and joints.

1. Undistort every observation with its camera's model (pinhole or fisheye).
2. Confidence-weighted DLT for all points at once (a 4x4 eigenproblem per point, batched).
3. While a point's largest reprojection error exceeds the threshold and more than ``min_views``
   views remain, drop the view whose removal leaves the best-agreeing set (leave-one-out over the
   C views, all such points in parallel, at most C-2 rounds).
4. Per camera and frame, detect left/right swaps: a view whose left and right keypoints fit the 3D
   much better exchanged is corrected, and the points are triangulated again.
5. Optionally refine each point by Gauss-Newton on the weighted reprojection error.

Errors are measured in the undistorted image (normalized coordinates scaled by the focal length),
so distortion is applied once, when the observations are undistorted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import MocapError
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.multiview import projection_rows, solve_dlt
from mocap.triangulation.points import Points3D

POINT_CHUNK = 10_000


@dataclass(frozen=True)
class TriangulateConfig:
    """Settings for ``mocap triangulate``."""

    min_confidence: float = 0.3
    """Observations below this detector confidence are ignored."""
    max_reprojection_px: float = 12.0
    """A view whose reprojection error exceeds this is rejected (down to ``min_views`` views)."""
    min_views: int = 2
    """Points seen by fewer good views are NaN."""
    fix_swaps: bool = True
    """Detect and correct left/right swaps per camera and frame (needs ``swap_pairs``)."""
    refine: bool = False
    """Gauss-Newton refinement of each point on the reprojection error after the weighted DLT (a
    small gain, about 1 % lower error, for about twice the time)."""
    refine_iterations: int = 3
    """Gauss-Newton iterations."""
    marker_names: Literal["opensim", "native"] = "opensim"
    """Marker names in points3d.trc: "opensim" (the OpenSim / Pose2Sim marker set of BODY_25, BODY_25B,
    HALPE_26, COCO-17 and BlazePose keypoints, e.g. RHip, Neck, LBigToe, ready for OpenSim scaling and IK; see
    mocap.keypoints2d.markers) or "native" (every keypoint under the detector's own name)."""


# --------------------------------------------------------------------------------------------------
# Pure math
# --------------------------------------------------------------------------------------------------


def _normalized_projection(rig: CameraRig, X: np.ndarray):
    """Undistorted normalized projections ``(C, M, 2)`` and camera-frame points ``(C, M, 3)``."""
    R = np.stack([c.R for c in rig.cameras])
    t = np.stack([c.t for c in rig.cameras])
    Xc = np.einsum("cij,mj->cmi", R, X) + t[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return Xc[..., :2] / Xc[..., 2:], Xc


def _focal(rig: CameraRig) -> np.ndarray:
    return np.array([0.5 * (c.K[0, 0] + c.K[1, 1]) for c in rig.cameras])


def reprojection_errors(rig: CameraRig, X: np.ndarray, nrm: np.ndarray) -> np.ndarray:
    """Reprojection error ``(C, M)`` in pixels of ``X (M, 3)`` against undistorted normalized
    observations ``nrm (C, M, 2)`` (distance in the undistorted image, scaled by the focal length;
    equal to the pixel error up to the local lens distortion)."""
    proj, _ = _normalized_projection(rig, X)
    return np.linalg.norm(proj - nrm, axis=-1) * _focal(rig)[:, None]


def refine_points(rig: CameraRig, X: np.ndarray, nrm: np.ndarray, w: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Gauss-Newton on ``sum_c w_c^2 f_c^2 |pi(R_c X + t_c) - nrm_c|^2`` for every point at once.

    ``X (M, 3)``, ``nrm (C, M, 2)`` undistorted normalized observations, ``w (C, M)``; analytic
    Jacobians; points with NaN stay NaN.
    """
    X = X.copy()
    ok = np.isfinite(X).all(axis=1)
    R = np.stack([c.R for c in rig.cameras])
    wf = w * _focal(rig)[:, None]
    obs = np.nan_to_num(nrm)
    for _ in range(iterations):
        proj, Xc = _normalized_projection(rig, X)
        z = np.where(np.abs(Xc[..., 2]) > 1e-9, Xc[..., 2], 1e-9)
        r = (proj - obs) * wf[..., None]  # (C, M, 2)
        # d(x/z, y/z)/dXc, then chain through R: (C, M, 2, 3)
        dproj = np.zeros(Xc.shape[:2] + (2, 3))
        dproj[..., 0, 0] = 1 / z
        dproj[..., 1, 1] = 1 / z
        dproj[..., 0, 2] = -Xc[..., 0] / z**2
        dproj[..., 1, 2] = -Xc[..., 1] / z**2
        J = np.einsum("cmkj,cji->cmki", dproj, R) * wf[..., None, None]
        J = np.nan_to_num(J)
        r = np.nan_to_num(r)
        JtJ = np.einsum("cmki,cmkj->mij", J, J) + 1e-12 * np.eye(3)
        Jtr = np.einsum("cmki,cmk->mi", J, r)
        X[ok] -= np.linalg.solve(JtJ[ok], Jtr[ok][..., None])[..., 0]
    return X


def triangulate_views(
    rig: CameraRig,
    px: np.ndarray,
    conf: np.ndarray | None = None,
    config: TriangulateConfig = TriangulateConfig(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robustly triangulate model-pixel observations ``px (C, ..., 2)``.

    Returns ``xyz (..., 3)``, mean reprojection error ``(...)`` (pixels) and the views used
    ``(C, ...)`` bool.
    """
    n_cams = px.shape[0]
    batch = px.shape[1:-1]
    px = px.reshape(n_cams, -1, 2).astype(float)
    conf = np.ones(px.shape[:2]) if conf is None else np.asarray(conf, float).reshape(n_cams, -1)
    # Work through the points in cache-sized chunks: time stays linear and memory flat in their number.
    X, mean_err, used = np.empty((px.shape[1], 3)), np.empty(px.shape[1]), np.empty(px.shape[:2], bool)
    for a in range(0, px.shape[1], POINT_CHUNK):
        b = a + POINT_CHUNK
        X[a:b], mean_err[a:b], used[:, a:b] = _triangulate_flat(rig, px[:, a:b], conf[:, a:b], config)
    return X.reshape(batch + (3,)), mean_err.reshape(batch), used.reshape((n_cams,) + batch)


def _triangulate_flat(rig: CameraRig, px: np.ndarray, conf: np.ndarray, config: TriangulateConfig):
    n_cams = px.shape[0]
    w = np.where(np.isfinite(px).all(-1) & (np.nan_to_num(conf) >= config.min_confidence), np.nan_to_num(conf), 0.0)
    nrm = np.stack([cam.undistort_points(px[c]) for c, cam in enumerate(rig.cameras)])
    w = np.where(np.isfinite(nrm).all(-1), w, 0.0)
    rows = projection_rows(rig, nrm)
    X = solve_dlt(rows, w)
    for _ in range(max(0, n_cams - config.min_views)):
        err = np.where(w > 0, reprojection_errors(rig, X, nrm), -1.0)
        bad = (err.max(axis=0) > config.max_reprojection_px) & ((w > 0).sum(axis=0) > config.min_views)
        if not bad.any():
            break
        # Leave-one-out: drop the view whose removal leaves the best-agreeing set (the view with the
        # largest error is not always the wrong one: a wrong view pulls the solution towards itself).
        wb, best_score = w[:, bad], np.full(bad.sum(), np.inf)
        best_view = np.zeros(bad.sum(), int)
        for k in range(n_cams):
            wk = wb.copy()
            wk[k] = 0.0
            Xk = solve_dlt(rows[:, bad], wk)
            ek = np.where(wk > 0, reprojection_errors(rig, Xk, nrm[:, bad]), 0.0).max(axis=0)
            better = (wb[k] > 0) & (ek < best_score)
            best_score[better], best_view[better] = ek[better], k
        idx = np.flatnonzero(bad)
        w[best_view, idx] = 0.0
        X[bad] = solve_dlt(rows[:, bad], w[:, bad])
    if config.refine:
        X = refine_points(rig, X, nrm, np.sqrt(w), config.refine_iterations)
    used = w > 0
    err = reprojection_errors(rig, X, nrm)
    n_used = used.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_err = np.where(used, err, 0.0).sum(axis=0) / n_used
    lost = (n_used < config.min_views) | ~(mean_err <= config.max_reprojection_px)
    X[lost] = np.nan
    mean_err[lost] = np.nan
    used[:, lost] = False
    return X, mean_err, used


def detect_swaps(rig: CameraRig, X: np.ndarray, px: np.ndarray, pairs: np.ndarray,
                 min_error_px: float = 10.0) -> np.ndarray:
    """Views whose left/right labels are exchanged: ``(C, F)`` bool.

    Args:
        X: ``(F, J, 3)`` current 3D estimate (from the views that agree).
        px: ``(C, F, J, 2)`` model pixels.
        pairs: ``(P, 2)`` joint indices of left/right counterparts.

    A view is swapped when exchanging its left and right keypoints reduces its reprojection error
    over all pairs by more than half and the unswapped error is clearly wrong (> ``min_error_px``).
    """
    proj = rig.project(X)  # (C, F, J, 2)
    left, right = pairs[:, 0], pairs[:, 1]
    e_keep = np.linalg.norm(proj[:, :, left] - px[:, :, left], axis=-1) + np.linalg.norm(
        proj[:, :, right] - px[:, :, right], axis=-1)
    e_swap = np.linalg.norm(proj[:, :, left] - px[:, :, right], axis=-1) + np.linalg.norm(
        proj[:, :, right] - px[:, :, left], axis=-1)
    valid = np.isfinite(e_keep) & np.isfinite(e_swap)
    keep = np.where(valid, e_keep, 0).sum(-1)
    swap = np.where(valid, e_swap, 0).sum(-1)
    n = np.maximum(valid.sum(-1), 1)
    return (swap < 0.5 * keep) & (keep / (2 * n) > min_error_px)


def swap_views(px: np.ndarray, conf: np.ndarray, swaps: np.ndarray, pairs: np.ndarray):
    """Exchange left/right keypoints in the views flagged by ``swaps (C, F)``."""
    px, conf = px.copy(), conf.copy()
    c, f = np.nonzero(swaps)
    for a, b in pairs:
        px[c, f, a], px[c, f, b] = px[c, f, b].copy(), px[c, f, a].copy()
        conf[c, f, a], conf[c, f, b] = conf[c, f, b].copy(), conf[c, f, a].copy()
    return px, conf


def triangulate_keypoints(
    rig: CameraRig,
    keypoints: Keypoints2D,
    config: TriangulateConfig = TriangulateConfig(),
    *,
    swap_pairs: np.ndarray | None = None,
    chunk_frames: int = 2000,
) -> Points3D:
    """Triangulate a take's 2D keypoints with a calibrated rig (cameras matched by name).

    ``swap_pairs (P, 2)`` are the left/right joint index pairs of the keypoint set, used to detect
    and fix per-view left/right swaps. Frames are processed in chunks of ``chunk_frames`` so memory
    stays flat however long the take is.
    """
    missing = [n for n in keypoints.camera_names if n not in rig.names]
    if missing:
        raise MocapError(f"cameras {missing} of the keypoints are not in the calibration ({rig.names})",
                         fix="calibrate those cameras, or detect keypoints with the session's camera names")
    if keypoints.n_cameras < 2:
        raise MocapError("triangulation needs at least two cameras; the keypoints have one",
                         fix="record the take with two or more calibrated cameras")
    rig = rig.subset(keypoints.camera_names)
    n_frames, n_joints = keypoints.n_frames, len(keypoints.joint_names)
    xyz = np.full((n_frames, n_joints, 3), np.nan)
    err = np.full((n_frames, n_joints), np.nan)
    n_views = np.zeros((n_frames, n_joints), np.int16)
    swaps = np.zeros((keypoints.n_cameras, n_frames), bool)
    for a in range(0, n_frames, chunk_frames):
        b = min(a + chunk_frames, n_frames)
        px = np.stack([cam.from_video_pixels(keypoints.xy[c, a:b]) for c, cam in enumerate(rig.cameras)])
        conf = np.nan_to_num(keypoints.conf[:, a:b])
        X, e, used = triangulate_views(rig, px, conf, config)
        if config.fix_swaps and swap_pairs is not None and len(swap_pairs):
            sw = detect_swaps(rig, X, px, np.asarray(swap_pairs))
            if sw.any():
                px, conf = swap_views(px, conf, sw, np.asarray(swap_pairs))
                X, e, used = triangulate_views(rig, px, conf, config)
            swaps[:, a:b] = sw
        xyz[a:b], err[a:b], n_views[a:b] = X, e, used.sum(axis=0)
    return Points3D(xyz, err, n_views, keypoints.joint_names, keypoints.fps, swaps, keypoints.keypoint_set,
                    keypoints.timestamps)
