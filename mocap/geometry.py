"""Rotation and rigid-transform math on batches of arrays (pure numpy functions)."""

from __future__ import annotations

import numpy as np


def rodrigues_to_matrix(rvec: np.ndarray) -> np.ndarray:
    """Axis-angle vectors ``(..., 3)`` -> rotation matrices ``(..., 3, 3)``."""
    rvec = np.asarray(rvec, dtype=float)
    theta = np.linalg.norm(rvec, axis=-1, keepdims=True)
    small = theta[..., 0] < 1e-12
    axis = rvec / np.where(theta < 1e-12, 1.0, theta)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(rvec.shape[:-1] + (3, 3))
    s = np.sin(theta)[..., None]
    c = np.cos(theta)[..., None]
    eye = np.broadcast_to(np.eye(3), k.shape)
    rot = eye + s * k + (1 - c) * (k @ k)
    if np.any(small):
        # First-order expansion for tiny angles keeps the map smooth for finite differences.
        rx, ry, rz = rvec[..., 0], rvec[..., 1], rvec[..., 2]
        k0 = np.stack([zero, -rz, ry, rz, zero, -rx, -ry, rx, zero], axis=-1).reshape(k.shape)
        rot = np.where(small[..., None, None], eye + k0, rot)
    return rot


def matrix_to_rodrigues(rot: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` -> axis-angle vectors ``(..., 3)`` (angle in [0, pi])."""
    rot = np.asarray(rot, dtype=float)
    flat = rot.reshape(-1, 3, 3)
    out = np.empty((flat.shape[0], 3))
    import cv2

    for i, r in enumerate(flat):
        out[i] = cv2.Rodrigues(np.ascontiguousarray(r))[0][:, 0]
    return out.reshape(rot.shape[:-2] + (3,))


def rotation_angle_deg(r_a: np.ndarray, r_b: np.ndarray) -> np.ndarray:
    """Angle in degrees of the rotation taking ``r_b`` to ``r_a``; inputs ``(..., 3, 3)``."""
    rel = np.swapaxes(r_b, -1, -2) @ r_a
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def nearest_rotation(m: np.ndarray) -> np.ndarray:
    """Project a 3x3 matrix ``(..., 3, 3)`` onto SO(3) (chordal L2 mean of rotations)."""
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    u = u.copy()
    u[..., :, -1] *= d[..., None]
    return u @ vt


def compose(r_a, t_a, r_b, t_b):
    """Compose rigid transforms: ``x -> R_a (R_b x + t_b) + t_a``; returns ``(R, t)``."""
    return r_a @ r_b, (r_a @ t_b[..., None])[..., 0] + t_a


def invert(r, t):
    """Inverse of the rigid transform ``x -> R x + t``; returns ``(R^T, -R^T t)``."""
    rt = np.swapaxes(r, -1, -2)
    return rt, -(rt @ t[..., None])[..., 0]


def transform_points(r, t, points):
    """Apply ``x -> R x + t`` to ``points (..., 3)`` with ``R (3, 3)``, ``t (3,)``."""
    return points @ np.asarray(r).T + np.asarray(t)
