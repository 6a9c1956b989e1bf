"""The SMPL-X kinematic tree (55 joints) and forward kinematics as pure numpy functions.

Conventions (the same as smplx and AMASS):

* Joint rotations are axis-angle vectors ``(..., 3)`` (radians), each relative to the parent's frame; at
  zero rotation every joint frame is aligned with the model frame (the SMPL-X rest pose: T-pose,
  Y-up, facing +Z, +X is the body's left).
* ``global_orient`` rotates the whole body about the root joint and may include the change from the model's
  Y-up frame to a Z-up world (AMASS stores it that way, and so do we).
* A posed joint position: ``X_j = R_parent(j) @ (J_j - J_parent(j)) + X_parent(j)``, root
  ``X_0 = R_0 @ 0 + J_0 + transl`` (smplx applies ``transl`` after rotating about ``J_0``).
"""
from __future__ import annotations

import numpy as np

from mocap.keypoint_sets import SMPLX_JOINT_NAMES

NUM_JOINTS = 55
NUM_BODY_JOINTS = 21
NUM_HAND_JOINTS = 15

#: The 55 skeleton joints in smplx order.
JOINT_NAMES: tuple[str, ...] = SMPLX_JOINT_NAMES[:NUM_JOINTS]

#: Parent index per joint (``-1`` for the pelvis), smplx's ``kintree_table[0]``.
PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)

#: Slices of the 55 joints by parameter block (the order of AMASS SMPL-X ``poses`` (F, 165)).
GLOBAL = slice(0, 1)
BODY = slice(1, 22)
JAW, LEFT_EYE, RIGHT_EYE = 22, 23, 24
LEFT_HAND = slice(25, 40)
RIGHT_HAND = slice(40, 55)

#: Joints that are left/right mirror images, as index pairs.
MIRROR_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (i, JOINT_NAMES.index("right_" + n[5:])) for i, n in enumerate(JOINT_NAMES) if n.startswith("left_"))


def joint_index(name: str) -> int:
    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        raise KeyError(f"{name!r} is not an SMPL-X joint; known: {', '.join(JOINT_NAMES)}") from None


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """Rodrigues for any batch shape: ``(..., 3)`` axis-angle -> ``(..., 3, 3)`` rotation matrices."""
    aa = np.asarray(aa, dtype=np.float64)
    theta = np.linalg.norm(aa, axis=-1, keepdims=True)
    small = theta < 1e-8
    k = np.where(small, 0.0, aa / np.where(small, 1.0, theta))
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    zero = np.zeros_like(kx)
    K = np.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], axis=-1).reshape(aa.shape[:-1] + (3, 3))
    s = np.sin(theta)[..., None]
    c = np.cos(theta)[..., None]
    eye = np.broadcast_to(np.eye(3), K.shape)
    R = eye + s * K + (1.0 - c) * (K @ K)
    # first-order term for tiny angles keeps the map smooth at zero
    Ks = np.stack([zero, -aa[..., 2], aa[..., 1], aa[..., 2], zero, -aa[..., 0], -aa[..., 1], aa[..., 0], zero],
                  axis=-1).reshape(K.shape)
    return np.where(small[..., None], eye + Ks, R)


def matrix_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotation matrices -> ``(..., 3)`` axis-angle (angle in [0, pi]), stable near 0 and pi."""
    R = np.asarray(R, dtype=np.float64)
    # through quaternions (Shepperd's method, vectorized)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    tr = m00 + m11 + m22
    cand = np.stack([tr, m00, m11, m22], axis=-1)
    best = np.argmax(cand, axis=-1)
    q = np.empty(R.shape[:-2] + (4,))
    # w largest
    s = np.sqrt(np.maximum(1.0 + tr, 1e-12)) * 2
    qw = np.stack([0.25 * s, (R[..., 2, 1] - R[..., 1, 2]) / s, (R[..., 0, 2] - R[..., 2, 0]) / s,
                   (R[..., 1, 0] - R[..., 0, 1]) / s], -1)
    s = np.sqrt(np.maximum(1.0 + m00 - m11 - m22, 1e-12)) * 2
    qx = np.stack([(R[..., 2, 1] - R[..., 1, 2]) / s, 0.25 * s, (R[..., 0, 1] + R[..., 1, 0]) / s,
                   (R[..., 0, 2] + R[..., 2, 0]) / s], -1)
    s = np.sqrt(np.maximum(1.0 - m00 + m11 - m22, 1e-12)) * 2
    qy = np.stack([(R[..., 0, 2] - R[..., 2, 0]) / s, (R[..., 0, 1] + R[..., 1, 0]) / s, 0.25 * s,
                   (R[..., 1, 2] + R[..., 2, 1]) / s], -1)
    s = np.sqrt(np.maximum(1.0 - m00 - m11 + m22, 1e-12)) * 2
    qz = np.stack([(R[..., 1, 0] - R[..., 0, 1]) / s, (R[..., 0, 2] + R[..., 2, 0]) / s,
                   (R[..., 1, 2] + R[..., 2, 1]) / s, 0.25 * s], -1)
    q = np.choose(best[..., None], [qw, qx, qy, qz])
    q = q * np.where(q[..., :1] < 0, -1.0, 1.0)
    vec = q[..., 1:]
    sin_half = np.linalg.norm(vec, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, q[..., :1])
    scale = np.where(sin_half > 1e-12, angle / np.where(sin_half > 1e-12, sin_half, 1.0), 2.0)
    return vec * scale


def swing(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)``: the smallest rotations taking directions ``u (..., 3)`` to ``v (..., 3)``."""
    u = u / np.linalg.norm(u, axis=-1, keepdims=True)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    axis = np.cross(u, v)
    s = np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = np.arctan2(s, np.sum(u * v, axis=-1, keepdims=True))
    return axis_angle_to_matrix(np.where(s > 1e-9, axis / np.maximum(s, 1e-12), 0.0) * angle)


def forward_kinematics(rest_joints: np.ndarray, rotations: np.ndarray, transl: np.ndarray | None = None,
                       parents=PARENTS) -> tuple[np.ndarray, np.ndarray]:
    """Posed joint positions and global rotations.

    Args:
        rest_joints: ``(J, 3)`` or ``(F, J, 3)`` joint positions in the rest pose (model frame).
        rotations: ``(F, J, 3, 3)`` local rotation matrices, or ``(F, J, 3)`` axis-angle.
        transl: ``(F, 3)`` root translation (smplx's ``transl``) or None.
        parents: parent index per joint (-1 for the root); parents must precede children.

    Returns:
        ``positions (F, J, 3)`` and ``global_rotations (F, J, 3, 3)``.
    """
    rotations = np.asarray(rotations, dtype=np.float64)
    if rotations.ndim == 3:  # (F, J, 3) axis-angle
        rotations = axis_angle_to_matrix(rotations)
    F, J = rotations.shape[:2]
    rest = np.broadcast_to(np.asarray(rest_joints, dtype=np.float64), (F, J, 3))
    G = np.empty((F, J, 3, 3))
    X = np.empty((F, J, 3))
    for j, p in enumerate(parents[:J]):
        if p < 0:
            G[:, j] = rotations[:, j]
            X[:, j] = rest[:, j]
        else:
            G[:, j] = G[:, p] @ rotations[:, j]
            X[:, j] = X[:, p] + np.einsum("fab,fb->fa", G[:, p], rest[:, j] - rest[:, p])
    if transl is not None:
        X = X + np.asarray(transl, dtype=np.float64)[:, None, :]
    return X, G
