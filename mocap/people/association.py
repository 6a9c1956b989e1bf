"""Which candidate skeletons in different cameras are the same person: cross-view association, per frame.

Input: the calibrated rig and, per camera, the candidate skeletons of one frame, padded to the same
number of slots: ``xy (C, P, J, 2)`` video pixels and ``conf (C, P, J)``; a slot whose points are
all NaN is empty (the camera found fewer than ``P`` people). Output: :class:`FrameGroups`, for every
group (a person) the slot it uses in each camera, or -1.

Affinity is geometric and in **metres at the point**, so it means the same at 640x480 and
1080x1920, near and far: every joint of a candidate is a ray from its camera's centre; two
candidates of the same person have rays that (nearly) meet joint by joint. Per joint:

* for a pair of cameras, the gap between the two rays at their closest points (and the midpoint
  as a two-view triangulation);
* for a 3D point and a candidate, the distance from the point to the candidate's ray.

A candidate's joint counts with weight ``conf`` when ``conf >= min_conf``; per candidate pair, the
joint distances are averaged with weights ``min(conf_a, conf_b)``, each truncated at
``2 * max_distance`` so that a few wrong joints (occluded, swapped) cannot dominate.

Solver (greedy, consistent over any number of views):

1. Hypotheses: every pair of candidates in two different cameras whose rays meet
   (mean gap ``< max_distance``) is triangulated (midpoints).
2. Each hypothesis collects support: in every camera, the candidate whose rays pass closest to its
   3D joints, if closer than ``max_distance``. Its score is the sum over supporting cameras of
   ``1 - distance / max_distance``: many views that agree closely beat few views, and a "ghost"
   (two different people whose rays happen to meet in two views: the classic two-view ambiguity)
   finds no support in a third camera.
3. The best hypothesis becomes a group with its supporting candidates; they are removed and the
   hypotheses that used them die. Repeat while a hypothesis has two supporting cameras.
   Polish: every group is triangulated (least squares over its rays) and each camera's
   candidates are given to the groups they fit best (Hungarian assignment per camera, one
   candidate per group, only below ``max_distance``), until stable. This undoes the greedy step's
   mistakes, e.g. a person hidden behind another in one camera whose candidate fits both.
4. Every remaining candidate (seen by one camera only, or agreeing with nobody) is a group of its
   own: a one-view candidate is never forced into a group.

Left/right swaps (a detector labelling a person seen from behind mirror-wise) are tolerated when
``mirror`` (the keypoint set's left/right permutation, :func:`mirror_permutation`) is given: each
candidate is also compared with its labels swapped, and :attr:`FrameGroups.swapped` says where that
fitted better (relative to the majority of the group's cameras).

All distances are computed for all candidates and joints at once (no per-joint Python loops); the
greedy loop runs about once per person.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import MocapError


@dataclass(frozen=True)
class AssociationConfig:
    """Settings of the cross-view association."""

    max_distance: float = 0.15
    """Metres: most a candidate's joints may miss the person's 3D joints (confidence-weighted mean of
    truncated per-joint distances) to belong to that person."""
    min_conf: float = 0.3
    """Joints with a lower confidence are ignored."""
    min_joints: int = 5
    """Fewest confident joints two candidates (or a candidate and a person) must share to be compared."""
    min_angle_deg: float = 3.0
    """Two rays meeting at a smaller angle (cameras side by side, or facing each other) do not
    triangulate a joint for a hypothesis; they still count as support."""


@dataclass(frozen=True, eq=False)
class CandidateRays:
    """The candidates of one frame as world rays.

    Attributes:
        origin: ``(C, 3)`` camera centres, metres.
        direction: ``(C, P, J, 3)`` unit ray directions in the world; 0 where missing.
        weight: ``(C, P, J)`` confidence where usable (finite, ``conf >= min_conf``), else 0.
        normalized: ``(C, P, J, 2)`` undistorted normalized image coordinates; NaN where missing.
        present: ``(C, P)`` the slot holds a candidate (any finite point).
    """

    origin: np.ndarray
    direction: np.ndarray
    weight: np.ndarray
    normalized: np.ndarray
    present: np.ndarray


@dataclass(frozen=True, eq=False)
class FrameGroups:
    """The people of one frame: which candidate slot each camera contributes to each.

    Multi-view groups come first (best first), then one group per leftover candidate.

    Attributes:
        members: ``(G, C)`` int, slot index per camera, -1 where that camera does not see the person.
        swapped: ``(G, C)`` bool, the candidate matched with left/right labels exchanged.
        error: ``(G,)`` metres, mean distance of the members' rays to the group's 3D joints; NaN for
            one-view groups.
        points: ``(G, J, 3)`` the groups' joints, least squares over their members' rays (left/right as the
            majority of the group's cameras label them); NaN for one-view groups and joints seen by fewer
            than two of the group's cameras.
    """

    members: np.ndarray
    swapped: np.ndarray
    error: np.ndarray
    points: np.ndarray

    @property
    def n_groups(self) -> int:
        return int(self.members.shape[0])

    @property
    def n_views(self) -> np.ndarray:
        """``(G,)`` number of cameras in each group."""
        return (self.members >= 0).sum(axis=1)


# --------------------------------------------------------------------------------------------------
# Rays
# --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _rig_arrays(rig: CameraRig) -> tuple[np.ndarray, np.ndarray]:
    """``R (C, 3, 3)`` and centres ``(C, 3)`` of a rig (cached: rigs are immutable)."""
    return np.stack([c.R for c in rig.cameras]), np.stack([c.center for c in rig.cameras])


def candidate_rays(rig: CameraRig, xy: np.ndarray, conf: np.ndarray, min_conf: float = 0.3) -> CandidateRays:
    """Candidates ``xy (C, P, J, 2)`` video pixels, ``conf (C, P, J)`` -> :class:`CandidateRays`."""
    xy = np.asarray(xy, dtype=float)
    conf = np.asarray(conf, dtype=float)
    if xy.ndim != 4 or xy.shape[-1] != 2 or xy.shape[0] != len(rig) or conf.shape != xy.shape[:-1]:
        raise MocapError(
            f"candidates must be xy (C, P, J, 2) and conf (C, P, J) with C = {len(rig)} cameras, "
            f"got {xy.shape} and {conf.shape}",
            fix="pad every camera's candidates to the same number of slots with NaN",
        )
    nrm = np.stack([cam.undistort_points(cam.from_video_pixels(xy[c])) for c, cam in enumerate(rig.cameras)])
    R, origin = _rig_arrays(rig)
    ok = np.isfinite(nrm).all(axis=-1)
    h = np.concatenate([np.where(ok[..., None], nrm, 0.0), ok[..., None].astype(float)], axis=-1)
    d = np.einsum("cpjk,ckl->cpjl", h, R)  # R^T h, per camera
    norm = np.linalg.norm(d, axis=-1, keepdims=True)
    d = np.divide(d, norm, out=np.zeros_like(d), where=norm > 0)
    w = np.where(ok & np.isfinite(conf) & (conf >= min_conf), conf, 0.0)
    present = np.isfinite(xy).all(axis=-1).any(axis=-1)
    return CandidateRays(origin, d, w, nrm, present)


# --------------------------------------------------------------------------------------------------
# Distances (pure, batched)
# --------------------------------------------------------------------------------------------------


def _truncated_mean(dist: np.ndarray, w: np.ndarray, cap: float, min_joints: int) -> np.ndarray:
    """Weighted mean over the last axis of ``min(dist, cap)``; inf with fewer than ``min_joints``."""
    num = (np.minimum(np.where(w > 0, dist, 0.0), cap) * w).sum(axis=-1)
    n = np.count_nonzero(w > 0, axis=-1)
    mean = num / np.maximum(w.sum(axis=-1), 1e-300)
    return np.where(n >= min_joints, mean, np.inf)


def ray_midpoints(o1: np.ndarray, d1: np.ndarray, o2: np.ndarray, d2: np.ndarray,
                  min_sin2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closest points of ray pairs.

    Args:
        o1, o2: ``(..., 3)`` ray origins (broadcast against the directions).
        d1, d2: ``(..., J, 3)`` unit directions.
        min_sin2: rays whose angle has ``sin^2`` below this are not triangulated.

    Returns:
        midpoints ``(..., J, 3)``, gaps ``(..., J)`` (metres) and ``ok (..., J)``: the rays are not
        parallel and meet in front of both cameras.
    """
    w0 = (o1 - o2)[..., None, :]
    b = (d1 * d2).sum(-1)
    d = (d1 * w0).sum(-1)
    e = (d2 * w0).sum(-1)
    denom = 1.0 - b * b
    ok = denom > min_sin2
    denom = np.where(ok, denom, 1.0)
    s = (b * e - d) / denom
    t = (e - b * d) / denom
    p1 = o1[..., None, :] + s[..., None] * d1
    p2 = o2[..., None, :] + t[..., None] * d2
    return 0.5 * (p1 + p2), np.linalg.norm(p1 - p2, axis=-1), ok & (s > 0) & (t > 0)


def point_ray_distances(X: np.ndarray, origin: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances of points ``X (H, J, 3)`` to rays ``origin (N, 3)``, ``direction (N, J, 3)``.

    Returns:
        ``(H, N, J)`` distances (metres) and ``(H, N, J)`` bool: the point is in front of the camera.
    """
    Xt = X.transpose(1, 0, 2)  # (J, H, 3)
    xd = np.matmul(Xt, direction.transpose(1, 2, 0)).transpose(1, 2, 0)  # (H, N, J)
    od = (origin[:, None, :] * direction).sum(-1)  # (N, J)
    along = xd - od[None]
    xo = np.matmul(X, origin.T).transpose(0, 2, 1)  # (H, N, J)
    sq = (X * X).sum(-1)[:, None, :] - 2.0 * xo + (origin * origin).sum(-1)[None, :, None] - along * along
    return np.sqrt(np.maximum(sq, 0.0)), along > 0


def triangulate_rays(origin: np.ndarray, direction: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Least-squares intersection of weighted rays, per joint (batched).

    Minimises ``sum_v w_v |(I - d_v d_v^T)(X - o_v)|^2`` for every joint.

    Args:
        origin: ``(..., V, 3)``; direction: ``(..., V, J, 3)`` unit; weight: ``(..., V, J)`` (0 = unused).

    Returns:
        ``(..., J, 3)`` points; NaN where fewer than two rays are usable or they are parallel.
    """
    wd = weight[..., None] * direction  # (..., V, J, 3)
    S = np.matmul(np.swapaxes(wd, -3, -2)[..., :, None], np.swapaxes(direction, -3, -2)[..., None, :]).sum(-3)
    sw = weight.sum(-2)  # (..., J)
    A = sw[..., None, None] * np.eye(3) - S  # (..., J, 3, 3)
    do = (direction * origin[..., :, None, :]).sum(-1)  # (..., V, J)
    b = (weight[..., None] * origin[..., :, None, :] - wd * do[..., None]).sum(-3)  # (..., J, 3)
    ok = (weight > 0).sum(-2) >= 2
    det = np.linalg.det(A)
    scale = np.abs(A).max(axis=(-2, -1))
    ok &= np.abs(det) > 1e-9 * np.maximum(scale, 1e-12) ** 3
    A = np.where(ok[..., None, None], A, np.eye(3))
    X = np.linalg.solve(A, b[..., None])[..., 0]
    return np.where(ok[..., None], X, np.nan)


# --------------------------------------------------------------------------------------------------
# Association
# --------------------------------------------------------------------------------------------------


def mirror_permutation(joint_names) -> tuple[int, ...]:
    """``(J,)`` left/right permutation of a keypoint set: joint ``j``'s mirror image is ``out[j]``
    (itself for joints on the midline), from the names' left/right pairs."""
    from mocap.keypoints2d.keypoints import left_right_pairs

    out = list(range(len(joint_names)))
    for a, b in left_right_pairs(tuple(joint_names)):
        out[a], out[b] = int(b), int(a)
    return tuple(out)


def associate(rig: CameraRig, xy: np.ndarray, conf: np.ndarray, config: AssociationConfig = AssociationConfig(),
              *, mirror: tuple[int, ...] | None = None) -> FrameGroups:
    """Group one frame's candidates across cameras into people.

    Args:
        rig: the ``C`` calibrated cameras.
        xy: ``(C, P, J, 2)`` candidate keypoints in video pixels; an all-NaN slot is empty.
        conf: ``(C, P, J)`` confidence in [0, 1].
        config: thresholds (metres).
        mirror: ``(J,)`` left/right permutation of the keypoint set (:func:`mirror_permutation`);
            when given, left/right-swapped candidates are matched too.

    Returns:
        :class:`FrameGroups`; multi-view groups first, then one group per leftover candidate.
    """
    rays = candidate_rays(rig, xy, conf, config.min_conf)
    return associate_rays(rays, config, mirror=mirror)


def associate_rays(rays: CandidateRays, config: AssociationConfig = AssociationConfig(), *,
                   mirror: tuple[int, ...] | None = None) -> FrameGroups:
    """:func:`associate` on candidates already turned into rays."""
    n_cams, n_slots, n_joints = rays.weight.shape
    mirror = None if mirror is None else np.asarray(mirror, dtype=int)
    if mirror is not None and mirror.shape != (n_joints,):
        raise MocapError(f"mirror must be a permutation of the {n_joints} joints, got shape {mirror.shape}",
                         fix="pass the keypoint set's left/right permutation, or None")
    usable = rays.present & ((rays.weight > 0).sum(-1) >= config.min_joints)
    cc, pp = np.nonzero(usable)  # candidates, ordered by camera
    cands = _Candidates(cc, pp, rays, mirror, config)
    members = np.zeros((0, n_cams), int)
    flips = np.zeros((0, n_cams), int)
    errors = np.zeros((0, n_cams))
    points = np.zeros((0, n_joints, 3))
    hyp = _hypotheses(cands)
    if hyp is not None:
        members, flips = _select(cands, *hyp, n_cams, n_slots)
        if len(members):
            members, flips, errors = _polish(cands, members, flips)
            # the first candidate of a hypothesis set the group's left/right; most detections are right
            n_views = (members >= 0).sum(1)
            turn = 2 * (flips * (members >= 0)).sum(1) > n_views
            flips = np.where(turn[:, None] & (members >= 0), 1 - flips, flips)
            points = _triangulate_groups(cands, members, flips)
    # every candidate left over is a group of its own
    used = np.zeros((n_cams, n_slots), bool)
    for c in range(n_cams):
        used[c, members[:, c][members[:, c] >= 0]] = True
    lc, lp = np.nonzero(rays.present & ~used)
    single = np.full((len(lc), n_cams), -1)
    single[np.arange(len(lc)), lc] = lp
    with np.errstate(invalid="ignore"):
        err = np.where(members >= 0, errors, np.nan)
        group_err = np.nanmean(err, axis=1) if len(members) else np.zeros(0)
    return FrameGroups(
        members=np.concatenate([members, single]),
        swapped=np.concatenate([flips.astype(bool), np.zeros(single.shape, bool)]),
        error=np.concatenate([group_err, np.full(len(lc), np.nan)]),
        points=np.concatenate([points, np.full((len(lc), n_joints, 3), np.nan)]),
    )


class _Candidates:
    """The usable candidates of one frame, flattened: ``N`` candidates, ``K`` orientations.

    Attributes: ``cc, pp (N,)`` camera and slot; ``O (N, 3)``; ``D (K, N, J, 3)``, ``W (K, N, J)``
    (orientation 1: left/right labels swapped); ``flat (C, P)`` candidate index or -1.
    """

    def __init__(self, cc, pp, rays: CandidateRays, mirror, config: AssociationConfig):
        self.cc, self.pp = cc, pp
        self.O = rays.origin[cc]
        D = rays.direction[cc, pp]
        W = rays.weight[cc, pp]
        self.D = np.stack([D, D[:, mirror]]) if mirror is not None else D[None]
        self.W = np.stack([W, W[:, mirror]]) if mirror is not None else W[None]
        self.mirror = mirror
        self.flat = np.full(rays.present.shape, -1)
        self.flat[cc, pp] = np.arange(len(cc))
        self.thr = float(config.max_distance)
        self.cap = 2.0 * self.thr
        self.min_joints = int(config.min_joints)
        self.min_sin2 = float(np.sin(np.radians(config.min_angle_deg)) ** 2)

    def errors(self, X: np.ndarray, wX: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean truncated distance of every candidate's rays to skeletons ``X (H, J, 3)`` (NaN joints
        ignored; ``wX (H, J)`` optional joint weights): ``(H, N)`` metres (best orientation) and
        ``(H, N)`` the orientation used."""
        finite = np.isfinite(X).all(-1)
        wX = finite.astype(float) if wX is None else np.where(finite, wX, 0.0)
        X = np.where(finite[..., None], X, 0.0)
        n_h = len(X)
        if self.mirror is not None:  # swapped labels: joint j of the candidate is X's joint mirror[j]
            X = np.concatenate([X, X[:, self.mirror]])
            wX = np.concatenate([wX, wX[:, self.mirror]])
        dist, front = point_ray_distances(X, self.O, self.D[0])  # (K * H, N, J)
        w = np.where(front, np.minimum(wX[:, None], self.W[0][None]), 0.0)
        E = _truncated_mean(dist, w, self.cap, self.min_joints).reshape(-1, n_h, len(self.O))
        return E.min(axis=0), E.argmin(axis=0)


def _hypotheses(cands: _Candidates):
    """Step 1: two-view skeletons ``X (H, J, 3)``, weights ``(H, J)`` and their candidates ``ia, ib``
    from every pair of candidates in different cameras whose rays meet; None if there is none."""
    cc = cands.cc
    ia, ib = np.triu_indices(len(cc), 1)
    keep = cc[ia] != cc[ib]
    ia, ib = ia[keep], ib[keep]
    if not len(ia):
        return None
    D, W, orig = cands.D, cands.W, cands.O
    X, gap, ok = ray_midpoints(orig[ia], D[0, ia], orig[ib], D[:, ib], cands.min_sin2)  # (K, H, ...)
    wpair = np.where(ok, np.minimum(W[0, ia], W[:, ib]), 0.0)
    cost = _truncated_mean(gap, wpair, cands.cap, cands.min_joints)  # (K, H)
    k = cost.argmin(axis=0)
    h = np.arange(len(ia))
    good = cost[k, h] < cands.thr
    if not good.any():
        return None
    return X[k, h][good], wpair[k, h][good], ia[good], ib[good]


def _select(cands: _Candidates, X, wX, ia, ib, n_cams: int, n_slots: int):
    """Step 2-3: take the best-supported hypothesis with its supporting candidates, remove them, repeat.

    Returns ``members (G, C)`` (slot or -1) and ``flips (G, C)`` (orientation used).
    """
    thr = cands.thr
    E, F = cands.errors(X, wX)  # (H, N)
    E_full = np.full((len(X), n_cams, n_slots), np.inf)  # (H, C, P), inf where no candidate
    E_full[:, cands.cc, cands.pp] = E
    F_full = np.zeros((len(X), n_cams, n_slots), int)
    F_full[:, cands.cc, cands.pp] = F
    used = np.zeros((n_cams, n_slots), bool)
    alive = np.ones(len(X), bool)
    members, flips = [], []
    while alive.any():
        live = np.flatnonzero(alive)
        Em = np.where(used[None], np.inf, E_full[live])
        slot = Em.argmin(axis=-1)  # (H', C): the closest free candidate per camera
        err = np.take_along_axis(Em, slot[..., None], axis=-1)[..., 0]
        sup = err < thr
        score = np.where(sup, 1.0 - err / thr, 0.0).sum(-1)
        score[sup.sum(-1) < 2] = -np.inf
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            break
        cams = np.flatnonzero(sup[best])
        m = np.full(n_cams, -1)
        m[cams] = slot[best][cams]
        members.append(m)
        flips.append(np.where(m >= 0, F_full[live[best], np.arange(n_cams), np.maximum(m, 0)], 0))
        used[cams, m[cams]] = True
        alive[live[best]] = False
        alive &= ~(used[cands.cc[ia], cands.pp[ia]] | used[cands.cc[ib], cands.pp[ib]])
    return np.array(members, int).reshape(-1, n_cams), np.array(flips, int).reshape(-1, n_cams)


def _triangulate_groups(cands: _Candidates, members: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """``members, flips (G, C)`` -> skeletons ``(G, J, 3)`` (least squares over the members' rays)."""
    n_groups, n_cams = members.shape
    idx = np.where(members >= 0, cands.flat[np.arange(n_cams)[None], np.maximum(members, 0)], 0)
    w = cands.W[flips, idx] * (members >= 0)[..., None]  # (G, C, J)
    return triangulate_rays(cands.O[idx], cands.D[flips, idx], w)


def _polish(cands: _Candidates, members: np.ndarray, flips: np.ndarray, rounds: int = 3):
    """Triangulate every group, then give each camera's candidates to the groups they fit best
    (one per group and camera: Hungarian assignment per camera, only below ``max_distance``); repeat
    until stable. Groups left with fewer than two cameras dissolve.

    Returns ``members (G, C)``, ``flips (G, C)``, ``errors (G, C)`` metres (NaN where no member).
    """
    from scipy.optimize import linear_sum_assignment

    n_groups, n_cams = members.shape
    cam_of = cands.cc
    for _ in range(rounds):
        X = _triangulate_groups(cands, members, flips)
        E, F = cands.errors(X)  # (G, N)
        new = np.full_like(members, -1)
        new_flips = np.zeros_like(flips)
        errors = np.full(members.shape, np.nan)
        for c in range(n_cams):
            cols = np.flatnonzero(cam_of == c)
            if not len(cols):
                continue
            cost = E[:, cols]
            rows, k = linear_sum_assignment(np.where(cost < cands.thr, cost, 1e6))
            ok = cost[rows, k] < cands.thr
            rows, k = rows[ok], k[ok]
            new[rows, c] = cands.pp[cols[k]]
            new_flips[rows, c] = F[rows, cols[k]]
            errors[rows, c] = cost[rows, k]
        keep = (new >= 0).sum(1) >= 2
        new, new_flips, errors = new[keep], new_flips[keep], errors[keep]
        if new.shape == members.shape and (new == members).all() and (new_flips == flips).all():
            break
        members, flips = new, new_flips
    return new, new_flips, errors
