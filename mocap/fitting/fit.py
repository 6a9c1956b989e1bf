"""Fit SMPL-X parameters to a whole take of triangulated keypoints at once.

1. Shape from limb lengths: betas that best match the median marker-to-marker distances.
2. Analytic pose: torso Procrustes for the root, limb swings for arms and legs (`mocap.fitting.init`).
3. Batched Levenberg-Marquardt over all frames (torch, analytic Jacobians, `mocap.fitting.solver`):
   robust (pseudo-Huber) marker distances, a pull toward the neighbouring frames (carries frames with few
   or no keypoints), hinge limits for knees and elbows, a small pose and shape prior, and a floor term
   that keeps heels and toes from sinking below z = 0; the shared shape is re-solved in closed form
   every 5 iterations.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from mocap.body import skeleton
from mocap.body.motion import BodyMotion
from mocap.errors import InputError
from mocap.fitting.init import initial_pose
from mocap.fitting.model import MarkerModel
from mocap.fitting.windows import WindowJoiner, blend_weights, plan_windows
from mocap.geometry import Y_UP_TO_Z_UP, axis_angle_to_matrix, matrix_to_axis_angle
from mocap.parallel import map_cameras
from mocap.smoothing.filters import fill_gaps

log = logging.getLogger(__name__)

# Pairs of markers whose distance measures a limb or the torso (for the shape from limb lengths).
LENGTH_PAIRS = (
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_ankle", "left_heel"), ("right_ankle", "right_heel"), ("nose", "left_shoulder"),
    ("nose", "right_shoulder"),
)
FOOT_MARKERS = ("left_heel", "right_heel", "left_foot_index", "right_foot_index", "left_big_toe",
                "right_big_toe", "left_small_toe", "right_small_toe")


@dataclass(frozen=True)
class FitConfig:
    """Body fitting settings (``[fit]`` in a run config)."""

    model: str = "open"
    """Body model: ``open`` (shipped, licence-free), ``smplx`` (licensed files from $MOCAP_SMPLX_PATH) or a path."""
    n_betas: int = 10
    """Shape coefficients fitted (one set per take)."""
    iterations: int = 20
    """Levenberg-Marquardt iterations (all frames at once; shape is re-estimated every 5)."""
    robust_scale_mm: float = 40.0
    """Marker residuals beyond this grow linearly, not quadratically (pseudo-Huber)."""
    smooth_weight: float = 0.1
    """Pull of each frame toward a low-passed copy of the motion in the last 40 % of the iterations (at
    weight 1, 1 cm of root translation or 1/30 rad of joint rotation away from it costs as much as 1 cm of
    marker error). Frames without keypoints are carried by a lighter pull toward their neighbours."""
    smooth_cutoff_hz: float = 6.0
    """Cut-off of that low-pass (zero-phase Butterworth on joint rotations and root translation)."""
    pose_prior_weight: float = 0.3
    """Pull of body joint rotations toward rest (radians^2)."""
    limit_weight: float = 100.0
    """Penalty on knees and elbows bending the wrong way or sideways."""
    shape_prior_weight: float = 3.0
    """Pull of betas toward the mean shape (a Gaussian prior; the shape space has unit variance per beta): a beta
    of 1 costs as much as this many cm^2 of marker error in every observed frame. Systematic keypoint errors (a
    detector's landmarks are not the model's) otherwise push the low-variance betas far out."""
    view_weights: bool = True
    """Weigh each triangulated point by how well it was seen: views used, agreement between them, filled gaps
    (`mocap.fitting.stage.point_weights`)."""
    detector_offsets: bool = True
    """Move the body model's landmarks by the detector's known systematic offsets from them (measured on renders
    with ground truth, `mocap.fitting.offsets`; BlazePose on the open body model)."""
    floor_weight: float = 4.0
    """Penalty on heel and toe markers below the floor (z < 0), in cm^2."""
    fit_hands: Literal["auto", "yes", "no"] = "auto"
    """``auto``: fit finger rotations when hand keypoints exist; ``yes``/``no`` to force."""
    min_markers: int = 6
    """Frames with fewer valid keypoints are carried by the temporal term and reported."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """``auto`` (a GPU when torch sees one), ``cpu`` or ``cuda``."""
    precision: Literal["float32", "float64"] = "float32"
    """``float32`` (fast, ample for millimetres) or ``float64``."""
    threads: int = 1
    """CPU threads for torch during the fit (0: torch's default). The batched solves are small; one thread
    avoids the spin-wait slowdown torch shows when the other core is busy (e.g. detection of the next take)."""
    window_frames: int = 1000
    """Takes longer than this are fitted in overlapping windows of this many frames, so memory stays flat with
    take length (about 0.35 MB per frame of a window, per worker); the shape is estimated once over the whole
    take first. 0: the whole take at once."""
    window_overlap_s: float = 2.0
    """Overlap of neighbouring windows (seconds); the two fits are cross-faded over the middle half of it, away
    from either window's edges, so the joins have no seam."""
    workers: int = 0
    """Processes fitting the windows of a long take side by side (0: one per core)."""


@dataclass(frozen=True, eq=False)
class FitResult:
    motion: BodyMotion
    markers: np.ndarray
    """``(F, L, 3)`` fitted model markers, world."""
    marker_names: tuple[str, ...]
    sparse_frames: np.ndarray
    """Indices of frames with fewer than ``min_markers`` valid keypoints (carried by the temporal term)."""
    seconds: float
    iterations: int


def _shape_from_lengths(model: MarkerModel, targets: np.ndarray, names: tuple[str, ...], prior: float) -> np.ndarray:
    """Betas whose rest markers best match the observed median limb lengths (small Gauss-Newton)."""
    idx = {n: i for i, n in enumerate(names)}
    pairs = [(idx[a], idx[b]) for a, b in LENGTH_PAIRS if a in idx and b in idx]
    B = model.n_betas
    betas = np.zeros(B)
    if not pairs:
        return betas
    obs = np.array([np.nanmedian(np.linalg.norm(targets[:, a] - targets[:, b], axis=-1)) for a, b in pairs])
    ok = np.isfinite(obs)
    if not ok.any():
        return betas
    # rest markers are linear in betas: M(b) = M0 + D b
    M0 = model.rest_markers(np.zeros(B))
    D = np.stack([model.rest_markers(np.eye(B)[k]) - M0 for k in range(B)], axis=-1)  # (L, 3, B)
    for _ in range(10):
        M = M0 + D @ betas
        r, Jrows = [], []
        for (a, b), o, good in zip(pairs, obs, ok):
            if not good:
                continue
            d = M[a] - M[b]
            n = np.linalg.norm(d)
            r.append(n - o)
            Jrows.append((d / max(n, 1e-9)) @ (D[a] - D[b]))
        r, Jm = np.array(r), np.array(Jrows)
        H = Jm.T @ Jm + prior * 1e-4 * np.eye(B)
        step = np.linalg.solve(H, -(Jm.T @ r + prior * 1e-4 * betas))
        betas = betas + step
        if np.abs(step).max() < 1e-4:
            break
    return betas


def _hinge_penalty(pose):
    """Knees bend about +x only; elbows about -y (left) / +y (right) only (SMPL-X axes)."""
    import torch

    relu = torch.nn.functional.relu
    lk, rk = pose[:, skeleton.joint_index("left_knee")], pose[:, skeleton.joint_index("right_knee")]
    le, re = pose[:, skeleton.joint_index("left_elbow")], pose[:, skeleton.joint_index("right_elbow")]
    p = (relu(-lk[:, 0]) ** 2 + relu(-rk[:, 0]) ** 2 + lk[:, 1:].pow(2).sum(-1) + rk[:, 1:].pow(2).sum(-1)
         + relu(le[:, 1]) ** 2 + relu(-re[:, 1]) ** 2 + 0.3 * (le[:, 0] ** 2 + re[:, 0] ** 2))
    return p.mean()


def _neighbour_mean(x):
    """Average of the previous and next frame (edges: their one neighbour); ``x (F, ...)`` tensor."""
    if x.shape[0] < 2:
        return x.clone()
    out = x.clone()
    out[1:-1] = 0.5 * (x[:-2] + x[2:])
    out[0], out[-1] = x[1], x[-2]
    return out


#: Joints whose rotation keypoints barely observe (toes, collar bones, twist of the spine) are held closer
#: to rest: multipliers of `FitConfig.pose_prior_weight`.
PRIOR_SCALE = {"left_foot": 100.0, "right_foot": 100.0, "left_collar": 20.0, "right_collar": 20.0,
               "spine1": 5.0, "spine2": 5.0, "spine3": 5.0, "neck": 5.0}

#: A fitted beta beyond this many standard deviations of the shape space is reported (the keypoints do not look
#: like the body model: another detector's landmarks, a wrong calibration, a wrong keypoint set).
SHAPE_WARN = 3.0

#: Weight of the pull toward neighbouring frames while the fit settles (see `FitConfig.smooth_weight`).
GAP_WEIGHT = 0.01


def _project_so3(M):
    """Nearest rotations to ``(..., 3, 3)`` matrices."""
    import torch

    U, _, Vh = torch.linalg.svd(M)
    d = torch.sign(torch.linalg.det(U @ Vh))
    U = torch.cat([U[..., :2], U[..., 2:] * d[..., None, None]], -1)
    return U @ Vh


def _lowpass_motion(R, transl, free, fps, cutoff_hz):
    """Zero-phase Butterworth of the root rotation, translation and free joint rotations (rotation matrices
    filtered element-wise, then projected back onto rotations): the temporal target of the final fit."""
    from mocap.fitting.solver import log_so3
    from mocap.smoothing.filters import butterworth

    T = lambda a: R.new_tensor(np.ascontiguousarray(a))  # noqa: E731
    if R.shape[0] < 12 or not 0 < cutoff_hz < fps / 2:
        return R[:, 0], transl, log_so3(R[:, free])
    idx = [0] + list(free)
    Rs = _project_so3(T(butterworth(R[:, idx].cpu().numpy(), fps, cutoff_hz)))
    ts = T(butterworth(transl.cpu().numpy(), fps, cutoff_hz))
    return Rs[:, 0], ts, log_so3(Rs[:, 1:])


def _hinge_rows(aa, free):
    """Hinge-limit residuals and their (diagonal) Jacobian selectors, ``(F, H)`` each, plus joint columns."""
    import torch

    relu = torch.nn.functional.relu
    rows, cols = [], []
    for name, comp, kind in (("left_knee", 0, "neg"), ("left_knee", 1, "all"), ("left_knee", 2, "all"),
                             ("right_knee", 0, "neg"), ("right_knee", 1, "all"), ("right_knee", 2, "all"),
                             ("left_elbow", 1, "pos"), ("right_elbow", 1, "neg"),
                             ("left_elbow", 0, "half"), ("right_elbow", 0, "half")):
        j = skeleton.joint_index(name)
        if j not in free:
            continue
        v = aa[:, free.index(j), comp]
        if kind == "neg":
            r, d = -relu(-v), (v < 0).to(v.dtype)
        elif kind == "pos":
            r, d = relu(v), (v > 0).to(v.dtype)
        elif kind == "half":
            r, d = 0.5 * v, torch.full_like(v, 0.5)
        else:
            r, d = v, torch.ones_like(v)
        rows.append((r, d))
        cols.append(6 + 3 * free.index(j) + comp)
    return rows, cols


class _Fitter:
    """State and normal equations of the batched fit."""

    def __init__(self, model: MarkerModel, targets, w, free, config: FitConfig, device):
        import torch

        from mocap.fitting.solver import MarkerKinematics

        self.torch = torch
        self.dt = torch.float64 if config.precision == "float64" else torch.float32
        self.kin = MarkerKinematics(model.parents, model.m, free, self.dt, device)
        self.T = self.kin.T
        self.model, self.free, self.cfg = model, free, config
        self.y = self.T(np.nan_to_num(targets))
        self.w = self.T(w)
        self.foot = [i for i, n in enumerate(model.marker_names) if n in FOOT_MARKERS]
        self.delta = config.robust_scale_mm / 1000.0
        scale = [PRIOR_SCALE.get(skeleton.JOINT_NAMES[j], 1.0) for j in free]
        self.prior_scale = self.T(np.asarray(scale)[:, None])
        # the prior regularises observed frames; frames without keypoints are left to the temporal pull
        self.frame_share = self.T((w > 0).mean(1)[:, None, None])

    def shape(self, betas):
        T = self.T
        return T(self.model.rest_joints(betas)), self.kin.pair_offsets(T(self.model.c_template + self.model.c_dirs @ betas))

    def evaluate(self, R, transl, rest, c, irls, nbR, nbt, nbaa, a_s, want_system=True):
        """Per-frame cost ``(F,)`` and, if asked, ``H (F,P,P)`` and ``g (F,P)``."""
        torch, cfg, free = self.torch, self.cfg, self.free
        from mocap.fitting.solver import log_so3

        G, X, P = self.kin.forward(R, transl, rest, c)
        mk = self.kin.markers(P)
        sw = torch.sqrt(self.w * irls)
        r_data = sw[..., None] * (mk - self.y) * 100.0                   # (F, L, 3)
        aa = log_so3(R[:, free])                                          # (F, K, 3)
        a_p = cfg.pose_prior_weight * self.prior_scale * self.frame_share  # (F, K, 1)
        r_root = log_so3(nbR.transpose(-1, -2) @ R[:, 0])
        cost = (r_data ** 2).sum((1, 2))
        cost = cost + (a_p * aa ** 2).sum((1, 2))
        cost = cost + a_s * (((transl - nbt) * 100.0) ** 2).sum(-1) + a_s * ((aa - nbaa) * 30.0).pow(2).sum((1, 2))
        cost = cost + a_s * (r_root * 30.0).pow(2).sum(-1)
        hinge, hcols = _hinge_rows(aa, free)
        for r, _ in hinge:
            cost = cost + cfg.limit_weight * r ** 2
        if self.foot:
            below = torch.nn.functional.relu(-mk[:, self.foot, 2] * 100.0)
            cost = cost + cfg.floor_weight * (below ** 2).sum(-1)
        if not want_system:
            return cost, mk
        Fn, K = R.shape[0], len(free)
        Pn = 6 + 3 * K
        Jrot = self.kin.jacobian(G, X, P, [0] + free) * 100.0             # (F, L, 3, 3 + 3K)
        Jd = torch.zeros((Fn, mk.shape[1], 3, Pn), dtype=self.dt, device=R.device)
        Jd[..., :3] = Jrot[..., :3]
        Jd[..., 3:6] = 100.0 * torch.eye(3, dtype=self.dt, device=R.device)
        Jd[..., 6:] = Jrot[..., 3:]
        Jw = sw[..., None, None] * Jd
        Jflat = Jw.reshape(Fn, -1, Pn)
        H = Jflat.transpose(1, 2) @ Jflat
        g = (Jflat.transpose(1, 2) @ r_data.reshape(Fn, -1, 1))[..., 0]
        diag = torch.zeros((Fn, Pn), dtype=self.dt, device=R.device)
        # identity-Jacobian terms (rotation-vector differences approximated by the increment)
        diag[:, :3] += a_s * 900.0
        g[:, :3] += a_s * 900.0 * r_root
        diag[:, 3:6] += a_s * 1e4
        g[:, 3:6] += a_s * 1e4 * (transl - nbt)
        diag[:, 6:] += (a_p.expand(-1, -1, 3).reshape(Fn, -1) + a_s * 900.0)
        g[:, 6:] += (a_p * aa + a_s * 900.0 * (aa - nbaa)).reshape(Fn, -1)
        for (r, d), col in zip(hinge, hcols):
            diag[:, col] += cfg.limit_weight * d ** 2
            g[:, col] += cfg.limit_weight * d * r
        if self.foot:
            zrows = Jd[:, self.foot, 2, :]                                # (F, nf, P): d(100 z)/dp
            active = (mk[:, self.foot, 2] < 0).to(self.dt)
            Jf = -active[..., None] * zrows
            H = H + cfg.floor_weight * Jf.transpose(1, 2) @ Jf
            g = g + cfg.floor_weight * (Jf.transpose(1, 2) @ below[..., None])[..., 0]
        H = H + torch.diag_embed(diag)
        return cost, mk, H, g


def fit_markers(model: MarkerModel, targets: np.ndarray, weights: np.ndarray | None = None, *, fps: float,
                config: FitConfig = FitConfig(), hand_joints: bool = False,
                progress=None) -> FitResult:
    """Fit one take.

    Levenberg-Marquardt over all frames at once (each frame a ~70-unknown dense system, solved as a
    batch), alternated with a closed-form shape update shared by all frames (markers are linear in
    ``betas`` for a fixed pose). Temporal smoothness is a pull toward the average of the neighbouring
    frames' current estimates, so frames without keypoints are interpolated and noisy frames smoothed.
    Takes longer than ``config.window_frames`` are fitted in overlapping windows (`fit_in_windows`).

    Args:
        model: markers of the body model, ``L`` of them, in the order of ``targets``' second axis.
        targets: ``(F, L, 3)`` observed marker positions, world metres (Z up); NaN where missing.
        weights: ``(F, L)`` confidence weights (default 1 where finite).
        fps: frame rate (kept in the result).
        hand_joints: also optimise the 30 finger joints.
        progress: optional ``callback(iteration, total)``.
    """
    import torch

    t0 = time.perf_counter()
    targets = np.asarray(targets, dtype=np.float64)
    F = targets.shape[0]
    finite = np.isfinite(targets).all(-1)
    if not finite.any():
        raise InputError("no finite 3D keypoints in the take: nothing to fit",
                         fix="check the triangulation output (points3d.npz) and its calibration")
    w = finite.astype(np.float64) if weights is None else np.where(finite, np.nan_to_num(weights), 0.0)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        if config.window_frames and F > config.window_frames:
            pose, transl, markers, betas = fit_in_windows(model, targets, w, fps, config, hand_joints, progress)
        else:
            pose, transl, markers, betas = solve(model, targets, w, fps, config, hand_joints, progress)
    finally:
        torch.set_num_threads(threads)
    err = np.linalg.norm(markers - np.nan_to_num(targets), axis=-1) * 1000.0
    count = finite.sum(1)
    fit_err = np.where(count > 0, np.where(finite, err, 0.0).sum(1) / np.maximum(count, 1), np.nan)
    far = np.flatnonzero(np.abs(betas) > SHAPE_WARN)
    if far.size:
        log.warning("the fitted body shape is far out: %s (more than %g standard deviations of the shape space); "
                    "the keypoints may not match the body model (check the calibration and the keypoint set), or "
                    "raise [fit] shape_prior_weight", ", ".join(f"beta{k} = {betas[k]:+.1f}" for k in far), SHAPE_WARN)
    motion = BodyMotion.from_full_pose(pose, transl, betas, model.rest_joints(betas), fps, model=model.name,
                                       fit_error_mm=fit_err, has_hands=hand_joints)
    return FitResult(motion=motion, markers=markers, marker_names=model.marker_names,
                     sparse_frames=np.flatnonzero(count < config.min_markers),
                     seconds=time.perf_counter() - t0, iterations=max(1, config.iterations))


def solve(model: MarkerModel, targets: np.ndarray, w: np.ndarray, fps: float, config: FitConfig,
          hand_joints: bool = False, progress=None, betas: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The batched fit of ``targets (F, L, 3)`` (at least one finite) with weights ``w (F, L)`` (0 where
    missing), all frames at once.

    With ``betas`` the shape is held fixed (the windows of a long take); else it starts from the limb
    lengths and is re-solved every 5 iterations. Returns ``pose (F, 55, 3)`` axis-angle, ``transl (F, 3)``,
    the fitted ``markers (F, L, 3)`` and ``betas (B,)``.
    """
    import torch

    from mocap.fitting.solver import exp_so3, log_so3

    F, L, _ = targets.shape
    names = model.marker_names
    fixed_shape = betas is not None
    if betas is None:
        betas = _shape_from_lengths(model, targets, names, config.shape_prior_weight)
    rest_m = model.rest_markers(betas)
    # the first guess goes through gaps on interpolated keypoints (the fit itself gives them no weight)
    guide = fill_gaps(targets, max_gap=F, method="linear")  # linear: no overshoot on long gaps
    rot0, transl0 = initial_pose({n: rest_m[i] for i, n in enumerate(names)},
                                 {n: guide[:, i] for i, n in enumerate(names)}, model.rest_joints(betas),
                                 Y_UP_TO_Z_UP)
    free = list(range(1, 22)) + (list(range(25, 55)) if hand_joints else [])
    device = ("cuda" if torch.cuda.is_available() else "cpu") if config.device == "auto" else config.device
    fx = _Fitter(model, targets, w, free, config, device)
    T = fx.T
    R = T(rot0)
    transl = T(transl0)
    lam = torch.full((F,), 1e-3, dtype=fx.dt, device=device)
    total = max(1, config.iterations)
    rest, c = fx.shape(betas)
    irls = torch.ones((F, L), dtype=fx.dt, device=device)
    settle = max(1, int(round(total * 0.6)))
    for it in range(total):
        with torch.no_grad():
            if it < settle:
                # phase 1: a light pull toward the neighbouring frames (carries frames without keypoints)
                nbR = _project_so3(_neighbour_mean(R[:, 0]))
                nbt = _neighbour_mean(transl)
                nbaa = _neighbour_mean(log_so3(R[:, free]))
                a_s = GAP_WEIGHT
            elif it == settle:
                # phase 2: a fixed, low-passed copy of the motion is the temporal target (stable, no lag)
                nbR, nbt, nbaa = _lowpass_motion(R, transl, free, fps, config.smooth_cutoff_hz)
                a_s = config.smooth_weight
            cost, mk, H, g = fx.evaluate(R, transl, rest, c, irls, nbR, nbt, nbaa, a_s)
            A = H + torch.diag_embed(lam[:, None] * (torch.diagonal(H, dim1=1, dim2=2) + 1e-9))
            L_, info = torch.linalg.cholesky_ex(A)
            step = -torch.cholesky_solve(g[..., None], L_)[..., 0]
            if bool((info > 0).any()):  # not positive definite (should not happen): fall back per frame
                bad = info > 0
                step[bad] = -torch.linalg.lstsq(A[bad], g[bad][..., None]).solution[..., 0]
            R_new = R.clone()
            R_new[:, 0] = R[:, 0] @ exp_so3(step[:, :3])
            R_new[:, free] = R[:, free] @ exp_so3(step[:, 6:].reshape(F, -1, 3))
            t_new = transl + step[:, 3:6]
            new_cost, _ = fx.evaluate(R_new, t_new, rest, c, irls, nbR, nbt, nbaa, a_s, want_system=False)
            better = new_cost < cost
            R = torch.where(better[:, None, None, None], R_new, R)
            transl = torch.where(better[:, None], t_new, transl)
            lam = torch.where(better, lam * 0.3, lam * 10.0).clamp(1e-7, 1e7)
            # robust (pseudo-Huber) weights from the current marker errors
            err = torch.linalg.norm(mk - fx.y, dim=-1)
            irls = 1.0 / torch.sqrt(1.0 + (err / fx.delta) ** 2)
        if not fixed_shape and (it % 5 == 4 or it == total - 1):
            betas = _update_shape(fx, R, transl, irls, betas)
            rest, c = fx.shape(betas)
        if progress:
            progress(it + 1, total)
    with torch.no_grad():
        _, mk = fx.evaluate(R, transl, rest, c, irls, R[:, 0], transl, log_so3(R[:, free]), 0.0,
                            want_system=False)
    Rn = R.cpu().numpy()
    pose = np.zeros((F, skeleton.NUM_JOINTS, 3))
    pose[:, 0] = matrix_to_axis_angle(Rn[:, 0])
    pose[:, free] = matrix_to_axis_angle(Rn[:, free])
    return pose, transl.cpu().numpy(), mk.cpu().numpy(), np.asarray(betas, dtype=np.float64)


#: Frames, spread evenly over a long take, from which its one shape is estimated before the windows are fitted.
SHAPE_FRAMES = 400


def fit_in_windows(model: MarkerModel, targets: np.ndarray, w: np.ndarray, fps: float, config: FitConfig,
                   hand_joints: bool = False, progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`solve` for a long take, in overlapping windows of ``config.window_frames`` frames.

    The shape comes first, once for the whole take: a fit of `SHAPE_FRAMES` observed frames spread evenly over
    it (no temporal term: they are far apart). Then each window is fitted with that shape held fixed, side by
    side in ``config.workers`` processes, and the windows are joined with `mocap.fitting.windows.blend_weights`
    (a smooth cross-fade over the middle of each overlap). A window without any keypoint is left out; its frames
    hold the nearest fitted pose.
    Returns what `solve` returns, for the whole take.
    """
    F = len(targets)
    spans = plan_windows(F, config.window_frames, int(round(config.window_overlap_s * fps)))
    per_pass = max(1, config.iterations)
    total = per_pass * (len(spans) + 1)

    seen = (w > 0).sum(1)
    good = np.flatnonzero(seen >= config.min_markers) if (seen >= config.min_markers).any() else np.flatnonzero(seen)
    sample = np.unique(good[np.linspace(0, len(good) - 1, min(SHAPE_FRAMES, len(good))).round().astype(int)])
    *_, betas = solve(model, targets[sample], w[sample], fps, replace(config, smooth_weight=0.0), hand_joints,
                      (lambda i, n: progress(i, total)) if progress else None)
    log.info("fit: shape from %d frames spread over the take; %d windows of %d frames", len(sample), len(spans),
             spans[0][1] - spans[0][0])
    fitted = [(span, weight) for span, weight in zip(spans, blend_weights(spans)) if (w[span[0]:span[1]] > 0).any()]
    done = np.zeros(len(fitted), dtype=int)

    def window_progress(k, i, n):
        done[k] = i
        if progress:
            progress(per_pass * (1 + len(spans) - len(fitted)) + int(done.sum()), total)

    jobs = [(model, targets[a:b], w[a:b], fps, config, hand_joints, betas) for (a, b), _ in fitted]
    results = map_cameras(fit_window, jobs, progress=window_progress, workers=config.workers)
    joiner = WindowJoiner(F, rotations=("rotations",))
    for (span, weight), (pose, transl, markers) in zip(fitted, results):
        joiner.add(span, weight, rotations=axis_angle_to_matrix(pose), transl=transl, markers=markers)
    out = joiner.finish()
    return matrix_to_axis_angle(out["rotations"]), out["transl"], out["markers"], betas


def fit_window(model: MarkerModel, targets: np.ndarray, w: np.ndarray, fps: float, config: FitConfig,
               hand_joints: bool, betas: np.ndarray, progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One window of `fit_in_windows` with the take's shape (run in a worker process): pose, transl, markers."""
    import torch

    if config.threads:
        torch.set_num_threads(config.threads)
    pose, transl, markers, _ = solve(model, targets, w, fps, config, hand_joints, progress, betas=betas)
    return pose, transl, markers


def _update_shape(fx: _Fitter, R, transl, irls, betas: np.ndarray) -> np.ndarray:
    """Closed-form betas for fixed rotations: markers are affine in betas (rest joints and offsets are)."""
    import torch

    B = len(betas)
    with torch.no_grad():
        sw = torch.sqrt(fx.w * irls)[..., None]
        base_rest, base_c = fx.shape(np.zeros(B))
        _, _, P0 = fx.kin.forward(R, transl, base_rest, base_c)
        m0 = fx.kin.markers(P0)
        cols = []
        for k in range(B):
            e = np.zeros(B)
            e[k] = 1.0
            rk, ck = fx.shape(e)
            _, _, Pk = fx.kin.forward(R, transl, rk, ck)
            cols.append(((fx.kin.markers(Pk) - m0) * sw).reshape(-1))
        D = torch.stack(cols, 1) * 100.0
        r0 = ((m0 - fx.y) * sw).reshape(-1) * 100.0
        frames = float((fx.w > 0).any(1).sum())
        H = D.T @ D + fx.cfg.shape_prior_weight * max(frames, 1.0) * torch.eye(B, dtype=D.dtype, device=D.device)
        b = -torch.linalg.solve(H, D.T @ r0)
    return b.cpu().numpy()
