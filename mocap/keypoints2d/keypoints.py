"""2D keypoints per camera and frame: the output of the detection stage, the input of triangulation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.errors import InputError

KEYPOINTS_SCHEMA_VERSION = 2
"""2: per-camera ``frame_counts`` and ``camera_fps`` (version 1 files load with every camera at ``fps``,
recording all ``F`` frames)."""


@dataclass(frozen=True, eq=False)
class Keypoints2D:
    """Detected 2D keypoints of one take.

    Attributes:
        xy: ``(C, F, J, 2)`` float32 pixel positions in each camera's *video* image (as decoded, i.e.
            still mirrored for a mirrored camera and still distorted); NaN where not detected.
        conf: ``(C, F, J)`` float32 confidence in [0, 1]; 0 or NaN where not detected.
        keypoint_set: name of the keypoint set (e.g. ``"blazepose33"``).
        joint_names: ``J`` names, in the order of axis 2.
        camera_names: ``C`` names, in the order of axis 0 (the session's camera order).
        timestamps: ``(F,)`` seconds from the start of the take (frame index / ``fps``; each camera's own
            times come from the take's ``sync.toml``).
        fps: frames per second (of the first camera).
        frame_counts: ``(C,)`` frames each camera really recorded (frames after that are padding, NaN);
            default: all ``F``.
        camera_fps: ``(C,)`` each camera's own frame rate (its video's); default: all ``fps``.
    """

    xy: np.ndarray
    conf: np.ndarray
    keypoint_set: str
    joint_names: tuple[str, ...]
    camera_names: tuple[str, ...]
    timestamps: np.ndarray
    fps: float
    frame_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    camera_fps: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        c, f, j, two = self.xy.shape
        if two != 2 or self.conf.shape != (c, f, j):
            raise ValueError(f"xy must be (C, F, J, 2) and conf (C, F, J); got {self.xy.shape} and {self.conf.shape}")
        if len(self.joint_names) != j or len(self.camera_names) != c or len(self.timestamps) != f:
            raise ValueError("joint_names, camera_names and timestamps must match the shape of xy")
        counts = np.full(c, f, np.int64) if len(self.frame_counts) == 0 else np.asarray(self.frame_counts, np.int64)
        rates = np.full(c, float(self.fps)) if len(self.camera_fps) == 0 else np.asarray(self.camera_fps, float)
        if counts.shape != (c,) or rates.shape != (c,) or (counts > f).any() or (counts < 0).any() or not (rates > 0).all():
            raise ValueError(f"frame_counts and camera_fps need one value per camera ({c}), counts <= {f}, rates > 0")
        object.__setattr__(self, "frame_counts", counts)
        object.__setattr__(self, "camera_fps", rates)

    @property
    def n_cameras(self) -> int:
        return self.xy.shape[0]

    @property
    def n_frames(self) -> int:
        return self.xy.shape[1]

    def detection_rate(self) -> np.ndarray:
        """``(C,)`` fraction of its recorded frames in which each camera detected any keypoint."""
        found = np.isfinite(self.xy[..., 0]).any(axis=-1).sum(axis=-1)
        return found / np.maximum(self.frame_counts, 1)

    def camera_tracks(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """Camera ``c``'s own frames: ``xy (frame_counts[c], J, 2)`` and ``conf (frame_counts[c], J)``."""
        n = int(self.frame_counts[c])
        return self.xy[c, :n], self.conf[c, :n]

    def save(self, path: str | Path) -> Path:
        from mocap.io.atomic import write_npz

        return write_npz(path, schema_version=np.array(KEYPOINTS_SCHEMA_VERSION), xy=self.xy, conf=self.conf,
                         keypoint_set=np.array(self.keypoint_set), joint_names=np.array(self.joint_names),
                         camera_names=np.array(self.camera_names), timestamps=self.timestamps,
                         fps=np.array(self.fps), frame_counts=self.frame_counts, camera_fps=self.camera_fps)

    @classmethod
    def load(cls, path: str | Path) -> Keypoints2D:
        try:
            with np.load(path, allow_pickle=False) as z:
                version = int(z["schema_version"])
                if version > KEYPOINTS_SCHEMA_VERSION:
                    raise InputError(f"keypoints schema_version {version} is newer than this mocap supports",
                                     path=path, fix="upgrade mocap")
                per_camera = {k: z[k] for k in ("frame_counts", "camera_fps") if k in z.files}  # version 2
                return cls(z["xy"], z["conf"], str(z["keypoint_set"]), tuple(str(s) for s in z["joint_names"]),
                           tuple(str(s) for s in z["camera_names"]), z["timestamps"], float(z["fps"]), **per_camera)
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"2D keypoints file is unreadable ({exc})", path=path,
                             fix="delete it and run `mocap detect` again") from exc


def first_frame_index(path: str | Path) -> int:
    """The video frame index of the first row of a saved ``Keypoints2D`` (``timestamps[0] * fps``, rounded),
    read without loading the keypoints."""
    try:
        with np.load(path, allow_pickle=False) as z:
            t0, fps = float(z["timestamps"][0]) if z["timestamps"].size else 0.0, float(z["fps"])
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"2D keypoints file is unreadable ({exc})", path=path,
                         fix="delete it and run `mocap detect` again") from exc
    return max(0, int(round(t0 * fps)))


_SIDE_PREFIXES = (("left_", "right_"), ("l_", "r_"), ("Left", "Right"), ("L", "R"))


def left_right_pairs(joint_names: tuple[str, ...] | list[str]) -> np.ndarray:
    """``(P, 2)`` indices of left/right counterparts, matched by name (``left_knee``/``right_knee``,
    ``l_hip``/``r_hip``, ``LeftArm``/``RightArm``, ``LHip``/``RHip``, and ``..._left``/``..._right``)."""
    index = {n: i for i, n in enumerate(joint_names)}
    pairs = []
    for name, i in index.items():
        for lp, rp in _SIDE_PREFIXES:
            if name.startswith(lp) and len(name) > len(lp):
                j = index.get(rp + name[len(lp):])
                if j is not None:
                    pairs.append((i, j))
                    break
        else:
            if name.endswith("_left") and name[:-5] + "_right" in index:
                pairs.append((i, index[name[:-5] + "_right"]))
    return np.array(pairs, dtype=int).reshape(-1, 2)
