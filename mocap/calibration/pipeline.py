"""``mocap calibrate``: ChArUco videos in, a metric, upright camera rig and a quality report out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.calibration.board import CharucoBoard, load_board
from mocap.calibration.bundle import BundleState, Observations, bundle_adjust
from mocap.calibration.config import CalibrationConfig
from mocap.calibration.detect import BoardDetections, detect_cameras, detect_mirroring
from mocap.calibration.extrinsics import board_poses, chain_cameras, pairwise_poses, world_board_poses
from mocap.calibration.intrinsics import (
    FIXED_COEFFICIENTS,
    PINHOLE_DISTORTION,
    calibrate_intrinsics,
    choose_distortion,
)
from mocap.calibration.quality import CalibrationQuality, assess
from mocap.calibration.select import coverage, select_intrinsic_frames, select_joint_frames, usable_views
from mocap.calibration.world import choose_world_frame, find_static_runs
from mocap.camera import Camera, CameraRig
from mocap.errors import InputError, MocapError, QualityGateError
from mocap.session import Session

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int, int], None]
"""``progress(step, camera_index, done, total)``; camera_index is -1 for whole-rig steps."""


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """The output of the calibration stage.

    Attributes:
        rig: cameras in the world frame (metres, Z up).
        quality: quality figures and the gate's verdict.
        detections: the board detections used.
        timings: seconds per step.
    """

    rig: CameraRig
    quality: CalibrationQuality
    detections: BoardDetections
    timings: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class _PoseIndex:
    """Which detection frames go into bundle adjustment, and which board pose each one uses.

    ``frames`` are the selected frame indices; ``index[f]`` the board-pose index of frame ``f`` (still
    frames share one); ``reps[k]`` a frame whose initial pose seeds board pose ``k``; ``still[k]`` how
    many still frames pose ``k`` stands for.
    """

    frames: np.ndarray
    index: dict[int, int]
    reps: np.ndarray
    still: dict[int, int]


def _calibrate_intrinsics_all(detections: BoardDetections, corners: np.ndarray, board: CharucoBoard, models, mirrored,
                              config: CalibrationConfig):
    """Per camera: intrinsics on frames chosen for coverage -> cameras, their frames, fixed coefficients."""
    cameras, intrinsic_frames, fixed_dist = [], [], []
    for c, name in enumerate(detections.camera_names):
        size = tuple(int(v) for v in detections.image_sizes[c])
        frames = select_intrinsic_frames(corners[c], board, size, max_frames=config.max_intrinsic_frames,
                                         min_corners=config.min_corners)
        distortion = config.distortion
        if distortion == "auto":
            distortion = choose_distortion(coverage(corners[c], size)[0])
        elif distortion not in PINHOLE_DISTORTION:
            raise MocapError(f"unknown distortion model {distortion!r}",
                             fix=f"use one of: auto, {', '.join(PINHOLE_DISTORTION)}")
        intr = calibrate_intrinsics(corners[c], frames, board, size, model=models[c], camera_name=name,
                                    distortion=distortion)
        intrinsic_frames.append(frames)
        fixed_dist.append(FIXED_COEFFICIENTS.get(distortion, ()) if models[c] == "pinhole" else ())
        log.info("%s: intrinsics from %d views (%s), rms %.3f px", name, len(frames),
                 intr.model if intr.model == "fisheye" else distortion, intr.rms)
        cameras.append(Camera(name, size, intr.K, intr.dist, model=models[c], mirrored=mirrored[c]))
    return cameras, intrinsic_frames, fixed_dist


def _select_poses(valid: np.ndarray, intrinsic_frames, init_bR, init_bt, config: CalibrationConfig,
                  floor_frames) -> _PoseIndex:
    """Frames for bundle adjustment (multi-view frames, the intrinsic views, still and floor poses);
    a still board is one physical pose, so its frames share one board pose in the adjustment, which
    averages their detection noise (this is what pins the floor down)."""
    frames = set(select_joint_frames(valid, max_frames=config.max_bundle_frames).tolist())
    for c, sel in enumerate(intrinsic_frames):
        frames.update(int(f) for f in sel if valid[c, f])
    static = find_static_runs(init_bR, init_bt, max_move_m=0.01, max_turn_deg=2.0)  # PnP poses are noisy
    for a, b in static:
        frames.update(range(a, b))
    floor_frames = [int(f) for f in floor_frames] if floor_frames is not None else []
    frames.update(floor_frames)
    if config.origin_frame is not None:
        frames.add(int(config.origin_frame))
    frames = np.array(sorted(f for f in frames if np.isfinite(init_bt[f]).all()))
    pose_of = {f: a for a, b in static for f in range(a, b)}
    if floor_frames:
        floor_still = _still(init_bR, init_bt, floor_frames)
        pose_of.update({f: floor_frames[0] if floor_still else f for f in floor_frames})
    keys = sorted({pose_of.get(int(f), int(f)) for f in frames})
    key_index = {k: i for i, k in enumerate(keys)}
    index = {int(f): key_index[pose_of.get(int(f), int(f))] for f in frames}
    reps = np.array([k if np.isfinite(init_bt[k]).all() else next(f for f in frames if index[int(f)] == i)
                     for i, k in enumerate(keys)])
    still: dict[int, int] = {}
    for f in pose_of:
        if f in index:
            still[index[f]] = still.get(index[f], 0) + 1
    return _PoseIndex(frames, index, reps, still)


def _observations(corners: np.ndarray, valid: np.ndarray, poses: _PoseIndex) -> Observations:
    """One row per detected corner of every selected, valid view."""
    cc, ff = np.nonzero(valid[:, poses.frames])
    parts = []
    for c, k in zip(cc, ff):
        pts = corners[c, poses.frames[k]]
        ok = np.flatnonzero(np.isfinite(pts[:, 0]))
        parts.append((np.full(len(ok), c), np.full(len(ok), poses.index[int(poses.frames[k])]), ok, pts[ok]))
    cam, frame, corner, xy = (np.concatenate(v) for v in zip(*parts))
    return Observations(cam, frame, corner, xy)


def _origin_pose(poses: _PoseIndex, n_views: np.ndarray, config: CalibrationConfig, floor_frames) -> int | None:
    """The board pose that defines the world: an explicit origin_frame, else the best floor-take view."""
    if config.origin_frame is not None:
        k = poses.index.get(int(config.origin_frame))
        if k is None:
            raise MocapError(f"origin_frame {config.origin_frame} is not a usable board view in any camera",
                             fix="pick a frame where the board lies on the floor and is seen by 2+ cameras")
        return k
    seen = [poses.index[int(f)] for f in (floor_frames if floor_frames is not None else []) if int(f) in poses.index]
    return max(seen, key=lambda k: n_views[k]) if seen else None


def calibrate_detections(
    detections: BoardDetections,
    board: CharucoBoard,
    *,
    models: Sequence[str] | None = None,
    mirrored: Sequence[bool] | None = None,
    config: CalibrationConfig = CalibrationConfig(),
    floor_frames: Sequence[int] | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[CameraRig, CalibrationQuality]:
    """Calibrate a rig from board detections (the array-level API of the stage).

    Args:
        detections: ``corners (C, F, N, 2)`` in model (un-mirrored) pixels.
        models: per camera "pinhole"/"fisheye" (default pinhole).
        mirrored: per camera mirrored flag, stored in the rig.
        floor_frames: frames (indices into F) of a separate floor take: the board lying on the floor.
    """
    timings = {} if timings is None else timings
    names = list(detections.camera_names)
    n_cams = len(names)
    models = list(models or ["pinhole"] * n_cams)
    mirrored = list(mirrored or [False] * n_cams)
    corners = detections.corners.astype(float)
    usable = usable_views(corners, board, config.min_corners)

    t0 = time.perf_counter()
    cameras, intrinsic_frames, fixed_dist = _calibrate_intrinsics_all(detections, corners, board, models, mirrored,
                                                                      config)
    timings["intrinsics"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    views = board_poses(cameras, corners, usable, board)
    cam_R, cam_t, root = chain_cameras(n_cams, pairwise_poses(views), names)
    init_bR, init_bt = world_board_poses(cam_R, cam_t, views)
    timings["extrinsics"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    poses = _select_poses(views.valid, intrinsic_frames, init_bR, init_bt, config, floor_frames)
    obs = _observations(corners, views.valid, poses)
    state = BundleState(np.stack([c.K for c in cameras]), [c.dist.copy() for c in cameras], cam_R, cam_t,
                        init_bR[poses.reps], init_bt[poses.reps], tuple(models), tuple(fixed_dist))
    result = bundle_adjust(state, obs, board.corners_3d, fixed_camera=root,
                           refine_intrinsics=config.refine_intrinsics, outlier_px=config.outlier_px)
    timings["bundle_adjustment"] = time.perf_counter() - t0
    log.info("bundle adjustment: %d observations, %d board poses, %d iterations", len(obs.cam), len(poses.reps),
             result.iterations)

    s = result.state
    n_views = np.array([len(np.unique(obs.cam[obs.frame == k])) for k in range(len(poses.reps))])
    world = choose_world_frame(s.R, s.board_R, s.board_t, n_views, board.corners_3d[0],
                               still=sorted(poses.still.items()), floor=config.floor,
                               origin_pose=_origin_pose(poses, n_views, config, floor_frames),
                               max_floor_tilt_deg=config.max_floor_tilt_deg)
    cams = [cam.replace(K=s.K[c], dist=s.dist[c], R=s.R[c], t=s.t[c]) for c, cam in enumerate(cameras)]
    rig = CameraRig(tuple(cams)).transformed(world.R, world.t)
    world_info = {
        "source": world.source,
        "origin_frame": int(detections.frame_indices[poses.reps[world.frame]]) if world.frame >= 0 else -1,
        "still_frames": world.static_frames,
        "floor_tilt_deg": world.tilt_deg,
        "camera_heights_m": [float(c.center[2]) for c in rig.cameras],
    }
    quality = assess(rig, board, corners, usable, obs.cam, result.residuals, result.inliers, config.thresholds,
                     world_info)
    rig = CameraRig(rig.cameras, {
        "tool": "mocap calibrate",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "board": board.name,
        "world": world.source,
        "reprojection_mean_px": [c.reprojection_mean_px for c in quality.cameras],
        "square_error_mean_mm": quality.square_error_mean_mm,
    })
    return rig, quality


def _still(board_R: np.ndarray, board_t: np.ndarray, frames: Sequence[int], max_spread_m: float = 0.01) -> bool:
    t = board_t[list(frames)]
    t = t[np.isfinite(t).all(axis=1)]
    return len(t) > 0 and float(np.linalg.norm(t - np.median(t, axis=0), axis=1).max()) <= max_spread_m


def calibrate_session(
    session: Session | str | Path,
    config: CalibrationConfig | None = None,
    *,
    progress: Progress | None = None,
    accept: bool = False,
    align: Callable[[BoardDetections, CharucoBoard], BoardDetections] | None = None,
) -> CalibrationResult:
    """Run the whole calibration stage on a session and write its outputs atomically.

    ``align(detections, board)``, when given, puts unsynchronized cameras' board detections on one
    timeline before they are paired (``mocap.sync.calibration.calibration_aligner``; calibration itself
    assumes frame ``i`` of every camera is one instant).

    Writes into ``<output>/calibration/``: ``camera_rig.toml`` (only if the quality gate passes or
    ``accept``), ``calibration_quality.toml`` and ``.png``, ``board_detections.npz`` and the resolved
    ``calibration_config.toml``. Raises ``QualityGateError`` (after writing the report and
    ``camera_rig.rejected.toml``) when the gate fails.
    """
    from mocap.calibration.report import write_quality_figure
    from mocap.io.tomlio import write_toml

    session = Session.of(session)
    if config is None:
        config = CalibrationConfig.from_dict(session.calibration_options, source=session.file)
    board = load_board(session.board, search=[session.root])
    names = session.camera_names
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    mirrored = []
    for cam, video in zip(session.cameras, session.calibration_videos):
        m = cam.mirrored
        if m is None:
            m = detect_mirroring(video, board, config=config.detect)
            if m is None:
                raise InputError(
                    f"the board {board.name!r} was not found in camera {cam.name}'s calibration video",
                    path=video,
                    fix=f"check that session.toml's board matches the printed board ({board.squares_x}x"
                    f"{board.squares_y} squares, {board.dictionary}, inverted={board.inverted}) and that the "
                    "board is visible and in focus in this video",
                )
        mirrored.append(bool(m))

    def det_progress(c, done, total):
        if progress:
            progress("detect", c, done, total)

    det = detect_cameras(session.calibration_videos, board, camera_names=names, mirrored=mirrored,
                         config=config.detect, progress=det_progress)
    if align is not None:
        det = align(det, board)
    floor_frames = None
    if session.floor_videos:
        floor = detect_cameras(session.floor_videos, board, camera_names=names, mirrored=mirrored,
                               config=config.detect)
        floor_frames = list(range(det.n_frames, det.n_frames + floor.n_frames))
        det = _concat(det, floor)
    timings["detection"] = time.perf_counter() - t0
    _check_detections(det, session, board)

    rig, quality = calibrate_detections(det, board, models=[c.model for c in session.cameras], mirrored=mirrored,
                                        config=config, floor_frames=floor_frames, timings=timings)
    out = session.layout.calibration
    files = {
        "detections": det.save(out.detections),
        "config": write_toml(out.config, {"calibration": config.to_dict()}),
        "quality": write_toml(out.quality, {"schema_version": 1, **quality.to_dict(), "timings_s": timings}),
        "figure": write_quality_figure(rig, quality, out.quality_figure, board=board),
    }
    rig = rig.with_video_offsets({c.name: c.video_offset for c in session.cameras})  # the take videos' placement
    rejected = out.rejected_rig
    if quality.passed or accept:
        files["rig"] = rig.save(out.rig)
        if rejected.exists():
            rejected.unlink()
    else:
        files["rejected_rig"] = rig.save(rejected)
        raise QualityGateError(
            "calibration failed the quality gate:\n  - " + "\n  - ".join(quality.failures),
            path=out.quality,
            fix="follow the advice above and record the calibration take again; look at "
            f"{files['figure']} to see which camera is off. To use this calibration anyway, rerun "
            "with --accept (or relax the thresholds in session.toml [calibration.thresholds])",
        )
    return CalibrationResult(rig, quality, det, timings, files)


def _concat(a: BoardDetections, b: BoardDetections) -> BoardDetections:
    return BoardDetections(np.concatenate([a.corners, b.corners], axis=1),
                           np.concatenate([a.frame_indices, b.frame_indices]), a.camera_names, a.image_sizes,
                           a.board_name, a.sources + b.sources)


def _check_detections(det: BoardDetections, session: Session, board: CharucoBoard) -> None:
    counts = det.counts()
    for c, name in enumerate(det.camera_names):
        if (counts[c] > 0).sum() == 0:
            raise InputError(
                f"the board {board.name!r} was not found in any frame of camera {name}'s calibration video",
                path=session.calibration_videos[c],
                fix="check that session.toml's board matches the printed board (squares, dictionary, "
                "inverted) and that the board is visible and in focus in this video",
            )
