"""Sync of the calibration take: the board's views pair up across cameras at the same instant.

Before sync, calibration pairs frame ``i`` of every camera (what a synchronized rig records). With
unsynchronized cameras a board moved by hand is seen at different instants, so the extrinsics come
out wrong. Here the calibration take's clocks are found (hand-given ``[calibration] time_offsets``
in session.toml, else the videos' sound, else the board's own motion) and every camera's board
detections are resampled onto one timeline before calibration pairs them.

**Board motion** needs no calibration: in each camera the board's pose is solved from its corners
with a rough pinhole guess (focal length = the image's larger side, no distortion). How fast the
board turns (rad/s) and moves (m/s) is the same seen from any camera, so those two speeds are
correlated between cameras like the keypoint speeds of motion sync; the correlation peak, refined
below a frame, gives each camera's offset. When every offset is within a tenth of a frame of a
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
from mocap.sync.resample import common_timeline, resample_camera
from mocap.sync.stage import SyncConfig, SyncResult, estimate_clocks

log = logging.getLogger(__name__)

MIN_CORNERS = 6
"""Fewest corners for a board pose."""


def board_speeds(corners: np.ndarray, board: CharucoBoard, image_size: Sequence[int], rate: float) -> np.ndarray:
    """``(F, 2)`` the board's angular speed (rad/s) and speed (m/s) in one camera, from its corners
    ``(F, N, 2)`` (model pixels, NaN where not seen) on rows ``rate`` per second; NaN where the board is
    not seen in the row or its neighbours."""
    import cv2

    w, h = (int(v) for v in image_size)
    K = np.array([[max(w, h), 0.0, w / 2.0], [0.0, max(w, h), h / 2.0], [0.0, 0.0, 1.0]])
    obj = board.corners_3d.astype(np.float64)
    n = len(corners)
    R = np.full((n, 3, 3), np.nan)
    t = np.full((n, 3), np.nan)
    for f in range(n):
        ok = np.isfinite(corners[f, :, 0])
        if ok.sum() < MIN_CORNERS:
            continue
        found, rvec, tvec = cv2.solvePnP(obj[ok], corners[f, ok].astype(np.float64), K, None,
                                         flags=cv2.SOLVEPNP_ITERATIVE)
        if found:
            R[f] = cv2.Rodrigues(rvec)[0]
            t[f] = tvec.ravel()
    out = np.full((n, 2), np.nan)
    if n >= 3:
        rel = np.einsum("fji,fjk->fik", R[:-2], R[2:])  # R_{f-1}^T R_{f+1}
        cos = np.clip((np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
        out[1:-1, 0] = np.arccos(cos) * rate / 2.0
        out[1:-1, 1] = np.linalg.norm(t[2:] - t[:-2], axis=1) * rate / 2.0
    return out


def board_motion_sync(detections: BoardDetections, board: CharucoBoard, fps: Sequence[float], *,
                      stride: int = 1, max_offset: float = 5.0, min_score: float = 0.5) -> SyncResult:
    """Offsets of every camera's calibration video from the board's motion (see the module docstring).

    ``fps``: the videos' frame rates; ``stride``: detections were made on every ``stride``-th frame. Pairs
    of cameras whose board speeds correlate at least ``min_score`` are chained from the first camera; a
    camera no such pair reaches keeps offset 0 (``method = "none"``, what calibration assumed before sync)
    with a warning naming it and the fix."""
    from mocap.sync.motion import chain_pairs, coarse_candidates, normalize_columns, on_grid, snap_to_frames

    names = list(detections.camera_names)
    rates = [f / stride for f in fps]
    rate = 2.0 * max(rates)
    signals = [on_grid(normalize_columns(board_speeds(detections.corners[c], board, detections.image_sizes[c], r)),
                       r, rate) for c, r in enumerate(rates)]
    pairs, curves = {}, {}
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            cands, score, conf, curves[(i, j)] = coarse_candidates(signals[i], signals[j], rate, max_offset, k=1)
            if cands:
                pairs[(i, j)] = (cands[0], score, conf)
    offset, _, confidence, used, lost = chain_pairs(pairs, curves, names, 0, min_score, "board motion")
    timed = len(lost) < len(names) - 1
    clocks = [CameraClock(n, float(o), f, 0.0, float(k), "motion" if c not in lost and timed else "none")
              for c, (n, o, f, k) in enumerate(zip(names, offset, fps, confidence))]
    if lost:
        log.warning("calibration take: %s cannot be synchronized from the board's motion (it moves alike in no other "
                    "camera at the same time): assumed to start with %s. If board views pair up wrongly: %s",
                    ", ".join(names[c] for c in lost), names[0], sync_fix(names[lost[0]]))
    clocks = snap_to_frames(clocks, np.zeros(len(clocks)), 0, 3.0, 0.1)
    return SyncResult(TakeSync(tuple(clocks), {"method": "motion", "reference": names[0]}), SyncCurves(used))


def align_detections(detections: BoardDetections, sync: TakeSync, *, stride: int = 1) -> BoardDetections:
    """Every camera's board corners read at the instants of one common timeline (the fastest camera's
    rows), so that row ``k`` of every camera shows the board at the same moment. ``frame_indices``
    become the first camera's (nearest) frame numbers. Unchanged for a synchronized rig."""
    cams = list(sync)
    if all(c.time_offset == 0.0 and c.drift_ppm == 0.0 for c in cams) and len({c.fps for c in cams}) == 1:
        return detections
    rows = TakeSync(tuple(c.replace(fps=c.fps / stride) for c in cams))
    timeline = common_timeline(rows, [detections.n_frames] * len(cams))
    corners = np.stack([resample_camera(detections.corners[c], None, clock, timeline.times)[0]
                        for c, clock in enumerate(rows)]).astype(np.float32)
    frames = np.round(cams[0].frame_at(timeline.times)).astype(detections.frame_indices.dtype)
    log.info("calibration detections on a common timeline: %d rows at %.3f per second", len(frames), timeline.fps)
    return BoardDetections(corners, frames, detections.camera_names, detections.image_sizes, detections.board_name,
                           detections.sources)


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


__all__ = ["board_speeds", "board_motion_sync", "align_detections", "sync_calibration", "calibration_aligner"]
