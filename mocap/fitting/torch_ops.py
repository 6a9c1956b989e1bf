"""Differentiable rotations and forward kinematics in torch (batched over frames)."""
from __future__ import annotations


def axis_angle_to_matrix(aa):
    """``(..., 3)`` -> ``(..., 3, 3)``, smooth at zero."""
    import torch

    theta2 = (aa * aa).sum(-1, keepdim=True)
    theta = torch.sqrt(theta2 + 1e-12)
    k = aa / theta
    kx, ky, kz = k.unbind(-1)
    zero = torch.zeros_like(kx)
    K = torch.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], -1).reshape(aa.shape[:-1] + (3, 3))
    s = torch.sin(theta)[..., None]
    c = torch.cos(theta)[..., None]
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand(K.shape)
    return eye + s * K + (1 - c) * (K @ K)


def rot6d_to_matrix(x):
    """``(..., 6)`` (two columns) -> ``(..., 3, 3)`` by Gram-Schmidt: continuous, no wrap-around."""
    import torch

    a, b = x[..., :3], x[..., 3:]
    e1 = torch.nn.functional.normalize(a, dim=-1)
    b = b - (e1 * b).sum(-1, keepdim=True) * e1
    e2 = torch.nn.functional.normalize(b, dim=-1)
    e3 = torch.cross(e1, e2, dim=-1)
    return torch.stack([e1, e2, e3], dim=-1)


def forward_kinematics(rot, rest, parents, transl):
    """Posed joints.

    Args:
        rot: ``(F, J, 3, 3)`` local rotations (root: global).
        rest: ``(J, 3)`` rest joints.
        parents: sequence of parent indices.
        transl: ``(F, 3)``.

    Returns:
        ``G (F, J, 3, 3)`` global rotations, ``X (F, J, 3)`` positions.
    """
    import torch

    G = [None] * len(parents)
    X = [None] * len(parents)
    for j, p in enumerate(parents):
        if p < 0:
            G[j] = rot[:, j]
            X[j] = rest[j] + transl
        else:
            G[j] = G[p] @ rot[:, j]
            X[j] = X[p] + G[p] @ (rest[j] - rest[p])
    return torch.stack(G, 1), torch.stack(X, 1)
