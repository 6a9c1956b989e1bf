"""Finding named joints and skeleton edges in any keypoint set's points, and how steady its bones are (for the
report's plots and key figures)."""

from __future__ import annotations

import warnings

import numpy as np

from mocap.keypoints2d.sets import registered_set
from mocap.smoothing.filters import bone_lengths

KEY_JOINTS = ("pelvis", "left_wrist", "right_wrist", "left_ankle", "right_ankle")
"""SMPL-X names of the joints whose trajectories the report plots."""

_SPELLINGS = {  # other spellings of SMPL-X joint names (OpenPose, Pose2Sim, mocap suites)
    "pelvis": ("pelvis", "midhip", "hip", "hips", "root"),
    "left_hip": ("left_hip", "lhip", "l_hip"), "right_hip": ("right_hip", "rhip", "r_hip"),
    "left_wrist": ("left_wrist", "lwrist", "l_wrist", "lefthand", "left_hand"),
    "right_wrist": ("right_wrist", "rwrist", "r_wrist", "righthand", "right_hand"),
    "left_ankle": ("left_ankle", "lankle", "l_ankle", "leftfoot", "left_foot"),
    "right_ankle": ("right_ankle", "rankle", "r_ankle", "rightfoot", "right_foot"),
}


def canonical_names(joint_names, keypoint_set: str | None) -> list[str | None]:
    """The SMPL-X name of each joint (via the keypoint set's map when it is registered and matches)."""
    ks = registered_set(joint_names, keypoint_set)
    return [ks.canonical[n] for n in joint_names] if ks is not None else [None] * len(joint_names)


def find_joint(joint_names, smplx_name: str, keypoint_set: str | None = None) -> int | None:
    """Index of the joint that stands for SMPL-X ``smplx_name``, or ``None``."""
    names = list(joint_names)
    canon = canonical_names(names, keypoint_set)
    if smplx_name in canon:
        return canon.index(smplx_name)
    folded = [n.lower().replace(" ", "_") for n in names]
    for spelling in _SPELLINGS.get(smplx_name, (smplx_name,)):
        if spelling in folded:
            return folded.index(spelling)
    return None


def joint_track(xyz: np.ndarray, joint_names, smplx_name: str, keypoint_set: str | None = None) -> np.ndarray | None:
    """``(F, 3)`` positions of one joint; the pelvis falls back to the mid-point of the hips."""
    j = find_joint(joint_names, smplx_name, keypoint_set)
    if j is not None:
        return xyz[:, j]
    if smplx_name == "pelvis":
        hips = [find_joint(joint_names, n, keypoint_set) for n in ("left_hip", "right_hip")]
        if None not in hips:
            return 0.5 * (xyz[:, hips[0]] + xyz[:, hips[1]])
    return None


def bone_stats(xyz: np.ndarray, joint_names, edges: np.ndarray, min_length_mm: float = 100.0
               ) -> list[tuple[str, float, float, float, float]]:
    """``(bone, mean mm, std mm, CV, variation)`` per bone of ``edges (E, 2)`` over ``xyz (F, J, 3)`` metres.

    CV is the standard deviation of the bone's length over its mean; *variation* is the same over at least
    ``min_length_mm``, so that a 1 cm face bone with 1 mm of noise does not pass for an unstable limb."""
    lengths = bone_lengths(xyz, edges) * 1000.0  # (F, E) mm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bones never seen: NaN
        mean, std = np.nanmean(lengths, axis=0), np.nanstd(lengths, axis=0)
    names = list(joint_names)
    return [(f"{names[a]} – {names[b]}", float(m), float(s), float(s / m) if m > 0 else float("nan"),
             float(s / max(m, min_length_mm)) if np.isfinite(m) else float("nan"))
            for (a, b), m, s in zip(edges, mean, std)]
