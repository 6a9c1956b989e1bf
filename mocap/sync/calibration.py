"""Sync of the calibration take: the board's views pair up across cameras at the same instant.

Before sync, calibration pairs frame ``i`` of every camera (what a synchronized rig records). With
unsynchronized cameras a board moved by hand is seen at different instants, so the extrinsics come
out wrong. Here the calibration take's clocks are found (hand-given ``[calibration] time_offsets``
in session.toml, else the videos' sound, else the board's own motion) and every camera's board
detections are resampled onto one timeline before calibration pairs them.

**Board motion** needs no calibration of the rig: in each camera the board's pose is solved from its
corners with quick intrinsics of that camera alone (its own views tell them). The board's
angular velocity and velocity expressed in its own frame are the same seen from any camera, in
physical units, so between two cameras one offset makes them agree: the smallest mean squared
difference (refined below a frame) gives it, pairs chained from the first camera. Pose noise makes
this coarser than sound: within half a frame on a smoothly moved board with 0.2 px corner noise. When every offset is within a tenth of a frame of a
whole frame the rig is taken as frame-synchronized (whole frames exactly).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from mocap.calibration.board import CharucoBoard
from mocap.calibration.detect import BoardDetections
from mocap.session import Session
from mocap.sync.clock import CameraClock, TakeSync, sync_fix
from mocap.sync.curves import SyncCurves
from mocap.sync.resample import common_timeline, interpolate_frames
from mocap.sync.stage import SyncConfig, SyncResult, estimate_clocks

log = logging.getLogger(__name__)

MIN_CORNERS = 6
"""Fewest corners for a board pose."""


def board_velocities(R: np.ndarray, t: np.ndarray, rate: float) -> np.ndarray:
    """``(F, 6)`` the board's angular velocity (rad/s) and velocity (m/s) in the board's own frame, from its
    poses in one camera (board-to-camera ``R (F, 3, 3)``, ``t (F, 3)``, NaN where not seen) on rows ``rate``
    per second; NaN where a neighbouring row has no pose.

    In the board's frame both are the same from any (still) camera: the rotation from one instant to the next,
    ``R(t1)^T R(t2)``, and the displacement ``R(t1)^T (p(t2) - p(t1))`` do not depend on where the camera is."""
    from mocap.geometry import matrix_to_axis_angle

    n = len(R)
    out = np.full((n, 6), np.nan)
    if n >= 3:
        ok = np.isfinite(R[:-2, 0, 0]) & np.isfinite(R[2:, 0, 0])
        rows = np.flatnonzero(ok) + 1
        rel = np.einsum("fji,fjk->fik", R[rows - 1], R[rows + 1])  # R(f-1)^T R(f+1)
        out[rows, :3] = matrix_to_axis_angle(rel) * rate / 2.0
        out[rows, 3:] = np.einsum("fji,fj->fi", R[rows - 1], t[rows + 1] - t[rows - 1]) * rate / 2.0
    return out


def board_poses_rough(detections: BoardDetections, board: CharucoBoard, max_views: int = 15):
    """Board poses in every camera (``BoardPoses``) from quick per-camera intrinsics (``max_views`` views
    each): the calibration proper comes later, on synchronized detections."""
    from mocap.calibration.extrinsics import board_poses
    from mocap.calibration.intrinsics import calibrate_intrinsics
    from mocap.calibration.select import select_intrinsic_frames, usable_views
    from mocap.camera import Camera

    corners = detections.corners.astype(float)
    cameras = []
    for c, name in enumerate(detections.camera_names):
        size = tuple(int(v) for v in detections.image_sizes[c])
        frames = select_intrinsic_frames(corners[c], board, size, max_frames=max_views, min_corners=MIN_CORNERS)
        intr = calibrate_intrinsics(corners[c], frames, board, size, camera_name=name, distortion="k1k2")
        cameras.append(Camera(name, size, intr.K, intr.dist))
    return board_poses(cameras, corners, usable_views(corners, board, MIN_CORNERS), board)


def smooth_nan(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average of ``x (N, K)`` over ``width`` samples; NaN wherever the window is not complete."""
    if width <= 1:
        return x
    kernel = np.ones(width) / width
    ok = np.isfinite(x).astype(float)
    num = np.stack([np.convolve(np.nan_to_num(x[:, k]), kernel, "same") for k in range(x.shape[1])], 1)
    den = np.stack([np.convolve(ok[:, k], kernel, "same") for k in range(x.shape[1])], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1 - 1e-9, num / den, np.nan)


def board_motion_sync(detections: BoardDetections, board: CharucoBoard, fps: Sequence[float], *,
                      stride: int = 1, max_offset: float = 5.0, min_score: float = 0.5,
                      smoothing: float = 0.2) -> SyncResult:
    """Offsets of every camera's calibration video from the board's motion (see the module docstring).

    ``fps``: the videos' frame rates; ``stride``: detections were made on every ``stride``-th frame. The
    board's velocities (smoothed over ``smoothing`` seconds against pose noise) are compared between every
    pair of cameras by their mean squared difference at each offset (physical units, the same in every
    camera: one offset fits); the pair's score is the share of the signal that offset explains. Pairs scoring
    at least ``min_score`` are chained from the first camera; a camera no such pair reaches keeps offset 0
    (``method = "none"``, what calibration assumed before sync) with a warning naming it and the fix."""
    from mocap.sync.motion import chain_pairs, on_grid, snap_to_frames
    from mocap.sync.signals import masked_msd, parabolic_peak

    names = list(detections.camera_names)
    rates = [f / stride for f in fps]
    rate = 2.0 * max(rates)
    poses = board_poses_rough(detections, board)
    signals = [smooth_nan(on_grid(board_velocities(poses.R[c], poses.t[c], r), r, rate), int(round(smoothing * rate)))
               for c, r in enumerate(rates)]
    pairs, curves = {}, {}
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            lags, msd = masked_msd(signals[i], signals[j], int(np.ceil(max_offset * rate)), int(rate))
            if not np.isfinite(msd).any():
                continue
            energy = np.nanmean(np.concatenate([signals[i], signals[j]]) ** 2)
            score = 1.0 - msd / max(energy, 1e-12)
            k = int(np.nanargmin(msd))
            pos, _ = parabolic_peak(np.where(np.isfinite(score), score, -np.inf), k)
            others = np.abs(np.arange(len(msd)) - k) >= int(0.3 * rate)
            second = np.nanmin(msd[others]) if np.isfinite(msd[others]).any() else np.inf
            offset = float(np.interp(pos, np.arange(len(lags)), lags)) / rate
            pairs[(i, j)] = (offset, float(score[k]), float(np.clip(1.0 - msd[k] / second, 0.0, 1.0)))
            curves[(i, j)] = (lags / rate, score)
    offset, _, confidence, used, lost = chain_pairs(pairs, curves, names, 0, min_score, "board motion")
    timed = len(lost) < len(names) - 1
    clocks = [CameraClock(n, float(o), f, 0.0, float(k), "motion" if c not in lost and timed else "none")
              for c, (n, o, f, k) in enumerate(zip(names, offset, fps, confidence))]
    if lost:
        log.warning("calibration take: %s cannot be synchronized from the board's motion (it moves alike in no other "
                    "camera at the same time): assumed to start with %s. If board views pair up wrongly: %s",
                    ", ".join(names[c] for c in lost), names[0], sync_fix(names[lost[0]]))
    clocks = snap_to_frames(clocks, 0, 0.1)
    return SyncResult(TakeSync(tuple(clocks), {"method": "motion", "reference": names[0]}), SyncCurves(used))


PAIR_WHOLE_FRAMES = 0.1
"""A camera whose rows fall within this fraction of a row of the timeline's instants is read at whole rows
(views paired as recorded, not blended): sound travel alone moves audio offsets by up to a tenth of a frame
(1 m is 2.9 ms), and a board that jumps between frames must not be interpolated."""


def align_detections(detections: BoardDetections, sync: TakeSync, *, stride: int = 1) -> BoardDetections:
    """Every camera's board corners read at the instants of one common timeline (the fastest camera's
    rows), so that row ``k`` of every camera shows the board at the same moment: linear interpolation
    between rows, or whole rows when within :data:`PAIR_WHOLE_FRAMES` of them. ``frame_indices`` become
    the first camera's (nearest) frame numbers. Unchanged for a synchronized rig."""
    cams = list(sync)
    if all(c.time_offset == 0.0 and c.drift_ppm == 0.0 for c in cams) and len({c.fps for c in cams}) == 1:
        return detections
    rows = TakeSync(tuple(c.replace(fps=c.fps / stride) for c in cams))
    timeline = common_timeline(rows, [detections.n_frames] * len(cams))
    corners = []
    for c, clock in enumerate(rows):
        at = clock.frame_at(timeline.times)
        whole = np.round(at)
        if np.all(np.abs(at - whole) <= PAIR_WHOLE_FRAMES):
            at = whole
        corners.append(interpolate_frames(detections.corners[c], at))
    frames = np.round(cams[0].frame_at(timeline.times)).astype(detections.frame_indices.dtype)
    log.info("calibration detections on a common timeline: %d rows at %.3f per second", len(frames), timeline.fps)
    return BoardDetections(np.stack(corners).astype(np.float32), frames, detections.camera_names,
                           detections.image_sizes, detections.board_name, detections.sources)


def sync_calibration(session: Session, detections: BoardDetections, board: CharucoBoard,
                     config: SyncConfig = SyncConfig(), *, stride: int = 1) -> BoardDetections:
    """The calibration take's clocks (hand-given, audio, board motion), written to
    ``<output>/calibration/sync.toml`` (and ``sync_curves.npz``); returns the detections on one timeline."""
    from mocap.io.frames import open_frames

    names = list(detections.camera_names)
    videos = [session.calibration_videos[session.camera_names.index(n)] for n in names]
    fps = [open_frames(v).fps for v in videos]
    fps = [f if np.isfinite(f) and f > 0 else 30.0 for f in fps]
    overrides = {n: v for n, v in session.sync_overrides(None).items() if n in names}

    def motion(rates: list[float]) -> SyncResult:
        return board_motion_sync(detections, board, rates, stride=stride, max_offset=config.max_offset)

    result = estimate_clocks(names, method=config.method, videos=videos, fps=fps, motion=motion,
                             n_frames=[detections.n_frames * stride] * len(names), overrides=overrides,
                             source=session.file)
    files = session.layout.calibration
    files.folder.mkdir(parents=True, exist_ok=True)
    result.curves.save(files.sync_curves)
    result.sync.save(files.sync)
    return align_detections(detections, result.sync, stride=stride)


def calibration_aligner(session: Session, config: SyncConfig = SyncConfig(), *, stride: int = 1):
    """The ``align(detections, board)`` hook of :func:`mocap.calibration.pipeline.calibrate_session`
    (calibration cannot import sync, a later layer, so the pipeline and the CLI hand it this)."""
    return lambda detections, board: sync_calibration(session, detections, board, config, stride=stride)


__all__ = ["board_velocities", "board_poses_rough", "smooth_nan", "board_motion_sync", "align_detections", "sync_calibration", "calibration_aligner"]
