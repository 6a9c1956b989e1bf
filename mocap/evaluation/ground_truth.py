"""Ground truth of a synthetic session (written by :mod:`mocap.synth.human_take`) and the pipeline's
errors against it: calibration, 2D keypoints, 3D points, fitted joint angles.

``load_ground_truth(session, take)`` reads ``ground_truth/``; ``evaluate_take(session, take)`` compares
whatever the pipeline has written to the session's output folder so far (each part is None when its
file is absent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.body.motion import BodyMotion
from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.evaluation.metrics import (PointErrors, bone_direction_errors_deg, evaluate_points, joint_angle_errors_deg,
                                      keypoint_errors_px)
from mocap.layout import GroundTruthLayout


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The known answers of one take of a synthetic session; parts a session lacks are ``None``/empty.

    Attributes:
        rig: the true cameras.
        motion: the true SMPL-X motion (``model = "open_smplx"``).
        point_sets: true points by set name: ``(xyz (F, J, 3) world metres, J names)``. Sessions made by
            ``mocap synth`` have ``"blazepose"`` (the body model's BlazePose-comparable surface landmarks,
            BlazePose order) and ``"smplx_joints"`` (55 skeleton joints then smplx's 21 extra landmarks).
        fps: frames per second.
        timestamps: ``(F,)`` truth times, seconds.
        time_offsets: ``(C,)`` truth time of each camera's frame 0 (rig order).
        camera_fps: ``(C,)`` each camera's frame rate (default: ``fps``).
        drift_ppm: ``(C,)`` each camera's clock drift: its frame ``f`` shows the truth at
            ``time_offsets[c] + f / camera_fps[c] * (1 + drift_ppm[c] * 1e-6)``.
    """

    rig: CameraRig | None = None
    motion: BodyMotion | None = None
    point_sets: dict[str, tuple[np.ndarray, tuple[str, ...]]] = field(default_factory=dict)
    fps: float = float("nan")
    timestamps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    time_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0))
    camera_fps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    drift_ppm: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def camera_times(self, camera: str, n_frames: int) -> np.ndarray:
        """Truth times ``(n_frames,)`` of a camera's first ``n_frames`` frames."""
        c = self.rig.names.index(camera)
        rate = float(self.camera_fps[c]) if len(self.camera_fps) else self.fps
        drift = float(self.drift_ppm[c]) if len(self.drift_ppm) else 0.0
        offset = float(self.time_offsets[c]) if len(self.time_offsets) else 0.0
        return offset + np.arange(n_frames) / rate * (1.0 + drift * 1e-6)

    def take_to_truth(self, times: np.ndarray, first_camera: str) -> np.ndarray:
        """Truth times of take times (the pipeline's timeline: ``first_camera``'s frame 0 is 0, its clock)."""
        c = self.rig.names.index(first_camera) if self.rig is not None else 0
        offset = float(self.time_offsets[c]) if len(self.time_offsets) else 0.0
        drift = float(self.drift_ppm[c]) if len(self.drift_ppm) else 0.0
        return offset + np.asarray(times, float) * (1.0 + drift * 1e-6)

    def frames_at(self, times: np.ndarray) -> np.ndarray:
        """Fractional truth frame numbers ``(T,)`` of truth ``times``."""
        t0 = float(self.timestamps[0]) if len(self.timestamps) else 0.0
        return (np.asarray(times, float) - t0) * self.fps

    def _set(self, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
        if name not in self.point_sets:
            raise InputError(f"the ground truth has no {name!r} points (sets: {', '.join(self.point_sets) or 'none'})",
                             fix="regenerate the session with `mocap synth session`")
        return self.point_sets[name]

    @property
    def blazepose(self) -> np.ndarray:
        return self._set("blazepose")[0]

    @property
    def blazepose_names(self) -> tuple[str, ...]:
        return self._set("blazepose")[1]

    @property
    def smplx_joints(self) -> np.ndarray:
        return self._set("smplx_joints")[0]

    @property
    def smplx_joint_names(self) -> tuple[str, ...]:
        return self._set("smplx_joints")[1]

    @property
    def n_frames(self) -> int:
        return self.blazepose.shape[0]

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``(F, J, 3)`` -> ``(C, F, J, 2)`` pixels in each camera's *video* (mirrored as
        recorded); NaN outside the image or behind the camera."""
        return np.stack([self.project_one(cam, points) for cam in self.rig.cameras])

    @staticmethod
    def project_one(cam, points: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` -> ``(..., 2)`` video pixels of one camera; NaN outside its image."""
        xy = cam.to_video_pixels(cam.project(points))
        w, h = cam.size
        inside = (xy[..., 0] >= -0.5) & (xy[..., 0] <= w - 0.5) & (xy[..., 1] >= -0.5) & (xy[..., 1] <= h - 0.5)
        return np.where(inside[..., None], xy, np.nan)

    def blazepose_2d(self) -> np.ndarray:
        """``(C, F, 33, 2)`` true BlazePose landmarks in each camera's video pixels."""
        return self.project(self.blazepose)


def has_ground_truth(session_dir: str | Path) -> bool:
    """Whether the session has a ``ground_truth/`` folder (sessions made by ``mocap synth``)."""
    return GroundTruthLayout(Path(session_dir) / "ground_truth").folder.is_dir()


def load_ground_truth(session_dir: str | Path, take: str) -> GroundTruth:
    """Read ``session_dir/ground_truth/``: the true rig, and ``take``'s motion and points (each when present).

    Raises ``InputError`` when the session has no ground truth for ``take`` at all."""
    files = GroundTruthLayout(Path(session_dir) / "ground_truth")
    rig = CameraRig.load(files.rig) if files.rig.is_file() else None
    motion = BodyMotion.load(files.body_motion(take)) if files.body_motion(take).is_file() else None
    arrays = _read_arrays(files.joints(take)) if files.joints(take).is_file() else {}
    sets = _point_sets(arrays, files.joints(take)) if arrays else {}
    if rig is None and motion is None and not sets:
        raise InputError(f"no ground truth for take {take!r}", path=files.joints(take),
                         fix="only sessions made by `mocap synth session` have ground truth")
    n_cams = len(rig) if rig is not None else 0
    return GroundTruth(rig=rig, motion=motion, point_sets=sets, fps=float(arrays.get("fps", np.nan)),
                       timestamps=np.asarray(arrays.get("timestamps", np.zeros(0)), float),
                       time_offsets=np.asarray(arrays.get("time_offsets", np.zeros(n_cams)), float),
                       camera_fps=np.asarray(arrays.get("camera_fps", np.zeros(0)), float),
                       drift_ppm=np.asarray(arrays.get("drift_ppm", np.zeros(0)), float))


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"ground-truth joints are unreadable ({exc})", path=path,
                         fix="regenerate the synthetic session") from exc


def _point_sets(arrays: dict[str, np.ndarray], path: Path) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Every ``(F, J, 3)`` array of a ``joints.npz`` that has its names beside it: ``<key>`` with
    ``<key>_names`` (``blazepose``, ``blazepose_names``), ``<set>_joints`` with ``<set>_joint_names``
    (``smplx_joints``), or ``xyz`` with ``joint_names``."""
    sets = {}
    for key, xyz in arrays.items():
        spellings = ["joint_names"] if key == "xyz" else [f"{key}_names"]
        if key.endswith("_joints"):
            spellings.append(key[: -len("_joints")] + "_joint_names")
        names_key = next((n for n in spellings if n in arrays), None)
        if names_key is None or xyz.ndim != 3 or xyz.shape[2] != 3:
            continue
        names = tuple(str(s) for s in arrays[names_key])
        if len(names) == xyz.shape[1]:
            sets[key] = (np.asarray(xyz, float), names)
    if not sets:
        raise InputError(f"no (F, J, 3) joint array with joint names found (arrays: {sorted(arrays)})", path=path,
                         fix="regenerate the synthetic session")
    return sets


def _interpolate_rotations(R: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Rotations ``R (F, ..., 3, 3)`` at fractional ``frames (T,)`` (within ``0 .. F-1``): the shortest
    rotation from each frame to the next, scaled (exact at whole frames)."""
    from mocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle

    i0 = np.clip(np.floor(frames + 1e-6).astype(int), 0, len(R) - 1)
    i1 = np.minimum(i0 + 1, len(R) - 1)
    w = np.clip(frames - i0, 0.0, 1.0)
    w = np.where(w < 1e-6, 0.0, w).reshape((-1,) + (1,) * (R.ndim - 3))
    step = matrix_to_axis_angle(np.swapaxes(R[i0], -1, -2) @ R[i1])
    return R[i0] @ axis_angle_to_matrix(step * w[..., None])


@dataclass(frozen=True, eq=False)
class TakeEvaluation:
    """Errors of the pipeline's outputs for one take against the ground truth (None: output absent).

    Attributes:
        calibration: ``compare_rigs`` of the calibrated rig against the true one (focal %, principal
            point px, centre mm, rotation deg; per camera and ``*_max``).
        keypoints2d: 2D errors in pixels of the detected keypoints vs the projected true landmarks:
            ``detected``, ``median_px``, ``mean_px``, ``per_joint_median_px`` (J,), ``joint_names``.
        points3d: MPJPE, PA-MPJPE, per joint (mm) of the triangulated points vs the true landmarks.
        points3d_names: the joints compared in ``points3d`` (its ``per_joint`` order).
        joint_angles_deg: ``(55,)`` mean angle (deg) between fitted and true local joint rotations.
        joint_angle_mean_deg: mean of ``joint_angles_deg`` over the body joints (root and 21 body joints).
        body_joints: MPJPE, PA-MPJPE, per joint (mm) of the fitted body's 22 skeleton joints (pelvis and
            21 body joints) vs the true ones.
        bone_direction_mean_deg: mean angle between the fitted and true directions of the 21 bones between those
            22 joints (what keypoints observe: no twist about the bones).
    """

    calibration: dict | None = None
    keypoints2d: dict | None = None
    points3d: PointErrors | None = None
    points3d_names: tuple[str, ...] = ()
    joint_angles_deg: np.ndarray | None = None
    joint_angle_mean_deg: float | None = None
    body_joints: PointErrors | None = None
    bone_direction_mean_deg: float | None = None


def _match(names: tuple[str, ...], truth_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(into names, into truth_names)`` of the joints both have."""
    index = {n: i for i, n in enumerate(truth_names)}
    pairs = [(i, index[n]) for i, n in enumerate(names) if n in index]
    if not pairs:
        return np.zeros(0, int), np.zeros(0, int)
    a, b = np.array(pairs).T
    return a, b


def evaluate_take(session_dir: str | Path, take: str, outputs_dir: str | Path | None = None, *,
                  stride: int = 1) -> TakeEvaluation:
    """Compare the pipeline's outputs (``outputs_dir``: the session's output folder, default from
    session.toml) with the ground truth of ``take``, on every ``stride``-th frame (1: all; a long take's report
    samples)."""
    from mocap.body.skeleton import axis_angle_to_matrix
    from mocap.calibration.compare import compare_rigs
    from mocap.keypoints2d.keypoints import Keypoints2D
    from mocap.layout import OutputLayout
    from mocap.session import Session
    from mocap.sync.resample import interpolate_frames
    from mocap.triangulation.points import Points3D

    truth = load_ground_truth(session_dir, take)
    out = OutputLayout(Path(outputs_dir) if outputs_dir is not None else Session.load(session_dir).output_dir)
    result: dict = {}
    if out.calibration.rig.is_file() and truth.rig is not None:
        result["calibration"] = compare_rigs(CameraRig.load(out.calibration.rig), truth.rig)
    files = out.take(take)
    if files.keypoints2d.is_file():
        kp = Keypoints2D.load(files.keypoints2d)
        mine, theirs = _match(kp.joint_names, truth.blazepose_names)
        xy = kp.xy[:, ::stride][:, :, mine]
        true_xy = np.full(xy.shape, np.nan)
        for c, name in enumerate(kp.camera_names):  # each camera's frames at its own clock
            frames = truth.frames_at(truth.camera_times(name, int(kp.frame_counts[c])))[::stride]
            cam = truth.rig[name]
            true_xy[c, : len(frames)] = truth.project_one(cam, interpolate_frames(truth.blazepose[:, theirs], frames))
        stats = keypoint_errors_px(xy, true_xy)
        result["keypoints2d"] = {**stats, "joint_names": tuple(kp.joint_names[i] for i in mine)}
    points_times = None
    if files.points3d.is_file():
        pts = Points3D.load(files.points3d)
        mine, theirs = _match(pts.joint_names, truth.blazepose_names)
        first = Keypoints2D.load(files.keypoints2d).camera_names[0] if files.keypoints2d.is_file() else truth.rig.names[0]
        points_times = truth.frames_at(truth.take_to_truth(pts.timestamps[::stride], first))
        ref = interpolate_frames(truth.blazepose[:, theirs], points_times)
        seen = np.isfinite(ref).all(axis=(1, 2))  # instants the truth covers
        result["points3d"] = evaluate_points(pts.xyz[::stride][seen][:, mine], ref[seen])
        result["points3d_names"] = tuple(pts.joint_names[i] for i in mine)
    if files.body_motion.is_file() and truth.motion is not None:
        fitted = BodyMotion.load(files.body_motion)
        fitted = fitted.slice(slice(0, fitted.n_frames, stride))
        frames = (points_times[: fitted.n_frames] if points_times is not None
                  else np.arange(0, fitted.n_frames * stride, stride, dtype=float))
        seen = (frames >= -1e-6) & (frames <= truth.motion.n_frames - 1 + 1e-6)
        frames = frames[seen]
        true_R = _interpolate_rotations(axis_angle_to_matrix(truth.motion.full_pose()), frames)
        result.update(motion_errors(axis_angle_to_matrix(fitted.full_pose()[: len(seen)][seen]), true_R,
                                    fitted.joint_positions()[: len(seen)][seen][:, :22],
                                    interpolate_frames(truth.motion.joint_positions()[:, :22], frames)))
    return TakeEvaluation(**result)


def motion_errors(fitted_R: np.ndarray, true_R: np.ndarray, fitted_xyz: np.ndarray, true_xyz: np.ndarray) -> dict:
    """Fitted against true local joint rotations ``(F, 55, 3, 3)`` and the 22 body joints ``(F, 22, 3)`` of the same
    frames: ``joint_angles_deg (55,)`` (mean angle per joint), ``joint_angle_mean_deg`` (over the root and the 21
    body joints), ``body_joints`` (`PointErrors`) and ``bone_direction_mean_deg`` (the 21 bones between those
    joints), as in `TakeEvaluation`."""
    from mocap.body.skeleton import PARENTS

    err = joint_angle_errors_deg(fitted_R, true_R)
    bones = np.array([(PARENTS[j], j) for j in range(1, 22)])
    return {"joint_angles_deg": np.nanmean(err, axis=0), "joint_angle_mean_deg": float(np.nanmean(err[:, :22])),
            "body_joints": evaluate_points(fitted_xyz, true_xyz),
            "bone_direction_mean_deg": float(np.nanmean(bone_direction_errors_deg(fitted_xyz, true_xyz, bones)))}


def evaluate_motion(fitted: BodyMotion, truth: BodyMotion) -> dict:
    """`motion_errors` of a fitted motion against the true one, frame by frame (the frames both have)."""
    from mocap.body.skeleton import axis_angle_to_matrix

    F = min(fitted.n_frames, truth.n_frames)
    return motion_errors(axis_angle_to_matrix(fitted.full_pose()[:F]), axis_angle_to_matrix(truth.full_pose()[:F]),
                         fitted.joint_positions()[:F, :22], truth.joint_positions()[:F, :22])
