"""``mocap fit``: a take's triangulated keypoints -> `BodyMotion` (``body_motion.npz``)."""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.fitting.fit import FitConfig, FitResult, fit_markers
from mocap.fitting.markers import keypoint_markers, keypoint_set_for_names
from mocap.fitting.model import marker_model
from mocap.fitting.offsets import DETECTOR_OFFSETS, Offsets, with_offsets

log = logging.getLogger(__name__)

#: Keypoints on the face, and BlazePose's coarse hand points, count less than the body: the fit is about
#: the skeleton, and those points sit 2-8 cm from where the body model's landmarks are on real detections.
FACE_WEIGHT = 0.3
FACE_WORDS = ("eye", "ear", "mouth", "nose")
COARSE_HAND = ("left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb")


@dataclass(frozen=True)
class BodyModelData:
    arrays: dict
    name: str
    path: Path


def load_body_model(model: str | Path | None = "open") -> BodyModelData:
    """The body model's arrays: ``open`` (shipped), ``smplx`` ($MOCAP_SMPLX_PATH) or a file/folder path."""
    from mocap.bodymodels import load_model_arrays, resolve_model_path

    path, name = resolve_model_path(model)
    return BodyModelData(load_model_arrays(path), name, path)


def known_offsets(joint_names: tuple[str, ...], body: BodyModelData) -> Offsets:
    """The detector's measured offsets (mm) from ``body``'s landmarks (`DETECTOR_OFFSETS`), or none: the table
    holds the open model's BlazePose-like skin landmarks, which other models lack."""
    ks = keypoint_set_for_names(joint_names)
    if ks is None or body.name != "open" or "blazepose_regressor" not in body.arrays:
        return {}
    return DETECTOR_OFFSETS.get(ks.name, {}).get("open_smplx", {})


def keypoint_weights(names: tuple[str, ...]) -> np.ndarray:
    """``(L,)`` per-keypoint weights: 1 for body, feet and hand keypoints (Holistic), `FACE_WEIGHT` for face
    points and BlazePose's three coarse points per hand."""
    return np.array([FACE_WEIGHT if (any(w in n for w in FACE_WORDS) and "hand" not in n) or n in COARSE_HAND
                     else 1.0 for n in names])


def keypoint_model(joint_names: tuple[str, ...], body: BodyModelData, config: FitConfig = FitConfig()):
    """``(MarkerModel, columns)``: the body model's markers for the keypoints that have a counterpart (with the
    detector's known offsets when ``config.detector_offsets``), and their columns in ``joint_names``."""
    specs = keypoint_markers(tuple(joint_names), body.arrays)
    if len(specs) < 6:
        raise InputError(f"only {len(specs)} of the keypoints correspond to body-model points; need at least 6",
                         fix="use a body keypoint set (blazepose33, holistic, coco17, body25, halpe26, ...)")
    model = marker_model(body.arrays, specs, n_betas=config.n_betas,
                         name="open_smplx" if body.name == "open" else "smplx")
    if config.detector_offsets:
        model = with_offsets(model, known_offsets(tuple(joint_names), body))
    return model, [list(joint_names).index(n) for n in specs]


#: Weight in the fit of a 3D point seen by only two cameras, and of one that smoothing filled in (no camera).
TWO_VIEW_WEIGHT = 0.6
FILLED_WEIGHT = 0.2


def point_weights(points) -> np.ndarray:
    """``(F, J)`` confidence of each triangulated point (`Points3D`) for the fit: 1 from three or more views,
    `TWO_VIEW_WEIGHT` from two, `FILLED_WEIGHT` where smoothing filled a gap; times ``1 / (1 + (e / 3 e_j)^2)`` for a
    reprojection error ``e`` against that keypoint's median ``e_j`` over the take (a point the views disagree on)."""
    views = np.nan_to_num(np.asarray(points.n_views, float))
    w = np.where(views >= 3, 1.0, np.where(views >= 2, TWO_VIEW_WEIGHT, FILLED_WEIGHT))
    err = np.asarray(points.reprojection_error, float)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # keypoints never triangulated
        typical = np.nanmedian(err, axis=0)
    ratio = np.nan_to_num(err / (3.0 * typical), nan=0.0)
    return w / (1.0 + ratio ** 2)


def fit_points(xyz: np.ndarray, joint_names: tuple[str, ...], fps: float, config: FitConfig = FitConfig(),
               body: BodyModelData | None = None, progress=None, weights: np.ndarray | None = None) -> FitResult:
    """Fit a body to ``xyz (F, J, 3)`` triangulated keypoints (world metres, Z up, NaN missing); ``weights (F, J)``:
    each point's confidence (`point_weights`), default 1."""
    body = body or load_body_model(config.model)
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 3 or xyz.shape[1:] != (len(joint_names), 3):
        raise InputError(f"3D points have shape {xyz.shape}, expected (F, {len(joint_names)}, 3)")
    model, cols = keypoint_model(tuple(joint_names), body, config)
    targets = xyz[:, cols]
    hand_names = [n for n in model.marker_names if "hand_" in n]
    hands = config.fit_hands == "yes" or (
        config.fit_hands == "auto" and hand_names
        and np.isfinite(xyz[:, [list(joint_names).index(n) for n in hand_names]]).all(-1).mean() > 0.2)
    if not np.isfinite(targets).all(-1).any():
        raise InputError("every 3D keypoint is missing (all NaN): nothing to fit",
                         fix="check detection and triangulation (mocap report shows both)")
    w = np.broadcast_to(keypoint_weights(model.marker_names), targets.shape[:2])
    if weights is not None:
        w = w * np.asarray(weights, float)[:, cols]
    return fit_markers(model, targets, w, fps=fps, config=config, hand_joints=bool(hands),
                       progress=progress)


def fit_take(session, take: str, config: FitConfig = FitConfig(), *, points_path: str | Path | None = None,
             progress=None, performer: str | None = None) -> FitResult:
    """Fit one take of a session: reads ``points3d.npz``, writes ``body_motion.npz`` and ``fit.toml`` (one
    performer's of a take with several: in ``people/<performer>/``, one body shape per performer)."""
    from mocap.io.tomlio import write_toml
    from mocap.session import Session
    from mocap.triangulation.points import Points3D

    session = Session.of(session)
    session.take(take)  # a clear error for an unknown take
    files = session.layout.take(take)
    files = files.person(performer) if performer else files
    path = Path(points_path) if points_path else files.points3d
    if not path.is_file():
        raise InputError("no 3D points for this take", path=path,
                         fix=f"run `mocap triangulate {session.root} --take {take}` (or `mocap run`) first")
    points = Points3D.load(path)
    result = fit_points(points.xyz, points.joint_names, points.fps, config, progress=progress,
                        weights=point_weights(points) if config.view_weights else None)
    result.motion.save(files.body_motion)
    fe = result.motion.fit_error_mm
    write_toml(files.fit_summary, {
        "model": result.motion.model, "frames": int(result.motion.n_frames), "fps": float(points.fps),
        "seconds": float(result.seconds), "iterations": int(result.iterations),
        "fit_error_mm": {"mean": float(np.nanmean(fe)), "median": float(np.nanmedian(fe)),
                         "p95": float(np.nanpercentile(fe, 95))},
        "hands": bool(result.motion.has_hands), "betas": [float(b) for b in result.motion.betas],
        "sparse_frames": [int(f) for f in result.sparse_frames],
        "note": "sparse_frames had fewer than min_markers keypoints and were carried by the temporal term",
    })
    if len(result.sparse_frames):
        log.warning("%s: %d frames had too few keypoints and were interpolated by the temporal term",
                    f"{take}/{performer}" if performer else take, len(result.sparse_frames))
    return result
