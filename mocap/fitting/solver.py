"""Batched Gauss-Newton / Levenberg-Marquardt for body fitting, with analytic Jacobians.

Every frame's pose is a small dense least-squares problem (about 70 unknowns); all frames are solved
at once as a batch of small linear systems (torch, CPU or GPU). Rotations are updated multiplicatively
(``R <- R @ exp(delta)``), so the Jacobian of a marker with respect to joint ``k`` is closed-form: a
rotation ``omega = G_k @ delta`` about the joint moves every point of its subtree by
``omega x (p - X_k)``, hence ``d marker_l / d delta_k = -[S_lk - M_lk X_k]_x G_k`` where ``S_lk`` is the
part of marker ``l`` carried by the subtree of ``k`` and ``M_lk`` its skinning weight on that subtree.
"""
from __future__ import annotations

import numpy as np


def skew(v):
    """``(..., 3)`` -> ``(..., 3, 3)`` cross-product matrices."""
    import torch

    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], -1).reshape(v.shape[:-1] + (3, 3))


def exp_so3(v):
    from mocap.fitting.torch_ops import axis_angle_to_matrix

    return axis_angle_to_matrix(v)


def log_so3(R):
    """``(..., 3, 3)`` -> axis-angle ``(..., 3)`` (angles below pi; fine for joint rotations)."""
    import torch

    cos = ((R[..., 0, 0] + R[..., 1, 1] + R[..., 2, 2] - 1) / 2).clamp(-1 + 1e-7, 1 - 1e-7)
    theta = torch.arccos(cos)
    w = torch.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    scale = torch.where(theta < 1e-4, 0.5 + theta**2 / 12, theta / (2 * torch.sin(theta)))
    return w * scale[..., None]


def subtree_matrix(parents) -> np.ndarray:
    """``(J, J)`` with ``[k, j] = 1`` when ``j`` is ``k`` or a descendant of ``k``."""
    J = len(parents)
    A = np.eye(J)
    for j in range(J - 1, 0, -1):
        A[parents[j]] += A[j]
    return (A > 0).astype(np.float64)


class MarkerKinematics:
    """Forward kinematics of markers and their Jacobians for a batch of frames.

    Only the (marker, joint) pairs with a non-zero skinning weight are carried (about 4 per marker
    instead of 55), which keeps every array small.
    """

    def __init__(self, parents, m, free, dtype, device):
        import torch

        self.parents = [int(p) for p in parents]
        self.free = list(free)
        T = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)  # noqa: E731
        self.T = T
        m = np.asarray(m, dtype=np.float64)
        sub = subtree_matrix(self.parents)
        self.sub_np = sub
        self.pl, self.pj = np.nonzero(m)                    # pairs (marker, joint)
        self.L = m.shape[0]
        self.m_pairs = T(m[self.pl, self.pj])
        self.pj_t = torch.as_tensor(self.pj, device=device)
        A = np.zeros((self.L, len(self.pl)))
        A[self.pl, np.arange(len(self.pl))] = 1.0
        self.A = T(A)                                       # (L, P): sums pairs into markers
        self.M_np = m @ sub.T                               # (L, J): weight of marker l on subtree of k
        self.M = T(self.M_np)
        self._subtree_sum = {}

    def pair_offsets(self, c):
        """``c (L, J, 3)`` -> the carried pairs' offsets ``(P, 3)``."""
        return c[self.pl, self.pj]

    def forward(self, R, transl, rest, c_pairs):
        """``R (F, J, 3, 3)`` local rotations (root global), ``transl (F, 3)``, ``rest (J, 3)``,
        ``c_pairs (P, 3)`` -> ``G (F,J,3,3)``, ``X (F,J,3)``, per-pair marker parts ``(F,P,3)``."""
        import torch

        G, X = [None] * len(self.parents), [None] * len(self.parents)
        for j, p in enumerate(self.parents):
            if p < 0:
                G[j], X[j] = R[:, j], rest[j] + transl
            else:
                G[j] = G[p] @ R[:, j]
                X[j] = X[p] + (G[p] @ (rest[j] - rest[p]))
        G, X = torch.stack(G, 1), torch.stack(X, 1)
        Gp = G[:, self.pj_t]
        parts = (Gp @ c_pairs[None, :, :, None])[..., 0] + self.m_pairs[None, :, None] * X[:, self.pj_t]
        return G, X, parts

    def markers(self, parts):
        """``(F, P, 3)`` pair parts -> ``(F, L, 3)`` markers."""
        return self.A @ parts

    def _active(self, idx):
        """Sparse bookkeeping for the Jacobian w.r.t. joints ``idx``: the (marker, joint) combinations that
        move together (``q``), and which carried pairs sum into each."""
        import torch

        if idx not in self._subtree_sum:
            sub = self.sub_np[list(idx)]                              # (K, J)
            member = (self.pl[None, None, :] == np.arange(self.L)[:, None, None]) & (sub[None, :, self.pj] > 0)
            lq, kq = np.nonzero(member.any(-1))                       # active (marker, joint) combos
            q_of = -np.ones((self.L, len(idx)), dtype=np.int64)
            q_of[lq, kq] = np.arange(len(lq))
            ll, kk, pp = np.nonzero(member)
            dev = self.m_pairs.device
            self._subtree_sum[idx] = dict(
                lq=torch.as_tensor(lq, device=dev), kq=torch.as_tensor(kq, device=dev),
                jq=torch.as_tensor(np.asarray(idx)[kq], device=dev),
                sum_q=torch.as_tensor(q_of[ll, kk], device=dev), sum_p=torch.as_tensor(pp, device=dev),
                Mq=self.M[torch.as_tensor(lq, device=dev), torch.as_tensor(np.asarray(idx)[kq], device=dev)])
        return self._subtree_sum[idx]

    def jacobian(self, G, X, parts, joints):
        """``(F, L, 3, 3 * len(joints))``: marker derivatives w.r.t. ``R_k <- R_k exp(delta_k)``."""
        import torch

        idx = tuple(joints)
        a = self._active(idx)
        F_ = parts.shape[0]
        S = torch.zeros((F_, len(a["lq"]), 3), dtype=parts.dtype, device=parts.device)
        S.index_add_(1, a["sum_q"], parts[:, a["sum_p"]])             # subtree sums per combo
        lever = S - a["Mq"][None, :, None] * X[:, a["jq"]]             # (F, Q, 3)
        Gq = G[:, a["jq"]]                                             # (F, Q, 3, 3)
        # -[lever]_x @ G, column by column: G[:, c] x lever
        Jq = torch.linalg.cross(Gq, lever[..., :, None].expand_as(Gq), dim=-2)
        out = torch.zeros((F_, self.L, len(idx), 3, 3), dtype=parts.dtype, device=parts.device)
        out[:, a["lq"], a["kq"]] = Jq
        return out.permute(0, 1, 3, 2, 4).reshape(F_, self.L, 3, 3 * len(idx))
