"""The part of a SMPL-X-layout body model that fitting needs, precomputed as small dense arrays.

Fitting compares model *markers* with triangulated keypoints. A marker is a skeleton joint or a point on
the skin given as a vertex regressor (a BlazePose landmark, an smplx extra joint such as a heel or a
fingertip). Under linear blend skinning a regressed surface point is, exactly,

    marker_l = sum_j  G_j @ c_lj(betas) + m_lj * X_j

with ``G_j, X_j`` the posed global rotation and position of joint ``j``, ``m_lj = sum_v r_lv w_vj`` and
``c_lj = sum_v r_lv w_vj (v_v(betas) - J_j(betas))``, both linear in the shape coefficients. So a fit never
poses the 10k-vertex mesh: it runs forward kinematics on 55 joints and a (L, 55) contraction.
(Pose-corrective blend shapes, ``posedirs``, are left out of markers; the open model has none.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.body import skeleton

#: smplx's hard-coded landmark vertex ids for its extra joints (``smplx.vertex_ids.vertex_ids['smplx']``),
#: by SMPL-X joint name (smplx 0.1.28).
SMPLX_EXTRA_VERTEX_IDS: dict[str, int] = {
    "nose": 9120, "right_eye": 9929, "left_eye": 9448, "right_ear": 616, "left_ear": 6,
    "left_big_toe": 5770, "left_small_toe": 5780, "left_heel": 8846,
    "right_big_toe": 8463, "right_small_toe": 8474, "right_heel": 8635,
    "left_thumb": 5361, "left_index": 4933, "left_middle": 5058, "left_ring": 5169, "left_pinky": 5286,
    "right_thumb": 8079, "right_index": 7669, "right_middle": 7794, "right_ring": 7905, "right_pinky": 8022,
}


@dataclass(frozen=True, eq=False)
class MarkerModel:
    """Shape-linear skeleton and markers of a body model.

    Attributes:
        parents: ``(55,)`` parent per joint.
        joints_template: ``(55, 3)`` rest joints at ``betas = 0`` (model frame, Y-up, metres).
        joints_dirs: ``(55, 3, B)`` change of rest joints per shape coefficient.
        marker_names: ``L`` names.
        m: ``(L, 55)`` skinning weight of each marker on each joint (joint markers are one-hot).
        c_template: ``(L, 55, 3)`` marker offset from each joint at rest, weighted (see module doc).
        c_dirs: ``(L, 55, 3, B)``.
        name: model name (``open_smplx`` or ``smplx``).
    """

    parents: np.ndarray
    joints_template: np.ndarray
    joints_dirs: np.ndarray
    marker_names: tuple[str, ...]
    m: np.ndarray
    c_template: np.ndarray
    c_dirs: np.ndarray
    name: str = "open_smplx"

    @property
    def n_betas(self) -> int:
        return self.joints_dirs.shape[-1]

    def rest_joints(self, betas: np.ndarray) -> np.ndarray:
        """``(55, 3)`` rest joints for ``betas (B,)``."""
        return self.joints_template + self.joints_dirs @ np.asarray(betas, float)[: self.n_betas]

    def rest_markers(self, betas: np.ndarray) -> np.ndarray:
        """``(L, 3)`` markers in the rest pose (zero pose, no translation)."""
        b = np.asarray(betas, float)[: self.n_betas]
        c = self.c_template + self.c_dirs @ b
        return c.sum(axis=1) + self.m @ self.rest_joints(b)


def _dense(a) -> np.ndarray:
    return np.asarray(a.todense() if hasattr(a, "todense") else a, dtype=np.float64)


def marker_model(arrays: dict, markers: dict[str, np.ndarray | int | str], n_betas: int = 10,
                 name: str = "open_smplx") -> MarkerModel:
    """Precompute a `MarkerModel` from SMPL-X-layout arrays.

    Args:
        arrays: the model file's arrays (``v_template, shapedirs, J_regressor, weights``).
        markers: name -> an SMPL-X joint name (a skeleton joint), an ``int`` vertex id, or a ``(V,)``
            vertex regressor row.
        n_betas: shape coefficients to keep.
    """
    v = np.asarray(arrays["v_template"], dtype=np.float64)
    S = np.asarray(arrays["shapedirs"], dtype=np.float64)[:, :, :n_betas]
    Jr = _dense(arrays["J_regressor"])
    W = np.asarray(arrays["weights"], dtype=np.float64)
    V = v.shape[0]
    J0 = Jr @ v                                   # (55, 3)
    Jd = np.einsum("jv,vcb->jcb", Jr, S)          # (55, 3, B)
    L = len(markers)
    m = np.zeros((L, skeleton.NUM_JOINTS))
    c0 = np.zeros((L, skeleton.NUM_JOINTS, 3))
    cd = np.zeros((L, skeleton.NUM_JOINTS, 3, S.shape[-1]))
    for i, (mname, spec) in enumerate(markers.items()):
        if isinstance(spec, str):
            m[i, skeleton.joint_index(spec)] = 1.0
            continue
        r = np.zeros(V)
        if isinstance(spec, (int, np.integer)):
            r[int(spec)] = 1.0
        else:
            r = np.asarray(spec, dtype=np.float64).reshape(V)
        idx = np.flatnonzero(r)
        rw = r[idx, None] * W[idx]                # (n, 55): r_lv w_vj
        m[i] = rw.sum(axis=0)
        c0[i] = rw.T @ v[idx] - m[i][:, None] * J0
        cd[i] = np.einsum("vj,vcb->jcb", rw, S[idx]) - m[i][:, None, None] * Jd
    return MarkerModel(parents=np.asarray(skeleton.PARENTS), joints_template=J0, joints_dirs=Jd,
                       marker_names=tuple(markers), m=m, c_template=c0, c_dirs=cd, name=name)
