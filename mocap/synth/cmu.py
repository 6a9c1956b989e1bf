"""Ground-truth 3D motion from the CMU motion-capture database (BVH files in "cgspeed" units).

``load_cmu_clip`` turns a clip into joint positions in our world frame: metres, Z up, right-handed.
The BVH files are Y up, so ``(x, y, z)_bvh -> (x, -z, y)`` (a +90 degree turn about X, which keeps
the frame right-handed). One file unit is 1/0.45 inch (``CMU_UNIT_M`` = 0.05644 m).

The clips come from mocap.cs.cmu.edu (free to use with acknowledgement; NSF EIA-0196217).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mocap.export.bvh import forward_kinematics, read_bvh
from mocap.io.frames import natural_key

CMU_UNIT_M = 0.0254 / 0.45
"""Metres per cgspeed BVH unit (1/0.45 inch = 0.05644 m)."""

BVH_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
"""Rotation taking BVH Y-up coordinates to our Z-up world: ``(x, y, z) -> (x, -z, y)``."""

FOOT_JOINT = re.compile(r"foot|toe|ankle|heel", re.IGNORECASE)
"""Joints (and their ``_end`` sites) whose lowest point defines the floor for ``center=True``."""


class CmuClip(NamedTuple):
    """A CMU clip as ground-truth joint positions (unpacks as ``xyz, joint_names, fps``).

    Attributes:
        xyz: ``(F, J, 3)`` joint positions in metres, world frame (Z up, right-handed).
        joint_names: ``(J,)`` BVH joint names; end sites are included as ``<parent>_end``.
        fps: frames per second of ``xyz``.
    """

    xyz: np.ndarray
    joint_names: tuple[str, ...]
    fps: float


def load_cmu_clip(path: str | Path, fps: float | None = None, *, center: bool = False) -> CmuClip:
    """Read a CMU BVH clip as joint positions in metres in our Z-up world frame.

    Args:
        path: the ``.bvh`` file.
        fps: resample to this rate by linear interpolation of positions (None keeps the file's
            rate, 120 Hz for CMU). Integer divisors of the file rate (60, 30, ...) pick exact frames.
        center: move the first frame's root to x = y = 0 and the lowest foot point over the whole
            clip to z = 0.

    Raises ``InputError`` (from ``read_bvh``) when the file is missing or malformed.
    """
    if fps is not None and not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    motion = read_bvh(path)
    xyz = (forward_kinematics(motion) * CMU_UNIT_M) @ BVH_TO_WORLD.T
    rate = motion.fps
    if fps is not None and fps != rate:
        xyz, rate = resample_linear(xyz, rate, fps), float(fps)
    if center and len(xyz):
        xyz = center_on_floor(xyz, motion.joint_names, root=int(np.flatnonzero(motion.parents < 0)[0]))
    return CmuClip(xyz, motion.joint_names, rate)


def resample_linear(xyz: np.ndarray, src_fps: float, fps: float) -> np.ndarray:
    """Resample ``xyz (F, ...)`` from ``src_fps`` to ``fps`` by linear interpolation in time.

    The output covers the same time span, starting at the first frame: ``floor((F-1) * fps /
    src_fps) + 1`` frames. Times that land on a source frame copy it exactly.
    """
    n_src = xyz.shape[0]
    if n_src == 0:
        return xyz.copy()
    n_out = int(np.floor((n_src - 1) * fps / src_fps + 1e-9)) + 1
    pos = np.arange(n_out) * (src_fps / fps)
    snapped = np.round(pos)
    pos = np.where(np.abs(pos - snapped) < 1e-9, snapped, pos)
    i0 = np.minimum(np.floor(pos).astype(int), n_src - 1)
    i1 = np.minimum(i0 + 1, n_src - 1)
    w = (pos - i0).reshape((-1,) + (1,) * (xyz.ndim - 1))
    return (1.0 - w) * xyz[i0] + w * xyz[i1]


def center_on_floor(xyz: np.ndarray, joint_names: tuple[str, ...], root: int = 0) -> np.ndarray:
    """Shift ``xyz (F, J, 3)`` so frame 0's root is at x = y = 0 and the lowest foot point over
    all frames is at z = 0 (all joints count as feet when no name matches ``FOOT_JOINT``)."""
    feet = [j for j, name in enumerate(joint_names) if FOOT_JOINT.search(name)] or list(range(len(joint_names)))
    shift = np.array([xyz[0, root, 0], xyz[0, root, 1], np.min(xyz[:, feet, 2])])
    return xyz - shift


def cmu_files(shared_data_dir: str | Path) -> list[Path]:
    """The CMU ``.bvh`` clips in ``shared_data_dir/bvh`` in natural order (empty if absent)."""
    folder = Path(shared_data_dir) / "bvh"
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.glob("*.bvh") if p.is_file()), key=lambda p: natural_key(p.name))
