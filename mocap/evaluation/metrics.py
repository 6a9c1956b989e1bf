"""Error metrics against ground truth, shared by tests, benches and the report.

All functions are NaN-aware: frames/joints missing in the prediction or the truth are left out
of the averages (and counted, so a method cannot look good by returning nothing).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from mocap.geometry import rotation_angle_deg, similarity_align
from mocap.smoothing.filters import bone_lengths


@dataclass(frozen=True, eq=False)
class PointErrors:
    """3D point errors in millimetres.

    Attributes:
        mpjpe: mean per-joint position error over all valid points.
        pa_mpjpe: the same after a per-frame similarity (Procrustes) alignment to the truth.
        per_joint: ``(J,)`` mean error per joint (NaN where never valid).
        median: median per-point error.
        coverage: fraction of true points that the prediction has.
    """

    mpjpe: float
    pa_mpjpe: float
    per_joint: np.ndarray
    median: float
    coverage: float


def point_errors_mm(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-point Euclidean error ``(F, J)`` in mm; NaN where either is missing."""
    return np.linalg.norm(np.asarray(pred, float) - np.asarray(truth, float), axis=-1) * 1000.0


def evaluate_points(pred: np.ndarray, truth: np.ndarray) -> PointErrors:
    """MPJPE, PA-MPJPE, per-joint error and coverage of ``pred (F, J, 3)`` against ``truth``."""
    err = point_errors_mm(pred, truth)
    pa = point_errors_mm(similarity_align(pred, truth), truth)
    has_truth = np.isfinite(np.asarray(truth)).all(axis=-1)
    valid = np.isfinite(err)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_joint = np.where(valid, err, 0.0).sum(axis=0) / valid.sum(axis=0)  # NaN where never valid
    return PointErrors(
        mpjpe=float(np.nanmean(err)) if np.isfinite(err).any() else float("nan"),
        pa_mpjpe=float(np.nanmean(pa)) if np.isfinite(pa).any() else float("nan"),
        per_joint=per_joint,
        median=float(np.nanmedian(err)) if np.isfinite(err).any() else float("nan"),
        coverage=float(np.isfinite(err).sum() / max(has_truth.sum(), 1)),
    )


def keypoint_errors_px(pred_xy: np.ndarray, true_xy: np.ndarray) -> dict:
    """2D errors: ``pred_xy``/``true_xy (C, F, J, 2)`` -> detection rate and pixel error stats."""
    err = np.linalg.norm(np.asarray(pred_xy, float) - np.asarray(true_xy, float), axis=-1)
    visible = np.isfinite(np.asarray(true_xy)).all(axis=-1)
    found = np.isfinite(err)
    with np.errstate(invalid="ignore"):
        return {
            "detected": float(found.sum() / max(visible.sum(), 1)),
            "median_px": float(np.nanmedian(err)) if found.any() else float("nan"),
            "mean_px": float(np.nanmean(err)) if found.any() else float("nan"),
            "per_joint_median_px": np.array([np.median(col[np.isfinite(col)]) if np.isfinite(col).any() else np.nan
                                             for col in err.reshape(-1, err.shape[-1]).T]),
        }


def joint_angle_errors_deg(pred_R: np.ndarray, true_R: np.ndarray) -> np.ndarray:
    """Geodesic angle ``(...)`` in degrees between rotation matrices ``(..., 3, 3)``."""
    return rotation_angle_deg(np.asarray(pred_R, float), np.asarray(true_R, float))


def bone_direction_errors_deg(pred: np.ndarray, truth: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``(F, E)`` angle in degrees between each predicted bone's direction and the true one, for joint positions
    ``pred``/``truth (F, J, 3)`` and ``edges (E, 2)`` (parent, child) pairs. Unlike local joint rotations it
    ignores twist about the bone, which keypoints barely observe (NaN where a joint is missing)."""
    def unit(x):
        d = np.asarray(x, float)[:, edges[:, 1]] - np.asarray(x, float)[:, edges[:, 0]]
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    cos = np.clip((unit(pred) * unit(truth)).sum(-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


# ------------------------------------------------------------------------- figures without ground truth


def jitter(xyz: np.ndarray, fps: float) -> float:
    """Mean acceleration magnitude (m/s^2) of ``xyz (F, J, 3)`` metres over every joint and frame: the second
    finite difference times ``fps**2`` (NaN-aware). A smoothness figure for takes without ground truth: lower is
    smoother (a still point with 1 mm of white noise at 60 fps reads about 9 m/s^2)."""
    x = np.asarray(xyz, float)
    if len(x) < 3:
        return float("nan")
    acc = np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1) * float(fps) ** 2
    return float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan")


def bone_length_cv(xyz: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``(E,)`` coefficient of variation of every bone's length over the take (standard deviation / mean, NaN-aware)
    for ``xyz (F, J, 3)`` and ``edges (E, 2)`` joint index pairs; NaN for a bone never seen."""
    lengths = bone_lengths(xyz, edges)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bones never seen: NaN
        return np.nanstd(lengths, axis=0) / np.nanmean(lengths, axis=0)
#: The ten limbs of the Shelf / Campus PCP, as SMPL-X skeleton joint names: upper and lower arms and legs, the
#: torso (pelvis to neck) and the head (neck to the top of the head, as Shelf's bottom-head to top-head:
#: ``head_top`` is a point of the body surface, :func:`mocap.evaluation.people.pcp_points`).
PCP_LIMBS = (("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
             ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
             ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("pelvis", "neck"), ("neck", "head_top"))


def pcp(pred: np.ndarray, truth: np.ndarray, limbs: np.ndarray, alpha: float = 0.5) -> float:
    """Percentage of correct parts: a limb ``(a, b)`` of a frame counts as correct when *both* its predicted
    endpoints are within ``alpha`` times the true limb length of the true ones (the strict form of the
    Shelf / Campus criterion). Over every limb and frame where the truth exists; a missing prediction counts
    as wrong. ``pred``, ``truth``: ``(F, J, 3)``; ``limbs``: ``(L, 2)`` joint indices. Returns a fraction."""
    pred, truth = np.asarray(pred, float), np.asarray(truth, float)
    limbs = np.asarray(limbs, int).reshape(-1, 2)
    a, b = limbs[:, 0], limbs[:, 1]
    length = np.linalg.norm(truth[:, b] - truth[:, a], axis=-1)  # (F, L)
    with np.errstate(invalid="ignore"):
        ok = ((np.linalg.norm(pred[:, a] - truth[:, a], axis=-1) <= alpha * length)
              & (np.linalg.norm(pred[:, b] - truth[:, b], axis=-1) <= alpha * length))
    counted = np.isfinite(length)
    return float(ok[counted].mean()) if counted.any() else float("nan")
