"""Bone frames of a `SkeletonAnimation` as pure numpy: re-orienting bones, bone tails, quaternions, gaps.

Everything here works on arrays only, so the Blender scene builder (``blender_scene.py``) and the add-on share
it, and tests check it without Blender.

Shapes: ``J`` joints, ``F`` frames; rotations are ``(..., 3, 3)`` matrices, quaternions ``(..., 4)`` in
Blender's ``(w, x, y, z)`` order.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from mocap.body.animation import SkeletonAnimation
from mocap.geometry import shortest_rotation, unit

#: A child counts as the continuation of its parent's bone when its direction is within this angle (cosine).
CONTINUATION_COS = 0.5
#: Shortest bone drawn, metres (coincident joints still get a visible bone).
MIN_BONE_LENGTH = 0.01


def reorient(anim: SkeletonAnimation, new_rest_orientations: np.ndarray) -> SkeletonAnimation:
    """The same motion expressed with other rest orientations of the joint frames.

    World joint positions and every joint's world rotation *relative to its rest*
    (``W_j @ B_j^T``) are unchanged; a joint frame's world orientation becomes ``W_j @ B_j^T @ B'_j``.
    Only the bone axes (where a bone points, its roll) change, as when an animator re-orients bones.

    Args:
        anim: the animation.
        new_rest_orientations: ``(J, 3, 3)`` new world rest orientation of each joint frame.
    """
    B = anim.rest_orientations
    Bn = np.asarray(new_rest_orientations, dtype=np.float64)
    if Bn.shape != B.shape:
        raise ValueError(f"new_rest_orientations: expected {B.shape}, got {Bn.shape}")
    # L'_j = (B'_j^T B_j) L_j (B_j^T B'_j): the same world delta rotation seen in the new joint frame
    C = np.einsum("jba,jbc->jac", Bn, B)  # B'^T B
    L = np.einsum("jab,fjbc,jdc->fjad", C, anim.local_rotations, C)
    T = anim.local_translations
    if T is not None:  # the same world offset, seen in the new joint frame: t' = B'^T B t
        T = np.einsum("jab,fjb->fja", C, T)
    return replace(anim, rest_orientations=Bn, local_rotations=L, local_translations=T)


def primary_children(rest_positions: np.ndarray, parents) -> list[int]:
    """For each joint the child its bone points to, or -1 (leaf, or no child continues the bone).

    The root's bone points to the child most aligned with world up (the spine for a body); other joints to
    the child that best continues the parent's bone direction, if within 60 degrees of it.
    """
    r = np.asarray(rest_positions, dtype=np.float64)
    J = len(parents)
    children: list[list[int]] = [[] for _ in range(J)]
    for j, p in enumerate(parents):
        if p >= 0:
            children[p].append(j)
    out = []
    for j in range(J):
        kids = [c for c in children[j] if np.linalg.norm(r[c] - r[j]) > 1e-6]
        if not kids:
            out.append(-1)
            continue
        if len(kids) == 1 and parents[j] >= 0:
            out.append(kids[0])
            continue
        ref = np.array([0.0, 0.0, 1.0]) if parents[j] < 0 else unit(r[j] - r[parents[j]])
        cos = [float(unit(r[c] - r[j]) @ ref) for c in kids]
        best = int(np.argmax(cos))
        out.append(kids[best] if (cos[best] >= CONTINUATION_COS or parents[j] < 0) else -1)
    return out


def child_tails(rest_positions: np.ndarray, parents) -> np.ndarray:
    """``(J, 3)`` bone tails pointing from each joint to its primary child.

    A joint without one (a fingertip, toe, the head) continues its parent's direction with half its
    parent's length (at least `MIN_BONE_LENGTH`).
    """
    r = np.asarray(rest_positions, dtype=np.float64)
    prim = primary_children(r, parents)
    tails = np.empty_like(r)
    for j, p in enumerate(parents):
        c = prim[j]
        if c >= 0 and np.linalg.norm(r[c] - r[j]) >= MIN_BONE_LENGTH:
            tails[j] = r[c]
            continue
        if p >= 0 and np.linalg.norm(r[j] - r[p]) > 1e-6:
            length = max(0.5 * np.linalg.norm(r[j] - r[p]), MIN_BONE_LENGTH)
            d = tails[p] - r[p] if prim[p] == j else r[j] - r[p]
        else:
            d, length = np.array([0.0, 0.0, 1.0]), 0.1
        tails[j] = r[j] + length * unit(d)
    return tails


def aligned_orientations(rest_orientations: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """``(J, 3, 3)`` frames whose Y axis is ``directions[j]``, turned from ``rest_orientations[j]`` by the
    smallest rotation (so bone roll stays as close to the old frame as possible).

    An exactly opposite direction turns 180 degrees about the old frame's X axis.
    """
    B = np.asarray(rest_orientations, dtype=np.float64)
    out = np.empty_like(B)
    for j in range(len(B)):
        out[j] = shortest_rotation(B[j][:, 1], directions[j], fallback_axis=B[j][:, 0]) @ B[j]
    return out


def bones_follow_children(anim: SkeletonAnimation, max_angle_deg: float = 10.0, share: float = 0.9) -> bool:
    """Whether the joint frames' Y axes already run toward the child joints (as in a rig's bones).

    True when at least ``share`` of the joints that have a primary child point within ``max_angle_deg`` of it.
    """
    prim = primary_children(anim.rest_positions, anim.parents)
    cos = [float(unit(anim.rest_positions[c] - anim.rest_positions[j]) @ anim.rest_orientations[j][:, 1])
           for j, c in enumerate(prim) if c >= 0]
    return bool(cos) and np.mean(np.array(cos) >= np.cos(np.radians(max_angle_deg))) >= share


def child_pointing_orientations(anim: SkeletonAnimation) -> np.ndarray:
    """Rest orientations with every bone's Y axis pointing along its `child_tails` direction."""
    tails = child_tails(anim.rest_positions, anim.parents)
    return aligned_orientations(anim.rest_orientations, tails - anim.rest_positions)


def octahedral_bone_mesh(anim: SkeletonAnimation, width: float = 0.12
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A stand-in body: one octahedron per bone (like Blender's bone display), rigidly skinned to it.

    For showing or rendering a take when no body model is available. Returns ``vertices (6J, 3)`` (world,
    rest pose), ``faces (8J, 3)`` and ``weights (6J, J)``.
    """
    r = anim.rest_positions
    tails = child_tails(r, anim.parents)
    B = aligned_orientations(anim.rest_orientations, tails - r)
    J = len(r)
    length = np.linalg.norm(tails - r, axis=1)[:, None]
    x, z = B[:, :, 0], B[:, :, 2]
    mid = r + 0.15 * (tails - r)
    w = width * length
    verts = np.stack([r, mid + w * x, mid + w * z, mid - w * x, mid - w * z, tails], axis=1).reshape(-1, 3)
    tri = np.array([[0, 2, 1], [0, 3, 2], [0, 4, 3], [0, 1, 4], [5, 1, 2], [5, 2, 3], [5, 3, 4], [5, 4, 1]])
    faces = (6 * np.arange(J)[:, None, None] + tri).reshape(-1, 3)
    weights = np.repeat(np.eye(J), 6, axis=0)
    return verts, faces, weights


def fill_missing_frames(anim: SkeletonAnimation) -> SkeletonAnimation:
    """Replace non-finite rotations and root positions by the nearest valid frame (per joint).

    A joint that is never valid is held at rest (identity); a root never valid stays at its rest position.
    """
    L = anim.local_rotations.copy()
    ok = np.isfinite(L).all(axis=(2, 3))  # (F, J)
    for j in range(L.shape[1]):
        L[:, j] = _hold_nearest(L[:, j], ok[:, j], np.eye(3))
    root_ok = np.isfinite(anim.root_positions).all(axis=1)
    root = _hold_nearest(anim.root_positions, root_ok, anim.rest_positions[0])
    return replace(anim, local_rotations=L, root_positions=root)


def _hold_nearest(values: np.ndarray, ok: np.ndarray, default: np.ndarray) -> np.ndarray:
    if ok.all():
        return values
    out = values.copy()
    if not ok.any():
        out[:] = default
        return out
    good = np.flatnonzero(ok)
    idx = np.arange(len(ok))
    pos = np.clip(np.searchsorted(good, idx), 1, len(good) - 1) if len(good) > 1 else np.zeros(len(ok), int)
    if len(good) > 1:
        left, right = good[pos - 1], good[pos]
        nearest = np.where(np.abs(idx - left) <= np.abs(right - idx), left, right)
    else:
        nearest = np.full(len(ok), good[0])
    out[~ok] = values[nearest[~ok]]
    return out


