"""The fitted body's skinned mesh for FBX/GLB exports (the body model's template for the fitted shape)."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from mocap.body import skeleton
from mocap.body.motion import BodyMotion
from mocap.geometry import Y_UP_TO_Z_UP

log = logging.getLogger(__name__)


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


def export_mesh(motion: BodyMotion, model: str | Path | None = None):
    """The skinned body mesh for FBX/GLB files of the SMPL-X skeleton, or None (logged) without one.

    The mesh comes from ``model`` (the body model the take was fitted with, e.g. ``[fit] model``), or by
    default from the model ``motion`` names (``open_smplx``: the shipped open model; ``smplx``: the
    licensed files from ``$MOCAP_SMPLX_PATH``). When those files are missing or do not match the motion's
    skeleton the export goes on with the skeleton alone."""
    from mocap.errors import MocapError

    model = model if model is not None else ("open" if motion.model == "open_smplx" else "smplx")
    try:
        mesh = body_mesh(motion, model)
    except MocapError as exc:
        log.warning("no body mesh in the file: %s", exc)
        return None
    if mesh is None:
        log.warning("no body mesh in the file: the %s model's skeleton does not match the take's", model)
    return mesh
