"""Robust multi-view triangulation of keypoints, vectorized over all frames and joints.

1. Undistort every observation with its camera's model (pinhole or fisheye).
2. Confidence-weighted DLT for all points at once (a 4x4 eigenproblem per point, batched).
3. While a point's largest reprojection error exceeds its view's threshold and more than ``min_views``
   views remain, drop the view whose removal leaves the best-agreeing set (leave-one-out over the
   C views, all such points in parallel, at most C-2 rounds).
4. Per camera and frame, detect left/right swaps: a view whose left and right keypoints fit the 3D
   much better exchanged is corrected, and the points are triangulated again.
5. Optionally refine each point by Gauss-Newton on the weighted reprojection error.

The threshold of step 3 scales with the data (``rejection = "adaptive"``, :func:`view_thresholds`): a
view's error is compared with the take's own typical error, relative to the size of the person in that
view and frame (a top-down detector such as BlazePose works on a crop of the person, so its pixel noise
grows with the person's size in the image). Views that agree as well as the take's views usually do are
never dropped, at 640x480 or 1080x1920, for a person 200 or 1500 pixels tall; a view that is wrong by many
times that (another person, swapped limbs, a frozen track, a gross error) is. ``rejection = "fixed"`` keeps
the former fixed pixel threshold, ``"none"`` drops nothing (a plain weighted DLT).

Errors are measured in the undistorted image (normalized coordinates scaled by the focal length),
so distortion is applied once, when the observations are undistorted.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import MocapError
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.multiview import projection_rows, solve_dlt
from mocap.triangulation.points import Points3D

POINT_CHUNK = 10_000
FIRST_PASS_SHARE = 0.05
"""Adaptive rejection first drops views wrong by more than this share of the person's size in the image (the
diagonal of the keypoints' bounding box) before it measures the take's typical error from the views left."""
SCALE_SAMPLE = 20_000
"""The take's typical error is measured on at most this many points, spread evenly over it."""
SWAP_MIN_ERROR = 0.5
"""With adaptive rejection, a view's left/right swap is looked for only when its error is above this share of its
rejection threshold (the fixed rule used 10 pixels)."""


@dataclass(frozen=True)
class TriangulateConfig:
    """Settings for ``mocap triangulate``."""

    min_confidence: float = 0.3
    """Observations below this detector confidence are ignored."""
    rejection: Literal["adaptive", "fixed", "none"] = "adaptive"
    """How a view is found to disagree with the others (it is then dropped, leave-one-out, down to ``min_views``
    views): "adaptive" (its reprojection error exceeds ``outlier_factor`` times the take's typical error for a
    person of that size in that image: suits any resolution and person size), "fixed" (it exceeds
    ``max_reprojection_px``: the rule before, tuned on 640x480 renders) or "none" (nothing dropped: a plain
    confidence-weighted DLT over every view, as Pose2Sim and FreeMoCap triangulate)."""
    outlier_factor: float = 5.0
    """With rejection "adaptive": a view is dropped when its reprojection error exceeds this many times the
    median error of the take's views (errors taken relative to the person's size in each view and frame)."""
    min_threshold_px: float = 3.0
    """With rejection "adaptive": the threshold never goes below this many pixels (views that agree to a few
    pixels are never told apart)."""
    max_reprojection_px: float = 12.0
    """With rejection "fixed": a view whose reprojection error exceeds this many pixels is rejected."""
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


def residual_dof_factor(n_views: np.ndarray) -> np.ndarray:
    """Expected reprojection error of a view after fitting a point to ``n_views`` views, relative to the view's own
    2D error: ``sqrt((2n - 3) / 2n)`` (2n equations, 3 unknowns: 0.5 for two views, 0.79 for four); 1 below two."""
    n = np.asarray(n_views, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 2, np.sqrt(np.clip((2 * n - 3) / (2 * n), 0.0, None)), 1.0)


def person_size(px: np.ndarray, valid: np.ndarray, window: int = 31) -> np.ndarray:
    """The size of the person in each view and frame: ``(C, F)`` pixels, NaN where it cannot be told.

    The diagonal of the bounding box of the view's valid keypoints ``px (C, F, J, 2)`` (``valid (C, F, J)``),
    then a running median over ``window`` frames, so that one wrong keypoint or one frame where part of the
    body is missing hardly changes it.
    """
    xs = np.where(valid[..., None], px, np.nan)
    enough = valid.sum(axis=-1) >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without keypoints: NaN
        extent = np.nanmax(xs, axis=2) - np.nanmin(xs, axis=2)  # (C, F, 2)
        size = np.where(enough, np.hypot(extent[..., 0], extent[..., 1]), np.nan)
        size[size <= 0] = np.nan
        half = max(0, int(window) // 2)
        if half and size.shape[1] > 1:
            padded = np.pad(size, ((0, 0), (half, half)), constant_values=np.nan)
            size = np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=1), axis=-1)
    return size


def _observation_size(px: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(C, ...)`` person size for every observation of ``px (C, ..., 2)`` (the last batch axis is the keypoints,
    the others frames); 1 everywhere when there is no keypoint axis or no size can be told (pixel units)."""
    n_cams, batch = px.shape[0], px.shape[1:-1]
    if len(batch) < 2:
        return np.ones((n_cams,) + batch)
    size = person_size(px.reshape(n_cams, -1, batch[-1], 2), valid.reshape(n_cams, -1, batch[-1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fallback = np.nanmedian(size, axis=1, keepdims=True)  # a camera's typical size where a frame has none
        size = np.where(np.isfinite(size), size, fallback)
        size = np.where(np.isfinite(size), size, np.nanmedian(size) if np.isfinite(size).any() else np.nan)
    if not np.isfinite(size).all():
        return np.ones((n_cams,) + batch)
    return np.broadcast_to(size[..., None], (n_cams, size.shape[1], batch[-1])).reshape((n_cams,) + batch)


def _observations(rig: CameraRig, px: np.ndarray, conf: np.ndarray, config: TriangulateConfig):
    """Undistorted normalized observations ``(C, M, 2)`` and their weights ``(C, M)`` (0: not used)."""
    nrm = np.stack([cam.undistort_points(px[c]) for c, cam in enumerate(rig.cameras)])
    ok = np.isfinite(px).all(-1) & np.isfinite(nrm).all(-1) & (np.nan_to_num(conf) >= config.min_confidence)
    return nrm, np.where(ok, np.nan_to_num(conf), 0.0)


def view_thresholds(rig: CameraRig, px: np.ndarray, conf: np.ndarray | None = None,
                    config: TriangulateConfig = TriangulateConfig()) -> np.ndarray:
    """The reprojection error beyond which each observation's view counts as wrong: ``(C, ...)`` pixels for
    model-pixel observations ``px (C, ..., 2)`` (``(C, F, J, 2)``: frames and keypoints).

    "adaptive": every point is triangulated, leave-one-out, dropping views wrong by more than
    ``FIRST_PASS_SHARE`` of the person's size (so that a camera that follows another person most of the time
    cannot pass for a noisy one); each kept view's error is divided by the size of the person in that view and
    frame (:func:`person_size`) and by :func:`residual_dof_factor`; the take's scale is the median of those
    relative errors. The threshold is ``outlier_factor`` times that scale times the person's size there, and at
    least ``min_threshold_px``.
    "fixed": ``max_reprojection_px`` everywhere; "none": infinite.
    """
    px = np.asarray(px, float)
    conf = np.ones(px.shape[:-1]) if conf is None else np.asarray(conf, float).reshape(px.shape[:-1])
    n_cams = px.shape[0]
    nrm, w = _observations(rig, px.reshape(n_cams, -1, 2), conf.reshape(n_cams, -1), config)
    return _thresholds(rig, px, nrm, w, config).reshape(px.shape[:-1])


def _thresholds(rig: CameraRig, px: np.ndarray, nrm: np.ndarray, w: np.ndarray, config: TriangulateConfig):
    """:func:`view_thresholds` on observations already undistorted: ``nrm (C, M, 2)``, ``w (C, M)`` -> ``(C, M)``."""
    if config.rejection != "adaptive":
        return np.full(w.shape, float(config.max_reprojection_px if config.rejection == "fixed" else np.inf))
    n_cams, batch = px.shape[0], px.shape[1:-1]
    size = _observation_size(px, (w > 0).reshape((n_cams,) + batch)).reshape(n_cams, -1)
    # First pass: drop what is wrong by a large share of the person's size (another person, a frozen track), so
    # that a camera that is wrong most of the time does not set the scale; then the scale from what is left.
    first = np.maximum(FIRST_PASS_SHARE * size, config.min_threshold_px)
    sample = np.arange(0, w.shape[1], max(1, -(-w.shape[1] // SCALE_SAMPLE)))  # a median needs no more points
    relative = np.full((n_cams, len(sample)), np.nan)
    for a in range(0, len(sample), POINT_CHUNK):
        idx = sample[a:a + POINT_CHUNK]
        X, _, used = _triangulate_flat(rig, nrm[:, idx], w[:, idx].copy(), first[:, idx], config)
        err = reprojection_errors(rig, X, nrm[:, idx]) / (size[:, idx] * residual_dof_factor(used.sum(axis=0)))
        relative[:, a:a + POINT_CHUNK] = np.where(used, err, np.nan)
    scale = float(np.nanmedian(relative)) if np.isfinite(relative).any() else 0.0
    return np.maximum(config.outlier_factor * scale * size, config.min_threshold_px)


def triangulate_views(
    rig: CameraRig,
    px: np.ndarray,
    conf: np.ndarray | None = None,
    config: TriangulateConfig = TriangulateConfig(),
    *,
    thresholds: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robustly triangulate model-pixel observations ``px (C, ..., 2)`` (e.g. ``(C, F, J, 2)``).

    Any set of 2D keypoints can go in: frames and keypoints on the batch axes (the last batch axis is the
    keypoints of one person, which sets the person's size per view and frame for the adaptive rejection).
    ``thresholds (C, ...)`` pixels overrides :func:`view_thresholds` (computed from ``px`` by default).

    Returns ``xyz (..., 3)``, mean reprojection error ``(...)`` (pixels) and the views used
    ``(C, ...)`` bool.
    """
    px = np.asarray(px, float)
    n_cams, batch = px.shape[0], px.shape[1:-1]
    conf = np.ones(px.shape[:-1]) if conf is None else np.asarray(conf, float).reshape(px.shape[:-1])
    nrm, w = _observations(rig, px.reshape(n_cams, -1, 2), conf.reshape(n_cams, -1), config)
    if thresholds is None:
        tau = _thresholds(rig, px, nrm, w, config)
    else:
        tau = np.broadcast_to(np.asarray(thresholds, float), (n_cams,) + batch).reshape(n_cams, -1)
    # Work through the points in cache-sized chunks: time stays linear and memory flat in their number.
    X, mean_err, used = np.empty((w.shape[1], 3)), np.empty(w.shape[1]), np.empty(w.shape, bool)
    for a in range(0, w.shape[1], POINT_CHUNK):
        b = a + POINT_CHUNK
        X[a:b], mean_err[a:b], used[:, a:b] = _triangulate_flat(rig, nrm[:, a:b], w[:, a:b].copy(), tau[:, a:b],
                                                                config)
    return X.reshape(batch + (3,)), mean_err.reshape(batch), used.reshape((n_cams,) + batch)


def _disagreement(rig: CameraRig, X: np.ndarray, nrm: np.ndarray, w: np.ndarray, tau: np.ndarray,
                  scaled: bool) -> np.ndarray:
    """``(C, M)`` each used view's reprojection error over its threshold (> 1: the view disagrees); 0 unused."""
    factor = residual_dof_factor((w > 0).sum(axis=0)) if scaled else 1.0
    return np.where(w > 0, reprojection_errors(rig, X, nrm) / (tau * factor), 0.0)


def _triangulate_flat(rig: CameraRig, nrm: np.ndarray, w: np.ndarray, tau: np.ndarray, config: TriangulateConfig):
    """Triangulate ``M`` points from undistorted observations ``nrm (C, M, 2)`` with weights ``w (C, M)`` (changed
    in place: dropped views get 0) and thresholds ``tau (C, M)`` pixels."""
    n_cams = nrm.shape[0]
    scaled = config.rejection == "adaptive"
    rows = projection_rows(rig, nrm)
    X = solve_dlt(rows, w)
    for _ in range(max(0, n_cams - config.min_views) if config.rejection != "none" else 0):
        ratio = _disagreement(rig, X, nrm, w, tau, scaled)
        bad = (ratio.max(axis=0) > 1.0) & ((w > 0).sum(axis=0) > config.min_views)
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
            ek = _disagreement(rig, Xk, nrm[:, bad], wk, tau[:, bad], scaled).max(axis=0)
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
        mean_ratio = _disagreement(rig, X, nrm, w, tau, scaled).sum(axis=0) / n_used
    lost = (n_used < config.min_views) | ~np.isfinite(X).all(axis=1)
    if config.rejection != "none":
        lost |= ~(mean_ratio <= 1.0)
    X[lost] = np.nan
    mean_err[lost] = np.nan
    used[:, lost] = False
    return X, mean_err, used


def detect_swaps(rig: CameraRig, X: np.ndarray, px: np.ndarray, pairs: np.ndarray,
                 min_error_px: float | np.ndarray = 10.0) -> np.ndarray:
    """Views whose left/right labels are exchanged: ``(C, F)`` bool.

    Args:
        X: ``(F, J, 3)`` current 3D estimate (from the views that agree).
        px: ``(C, F, J, 2)`` model pixels.
        pairs: ``(P, 2)`` joint indices of left/right counterparts.
        min_error_px: a number, or ``(C, F)`` per view and frame (e.g. the rejection thresholds).

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
        tau = view_thresholds(rig, px, conf, config)
        X, e, used = triangulate_views(rig, px, conf, config, thresholds=tau)
        if config.fix_swaps and swap_pairs is not None and len(swap_pairs):
            min_error = SWAP_MIN_ERROR * np.nanmin(tau, axis=-1) if config.rejection == "adaptive" else 10.0
            sw = detect_swaps(rig, X, px, np.asarray(swap_pairs), min_error)
            if sw.any():
                px, conf = swap_views(px, conf, sw, np.asarray(swap_pairs))
                X, e, used = triangulate_views(rig, px, conf, config)
            swaps[:, a:b] = sw
        xyz[a:b], err[a:b], n_views[a:b] = X, e, used.sum(axis=0)
    return Points3D(xyz, err, n_views, keypoints.joint_names, keypoints.fps, swaps, keypoints.keypoint_set,
                    keypoints.timestamps)
