"""Settings of the export stage (``[export]`` in a run config, ``mocap export`` options)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ExportFormat = Literal["bvh", "fbx", "glb", "amass", "trc"]


@dataclass(frozen=True)
class ExportConfig:
    """What files animators get from each take."""

    formats: tuple[ExportFormat, ...] = ("bvh", "fbx", "glb")
    """Files written per take and rig: any of bvh, fbx, glb, amass, trc (body_motion.npz is always there)."""
    rigs: tuple[str, ...] = ("smplx",)
    """Rig presets to retarget onto (``smplx`` = the fitted skeleton itself, or a rig .toml), e.g.
    ["smplx", "mixamo"]."""
    up: Literal["Y", "Z"] = "Y"
    """Up axis of BVH and TRC files."""
    units: Literal["m", "cm", "mm"] = "m"
    """Units of BVH files (m, cm, mm) and TRC files (m, mm)."""
    foot_locking: bool = True
    """Pin planted feet when retargeting onto a rig."""
    mesh: bool = True
    """Include the skinned body mesh in FBX/GLB files of the SMPL-X skeleton."""
