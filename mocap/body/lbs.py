"""The SMPL-X forward pass (shape blend, pose blend, linear blend skinning) as pure numpy functions.

Works on the arrays of a body model file in smplx's layout (``OPEN_SMPLX_NEUTRAL.npz`` or a licensed
``SMPLX_*.npz``): ``v_template (V, 3)``, ``shapedirs (V, 3, B)``, ``posedirs (V, 3, 486)``,
``J_regressor (55, V)``, ``weights (V, 55)``, ``kintree_table (2, 55)``. The results match
``smplx.create(..., use_pca=False, flat_hand_mean=True)(...)`` (vertices and the first 76 joints), but
need neither torch nor smplx.

Conventions: model frame (Y up, facing +Z, +X = the body's left), metres, axis-angle per joint relative
to its parent, ``transl`` added after the rotation about the pelvis (see :mod:`mocap.body.skeleton`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mocap.body.skeleton import NUM_JOINTS, PARENTS, SMPLX_JOINT_NAMES
from mocap.errors import InputError
from mocap.geometry import axis_angle_to_matrix

BodyModelArrays = Mapping[str, np.ndarray]

#: smplx's 21 extra joints (``smplx.vertex_ids.vertex_ids['smplx']``) in smplx's joint order (the
#: names of ``SMPLX_JOINT_NAMES[55:76]``): face, feet, then finger tips. These vertex ids are only
#: meaningful for a mesh in SMPL-X's vertex order; a model file may give its own as
#: ``extra_joint_vertex_ids (21,)``.
SMPLX_EXTRA_VERTEX_IDS: tuple[int, ...] = (
    9120, 9929, 9448, 616, 6,  # nose, right eye, left eye, right ear, left ear
    5770, 5780, 8846, 8463, 8474, 8635,  # left big toe, small toe, heel; right big toe, small toe, heel
    5361, 4933, 5058, 5169, 5286,  # left thumb, index, middle, ring, pinky tips
    8079, 7669, 7794, 7905, 8022,  # right thumb, index, middle, ring, pinky tips
)
EXTRA_JOINT_NAMES: tuple[str, ...] = SMPLX_JOINT_NAMES[NUM_JOINTS:NUM_JOINTS + 21]
#: The 76 joints :func:`all_joints` returns: the 55 skeleton joints then the 21 extra landmarks.
JOINT76_NAMES: tuple[str, ...] = SMPLX_JOINT_NAMES[:NUM_JOINTS + 21]

_CHUNK_BYTES = 256 << 20


def load_model(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """Read a body model ``.npz`` (default: the shipped open model) into a dict of arrays."""
    if path is None:
        from mocap.bodymodels import OPEN_MODEL_PATH

        path = OPEN_MODEL_PATH
    path = Path(path)
    if not path.is_file():
        raise InputError("body model file not found", path=path,
                         fix="pass the path of an SMPL-X-layout .npz (the open model ships in mocap/bodymodels/)")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _betas(model: BodyModelArrays, betas: np.ndarray | None) -> np.ndarray:
    n_max = min(10, np.asarray(model["shapedirs"]).shape[-1])  # smplx: first 10 columns are betas
    b = np.zeros(0) if betas is None else np.asarray(betas, float).reshape(-1)
    if len(b) > n_max:
        raise ValueError(f"got {len(b)} betas, the model has {n_max}")
    return b


def shaped_template(model: BodyModelArrays, betas: np.ndarray | None = None) -> np.ndarray:
    """Rest-pose vertices ``(V, 3)`` for shape ``betas (B,)`` (None = the mean shape)."""
    b = _betas(model, betas)
    v = np.asarray(model["v_template"], float)
    if len(b):
        v = v + np.asarray(model["shapedirs"], float)[:, :, : len(b)] @ b
    return v


def rest_joints(model: BodyModelArrays, betas: np.ndarray | None = None) -> np.ndarray:
    """Rest-pose joint positions ``(55, 3)`` (``J_regressor`` applied to the shaped template)."""
    return np.asarray(model["J_regressor"], float) @ shaped_template(model, betas)


def _parents(model: BodyModelArrays) -> np.ndarray:
    kt = model.get("kintree_table")
    parents = np.asarray(PARENTS) if kt is None else np.asarray(kt)[0].astype(np.int64)
    parents = parents.copy()
    parents[0] = -1  # smplx stores 2**32 - 1 (or -1) for the root
    return parents


def pose_vertices(model: BodyModelArrays, betas: np.ndarray | None, pose: np.ndarray,
                  transl: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Posed mesh and skeleton.

    Args:
        model: body model arrays (see the module docstring).
        betas: ``(B,)`` shape coefficients or None.
        pose: ``(F, 55, 3)`` axis-angle per joint (``global_orient`` first), or ``(55, 3)``.
        transl: ``(F, 3)`` or None.

    Returns:
        ``vertices (F, V, 3)`` and ``joints (F, 55, 3)``, metres.
    """
    pose = np.asarray(pose, float)
    single = pose.ndim == 2
    pose = pose.reshape(-1, NUM_JOINTS, 3)
    F = pose.shape[0]
    transl = np.zeros((F, 3)) if transl is None else np.asarray(transl, float).reshape(F, 3)
    v_shaped = shaped_template(model, betas)
    J = np.asarray(model["J_regressor"], float) @ v_shaped
    W = np.asarray(model["weights"], float)
    posedirs = model.get("posedirs")
    use_posedirs = posedirs is not None and np.any(posedirs)
    if use_posedirs:
        posedirs = np.asarray(posedirs, float).reshape(-1, np.asarray(posedirs).shape[-1])  # (V*3, 486)
    parents = _parents(model)
    V = v_shaped.shape[0]
    chunk = max(1, _CHUNK_BYTES // (V * 12 * 8 * 2))
    verts = np.empty((F, V, 3))
    joints = np.empty((F, NUM_JOINTS, 3))
    for s in range(0, F, chunk):
        R = axis_angle_to_matrix(pose[s : s + chunk])  # (f, 55, 3, 3)
        f = R.shape[0]
        G_R = np.empty_like(R)
        G_t = np.empty((f, NUM_JOINTS, 3))
        for j, p in enumerate(parents):
            if p < 0:
                G_R[:, j] = R[:, j]
                G_t[:, j] = J[j]
            else:
                G_R[:, j] = G_R[:, p] @ R[:, j]
                G_t[:, j] = G_t[:, p] + G_R[:, p] @ (J[j] - J[p])
        # skinning transforms: x -> G_R (x - J) + G_t
        A = np.concatenate([G_R, (G_t - np.einsum("fjab,jb->fja", G_R, J))[..., None]], axis=-1)  # (f, 55, 3, 4)
        T = (W @ A.reshape(f, NUM_JOINTS, 12)).reshape(f, V, 3, 4)
        v_posed = np.broadcast_to(v_shaped, (f, V, 3))
        if use_posedirs:
            feat = (R[:, 1:] - np.eye(3)).reshape(f, -1)
            v_posed = v_posed + (feat @ posedirs.T).reshape(f, V, 3)
        verts[s : s + f] = np.einsum("fvab,fvb->fva", T[..., :3], v_posed) + T[..., 3] + transl[s : s + f, None]
        joints[s : s + f] = G_t + transl[s : s + f, None]
    if single:
        return verts[0], joints[0]
    return verts, joints


def extra_vertex_ids(model: BodyModelArrays) -> np.ndarray:
    """``(21,)`` vertex ids of smplx's extra landmark joints for this model."""
    ids = model.get("extra_joint_vertex_ids")
    return np.asarray(SMPLX_EXTRA_VERTEX_IDS if ids is None else ids, dtype=np.int64)


def extra_joints(model: BodyModelArrays, vertices: np.ndarray) -> np.ndarray:
    """smplx's 21 extra landmark joints ``(..., 21, 3)`` (names :data:`EXTRA_JOINT_NAMES`) from ``vertices (..., V, 3)``."""
    return np.asarray(vertices)[..., extra_vertex_ids(model), :]


def all_joints(model: BodyModelArrays, vertices: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """The 76 joints smplx returns first: ``joints (..., 55, 3)`` then :func:`extra_joints`."""
    return np.concatenate([joints, extra_joints(model, vertices)], axis=-2)


def regress(model: BodyModelArrays, vertices: np.ndarray, key: str = "blazepose_regressor") -> np.ndarray:
    """Surface landmarks ``(..., L, 3)`` from ``vertices (..., V, 3)`` with the model's ``key (L, V)`` regressor."""
    if key not in model:
        raise KeyError(f"the body model has no {key!r}; it has {', '.join(sorted(model))}")
    reg = np.asarray(model[key], float)
    return np.einsum("lv,...vc->...lc", reg, np.asarray(vertices, float))
