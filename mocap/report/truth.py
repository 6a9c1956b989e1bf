"""A take's outputs against a synthetic session's ground truth (metrics from :mod:`mocap.evaluation.metrics`)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from mocap.errors import MocapError
from mocap.evaluation.metrics import PointErrors, evaluate_points, joint_angle_errors_deg, point_errors_mm
from mocap.geometry import axis_angle_to_matrix, similarity_align
from mocap.report.inputs import TakeInputs
from mocap.report.joints import canonical_names

log = logging.getLogger(__name__)

BODY_JOINTS = 22
"""SMPL-X pelvis + 21 body joints: the joints compared between a fitted and a true body."""


@dataclass(frozen=True, eq=False)
class PointComparison:
    """Predicted points against true points on the joints both have.

    Attributes:
        errors: MPJPE, PA-MPJPE, per-joint error (mm).
        joint_names: names of ``errors.per_joint``.
        per_frame_mm: ``(F,)`` mean error per frame.
        pa_per_frame_mm: ``(F,)`` the same after per-frame Procrustes alignment.
    """

    errors: PointErrors
    joint_names: tuple[str, ...]
    per_frame_mm: np.ndarray
    pa_per_frame_mm: np.ndarray


@dataclass(frozen=True, eq=False)
class TruthComparison:
    """Everything the report compares with the ground truth; ``None`` where an input is missing.

    Attributes:
        points: triangulated 3D points vs the true joints.
        fit: fitted body joints vs the true body's joints.
        angle_per_joint_deg: ``(22,)`` mean joint-angle (parent-relative rotation) error per body joint.
        angle_per_frame_deg: ``(F,)`` mean over body joints.
        calibration: :func:`mocap.calibration.compare.compare_rigs` of the calibrated vs the true rig.
        external: scalar figures from ``mocap.evaluation.ground_truth.evaluate_take`` when it exists.
    """

    points: PointComparison | None = None
    fit: PointComparison | None = None
    angle_per_joint_deg: np.ndarray | None = None
    angle_per_frame_deg: np.ndarray | None = None
    calibration: dict | None = None
    external: dict[str, float] | None = None


def compare_points(pred: np.ndarray, pred_names, truth: np.ndarray, truth_names,
                   keypoint_set: str | None = None) -> PointComparison | None:
    """Match joints by name (directly, or via the keypoint set's SMPL-X names) and compare
    ``pred (F, J, 3)`` with ``truth (F', J', 3)`` over their common frames; ``None`` if no joint matches."""
    index = {n: i for i, n in enumerate(truth_names)}
    canon = canonical_names(pred_names, keypoint_set)
    pairs = []
    for i, name in enumerate(pred_names):
        j = index.get(name, index.get(canon[i]) if canon[i] else None)
        if j is not None:
            pairs.append((i, j))
    if not pairs:
        return None
    n = min(len(pred), len(truth))
    p = np.asarray(pred, float)[:n, [i for i, _ in pairs]]
    t = np.asarray(truth, float)[:n, [j for _, j in pairs]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames give NaN
        per_frame = np.nanmean(point_errors_mm(p, t), axis=1)
        pa_frame = np.nanmean(point_errors_mm(similarity_align(p, t), t), axis=1)
    return PointComparison(evaluate_points(p, t), tuple(pred_names[i] for i, _ in pairs), per_frame, pa_frame)


def compare_bodies(fit, truth) -> tuple[PointComparison, np.ndarray, np.ndarray]:
    """Fitted vs true :class:`~mocap.body.motion.BodyMotion`: joint positions and joint-angle errors
    ``(22,)`` per joint and ``(F,)`` per frame, in degrees."""
    from mocap.body import skeleton

    n = min(fit.n_frames, truth.n_frames)
    names = skeleton.JOINT_NAMES[:BODY_JOINTS]
    points = compare_points(fit.joint_positions()[:n, :BODY_JOINTS], names,
                            truth.joint_positions()[:n, :BODY_JOINTS], names)
    R_fit = axis_angle_to_matrix(fit.full_pose()[:n, :BODY_JOINTS])
    R_true = axis_angle_to_matrix(truth.full_pose()[:n, :BODY_JOINTS])
    angles = joint_angle_errors_deg(R_fit, R_true)  # (F, 22)
    return points, angles.mean(axis=0), angles.mean(axis=1)


def compare_with_truth(inputs: TakeInputs) -> TruthComparison | None:
    """All ground-truth comparisons the take's outputs allow, or ``None`` without ground truth."""
    gt = inputs.ground_truth
    if gt is None:
        return None
    points = fit = angle_joint = angle_frame = calibration = None
    if gt.point_sets and inputs.points is not None:
        candidates = [compare_points(inputs.points.xyz, inputs.points.joint_names, xyz, names, inputs.keypoint_set)
                      for xyz, names in gt.point_sets.values()]  # the true set that shares most joints
        points = max((c for c in candidates if c is not None), key=lambda c: len(c.joint_names), default=None)
        if points is None:
            log.warning("no joint of points3d.npz matches a ground-truth joint name; MPJPE not computed")
    if gt.motion is not None and inputs.body_motion is not None:
        fit, angle_joint, angle_frame = compare_bodies(inputs.body_motion, gt.motion)
    if gt.rig is not None and inputs.rig is not None:
        from mocap.calibration.compare import compare_rigs

        calibration = compare_rigs(inputs.rig, gt.rig)
    external = None
    if inputs.performers:
        external = _people_figures(inputs)
    elif gt.point_sets and inputs.performer is None:
        external = _external_figures(inputs)
    return TruthComparison(points, fit, angle_joint, angle_frame, calibration, external)


def _people_figures(inputs: TakeInputs) -> dict[str, float] | None:
    """Scalar figures of ``mocap.evaluation.people.evaluate_people`` (a take with several performers):
    identity switches, and per performer MPJPE and PCP."""
    from mocap.evaluation.people import evaluate_people

    if not inputs.session.ground_truth.performers(inputs.take).is_file():
        return None
    try:
        result = evaluate_people(inputs.session.root, inputs.take, inputs.session.output_dir)
    except (MocapError, OSError, KeyError, ValueError) as exc:
        log.warning("evaluate_people failed on take %s: %s", inputs.take, exc)
        return None
    out = {"identity_switches": float(result.identity_switches), "performers_missed": float(len(result.missed))}
    for p in result.performers:
        for key, value in (("points3d_mpjpe_mm", p.points3d.mpjpe if p.points3d else np.nan),
                           ("body_mpjpe_mm", p.body_joints.mpjpe if p.body_joints else np.nan),
                           ("pcp_body", p.pcp_body), ("pcp_points", p.pcp_points)):
            out[f"{p.name}.{key}"] = float(value)
    return out


def _external_figures(inputs: TakeInputs) -> dict[str, float] | None:
    """Scalar figures of ``mocap.evaluation.ground_truth.evaluate_take`` (the synthetic session's own
    evaluation)."""
    from mocap.evaluation.ground_truth import evaluate_take

    try:
        result = evaluate_take(inputs.session.root, inputs.take, inputs.session.output_dir, stride=inputs.stride)
    except (MocapError, OSError, KeyError, ValueError) as exc:
        log.warning("evaluate_take failed on take %s: %s", inputs.take, exc)
        return None
    figures = flatten_scalars(result)  # per-camera calibration errors are in the section's own table
    return {k: v for k, v in figures.items() if not k.startswith("calibration.cameras.")}


def flatten_scalars(value, prefix: str = "") -> dict[str, float]:
    """Every finite-or-NaN number in a dict / dataclass / object tree, keyed by its dotted path."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flatten_scalars(v, f"{prefix}{k}."))
        return out
    if isinstance(value, (bool, np.bool_)):
        return {}
    if isinstance(value, (int, float, np.integer, np.floating)):
        return {prefix.rstrip("."): float(value)}
    if isinstance(value, np.ndarray) and value.ndim == 0 and np.issubdtype(value.dtype, np.number):
        return {prefix.rstrip("."): float(value)}
    return {}
