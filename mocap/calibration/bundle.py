"""Sparse bundle adjustment over all cameras (pose + intrinsics) and all board poses.

Levenberg-Marquardt with the Schur complement on the board poses, which is the classic structure of
bundle adjustment: each residual depends on one camera and one board pose, so the normal equations
have a small dense camera block and a block-diagonal (6x6 per board pose) board block. The Jacobian
blocks come from finite differences of the fully vectorized residual, perturbing one parameter slot
of *all* cameras (or all board poses) at once: about 25 residual evaluations per iteration whatever
the number of frames. A Huber loss (iteratively reweighted) keeps stray detections from pulling.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from mocap.camera import distort_normalized
from mocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Observations:
    """Detected board corners, one row per observation.

    Attributes:
        cam: ``(M,)`` camera index.
        frame: ``(M,)`` board-pose index (into the optimised board poses).
        corner: ``(M,)`` corner id.
        xy: ``(M, 2)`` pixels.
    """

    cam: np.ndarray
    frame: np.ndarray
    corner: np.ndarray
    xy: np.ndarray

    def subset(self, keep: np.ndarray) -> Observations:
        return Observations(self.cam[keep], self.frame[keep], self.corner[keep], self.xy[keep])


@dataclass(frozen=True, eq=False)
class BundleState:
    """Everything bundle adjustment optimises.

    Attributes:
        K: ``(C, 3, 3)``; dist: list of ``C`` arrays; R: ``(C, 3, 3)``, t: ``(C, 3)`` world-to-camera;
        board_R: ``(B, 3, 3)``, board_t: ``(B, 3)`` board-to-world; models: ``C`` camera models.
    """

    K: np.ndarray
    dist: list
    R: np.ndarray
    t: np.ndarray
    board_R: np.ndarray
    board_t: np.ndarray
    models: tuple[str, ...]
    fixed_dist: tuple[tuple[int, ...], ...] = ()
    """Per camera, indices of distortion coefficients held fixed (e.g. zero tangential terms)."""


@dataclass(frozen=True, eq=False)
class BundleResult:
    state: BundleState
    residuals: np.ndarray  # (M, 2) pixels, for the observations passed in
    inliers: np.ndarray  # (M,) bool: observations kept in the final solve
    cost_before: float  # robust cost of the initial state
    cost_after: float
    iterations: int


# --------------------------------------------------------------------------------------------------
# Parameter packing: cameras (C, P) = [rvec 3 | t 3 | fx fy cx cy | dist ...], boards (B, 6)
# --------------------------------------------------------------------------------------------------


def _pack(s: BundleState) -> tuple[np.ndarray, np.ndarray]:
    n_dist = max(len(d) for d in s.dist)
    cams = np.zeros((len(s.models), 10 + n_dist))
    cams[:, :3] = matrix_to_axis_angle(s.R)
    cams[:, 3:6] = s.t
    cams[:, 6:10] = np.stack([s.K[:, 0, 0], s.K[:, 1, 1], s.K[:, 0, 2], s.K[:, 1, 2]], axis=1)
    for c, d in enumerate(s.dist):
        cams[c, 10 : 10 + len(d)] = d
    boards = np.concatenate([matrix_to_axis_angle(s.board_R), s.board_t], axis=1)
    return cams, boards


def _unpack(cams: np.ndarray, boards: np.ndarray, base: BundleState) -> BundleState:
    K = np.zeros((len(cams), 3, 3))
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2] = cams[:, 6], cams[:, 7], cams[:, 8], cams[:, 9]
    K[:, 0, 1] = base.K[:, 0, 1]
    K[:, 2, 2] = 1.0
    dist = [cams[c, 10 : 10 + len(d)].copy() for c, d in enumerate(base.dist)]
    return BundleState(K, dist, axis_angle_to_matrix(cams[:, :3]), cams[:, 3:6].copy(),
                       axis_angle_to_matrix(boards[:, :3]), boards[:, 3:].copy(), base.models, base.fixed_dist)


def _residuals(cams: np.ndarray, boards: np.ndarray, models: tuple[str, ...], skew: np.ndarray,
               obs: Observations, object_points: np.ndarray) -> np.ndarray:
    """Predicted minus observed pixels ``(M, 2)`` from packed parameters (vectorized)."""
    Rb = axis_angle_to_matrix(boards[:, :3])
    Rc = axis_angle_to_matrix(cams[:, :3])
    X = np.einsum("mij,mj->mi", Rb[obs.frame], object_points[obs.corner]) + boards[obs.frame, 3:]
    Xc = np.einsum("mij,mj->mi", Rc[obs.cam], X) + cams[obs.cam, 3:6]
    z = Xc[:, 2]
    xn = Xc[:, :2] / np.where(np.abs(z) > 1e-9, z, 1e-9)[:, None]
    p = cams[obs.cam]
    out = np.empty(obs.xy.shape, dtype=float)
    for model in set(models):
        sel = np.isin(obs.cam, [c for c, m in enumerate(models) if m == model])
        xd = distort_normalized(xn[sel], p[sel, 10:], model)
        out[sel, 0] = p[sel, 6] * xd[:, 0] + skew[obs.cam[sel]] * xd[:, 1] + p[sel, 8]
        out[sel, 1] = p[sel, 7] * xd[:, 1] + p[sel, 9]
    return out - obs.xy


def reprojection_residuals(state: BundleState, obs: Observations, object_points: np.ndarray) -> np.ndarray:
    """Predicted minus observed pixels ``(M, 2)`` for every observation."""
    cams, boards = _pack(state)
    return _residuals(cams, boards, state.models, state.K[:, 0, 1], obs, object_points)


def _camera_mask(state: BundleState, fixed_camera: int, refine_intrinsics: bool) -> np.ndarray:
    n_dist = max(len(d) for d in state.dist)
    mask = np.ones((len(state.models), 10 + n_dist), bool)
    mask[fixed_camera, :6] = False
    if not refine_intrinsics:
        mask[:, 6:] = False
    for c, d in enumerate(state.dist):
        mask[c, 10 + len(d) :] = False
    for c, fixed in enumerate(state.fixed_dist):
        mask[c, [10 + i for i in fixed]] = False
    return mask


def _jacobian(cams, boards, r0, fun, mask):
    """Finite-difference Jacobian blocks: ``Jc (M, 2, P)`` and ``Jb (M, 2, 6)``."""
    m = len(r0)
    Jc = np.zeros((m, 2, cams.shape[1]))
    Jb = np.zeros((m, 2, 6))
    for k in range(cams.shape[1]):
        if not mask[:, k].any():
            continue
        h = 1e-6 * np.maximum(1.0, np.abs(cams[:, k]))
        h = np.where(mask[:, k], h, 0.0)
        c2 = cams.copy()
        c2[:, k] += h
        cam_of_obs = fun.cam
        hk = h[cam_of_obs]
        Jc[:, :, k] = np.where(hk[:, None] > 0, (fun(c2, boards) - r0) / np.where(hk > 0, hk, 1)[:, None], 0.0)
    for k in range(6):
        h = 1e-6 * np.maximum(1.0, np.abs(boards[:, k]))
        b2 = boards.copy()
        b2[:, k] += h
        Jb[:, :, k] = (fun(cams, b2) - r0) / h[fun.frame][:, None]
    return Jc, Jb


def _huber_weights(err: np.ndarray, scale: float) -> np.ndarray:
    return np.where(err <= scale, 1.0, scale / np.maximum(err, 1e-12))


def _huber_cost(err: np.ndarray, scale: float) -> float:
    return float(np.sum(np.where(err <= scale, err**2, 2 * scale * err - scale**2)))


def _lm(cams, boards, fun, mask, n_boards, loss_scale, max_iter, tol=1e-6):
    """Levenberg-Marquardt with Schur complement on the board poses."""
    n_cams, n_p = cams.shape
    lam = 1e-3
    r = fun(cams, boards)
    cost = _huber_cost(np.linalg.norm(r, axis=1), loss_scale)
    it = 0
    for it in range(1, max_iter + 1):
        w = np.sqrt(_huber_weights(np.linalg.norm(r, axis=1), loss_scale))
        Jc, Jb = _jacobian(cams, boards, r, fun, mask)
        Jc *= w[:, None, None]
        Jb *= w[:, None, None]
        rw = r * w[:, None]
        cam, frame = fun.cam, fun.frame
        U = np.zeros((n_cams, n_p, n_p))
        np.add.at(U, cam, np.einsum("mik,mil->mkl", Jc, Jc))
        V = np.zeros((n_boards, 6, 6))
        np.add.at(V, frame, np.einsum("mik,mil->mkl", Jb, Jb))
        W = np.zeros((n_boards, n_cams, n_p, 6))
        np.add.at(W, (frame, cam), np.einsum("mik,mil->mkl", Jc, Jb))
        gc = np.zeros((n_cams, n_p))
        np.add.at(gc, cam, np.einsum("mik,mi->mk", Jc, rw))
        gb = np.zeros((n_boards, 6))
        np.add.at(gb, frame, np.einsum("mik,mi->mk", Jb, rw))
        # Inactive camera parameters: identity rows, zero gradient.
        flat_mask = mask.ravel()
        Ufull = np.zeros((n_cams * n_p, n_cams * n_p))
        for c in range(n_cams):
            Ufull[c * n_p : (c + 1) * n_p, c * n_p : (c + 1) * n_p] = U[c]
        Wf = W.reshape(n_boards, n_cams * n_p, 6)
        gcf = gc.ravel()
        improved = False
        for _ in range(10):
            Ud = Ufull + lam * np.diag(np.diag(Ufull) + 1e-9)
            Vd = V + lam * (V * np.eye(6)) + 1e-9 * np.eye(6)
            Vinv = np.linalg.inv(Vd)
            WV = Wf @ Vinv  # (B, CP, 6)
            S = Ud - np.einsum("bik,bjk->ij", WV, Wf)
            rhs = -gcf + np.einsum("bik,bk->i", WV, gb)
            S[~flat_mask, :] = 0
            S[:, ~flat_mask] = 0
            S[~flat_mask, ~flat_mask] = 1
            rhs[~flat_mask] = 0
            try:
                dc = np.linalg.solve(S, rhs)
            except np.linalg.LinAlgError:
                lam *= 10
                continue
            db = np.einsum("bkl,bl->bk", Vinv, -gb - np.einsum("bik,i->bk", Wf, dc))
            c_new = cams + dc.reshape(n_cams, n_p)
            b_new = boards + db
            r_new = fun(c_new, b_new)
            cost_new = _huber_cost(np.linalg.norm(r_new, axis=1), loss_scale)
            if np.isfinite(cost_new) and cost_new < cost:
                rel = (cost - cost_new) / max(cost, 1e-300)
                cams, boards, r, cost = c_new, b_new, r_new, cost_new
                lam = max(lam / 3, 1e-9)
                improved = True
                break
            lam *= 4
        log.debug("LM iteration %d: cost %.6g, lambda %.2g", it, cost, lam)
        if not improved or rel < tol:
            break
    return cams, boards, cost, it


class _Fun:
    """Residual function of packed parameters for a fixed set of observations."""

    def __init__(self, state, obs, object_points):
        self.models, self.skew, self.obs, self.obj = state.models, state.K[:, 0, 1], obs, object_points
        self.cam, self.frame = obs.cam, obs.frame

    def __call__(self, cams, boards):
        return _residuals(cams, boards, self.models, self.skew, self.obs, self.obj)


def bundle_adjust(
    state: BundleState,
    obs: Observations,
    object_points: np.ndarray,
    *,
    fixed_camera: int = 0,
    refine_intrinsics: bool = True,
    loss_scale_px: float = 1.0,
    outlier_px: float = 4.0,
    max_iterations: int = 100,
) -> BundleResult:
    """Refine cameras and board poses; two rounds, dropping outliers after the first.

    Args:
        state: initial cameras and board poses (board-to-world).
        obs: the detected corners.
        object_points: ``(N, 3)`` board corner positions on the board, metres.
        fixed_camera: this camera's pose is held fixed (it defines the frame during optimisation).
        loss_scale_px: Huber loss scale: residuals beyond it count linearly.
        outlier_px: after the first round, observations with a residual above
            ``max(outlier_px, 5 * median)`` are dropped.
    """
    mask = _camera_mask(state, fixed_camera, refine_intrinsics)
    cams, boards = _pack(state)
    keep = np.ones(len(obs.cam), bool)
    full = _Fun(state, obs, object_points)
    cost_before = _huber_cost(np.linalg.norm(full(cams, boards), axis=1), loss_scale_px)
    iters = 0
    for round_ in range(2):
        cams, boards, _, it = _lm(cams, boards, _Fun(state, obs.subset(keep), object_points), mask,
                                  len(boards), loss_scale_px, max_iterations)
        iters += it
        err = np.linalg.norm(full(cams, boards), axis=1)
        new_keep = err <= max(outlier_px, 5 * np.median(err[keep]))
        log.debug("bundle round %d: %d iterations, median %.3f px, %d outliers", round_, it,
                  np.median(err[keep]), (~new_keep).sum())
        stop = new_keep.all() or (new_keep == keep).all()
        keep = new_keep
        if stop:
            break
    final = _unpack(cams, boards, state)
    resid = full(cams, boards)
    cost_after = _huber_cost(np.linalg.norm(resid[keep], axis=1), loss_scale_px)
    return BundleResult(final, resid, keep, cost_before, cost_after, iters)
