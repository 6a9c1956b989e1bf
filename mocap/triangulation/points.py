"""``Points3D``: triangulated keypoints of one take, the output of triangulation and of smoothing.

Saved as ``.npz`` (arrays, loaded with ``allow_pickle=False``) with a ``schema_version``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.errors import InputError

POINTS_SCHEMA_VERSION = 2
"""2: ``timestamps`` (version 1 files load with ``frame / fps``)."""


@dataclass(frozen=True, eq=False)
class Points3D:
    """Triangulated keypoints of one take.

    Attributes:
        xyz: ``(F, J, 3)`` metres in the calibrated world frame (Z up); NaN where fewer than
            ``min_views`` good views.
        reprojection_error: ``(F, J)`` mean pixel error over the views used; NaN where missing.
        n_views: ``(F, J)`` number of views used.
        joint_names: ``J`` names.
        fps: frames per second.
        swaps: ``(C, F)`` bool, views whose left/right labels were exchanged.
        keypoint_set: the keypoint set of the 2D keypoints (``mocap.keypoints2d.sets``), "" if unknown.
        timestamps: ``(F,)`` seconds on the take's timeline (the first camera's frame 0 is 0; a take
            synchronized by ``mocap sync`` is triangulated on the common timeline of its ``sync.toml``);
            default ``frame / fps``.
    """

    xyz: np.ndarray
    reprojection_error: np.ndarray
    n_views: np.ndarray
    joint_names: tuple[str, ...]
    fps: float
    swaps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))
    keypoint_set: str = ""
    timestamps: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if len(self.timestamps) == 0:
            object.__setattr__(self, "timestamps", np.arange(len(self.xyz)) / self.fps)
        elif len(self.timestamps) != len(self.xyz):
            raise ValueError(f"timestamps ({len(self.timestamps)}) must match the frames of xyz ({len(self.xyz)})")

    def save(self, path: str | Path) -> Path:
        from mocap.io.atomic import write_npz

        return write_npz(path, schema_version=np.array(POINTS_SCHEMA_VERSION), xyz=self.xyz,
                         reprojection_error=self.reprojection_error, n_views=self.n_views,
                         joint_names=np.array(self.joint_names), fps=np.array(self.fps), swaps=self.swaps,
                         keypoint_set=np.array(self.keypoint_set), timestamps=np.asarray(self.timestamps, float))

    @classmethod
    def load(cls, path: str | Path) -> Points3D:
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(z["xyz"], z["reprojection_error"], z["n_views"], tuple(str(s) for s in z["joint_names"]),
                           float(z["fps"]), z["swaps"], str(z["keypoint_set"]) if "keypoint_set" in z else "",
                           z["timestamps"] if "timestamps" in z else np.zeros(0))
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"3D points file is unreadable ({exc})", path=path,
                             fix="delete it and run `mocap triangulate` again") from exc
