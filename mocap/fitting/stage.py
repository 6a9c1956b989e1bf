"""``mocap fit``: a take's triangulated keypoints -> `BodyMotion` (``body_motion.npz``)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.fitting.fit import FitConfig, FitResult, fit_markers
from mocap.fitting.markers import keypoint_markers
from mocap.fitting.model import marker_model

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


def keypoint_weights(names: tuple[str, ...]) -> np.ndarray:
    """``(L,)`` per-keypoint weights: 1 for body, feet and hand keypoints (Holistic), `FACE_WEIGHT` for face
    points and BlazePose's three coarse points per hand."""
    return np.array([FACE_WEIGHT if (any(w in n for w in FACE_WORDS) and "hand" not in n) or n in COARSE_HAND
                     else 1.0 for n in names])


def fit_points(xyz: np.ndarray, joint_names: tuple[str, ...], fps: float, config: FitConfig = FitConfig(),
               body: BodyModelData | None = None, progress=None) -> FitResult:
    """Fit a body to ``xyz (F, J, 3)`` triangulated keypoints (world metres, Z up, NaN missing)."""
    body = body or load_body_model(config.model)
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 3 or xyz.shape[1:] != (len(joint_names), 3):
        raise InputError(f"3D points have shape {xyz.shape}, expected (F, {len(joint_names)}, 3)")
    specs = keypoint_markers(tuple(joint_names), body.arrays)
    if len(specs) < 6:
        raise InputError(f"only {len(specs)} of the keypoints correspond to body-model points; need at least 6",
                         fix="use a body keypoint set (blazepose33, holistic, coco17, body25, halpe26, ...)")
    cols = [list(joint_names).index(n) for n in specs]
    targets = xyz[:, cols]
    hand_names = [n for n in specs if "hand_" in n]
    hands = config.fit_hands == "yes" or (
        config.fit_hands == "auto" and hand_names
        and np.isfinite(xyz[:, [list(joint_names).index(n) for n in hand_names]]).all(-1).mean() > 0.2)
    if not np.isfinite(targets).all(-1).any():
        raise InputError("every 3D keypoint is missing (all NaN): nothing to fit",
                         fix="check detection and triangulation (mocap report shows both)")
    model = marker_model(body.arrays, specs, n_betas=config.n_betas,
                         name="open_smplx" if body.name == "open" else "smplx")
    weights = np.broadcast_to(keypoint_weights(tuple(specs)), targets.shape[:2])
    return fit_markers(model, targets, weights, fps=fps, config=config, hand_joints=bool(hands),
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
    result = fit_points(points.xyz, points.joint_names, points.fps, config, progress=progress)
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
