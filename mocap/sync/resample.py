"""Resampling every camera's 2D keypoints onto one common timeline.

Pure functions of arrays: given each camera's clock (:mod:`mocap.sync.clock`), the 2D track of a
camera is read at arbitrary take times by interpolating between its two neighbouring frames.
Triangulation then sees, for every output time, what each camera saw at that very instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mocap.sync.clock import CameraClock, TakeSync, check_overlap

_SNAP = 1e-6  # fractional frames closer than this to a whole frame read that frame alone


def interpolate_frames(values: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values (F, ...)`` at fractional frame numbers ``frames (T,)``.

    Returns ``(T, ...)``. The result is NaN where either neighbouring frame is NaN or outside
    ``0 .. F-1``; a frame number within 1e-6 of a whole frame copies that frame.
    """
    values = np.asarray(values, dtype=float)
    frames = np.asarray(frames, dtype=float)
    n = values.shape[0]
    out = np.full((len(frames),) + values.shape[1:], np.nan)
    rounded = np.round(frames)
    frames = np.where(np.abs(frames - rounded) < _SNAP, rounded, frames)
    inside = np.isfinite(frames) & (frames >= 0) & (frames <= n - 1)
    if n == 0 or not inside.any():
        return out
    f = frames[inside]
    i0 = np.floor(f).astype(int)
    w = f - i0
    i1 = np.minimum(i0 + 1, n - 1)
    w = w.reshape((-1,) + (1,) * (values.ndim - 1))
    a, b = values[i0], values[i1]
    # exact frames use a alone (0 * NaN would poison them); otherwise NaN in either propagates
    out[inside] = np.where(w == 0, a, (1.0 - w) * a + w * b)
    return out


def resample_camera(
    xy: np.ndarray, conf: np.ndarray | None, clock: CameraClock, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One camera's 2D tracks at take ``times``.

    Args:
        xy: ``(F, J, 2)`` pixels, NaN where missing.
        conf: ``(F, J)`` detection confidence (None: 1 where ``xy`` is finite).
        clock: the camera's clock.
        times: ``(T,)`` take times, seconds.

    Returns:
        ``xy (T, J, 2)`` linearly interpolated, NaN where a neighbouring frame is missing or the time
        is outside the recording, and ``conf (T, J)`` interpolated alike (0 where ``xy`` is NaN).
    """
    xy = np.asarray(xy, dtype=float)
    conf = np.isfinite(xy).all(-1).astype(float) if conf is None else np.asarray(conf, dtype=float)
    frames = clock.frame_at(times)
    out_xy = interpolate_frames(xy, frames)
    out_conf = interpolate_frames(np.where(np.isfinite(xy).all(-1), conf, np.nan), frames)
    bad = ~np.isfinite(out_xy).all(-1) | ~np.isfinite(out_conf)
    out_xy[bad] = np.nan
    out_conf[bad] = 0.0
    return out_xy, out_conf


@dataclass(frozen=True, eq=False)
class Timeline:
    """Output times of a synchronized take.

    Attributes:
        times: ``(T,)`` take times in seconds, evenly spaced.
        fps: output frames per second.
    """

    times: np.ndarray
    fps: float

    @property
    def start(self) -> float:
        return float(self.times[0]) if len(self.times) else float("nan")


def common_timeline(
    sync: TakeSync, n_frames: Sequence[int], *, fps: float | None = None, min_cameras: int = 2
) -> Timeline:
    """The default output timeline: ``fps`` (default: the fastest camera's rate) over the span where
    at least ``min_cameras`` cameras record, on the grid of that fastest camera's first frame in the
    span (so with no drift it needs no interpolation). Raises ``MocapError`` when a camera's
    recording overlaps no other camera's."""
    start, end = check_overlap(sync, n_frames, min_cameras=min_cameras)
    fastest = max(range(len(sync)), key=lambda c: (sync[c].fps, -c))
    rate = float(fps) if fps is not None else sync[fastest].fps
    step = 1.0 / rate
    clock = sync[fastest]
    # first frame of the fastest camera inside the span anchors the grid
    k = np.ceil(clock.frame_at(start) - 1e-6)
    t0 = float(clock.time_of(max(k, 0.0)))
    t0 -= np.floor((t0 - start) / step + 1e-9) * step
    n = int(np.floor((end - t0) / step + 1e-9)) + 1
    return Timeline(t0 + np.arange(max(n, 0)) * step, rate)


@dataclass(frozen=True, eq=False)
class SyncedKeypoints:
    """2D keypoints of all cameras on one timeline, ready for triangulation.

    Attributes:
        xy: ``(C, T, J, 2)`` video pixels, NaN where missing.
        conf: ``(C, T, J)`` confidence, 0 where missing.
        times: ``(T,)`` take times, seconds.
        fps: output frame rate.
        names: ``(C,)`` camera names.
    """

    xy: np.ndarray
    conf: np.ndarray
    times: np.ndarray
    fps: float
    names: tuple[str, ...]


def resample_take(
    xy: Sequence[np.ndarray],
    conf: Sequence[np.ndarray | None],
    sync: TakeSync,
    timeline: Timeline | None = None,
) -> SyncedKeypoints:
    """Every camera's tracks ``xy[c] (F_c, J, 2)``, ``conf[c] (F_c, J)`` resampled to ``timeline``
    (default :func:`common_timeline`). Returns :class:`SyncedKeypoints` with ``(C, T, ...)`` arrays."""
    if not (len(xy) == len(conf) == len(sync)):
        raise ValueError(f"need one track per camera: {len(xy)} xy, {len(conf)} conf, {len(sync)} clocks")
    if timeline is None:
        timeline = common_timeline(sync, [len(x) for x in xy])
    pairs = [resample_camera(x, c, clock, timeline.times) for x, c, clock in zip(xy, conf, sync.cameras)]
    return SyncedKeypoints(
        np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]), timeline.times, timeline.fps,
        tuple(sync.names),
    )


def points_at_frames(values: np.ndarray, times: np.ndarray, sync: TakeSync | None, camera: str,
                     n_frames: int) -> np.ndarray:
    """Per-instant ``values (T, ...)`` on a take's timeline (regular ``times (T,)``, e.g. 3D points) read at
    each of ``camera``'s first ``n_frames`` frames, ``(n_frames, ...)`` (linear; NaN outside the timeline).
    Without ``sync`` (a synchronized take) frame ``f`` is row ``f``."""
    if sync is None or len(times) < 2:
        out = np.full((n_frames,) + values.shape[1:], np.nan)
        out[: min(n_frames, len(values))] = values[:n_frames]
        return out
    step = float(times[1] - times[0])
    return interpolate_frames(values, (sync[camera].frame_times(n_frames) - times[0]) / step)


__all__ = ["interpolate_frames", "points_at_frames", "resample_camera", "Timeline", "common_timeline", "SyncedKeypoints", "resample_take"]
