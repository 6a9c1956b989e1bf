"""The fitted body's skinned mesh for FBX/GLB exports (the body model's template for the fitted shape)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mocap.body import skeleton
from mocap.body.motion import BodyMotion
from mocap.export.animation import Y_UP_TO_Z_UP


def body_mesh(motion: BodyMotion, model: str | Path | None = "open"):
    """A `SkinnedMesh` matching ``motion``'s skeleton from the SMPL-X-layout body model, or None when the
    model's rest skeleton for ``motion.betas`` does not match ``motion.rest_joints`` (another model)."""
    from mocap.body import lbs
    from mocap.bodymodels import load_model_arrays, resolve_model_path
    from mocap.export.blender_scene import SkinnedMesh

    path, _ = resolve_model_path(model)
    arrays = load_model_arrays(path)
    if np.abs(lbs.rest_joints(arrays, motion.betas) - motion.rest_joints).max() > 0.005:
        return None
    verts = lbs.shaped_template(arrays, motion.betas) @ Y_UP_TO_Z_UP.T
    faces = np.asarray(arrays["f"], dtype=np.int64)
    uv = None
    if "vt" in arrays and "ft" in arrays:
        uv = np.asarray(arrays["vt"], dtype=np.float64)[np.asarray(arrays["ft"], dtype=np.int64)]
    texture = next((str(p) for p in sorted(path.parent.glob("texture.*"))), None)
    return SkinnedMesh(vertices=verts, faces=faces, weights=np.asarray(arrays["weights"], dtype=np.float64),
                       joint_names=skeleton.JOINT_NAMES, uv=uv, texture=texture)
