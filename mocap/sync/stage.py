"""Putting the sync methods together for one take: audio first, motion for the cameras audio
could not time, hand-set values last. The result is the take's ``sync.toml``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import MocapError
from mocap.sync.clock import TakeSync, apply_overrides, check_overlap, unsynchronized

log = logging.getLogger(__name__)

SyncMethod = Literal["auto", "audio", "motion", "none"]


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
    method: SyncMethod = "auto",
    videos: Sequence[str | Path] | None = None,
    fps: Sequence[float] | None = None,
    rig: CameraRig | None = None,
    xy: Sequence[np.ndarray] | None = None,
    conf: Sequence[np.ndarray | None] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    source: str | Path | None = None,
) -> TakeSync:
    """The clocks of one take.

    Args:
        names: camera names, in order.
        method: ``"auto"`` (audio; motion for the cameras audio could not time, when keypoints are
            given), ``"audio"``, ``"motion"`` or ``"none"`` (all start together: the old assumption).
        videos: one video per camera (audio, and frame rates when ``fps`` is None).
        fps: nominal frame rates.
        rig: calibrated cameras, same order (motion sync).
        xy, conf: per camera ``(F_c, J, 2)`` video pixels and ``(F_c, J)`` confidence (motion sync).
        overrides: per camera ``{"time_offset": s, "fps": f, "drift_ppm": d}`` set by hand
            (session.toml); applied last.
        source: the file the overrides came from (for messages).

    Returns:
        :class:`TakeSync` relative to the first camera. Raises ``MocapError`` when a camera cannot be
        timed by any available method, or its recording overlaps no other camera's.
    """
    from mocap.sync.audio import audio_sync, video_fps
    from mocap.sync.motion import motion_sync, sync_fix

    names = list(names)
    if method not in ("auto", "audio", "motion", "none"):
        raise ValueError(f"method must be auto, audio, motion or none, got {method!r}")
    if fps is None:
        if videos is None:
            raise ValueError("give fps or videos")
        fps = [video_fps(v) for v in videos]
    overrides = dict(overrides or {})
    manual = {n for n in names if "time_offset" in overrides.get(n, {})}
    have_motion = rig is not None and xy is not None
    if method == "audio" and videos is None:
        raise ValueError("audio sync needs the videos")
    if method == "motion" and not have_motion:
        raise ValueError("motion sync needs the rig and the 2D keypoints")

    audio = None
    if method in ("auto", "audio") and videos is not None:
        try:
            audio = audio_sync(videos, names, fps=fps)
        except MocapError as exc:
            if method == "audio" or not have_motion:
                raise
            log.warning("audio sync failed, using motion: %s", exc.problem)
    pending = [] if audio is None else [n for n in audio.unsynced if n not in manual]
    need_motion = method == "motion" or (
        method == "auto" and (audio is None or bool(pending) or audio.reference != names[0]))
    motion = None
    if need_motion and have_motion:
        motion = motion_sync(rig, xy, conf if conf is not None else [None] * len(xy), fps).sync

    if audio is not None and motion is not None:
        sync = compose(audio.sync, motion)
    elif audio is not None:
        if audio.reference != names[0]:
            raise MocapError(f"camera {names[0]!r} has no usable audio ({audio.unsynced.get(names[0], '?')}) "
                             "and no keypoints were given to time it by motion", fix=sync_fix(names[0]))
        if pending:
            raise MocapError(f"camera {pending[0]!r} could not be synchronized by audio "
                             f"({audio.unsynced[pending[0]]}) and no keypoints were given", fix=sync_fix(pending[0]))
        sync = audio.sync
    elif motion is not None:
        sync = motion
    else:
        if method != "none":
            log.warning("no audio and no keypoints to synchronize with: assuming all cameras start together")
        sync = unsynchronized(names, fps)
    sync = apply_overrides(sync, overrides, source=source)
    if xy is not None:
        check_overlap(sync, [len(x) for x in xy], path=source)
    return sync


__all__ = ["compose", "synchronize"]
