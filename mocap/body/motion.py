"""`BodyMotion`: the body fitting stage's output, SMPL-X parameters for a whole take.

Saved as ``.npz`` with AMASS-compatible keys so other tools read it (``poses (F, 165)``, ``trans (F, 3)``,
``betas (B,)``, ``gender``, ``mocap_framerate`` and ``mocap_frame_rate``, ``surface_model_type``), plus our
own keys (``schema_version``, ``model``, ``fit_error_mm``, ``rest_joints``, ``up_axis``). Strings are stored
as numpy unicode arrays: the file loads with ``allow_pickle=False``.

World frame: like AMASS, ``global_orient`` includes the rotation from the model's Y-up frame to our Z-up
world (metres), and ``trans`` is smplx's ``transl``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mocap.body import skeleton
from mocap.errors import InputError
from mocap.io.atomic import write_npz

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class BodyMotion:
    """SMPL-X parameters for one performer over one take.

    Attributes:
        betas: ``(B,)`` shape coefficients, one set for the take.
        global_orient: ``(F, 3)`` root rotation (axis-angle, model frame -> world).
        body_pose: ``(F, 21, 3)`` body joint rotations (axis-angle, parent-relative).
        left_hand_pose, right_hand_pose: ``(F, 15, 3)``; zeros (flat hands) when no hand keypoints existed.
        jaw_pose, leye_pose, reye_pose: ``(F, 3)``.
        transl: ``(F, 3)`` metres.
        fps: frames per second of the take.
        model: which body model: ``"open_smplx"`` (ours, shipped) or ``"smplx"`` (licensed files).
        gender: ``"neutral"``, ``"male"`` or ``"female"``.
        rest_joints: ``(55, 3)`` joint positions of the rest pose for ``betas`` (model frame, metres), so
            that exporters and the Blender add-on need no body model to build the skeleton.
        fit_error_mm: ``(F,)`` mean distance to the fitted 3D keypoints per frame; NaN where not fitted.
        has_hands: whether hand poses were fitted.
        timestamps: ``(F,)`` seconds.
    """

    betas: np.ndarray
    global_orient: np.ndarray
    body_pose: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    jaw_pose: np.ndarray
    leye_pose: np.ndarray
    reye_pose: np.ndarray
    transl: np.ndarray
    fps: float
    rest_joints: np.ndarray
    model: str = "open_smplx"
    gender: str = "neutral"
    fit_error_mm: np.ndarray | None = None
    has_hands: bool = False
    timestamps: np.ndarray | None = field(default=None)

    def __post_init__(self):
        F = np.asarray(self.global_orient).shape[0] if np.ndim(self.global_orient) else 0
        if F < 1:
            raise ValueError("BodyMotion has no frames")
        try:
            fps = float(self.fps)
        except (TypeError, ValueError):
            fps = float("nan")
        if not (np.isfinite(fps) and 0 < fps <= 10_000):
            raise ValueError(f"BodyMotion.fps must be a positive frame rate, got {self.fps!r}")
        shapes = {"global_orient": (F, 3), "body_pose": (F, 21, 3), "left_hand_pose": (F, 15, 3),
                  "right_hand_pose": (F, 15, 3), "jaw_pose": (F, 3), "leye_pose": (F, 3), "reye_pose": (F, 3),
                  "transl": (F, 3), "rest_joints": (skeleton.NUM_JOINTS, 3)}
        for name, shape in shapes.items():
            a = np.asarray(getattr(self, name), dtype=np.float64)
            if a.shape != shape:
                raise ValueError(f"BodyMotion.{name}: expected shape {shape}, got {a.shape}")
            if np.isinf(a).any() or (name == "rest_joints" and not np.isfinite(a).all()):
                raise ValueError(f"BodyMotion.{name} has infinite values" if np.isinf(a).any()
                                 else f"BodyMotion.{name} has NaN values")
            object.__setattr__(self, name, a)
        betas = np.asarray(self.betas, dtype=np.float64).reshape(-1)
        if not np.isfinite(betas).all():
            raise ValueError("BodyMotion.betas must be finite")
        object.__setattr__(self, "betas", betas)
        fe = np.full(F, np.nan) if self.fit_error_mm is None else np.asarray(self.fit_error_mm, dtype=np.float64)
        if fe.shape != (F,):
            raise ValueError(f"BodyMotion.fit_error_mm: expected shape {(F,)}, got {fe.shape}")
        object.__setattr__(self, "fit_error_mm", fe)
        ts = np.arange(F) / fps if self.timestamps is None else np.asarray(self.timestamps, float)
        if ts.shape != (F,) or not np.isfinite(ts).all() or (np.diff(ts) <= 0).any():
            raise ValueError(f"BodyMotion.timestamps must be {F} increasing finite times")
        object.__setattr__(self, "fps", fps)
        object.__setattr__(self, "timestamps", ts)

    @property
    def n_frames(self) -> int:
        return self.global_orient.shape[0]

    def full_pose(self) -> np.ndarray:
        """``(F, 55, 3)`` axis-angle for all joints in smplx order."""
        F = self.n_frames
        return np.concatenate([self.global_orient[:, None], self.body_pose, self.jaw_pose[:, None],
                               self.leye_pose[:, None], self.reye_pose[:, None], self.left_hand_pose,
                               self.right_hand_pose], axis=1).reshape(F, skeleton.NUM_JOINTS, 3)

    @classmethod
    def from_full_pose(cls, pose: np.ndarray, transl: np.ndarray, betas: np.ndarray, rest_joints: np.ndarray,
                       fps: float, **kwargs) -> "BodyMotion":
        """Build from ``pose (F, 55, 3)`` axis-angle (smplx joint order)."""
        pose = np.asarray(pose, dtype=np.float64)
        return cls(betas=betas, global_orient=pose[:, 0], body_pose=pose[:, 1:22], jaw_pose=pose[:, 22],
                   leye_pose=pose[:, 23], reye_pose=pose[:, 24], left_hand_pose=pose[:, 25:40],
                   right_hand_pose=pose[:, 40:55], transl=transl, rest_joints=rest_joints, fps=fps, **kwargs)

    def joint_positions(self) -> np.ndarray:
        """``(F, 55, 3)`` world joint positions (skeleton forward kinematics, no mesh needed)."""
        X, _ = skeleton.forward_kinematics(self.rest_joints, self.full_pose(), self.transl)
        return X

    def global_rotations(self) -> np.ndarray:
        """``(F, 55, 3, 3)`` world rotation of every joint frame."""
        _, G = skeleton.forward_kinematics(self.rest_joints, self.full_pose(), self.transl)
        return G

    def slice(self, frames: slice) -> "BodyMotion":
        return replace(self, global_orient=self.global_orient[frames], body_pose=self.body_pose[frames],
                       left_hand_pose=self.left_hand_pose[frames], right_hand_pose=self.right_hand_pose[frames],
                       jaw_pose=self.jaw_pose[frames], leye_pose=self.leye_pose[frames],
                       reye_pose=self.reye_pose[frames], transl=self.transl[frames],
                       fit_error_mm=self.fit_error_mm[frames], timestamps=self.timestamps[frames])

    def save(self, path: str | Path) -> Path:
        """Write AMASS-compatible ``.npz`` atomically."""
        F = self.n_frames
        return write_npz(path, **{
            "schema_version": np.array(SCHEMA_VERSION),
            "poses": self.full_pose().reshape(F, -1).astype(np.float32),
            "trans": self.transl.astype(np.float32),
            "betas": self.betas.astype(np.float32),
            "gender": np.array(self.gender),
            "surface_model_type": np.array("smplx"),
            "mocap_framerate": np.array(float(self.fps)),
            "mocap_frame_rate": np.array(float(self.fps)),
            "model": np.array(self.model),
            "rest_joints": self.rest_joints.astype(np.float64),
            "fit_error_mm": self.fit_error_mm.astype(np.float32),
            "has_hands": np.array(bool(self.has_hands)),
            "timestamps": self.timestamps.astype(np.float64),
            "up_axis": np.array("Z"),
        })

    @classmethod
    def load(cls, path: str | Path) -> "BodyMotion":
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such body motion file; run `mocap fit` first (it writes body_motion.npz)")
        try:
            with np.load(path, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
        except Exception as exc:  # zip/format errors
            raise InputError(f"{path}: not a readable .npz body motion ({exc}); re-run `mocap fit`") from exc
        missing = [k for k in ("poses", "trans", "betas") if k not in d]
        if missing:
            raise InputError(f"{path}: missing keys {missing}; expected an AMASS-style SMPL-X .npz")
        poses = d["poses"].astype(np.float64)
        if poses.ndim != 2 or poses.shape[1] != 165:
            raise InputError(f"{path}: 'poses' has shape {poses.shape}, expected (F, 165) SMPL-X poses "
                             "(SMPL-H files with 156 columns are not SMPL-X)")
        F = poses.shape[0]
        try:
            fps = float(d.get("mocap_framerate", d.get("mocap_frame_rate", np.array(30.0))))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path}: mocap_framerate is not a number ({exc})", fix="re-run `mocap fit`") from exc
        rest = d.get("rest_joints")
        if rest is None:
            raise InputError(f"{path}: no 'rest_joints'; this file was not written by mocap. Load it with "
                             "mocap.body.motion.load_amass(path, model) which computes them from the body model")
        try:
            return cls.from_full_pose(poses.reshape(F, 55, 3), d["trans"], d["betas"], rest, fps,
                                      model=str(d.get("model", "smplx")), gender=str(d.get("gender", "neutral")),
                                      fit_error_mm=d.get("fit_error_mm"), has_hands=bool(d.get("has_hands", False)),
                                      timestamps=d.get("timestamps"))
        except (ValueError, TypeError) as exc:
            raise InputError(f"{path}: the body motion is invalid ({exc})",
                             fix="re-run `mocap fit` to write it again") from exc
