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
        timestamps: ``(F,)`` seconds.
        time_offsets: ``(C,)`` seconds by which each camera's frames are late (rig order).
    """

    rig: CameraRig | None = None
    motion: BodyMotion | None = None
    point_sets: dict[str, tuple[np.ndarray, tuple[str, ...]]] = field(default_factory=dict)
    fps: float = float("nan")
    timestamps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    time_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0))

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
        out = []
        for cam in self.rig.cameras:
            xy = cam.to_video_pixels(cam.project(points))
            w, h = cam.size
            inside = (xy[..., 0] >= -0.5) & (xy[..., 0] <= w - 0.5) & (xy[..., 1] >= -0.5) & (xy[..., 1] <= h - 0.5)
            out.append(np.where(inside[..., None], xy, np.nan))
        return np.stack(out)

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
                       time_offsets=np.asarray(arrays.get("time_offsets", np.zeros(n_cams)), float))


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


def evaluate_take(session_dir: str | Path, take: str, outputs_dir: str | Path | None = None) -> TakeEvaluation:
    """Compare the pipeline's outputs (``outputs_dir``: the session's output folder, default from
    session.toml) with the ground truth of ``take``."""
    from mocap.calibration.compare import compare_rigs
    from mocap.keypoints2d.keypoints import Keypoints2D
    from mocap.layout import OutputLayout
    from mocap.session import Session
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
        true_xy = truth.blazepose_2d()[:, :, theirs]
        order = [truth.rig.names.index(n) for n in kp.camera_names]
        F = min(kp.n_frames, truth.n_frames)
        stats = keypoint_errors_px(kp.xy[:, :F][:, :, mine], true_xy[order][:, :F])
        result["keypoints2d"] = {**stats, "joint_names": tuple(kp.joint_names[i] for i in mine)}
    if files.points3d.is_file():
        pts = Points3D.load(files.points3d)
        mine, theirs = _match(pts.joint_names, truth.blazepose_names)
        F = min(pts.xyz.shape[0], truth.n_frames)
        result["points3d"] = evaluate_points(pts.xyz[:F][:, mine], truth.blazepose[:F][:, theirs])
        result["points3d_names"] = tuple(pts.joint_names[i] for i in mine)
    if files.body_motion.is_file() and truth.motion is not None:
        result.update(evaluate_motion(BodyMotion.load(files.body_motion), truth.motion))
    return TakeEvaluation(**result)


def evaluate_motion(fitted: BodyMotion, truth: BodyMotion) -> dict:
    """A fitted motion against the true one (frames both have): ``joint_angles_deg (55,)`` (mean angle between
    the local joint rotations), ``joint_angle_mean_deg`` (over the root and the 21 body joints),
    ``body_joints`` (`PointErrors` of the 22 skeleton joints), ``bone_direction_mean_deg``, as in
    `TakeEvaluation`."""
    from mocap.body.skeleton import PARENTS, axis_angle_to_matrix

    F = min(fitted.n_frames, truth.n_frames)
    bones = np.array([(PARENTS[j], j) for j in range(1, 22)])
    fitted_xyz, true_xyz = fitted.joint_positions()[:F, :22], truth.joint_positions()[:F, :22]
    err = joint_angle_errors_deg(axis_angle_to_matrix(fitted.full_pose()[:F]),
                                 axis_angle_to_matrix(truth.full_pose()[:F]))
    return {"joint_angles_deg": np.nanmean(err, axis=0), "joint_angle_mean_deg": float(np.nanmean(err[:, :22])),
            "body_joints": evaluate_points(fitted_xyz, true_xyz),
            "bone_direction_mean_deg": float(np.nanmean(bone_direction_errors_deg(fitted_xyz, true_xyz, bones)))}
