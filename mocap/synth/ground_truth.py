"""Ground truth of a synthetic session (written by :mod:`mocap.synth.human_take`) and the pipeline's
errors against it: calibration, 2D keypoints, 3D points, fitted joint angles.

``load_ground_truth(session, take)`` reads ``ground_truth/``; ``evaluate_take(session, take)`` compares
whatever the pipeline has written to the session's output folder so far (each part is None when its
file is absent).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.body.motion import BodyMotion
from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.evaluation import PointErrors, evaluate_points, joint_angle_errors_deg, keypoint_errors_px


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The known answers of one take of a synthetic session.

    Attributes:
        rig: the true cameras.
        motion: the true SMPL-X motion (``model = "open_smplx"``).
        smplx_joints: ``(F, 76, 3)`` world metres: 55 skeleton joints then smplx's 21 extra landmarks.
        smplx_joint_names: the 76 names.
        blazepose: ``(F, 33, 3)`` world metres, the body model's BlazePose-comparable surface landmarks.
        blazepose_names: the 33 names (BlazePose order).
        fps: frames per second.
        timestamps: ``(F,)`` seconds.
        time_offsets: ``(C,)`` seconds by which each camera's frames are late (rig order).
    """

    rig: CameraRig
    motion: BodyMotion
    smplx_joints: np.ndarray
    smplx_joint_names: tuple[str, ...]
    blazepose: np.ndarray
    blazepose_names: tuple[str, ...]
    fps: float
    timestamps: np.ndarray
    time_offsets: np.ndarray

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


def load_ground_truth(session_dir: str | Path, take: str) -> GroundTruth:
    """Read ``session_dir/ground_truth/`` for ``take``."""
    root = Path(session_dir) / "ground_truth"
    path = root / take / "joints.npz"
    if not path.is_file():
        raise InputError(f"no ground truth for take {take!r}", path=path,
                         fix="only sessions made by `mocap synth session` have ground truth")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    rig = CameraRig.load(root / "camera_rig.toml")
    offsets = arrays.get("time_offsets", np.zeros(len(rig)))
    return GroundTruth(rig=rig, motion=BodyMotion.load(root / take / "body_motion.npz"),
                       smplx_joints=arrays["smplx_joints"],
                       smplx_joint_names=tuple(str(s) for s in arrays["smplx_joint_names"]),
                       blazepose=arrays["blazepose"], blazepose_names=tuple(str(s) for s in arrays["blazepose_names"]),
                       fps=float(arrays["fps"]), timestamps=arrays["timestamps"], time_offsets=np.asarray(offsets, float))


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
    """

    calibration: dict | None = None
    keypoints2d: dict | None = None
    points3d: PointErrors | None = None
    points3d_names: tuple[str, ...] = ()
    joint_angles_deg: np.ndarray | None = None
    joint_angle_mean_deg: float | None = None
    body_joints: PointErrors | None = None


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
    from mocap.body.skeleton import axis_angle_to_matrix
    from mocap.calibration.compare import compare_rigs
    from mocap.keypoints import Keypoints2D
    from mocap.session import Session
    from mocap.triangulation.robust import Points3D

    truth = load_ground_truth(session_dir, take)
    out = Path(outputs_dir) if outputs_dir is not None else Session.load(session_dir).output_dir
    result: dict = {}
    rig_path = out / "calibration" / "camera_rig.toml"
    if rig_path.is_file():
        result["calibration"] = compare_rigs(CameraRig.load(rig_path), truth.rig)
    take_dir = out / "takes" / take
    if (take_dir / "keypoints2d.npz").is_file():
        kp = Keypoints2D.load(take_dir / "keypoints2d.npz")
        mine, theirs = _match(kp.joint_names, truth.blazepose_names)
        true_xy = truth.blazepose_2d()[:, :, theirs]
        order = [truth.rig.names.index(n) for n in kp.camera_names]
        F = min(kp.n_frames, truth.n_frames)
        stats = keypoint_errors_px(kp.xy[:, :F][:, :, mine], true_xy[order][:, :F])
        result["keypoints2d"] = {**stats, "joint_names": tuple(kp.joint_names[i] for i in mine)}
    if (take_dir / "points3d.npz").is_file():
        pts = Points3D.load(take_dir / "points3d.npz")
        mine, theirs = _match(pts.joint_names, truth.blazepose_names)
        F = min(pts.xyz.shape[0], truth.n_frames)
        result["points3d"] = evaluate_points(pts.xyz[:F][:, mine], truth.blazepose[:F][:, theirs])
        result["points3d_names"] = tuple(pts.joint_names[i] for i in mine)
    if (take_dir / "body_motion.npz").is_file():
        fitted = BodyMotion.load(take_dir / "body_motion.npz")
        F = min(fitted.n_frames, truth.motion.n_frames)
        err = joint_angle_errors_deg(axis_angle_to_matrix(fitted.full_pose()[:F]),
                                     axis_angle_to_matrix(truth.motion.full_pose()[:F]))
        result["joint_angles_deg"] = np.nanmean(err, axis=0)
        result["joint_angle_mean_deg"] = float(np.nanmean(err[:, :22]))
        result["body_joints"] = evaluate_points(fitted.joint_positions()[:F, :22],
                                                truth.motion.joint_positions()[:F, :22])
    return TakeEvaluation(**result)
