"""Initial camera poses from board views shared between cameras.

1. Each camera's board pose per frame by PnP (on undistorted points, so pinhole and fisheye agree).
2. Relative pose of every camera pair: a robust average over the frames both cameras see.
3. A maximum spanning tree over the pair graph (weighted by shared views) chains the cameras into
   one frame, rooted at the best-connected camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.calibration.board import CharucoBoard
from mocap.camera import Camera
from mocap.errors import MocapError
from mocap.geometry import compose, invert, nearest_rotation, rotation_angle_deg


@dataclass(frozen=True, eq=False)
class BoardPoses:
    """Board-to-camera poses per camera and frame.

    Attributes:
        R: ``(C, F, 3, 3)``; NaN where the camera did not see the board (or PnP failed).
        t: ``(C, F, 3)`` metres.
        error: ``(C, F)`` RMS PnP reprojection error in pixels (NaN where missing).
    """

    R: np.ndarray
    t: np.ndarray
    error: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        return np.isfinite(self.error)


def board_poses(cameras: list[Camera], corners: np.ndarray, usable: np.ndarray, board: CharucoBoard,
                max_error_px: float = 3.0) -> BoardPoses:
    """PnP board poses for every camera and frame marked ``usable (C, F)``."""
    import cv2

    n_cams, n_frames = usable.shape
    R = np.full((n_cams, n_frames, 3, 3), np.nan)
    t = np.full((n_cams, n_frames, 3), np.nan)
    err = np.full((n_cams, n_frames), np.nan)
    obj = board.corners_3d
    for c, cam in enumerate(cameras):
        frames = np.flatnonzero(usable[c])
        if not len(frames):
            continue
        norm = cam.undistort_points(corners[c, frames])  # (k, N, 2)
        f_px = cam.K[0, 0]
        for k, f in enumerate(frames):
            ok = np.isfinite(norm[k, :, 0])
            ok_pnp, rvec, tvec = cv2.solvePnP(obj[ok], norm[k, ok], np.eye(3), None, flags=cv2.SOLVEPNP_IPPE)
            if not ok_pnp:
                continue
            rvec, tvec = cv2.solvePnPRefineLM(obj[ok], norm[k, ok], np.eye(3), None, rvec, tvec)
            Rm = cv2.Rodrigues(rvec)[0]
            proj = obj[ok] @ Rm.T + tvec.ravel()
            resid = proj[:, :2] / proj[:, 2:] - norm[k, ok]
            e = f_px * np.sqrt((resid**2).sum(axis=1).mean())
            if e <= max_error_px and tvec[2, 0] > 0:
                R[c, f], t[c, f], err[c, f] = Rm, tvec.ravel(), e
    return BoardPoses(R, t, err)


def robust_mean_pose(R: np.ndarray, t: np.ndarray, max_angle_deg: float = 5.0) -> tuple[np.ndarray, np.ndarray, int]:
    """Robust average of rigid transforms ``R (K, 3, 3)``, ``t (K, 3)``.

    Poses further than ``max_angle_deg`` (or 3x the median translation deviation) from the
    element-wise median are dropped before averaging. Returns ``(R, t, n_inliers)``.
    """
    R0 = nearest_rotation(np.median(R, axis=0))
    t0 = np.median(t, axis=0)
    ang = rotation_angle_deg(R, R0[None])
    dev = np.linalg.norm(t - t0, axis=1)
    keep = (ang <= max(max_angle_deg, 2 * np.median(ang))) & (dev <= max(3 * np.median(dev), 0.02))
    if keep.sum() == 0:
        keep[:] = True
    return nearest_rotation(R[keep].mean(axis=0)), t[keep].mean(axis=0), int(keep.sum())


def pairwise_poses(poses: BoardPoses, min_shared: int = 2):
    """Relative poses ``cam_j -> cam_i`` for every pair with at least ``min_shared`` shared views.

    Returns ``dict[(i, j)] = (R_ij, t_ij, n_shared)`` with ``x_i = R_ij x_j + t_ij``.
    """
    n = poses.R.shape[0]
    out = {}
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            shared = np.flatnonzero(poses.valid[i] & poses.valid[j])
            if len(shared) < min_shared:
                continue
            # x_i = R_ib R_jb^T (x_j - t_jb) + t_ib
            Rj_inv, tj_inv = invert(poses.R[j, shared], poses.t[j, shared])
            Rij, tij = compose(poses.R[i, shared], poses.t[i, shared], Rj_inv, tj_inv)
            Rm, tm, n_in = robust_mean_pose(Rij, tij)
            out[(i, j)] = (Rm, tm, len(shared))
    return out


def chain_cameras(n_cams: int, pairs: dict, names: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """World-to-camera poses for all cameras by a maximum spanning tree over ``pairs``.

    The root (world frame) is the camera with the most shared views. Raises ``MocapError`` naming
    the cameras that share no views with the others.
    """
    weight = np.zeros((n_cams, n_cams))
    for (i, j), (_, _, n) in pairs.items():
        weight[i, j] = n
    root = int(np.argmax(weight.sum(axis=1)))
    R = np.full((n_cams, 3, 3), np.nan)
    t = np.full((n_cams, 3), np.nan)
    R[root], t[root] = np.eye(3), np.zeros(3)
    done = {root}
    while len(done) < n_cams:
        best = None
        for i in done:
            for j in range(n_cams):
                if j not in done and weight[j, i] > 0 and (best is None or weight[j, i] > best[2]):
                    best = (i, j, weight[j, i])
        if best is None:
            missing = [names[k] for k in range(n_cams) if k not in done]
            raise MocapError(
                f"camera(s) {', '.join(missing)} never see the board at the same time as the other cameras",
                fix="record the calibration take so the board is visible to these cameras and at least one "
                "other camera at the same moments (hold it between them, facing both)",
            )
        i, j, _ = best
        # x_j = R_ji x_i + t_ji and x_i = R_i x_w + t_i  ->  x_j = R_ji R_i x_w + (R_ji t_i + t_ji)
        R_ji, t_ji, _ = pairs[(j, i)]
        R[j], t[j] = compose(R_ji, t_ji, R[i], t[i])
        done.add(j)
    return R, t, root


def world_board_poses(cam_R: np.ndarray, cam_t: np.ndarray, poses: BoardPoses) -> tuple[np.ndarray, np.ndarray]:
    """Board-to-world pose per frame from the camera with the lowest PnP error; NaN if unseen.

    Returns ``R (F, 3, 3)``, ``t (F, 3)``.
    """
    n_cams, n_frames = poses.error.shape
    R = np.full((n_frames, 3, 3), np.nan)
    t = np.full((n_frames, 3), np.nan)
    err = np.where(poses.valid, poses.error, np.inf)
    best = np.argmin(err, axis=0)
    for f in np.flatnonzero(np.isfinite(err.min(axis=0))):
        c = best[f]
        Rc_inv, tc_inv = invert(cam_R[c], cam_t[c])
        R[f], t[f] = compose(Rc_inv, tc_inv, poses.R[c, f], poses.t[c, f])
    return R, t
