"""Which model marker each triangulated keypoint is compared with."""
from __future__ import annotations

import numpy as np

from mocap.body import skeleton
from mocap.errors import InputError
from mocap.fitting.model import SMPLX_EXTRA_VERTEX_IDS
from mocap.keypoints2d.sets import KEYPOINT_SETS, get_keypoint_set


def keypoint_set_for_names(joint_names: tuple[str, ...]):
    """The registered keypoint set whose joint names are exactly ``joint_names`` (or None)."""
    for ks in KEYPOINT_SETS.values():
        if tuple(ks.joint_names) == tuple(joint_names):
            return ks
    return None


def keypoint_markers(joint_names: tuple[str, ...], arrays: dict) -> dict[str, object]:
    """Marker specs (see `marker_model`) for the keypoints that have a model counterpart.

    BlazePose landmarks use the model's ``blazepose_regressor`` when it has one (surface points that
    match what the detector sees); every other keypoint uses its canonical SMPL-X joint: a skeleton
    joint, or one of smplx's landmark vertices (toes, heels, fingertips, eyes, ears, nose).
    """
    ks = keypoint_set_for_names(joint_names)
    if ks is None:
        raise InputError(f"the 3D points' joint names match no known keypoint set ({', '.join(joint_names[:5])}, ...)",
                         fix="triangulate keypoints from a registered detector or importer")
    blaze = get_keypoint_set("blazepose33").joint_names
    reg = arrays.get("blazepose_regressor")
    out: dict[str, object] = {}
    for name in joint_names:
        if reg is not None and name in blaze:
            out[name] = np.asarray(reg[blaze.index(name)], dtype=np.float64)
            continue
        target = ks.canonical.get(name)
        if target is None:
            continue
        if target in skeleton.JOINT_NAMES:
            out[name] = target
        elif target in SMPLX_EXTRA_VERTEX_IDS and np.asarray(arrays["v_template"]).shape[0] > 9929:
            out[name] = SMPLX_EXTRA_VERTEX_IDS[target]
    return out
