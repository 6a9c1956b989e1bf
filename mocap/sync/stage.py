"""``mocap sync``: when each camera of a take recorded each frame -> ``sync.toml``.

Audio first (where the videos have sound), motion (2D keypoints) for the cameras audio could not
time, hand-given values from session.toml last. The result is the take's ``sync.toml`` (and
``sync_curves.npz`` for the report); triangulation reads it and puts every camera's 2D keypoints
on one timeline (:func:`synced_keypoints`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import InputError, MocapError
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.keypoints2d.stage import load_take_keypoints
from mocap.session import Session
from mocap.sync.clock import TakeSync, apply_overrides, check_overlap, sync_fix, unsynchronized
from mocap.sync.curves import SyncCurves
from mocap.sync.resample import common_timeline, resample_take

log = logging.getLogger(__name__)

SyncMethod = Literal["auto", "audio", "motion", "none"]


@dataclass(frozen=True)
class SyncConfig:
    """Settings for ``mocap sync``."""

    method: SyncMethod = "auto"
    """auto (audio where the videos have sound, 2D keypoint motion for the other cameras), audio, motion, or
    none (every camera starts together at its video's frame rate: the assumption before sync). Hand-given
    values in session.toml win over all of them."""
    max_offset: float = 5.0
    """Largest offset motion sync searches between two cameras, seconds (audio searches the whole take)."""
    estimate_drift: bool = True
    """Estimate clock drift (takes longer than a minute)."""
    output_fps: float = 0.0
    """Frame rate of the common timeline the take is triangulated on (0: the fastest camera's)."""


@dataclass(frozen=True, eq=False)
class SyncResult:
    """A take's clocks and what the methods saw (correlation curves, drift windows)."""

    sync: TakeSync
    curves: SyncCurves = field(default_factory=SyncCurves)


def compose(primary: TakeSync, fallback: TakeSync) -> TakeSync:
    """Combine two estimates of one take's clocks.

    ``primary`` (e.g. audio) may be relative to any of its cameras (``metadata["reference"]``, else
    the first); ``fallback`` (e.g. motion) must be relative to the first camera. Cameras timed by
    ``primary`` keep its values, carried onto the first camera's clock through ``fallback``'s clock
    of primary's reference; the others take ``fallback``'s. Returns clocks relative to the first camera.
    """
    if primary.names != fallback.names:
        raise ValueError(f"camera lists differ: {primary.names} vs {fallback.names}")
    ref = primary.metadata.get("reference", primary.names[0])
    bridge = fallback[ref]
    if ref != primary.names[0] and bridge.method == "none":
        raise MocapError(
            f"camera {ref!r} is the audio reference but its time relative to {primary.names[0]!r} is unknown",
            fix="give the first camera an audio track, or sync by motion, or set time_offset in session.toml",
        )
    rate_b = 1.0 + bridge.drift_ppm * 1e-6
    cams = []
    for p, f in zip(primary.cameras, fallback.cameras):
        if p.method == "none":
            cams.append(f)
            continue
        cams.append(p.replace(
            time_offset=bridge.time_offset + p.time_offset * rate_b,
            drift_ppm=((1.0 + p.drift_ppm * 1e-6) * rate_b - 1.0) * 1e6,
        ))
    meta = {**dict(fallback.metadata), **dict(primary.metadata), "reference": primary.names[0]}
    return TakeSync(tuple(cams), meta).rereferenced(primary.names[0])


def synchronize(
    names: Sequence[str],
    *,
    rig: CameraRig | None = None,
    xy: Sequence[np.ndarray] | None = None,
    conf: Sequence[np.ndarray | None] | None = None,
    motion_config: Any = None,
    **kwargs: Any,
) -> TakeSync:
    """The clocks of one take from its videos (audio) and 2D keypoints (motion, with the calibrated ``rig``):
    :func:`estimate_clocks` with :func:`~mocap.sync.motion.motion_sync` as the motion method, without the
    curves. ``xy (F_c, J, 2)`` and ``conf (F_c, J)`` per camera; ``motion_config`` a ``MotionSyncConfig``."""
    return estimate_clocks(names, motion=keypoint_motion(rig, xy, conf, motion_config),
                           n_frames=None if xy is None else [len(x) for x in xy], **kwargs).sync


MotionMethod = Callable[[list[float]], SyncResult]
"""Motion sync as a function of the cameras' frame rates (after hand-given ``fps``) -> clocks and curves."""


def keypoint_motion(rig: CameraRig | None, xy: Sequence[np.ndarray] | None, conf: Sequence[np.ndarray | None] | None,
                    config: Any = None) -> MotionMethod | None:
    """Motion sync from 2D keypoint tracks (None without a rig or keypoints)."""
    if rig is None or xy is None:
        return None

    def run(fps: list[float]) -> SyncResult:
        from mocap.sync.motion import motion_sync

        found = motion_sync(rig, xy, conf if conf is not None else [None] * len(xy), fps, config=config)
        return SyncResult(found.sync, found.curves)

    return run


def estimate_clocks(
    names: Sequence[str],
    *,
    method: SyncMethod = "auto",
    videos: Sequence[str | Path] | None = None,
    fps: Sequence[float] | None = None,
    motion: MotionMethod | None = None,
    n_frames: Sequence[int] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    source: str | Path | None = None,
) -> SyncResult:
    """The clocks of one take.

    Args:
        names: camera names, in order.
        method: ``"auto"`` (audio; motion for the cameras audio could not time, when ``motion`` is
            given), ``"audio"``, ``"motion"`` or ``"none"`` (all start together: the old assumption).
        videos: one video per camera (audio, and frame rates when ``fps`` is None).
        fps: nominal frame rates.
        motion: the motion method (:func:`keypoint_motion`, or the board's motion for a calibration take).
        n_frames: frames per camera (to check that every camera's recording overlaps another's).
        overrides: per camera ``{"time_offset": s, "fps": f, "drift_ppm": d}`` set by hand
            (session.toml); ``fps`` applies before estimation, everything again last.
        source: the file the overrides came from (for messages).

    Returns:
        :class:`SyncResult`, clocks relative to the first camera. Raises ``MocapError`` when a camera
        cannot be timed by any available method, or its recording overlaps no other camera's.
    """
    from mocap.sync.audio import NoSoundError, audio_sync, video_fps

    names = list(names)
    if method not in ("auto", "audio", "motion", "none"):
        raise ValueError(f"method must be auto, audio, motion or none, got {method!r}")
    overrides = dict(overrides or {})
    if fps is None:
        if videos is None:
            raise ValueError("give fps or videos")
        fps = [video_fps(v) for v in videos]
    fps = [float(overrides.get(n, {}).get("fps", f)) for n, f in zip(names, fps)]
    manual = {n for n in names if "time_offset" in overrides.get(n, {})}
    if all(n in manual for n in names[1:]):
        method = "none"  # every offset is given by hand: nothing to estimate
    if method == "audio" and videos is None:
        raise ValueError("audio sync needs the videos")
    if method == "motion" and motion is None:
        raise ValueError("motion sync needs the motion (rig and 2D keypoints, or board detections)")

    audio = None
    if method in ("auto", "audio") and videos is not None:
        try:
            audio = audio_sync(videos, names, fps=fps)
        except MocapError as exc:
            if method == "audio" or motion is None:
                raise
            (log.info if isinstance(exc, NoSoundError) else log.warning)("no audio sync, using motion: %s", exc.problem)
    pending = [] if audio is None else [n for n in audio.unsynced if n not in manual]
    need_motion = method == "motion" or (
        method == "auto" and (audio is None or bool(pending) or audio.reference != names[0]))
    moved = motion(fps) if need_motion and motion is not None else None

    curves = SyncCurves()
    if audio is not None and moved is not None:
        sync, curves = compose(audio.sync, moved.sync), audio.curves + moved.curves
    elif audio is not None:
        if audio.reference != names[0]:
            raise MocapError(f"camera {names[0]!r} has no usable audio ({audio.unsynced.get(names[0], '?')}) "
                             "and there is no motion to time it by", fix=sync_fix(names[0]))
        if pending:
            raise MocapError(f"camera {pending[0]!r} could not be synchronized by audio "
                             f"({audio.unsynced[pending[0]]}) and there is no motion to time it by",
                             fix=sync_fix(pending[0]))
        sync, curves = audio.sync, audio.curves
    elif moved is not None:
        sync, curves = moved.sync, moved.curves
    else:
        if method != "none":
            log.warning("no audio and no motion to synchronize with: assuming all cameras start together")
        sync = unsynchronized(names, fps)
    sync = apply_overrides(sync, overrides, source=source)
    if n_frames is not None:
        check_overlap(sync, n_frames, path=source)
    return SyncResult(sync, curves)


# --------------------------------------------------------------------------------------------------
# The stage
# --------------------------------------------------------------------------------------------------


def sync_take(session: Session | str | Path, take: str, config: SyncConfig = SyncConfig()) -> SyncResult:
    """Synchronize one take of a session: writes ``<output>/takes/<take>/sync.toml`` and ``sync_curves.npz``.

    Needs the take's 2D keypoints (``mocap detect``: they carry each camera's frame count and rate) and,
    for motion sync, the calibration."""
    from mocap.sync.motion import MotionSyncConfig

    session = Session.of(session)
    kp = load_take_keypoints(session, take)
    t, files = session.take(take), session.layout.take(take)
    names = list(kp.camera_names)
    rig_path = session.layout.calibration.rig
    rig = CameraRig.load(rig_path).subset(names) if rig_path.is_file() else None
    if rig is None and config.method == "motion":
        raise InputError("motion sync needs the calibration", path=rig_path,
                         fix=f"run `mocap calibrate {session.root}` first")
    tracks = [kp.camera_tracks(c) for c in range(len(names))]
    videos = [t.videos[session.camera_names.index(n)] for n in names]
    overrides = {n: v for n, v in session.sync_overrides(take).items() if n in names}
    motion = keypoint_motion(rig, [x for x, _ in tracks], [c for _, c in tracks],
                             MotionSyncConfig(max_lag=config.max_offset, estimate_drift=config.estimate_drift))
    result = estimate_clocks(names, method=config.method, videos=videos, fps=list(kp.camera_fps), motion=motion,
                             n_frames=[len(x) for x, _ in tracks], overrides=overrides, source=session.file)
    meta = {**dict(result.sync.metadata), "take": take}
    if config.output_fps > 0:
        meta["output_fps"] = float(config.output_fps)
    result = SyncResult(TakeSync(result.sync.cameras, meta), result.curves)
    result.curves.save(files.sync_curves)
    result.sync.save(files.sync)
    return result


def synced_keypoints(keypoints: Keypoints2D, sync: TakeSync, *, fps: float | None = None,
                     source: str | Path | None = None) -> Keypoints2D:
    """``keypoints`` on the take's common timeline (:func:`~mocap.sync.resample.common_timeline`, at
    ``fps`` or ``sync.toml``'s ``output_fps`` or the fastest camera's rate): each camera's 2D tracks
    read at the timeline's instants on its own clock. Returned unchanged when every camera starts at
    0 with the same frame rate, no drift and all frames (synchronized cameras)."""
    if list(sync.names) != list(keypoints.camera_names):
        missing = [n for n in keypoints.camera_names if n not in sync.names]
        if missing:
            raise InputError(f"sync.toml has no clock for camera(s) {', '.join(missing)}", path=source,
                             fix="run `mocap sync` again for this take")
        sync = TakeSync(tuple(sync[n] for n in keypoints.camera_names), dict(sync.metadata))
    fps = fps or float(sync.metadata.get("output_fps", 0.0)) or None
    rates = [c.fps for c in sync]
    trivial = (all(c.time_offset == 0.0 and c.drift_ppm == 0.0 for c in sync) and len(set(rates)) == 1
               and rates[0] == keypoints.fps and (fps is None or fps == keypoints.fps)
               and (keypoints.frame_counts == keypoints.n_frames).all())
    if trivial:
        return keypoints
    counts = [int(n) for n in keypoints.frame_counts]
    timeline = common_timeline(sync, counts, fps=fps)
    tracks = [keypoints.camera_tracks(c) for c in range(keypoints.n_cameras)]
    synced = resample_take([x for x, _ in tracks], [c for _, c in tracks], sync, timeline)
    n = len(timeline.times)
    log.info("keypoints resampled to a common timeline: %d frames at %.3f fps from %.3f s", n, timeline.fps,
             timeline.start)
    return dataclasses.replace(keypoints, xy=synced.xy.astype(np.float32), conf=synced.conf.astype(np.float32),
                               timestamps=timeline.times, fps=float(timeline.fps),
                               frame_counts=np.full(keypoints.n_cameras, n), camera_fps=np.full(keypoints.n_cameras,
                                                                                               timeline.fps))


__all__ = ["SyncConfig", "SyncResult", "compose", "synchronize", "keypoint_motion", "estimate_clocks", "sync_take",
           "synced_keypoints"]
