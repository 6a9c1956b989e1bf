"""Analytic initialisation of a fit: torso Procrustes for the root, limb swings for the arms and legs."""
from __future__ import annotations

import numpy as np

from mocap.body import skeleton
from mocap.geometry import rigid_fit, shortest_rotation

# (joint whose rotation is set, marker at the bone's start, marker at its end)
LIMB_SWINGS = (
    ("left_hip", "left_hip", "left_knee"), ("left_knee", "left_knee", "left_ankle"),
    ("right_hip", "right_hip", "right_knee"), ("right_knee", "right_knee", "right_ankle"),
    ("left_shoulder", "left_shoulder", "left_elbow"), ("left_elbow", "left_elbow", "left_wrist"),
    ("right_shoulder", "right_shoulder", "right_elbow"), ("right_elbow", "right_elbow", "right_wrist"),
)
TORSO = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")


def fill_nearest(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Replace invalid frames of ``values (F, ...)`` by the nearest valid frame (identity when none is valid)."""
    if valid.all() or not valid.any():
        return values
    idx = np.flatnonzero(valid)
    pos = np.searchsorted(idx, np.arange(len(valid)))
    left = idx[np.clip(pos - 1, 0, len(idx) - 1)]
    right = idx[np.clip(pos, 0, len(idx) - 1)]
    f = np.arange(len(valid))
    nearest = np.where(np.abs(f - left) <= np.abs(right - f), left, right)
    return values[nearest]


def initial_pose(rest_markers: dict[str, np.ndarray], targets: dict[str, np.ndarray], rest_joints: np.ndarray,
                 world_from_model: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First guess of the pose from observed markers.

    Args:
        rest_markers: name -> ``(3,)`` marker at rest (model frame) for the fitted shape.
        targets: name -> ``(F, 3)`` observed positions (NaN where missing).
        rest_joints: ``(55, 3)``.
        world_from_model: ``(3, 3)`` fallback root rotation (e.g. the Y-up -> Z-up turn).

    Returns:
        ``rotations (F, 55, 3, 3)`` (local; root global) and ``transl (F, 3)``.
    """
    F = next(iter(targets.values())).shape[0]
    rot = np.broadcast_to(np.eye(3), (F, skeleton.NUM_JOINTS, 3, 3)).copy()
    torso = [n for n in TORSO if n in targets and n in rest_markers]
    transl = np.zeros((F, 3))
    if len(torso) >= 3:
        src = np.stack([rest_markers[n] for n in torso])
        dst = np.stack([targets[n] for n in torso], axis=1)
        w = np.isfinite(dst).all(-1).astype(float)
        ok = w.sum(1) >= 3
        R, t = rigid_fit(src, dst, w)
        R = fill_nearest(np.where(ok[:, None, None], R, world_from_model), ok)
        t = fill_nearest(t, ok)
        J0 = rest_joints[0]
        rot[:, 0] = R
        transl = t + np.einsum("fab,b->fa", R, J0) - J0
    else:
        rot[:, 0] = world_from_model
    G = {0: rot[:, 0]}

    def global_of(j):
        p = skeleton.PARENTS[j]
        if j not in G:
            G[j] = global_of(p) @ rot[:, j]
        return G[j]

    for joint, a, b in LIMB_SWINGS:
        if a not in targets or b not in targets or a not in rest_markers or b not in rest_markers:
            continue
        j = skeleton.joint_index(joint)
        Gp = global_of(skeleton.PARENTS[j])
        d_obs = targets[b] - targets[a]
        ok = np.isfinite(d_obs).all(-1) & (np.linalg.norm(np.nan_to_num(d_obs), axis=-1) > 1e-6)
        d_rest = np.einsum("fab,b->fa", Gp, rest_markers[b] - rest_markers[a])
        S = shortest_rotation(d_rest, np.where(ok[:, None], d_obs, d_rest))
        local = np.swapaxes(Gp, 1, 2) @ S @ Gp
        rot[:, j] = fill_nearest(local, ok)
        G.pop(j, None)
        for k in list(G):
            if k != 0:
                G.pop(k)
    return rot, transl
