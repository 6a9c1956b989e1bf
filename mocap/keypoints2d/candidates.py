"""Every person each camera found, per frame: the multi-person output of the detection stage.

``candidates2d.npz`` holds, per camera and frame, up to ``P`` candidate skeletons in the order the
detector returned them (which says nothing about who is who: the ``people`` stage,
:mod:`mocap.people.stage`, associates them across cameras and over time and writes one
``keypoints2d.npz`` per performer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputError

CANDIDATES_SCHEMA_VERSION = 1


@dataclass(frozen=True, eq=False)
class Candidates2D:
    """Detected 2D skeletons of several people per camera and frame.

    Attributes:
        xy: ``(C, F, P, J, 2)`` float32 video pixels (as :class:`mocap.keypoints2d.keypoints.Keypoints2D`);
            NaN where missing; a slot whose points are all NaN is empty.
        conf: ``(C, F, P, J)`` float32 confidence in [0, 1]; 0 where missing.
        keypoint_set: name of the keypoint set (``"blazepose33"``).
        joint_names: ``J`` names.
        camera_names: ``C`` names, the session's camera order.
        timestamps: ``(F,)`` seconds from the start of the take.
        fps: frames per second.
        max_people: the most people the detector was asked for per camera (0: no limit, e.g. imported).
        dropped: ``(C, F)`` people found beyond ``P`` slots and left out (the least confident).
    """

    xy: np.ndarray
    conf: np.ndarray
    keypoint_set: str
    joint_names: tuple[str, ...]
    camera_names: tuple[str, ...]
    timestamps: np.ndarray
    fps: float
    max_people: int = 0
    dropped: np.ndarray | None = None

    def __post_init__(self) -> None:
        c, f, p, j, two = self.xy.shape
        if two != 2 or self.conf.shape != (c, f, p, j):
            raise ValueError(f"xy must be (C, F, P, J, 2) and conf (C, F, P, J); got {self.xy.shape} and "
                             f"{self.conf.shape}")
        if len(self.joint_names) != j or len(self.camera_names) != c or len(self.timestamps) != f:
            raise ValueError("joint_names, camera_names and timestamps must match the shape of xy")
        if self.dropped is None:
            object.__setattr__(self, "dropped", np.zeros((c, f), np.int32))

    @property
    def n_cameras(self) -> int:
        return self.xy.shape[0]

    @property
    def n_frames(self) -> int:
        return self.xy.shape[1]

    @property
    def n_slots(self) -> int:
        return self.xy.shape[2]

    def people_found(self) -> np.ndarray:
        """``(C, F)`` number of people each camera found per frame."""
        return np.isfinite(self.xy[..., 0]).any(axis=-1).sum(axis=-1)

    def detection_rate(self) -> np.ndarray:
        """``(C,)`` fraction of frames in which each camera found anybody."""
        return (self.people_found() > 0).mean(axis=-1)

    def save(self, path: str | Path) -> Path:
        from mocap.io.atomic import write_npz

        return write_npz(path, schema_version=np.array(CANDIDATES_SCHEMA_VERSION), xy=self.xy, conf=self.conf,
                         keypoint_set=np.array(self.keypoint_set), joint_names=np.array(self.joint_names),
                         camera_names=np.array(self.camera_names), timestamps=self.timestamps,
                         fps=np.array(self.fps), max_people=np.array(self.max_people), dropped=self.dropped)

    @classmethod
    def load(cls, path: str | Path) -> Candidates2D:
        try:
            with np.load(path, allow_pickle=False) as z:
                version = int(z["schema_version"])
                if version > CANDIDATES_SCHEMA_VERSION:
                    raise InputError(f"candidates schema_version {version} is newer than this mocap supports",
                                     path=path, fix="upgrade mocap")
                return cls(z["xy"], z["conf"], str(z["keypoint_set"]), tuple(str(s) for s in z["joint_names"]),
                           tuple(str(s) for s in z["camera_names"]), z["timestamps"], float(z["fps"]),
                           int(z["max_people"]), z["dropped"])
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"2D candidates file is unreadable ({exc})", path=path,
                             fix="delete it and run `mocap detect` again") from exc


def stack_views(per_camera: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Cameras' ``(F_c, P_c, J, 2)`` / ``(F_c, P_c, J)`` arrays -> ``(C, F, P, J, 2)`` / ``(C, F, P, J)``,
    padded with empty slots and missing frames to the most of each."""
    n_frames = max(xy.shape[0] for xy, _ in per_camera)
    n_slots = max(xy.shape[1] for xy, _ in per_camera)
    n_joints = per_camera[0][0].shape[2]
    xy_out = np.full((len(per_camera), n_frames, n_slots, n_joints, 2), np.nan, np.float32)
    conf_out = np.zeros((len(per_camera), n_frames, n_slots, n_joints), np.float32)
    for c, (xy, conf) in enumerate(per_camera):
        xy_out[c, : xy.shape[0], : xy.shape[1]] = xy
        conf_out[c, : xy.shape[0], : xy.shape[1]] = conf
    return xy_out, conf_out
