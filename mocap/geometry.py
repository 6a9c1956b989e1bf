"""Rotation, alignment and rigid-transform math on batches of arrays: the one home of these conventions.

Pure numpy (no OpenCV), so the Blender add-on can ship it. Every function takes any leading batch shape.

* Rotations are 3x3 matrices ``(..., 3, 3)`` acting on column vectors; axis-angle vectors ``(..., 3)``
  are the rotation axis scaled by the angle in radians (OpenCV's Rodrigues vectors, smplx's poses).
* Quaternions are ``(w, x, y, z)`` with ``w >= 0``.
* A rigid transform ``(R, t)`` maps ``x -> R x + t``.
* Alignment (Kabsch / Procrustes) finds ``R`` (and ``t``, ``s``) with ``dst ~ s R src + t``.
* Frames: our world is metres, right-handed, Z up; body models (SMPL-X) are Y up and face +Z;
  :data:`Y_UP_TO_Z_UP` turns one into the other.
"""

from __future__ import annotations

import numpy as np

#: Model frame (SMPL-X, glTF: Y up, facing +Z) -> world (Z up, facing -Y): ``(x, y, z) -> (x, -z, y)``.
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def unit(v: np.ndarray) -> np.ndarray:
    """``v (..., 3)`` scaled to unit length (zero vectors stay zero)."""
    v = np.asarray(v, dtype=np.float64)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def skew(v: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` cross-product matrices ``[v]_x`` of ``v (..., 3)``."""
    v = np.asarray(v, dtype=np.float64)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    zero = np.zeros_like(x)
    return np.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(v.shape[:-1] + (3, 3))


def transpose(R: np.ndarray) -> np.ndarray:
    """``R^T`` over the last two axes."""
    return np.swapaxes(R, -1, -2)


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """Rodrigues: ``(..., 3)`` axis-angle -> ``(..., 3, 3)`` rotation matrices.

    Below 1e-8 rad the first-order expansion ``I + [aa]_x`` keeps the map smooth (finite differences)."""
    aa = np.asarray(aa, dtype=np.float64)
    theta = np.linalg.norm(aa, axis=-1, keepdims=True)
    small = theta < 1e-8
    K = skew(np.where(small, 0.0, aa / np.where(small, 1.0, theta)))
    s = np.sin(theta)[..., None]
    c = np.cos(theta)[..., None]
    eye = np.broadcast_to(np.eye(3), K.shape)
    R = eye + s * K + (1.0 - c) * (K @ K)
    return np.where(small[..., None], eye + skew(aa), R)


def matrix_to_quaternion(R: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotations -> ``(..., 4)`` unit quaternions ``(w, x, y, z)`` with ``w >= 0``.

    Shepperd's method: divide by the largest of ``4w^2, 4x^2, 4y^2, 4z^2``, stable near 0 and pi."""
    R = np.asarray(R, dtype=np.float64)
    m = R.reshape(-1, 3, 3)
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    best = np.argmax(np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=1), axis=1)
    q = np.empty((len(m), 4))
    for i, (a, b, c) in enumerate(((None, None, None), (0, 1, 2), (1, 2, 0), (2, 0, 1))):
        sel = best == i
        if not sel.any():
            continue
        s = m[sel]
        if a is None:
            w = np.sqrt(np.maximum(1.0 + tr[sel], 1e-300)) * 0.5
            f = 0.25 / w
            q[sel] = np.stack([w, (s[:, 2, 1] - s[:, 1, 2]) * f, (s[:, 0, 2] - s[:, 2, 0]) * f,
                               (s[:, 1, 0] - s[:, 0, 1]) * f], axis=1)
        else:
            v = np.sqrt(np.maximum(1.0 + s[:, a, a] - s[:, b, b] - s[:, c, c], 1e-300)) * 0.5
            f = 0.25 / v
            out = np.empty((sel.sum(), 4))
            out[:, 0] = (s[:, c, b] - s[:, b, c]) * f
            out[:, 1 + a] = v
            out[:, 1 + b] = (s[:, b, a] + s[:, a, b]) * f
            out[:, 1 + c] = (s[:, c, a] + s[:, a, c]) * f
            q[sel] = out
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q.reshape(R.shape[:-2] + (4,))


def matrix_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotations -> ``(..., 3)`` axis-angle with the angle in [0, pi]."""
    q = matrix_to_quaternion(R)
    vec = q[..., 1:]
    sin_half = np.linalg.norm(vec, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, q[..., :1])
    scale = np.where(sin_half > 1e-12, angle / np.where(sin_half > 1e-12, sin_half, 1.0), 2.0)
    return vec * scale


def continuous_quaternions(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 (frames) so consecutive quaternions ``(F, ..., 4)`` lie in the same hemisphere
    (``q`` and ``-q`` are the same rotation, but keyframe interpolation between them takes the long way)."""
    q = np.array(q, dtype=np.float64)
    for f in range(1, len(q)):
        flip = np.sum(q[f] * q[f - 1], axis=-1) < 0
        q[f][flip] *= -1
    return q


def euler_xyz_to_matrix(deg: np.ndarray) -> np.ndarray:
    """Intrinsic X, Y, Z Euler angles ``(..., 3)`` in degrees -> ``(..., 3, 3)`` = ``Rx @ Ry @ Rz``."""
    a = np.radians(np.asarray(deg, float))
    out = np.broadcast_to(np.eye(3), a.shape[:-1] + (3, 3))
    for k in range(3):
        axis = np.zeros(a.shape[:-1] + (3,))
        axis[..., k] = a[..., k]
        out = out @ axis_angle_to_matrix(axis)
    return out


def rotation_angle_deg(r_a: np.ndarray, r_b: np.ndarray) -> np.ndarray:
    """Angle in degrees of the rotation taking ``r_b`` to ``r_a``; inputs ``(..., 3, 3)``."""
    rel = transpose(r_b) @ r_a
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def nearest_rotation(m: np.ndarray) -> np.ndarray:
    """Project a 3x3 matrix ``(..., 3, 3)`` onto SO(3) (chordal L2 mean of rotations)."""
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    u = u.copy()
    u[..., :, -1] *= d[..., None]
    return u @ vt


def shortest_rotation(a: np.ndarray, b: np.ndarray, fallback_axis: np.ndarray | None = None) -> np.ndarray:
    """``(..., 3, 3)``: the smallest rotations taking directions ``a (..., 3)`` to ``b (..., 3)``.

    Where they are opposite: half a turn about ``fallback_axis`` made perpendicular to ``a`` (default: an
    axis perpendicular to ``a`` and to whichever of x or y is further from it)."""
    a, b = unit(a), unit(b)
    v, c = np.cross(a, b), np.sum(a * b, axis=-1)
    K = skew(v)
    opposite = c < -1.0 + 1e-9
    R = np.eye(3) + K + K @ K / np.where(opposite, 1.0, 1.0 + c)[..., None, None]
    if fallback_axis is not None:
        f = np.broadcast_to(np.asarray(fallback_axis, float), a.shape)
        p = f - np.sum(f * a, axis=-1, keepdims=True) * a
        p = np.where(np.linalg.norm(p, axis=-1, keepdims=True) > 1e-9, p, np.cross(a, [0.0, 1.0, 0.0]))
    else:
        helper = np.where(np.abs(a[..., :1]) < 0.9, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
        p = np.cross(a, helper)
    p = unit(p)
    half_turn = 2.0 * p[..., :, None] * p[..., None, :] - np.eye(3)
    return np.where(opposite[..., None, None], half_turn, R)


def twist_angle(R: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Swing-twist decomposition: the twist angle ``(...)`` of rotations ``R (..., 3, 3)`` about ``axis``."""
    w = 0.5 * np.sqrt(np.maximum(1.0 + np.trace(R, axis1=-2, axis2=-1), 0.0))  # quaternion w >= 0
    wv = np.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1) / 4
    return 2.0 * np.arctan2(np.sum(wv * unit(axis), axis=-1), w * w)  # wv = w * (quaternion vector part)


# ------------------------------------------------------------------------------------------- alignment


def kabsch_rotation(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None,
                    identity_pull: float = 0.0) -> np.ndarray:
    """The rotations ``R (..., 3, 3)`` that best turn vectors ``src (..., K, 3)`` onto ``dst (..., K, 3)``.

    Minimises ``sum_k w_k |R src_k - dst_k|^2`` (Kabsch: SVD of the weighted cross-covariance, reflection
    excluded). ``identity_pull`` adds ``identity_pull * sum(w) * I`` to the cross-covariance: a small pull
    towards the identity decides what the vectors leave free (one direction: the shortest rotation;
    collinear directions: the least twist about them). NaN vectors count with weight 0."""
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    w = np.ones(src.shape[:-1]) if weights is None else np.broadcast_to(np.asarray(weights, float), src.shape[:-1])
    ok = np.isfinite(src).all(-1) & np.isfinite(dst).all(-1)
    w = np.where(ok, w, 0.0)
    M = np.einsum("...k,...ka,...kb->...ab", w, np.nan_to_num(dst), np.nan_to_num(src))
    M = M + identity_pull * w.sum(-1)[..., None, None] * np.eye(3)
    U, _, Vt = np.linalg.svd(M)
    D = np.broadcast_to(np.eye(3), M.shape).copy()
    D[..., 2, 2] = np.sign(np.linalg.det(U @ Vt))
    return U @ D @ Vt


def rigid_fit(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted rigid fits ``dst ~ R @ src + t``: ``src``, ``dst (..., K, 3)``, ``weights (..., K)``.

    Returns ``R (..., 3, 3)`` and ``t (..., 3)``. NaN points count with weight 0."""
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    src, dst = np.broadcast_arrays(src, dst)
    w = np.ones(src.shape[:-1]) if weights is None else np.broadcast_to(np.asarray(weights, float), src.shape[:-1])
    w = np.where(np.isfinite(src).all(-1) & np.isfinite(dst).all(-1), w, 0.0)
    wn = w / np.maximum(w.sum(-1, keepdims=True), 1e-12)
    cs = np.einsum("...k,...kc->...c", wn, np.nan_to_num(src))
    cd = np.einsum("...k,...kc->...c", wn, np.nan_to_num(dst))
    R = kabsch_rotation(src - cs[..., None, :], dst - cd[..., None, :], w)
    return R, cd - np.einsum("...ab,...b->...a", R, cs)


def similarity_align(pred: np.ndarray, truth: np.ndarray, min_points: int = 3) -> np.ndarray:
    """``pred (F, J, 3)`` aligned to ``truth`` per frame by a similarity transform (rotation, translation,
    uniform scale: Procrustes) fitted on the joints both have; frames with fewer than ``min_points`` such
    joints come out NaN."""
    pred, truth = np.asarray(pred, float), np.asarray(truth, float)
    ok = np.isfinite(pred).all(-1) & np.isfinite(truth).all(-1)  # (F, J)
    w = ok.astype(float)
    n = np.maximum(w.sum(-1, keepdims=True), 1.0)
    mp = np.einsum("fj,fjc->fc", w, np.nan_to_num(pred)) / n
    mt = np.einsum("fj,fjc->fc", w, np.nan_to_num(truth)) / n
    p0 = np.where(ok[..., None], np.nan_to_num(pred) - mp[:, None], 0.0)
    t0 = np.where(ok[..., None], np.nan_to_num(truth) - mt[:, None], 0.0)
    R = kabsch_rotation(p0, t0, w)
    rotated = np.einsum("fab,fjb->fja", R, p0)
    scale = np.einsum("fjc,fjc->f", rotated, t0) / np.maximum(np.einsum("fjc,fjc->f", p0, p0), 1e-12)
    out = scale[:, None, None] * np.einsum("fab,fjb->fja", R, np.asarray(pred, float) - mp[:, None]) + mt[:, None]
    out[ok.sum(-1) < min_points] = np.nan
    return out


# --------------------------------------------------------------------------------------- rigid transforms


def compose(r_a, t_a, r_b, t_b):
    """Compose rigid transforms: ``x -> R_a (R_b x + t_b) + t_a``; returns ``(R, t)``."""
    return r_a @ r_b, (r_a @ t_b[..., None])[..., 0] + t_a


def invert(r, t):
    """Inverse of the rigid transform ``x -> R x + t``; returns ``(R^T, -R^T t)``."""
    rt = transpose(r)
    return rt, -(rt @ t[..., None])[..., 0]


def transform_points(r, t, points):
    """Apply ``x -> R x + t`` to ``points (..., 3)`` with ``R (3, 3)``, ``t (3,)``."""
    return points @ np.asarray(r).T + np.asarray(t)
