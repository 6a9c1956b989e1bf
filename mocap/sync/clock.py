"""The time model of a take: when each camera recorded each frame.

Every camera has its own clock. On the take's common timeline (seconds, the first camera's frame 0
at ``t = 0``), camera ``c``'s frame ``f`` was exposed at::

    t = time_offset + f / fps * (1 + drift_ppm * 1e-6)

``time_offset`` is when the camera's frame 0 happened (positive: it started later than the first
camera), ``fps`` its nominal frame rate (as the file says: 29.97, 30, 60, ...) and ``drift_ppm`` how
much slower (positive) or faster its clock runs than the first camera's. Audio samples of a camera
share its video clock: an audio sample at local time ``tau`` (seconds after frame 0, by the file's
own timestamps) is at ``t = time_offset + tau * (1 + drift_ppm * 1e-6)``.

A take's clocks are saved as ``sync.toml``: ``schema_version``, ``kind = "mocap.sync"`` and an
ordered ``[[cameras]]`` list (the camera order of every other file of the take).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mocap.errors import InputError, MocapError
from mocap.named import NamedCameras

SYNC_SCHEMA_VERSION = 1
SYNC_METHODS = ("audio", "motion", "manual", "none")
OVERRIDE_FIELDS = ("time_offset", "fps", "drift_ppm")
_FIX_FILE = "regenerate it with the sync stage, or fix the field named (see mocap/sync/clock.py)"


@dataclass(frozen=True)
class CameraClock:
    """One camera's clock on the take's timeline.

    Attributes:
        name: camera name (as in session.toml and camera_rig.toml).
        time_offset: seconds; when this camera's frame 0 happened, relative to the first camera's
            frame 0 (positive: this camera started later).
        fps: nominal frames per second of the video (e.g. 29.97).
        drift_ppm: clock rate error relative to the first camera, parts per million; positive means
            this camera's frames are slightly further apart in real time than ``1 / fps``.
        confidence: 0-1, how sure the estimate is (1 for manual values).
        method: how it was found: ``"audio"``, ``"motion"``, ``"manual"`` or ``"none"`` (assumed).
    """

    name: str
    time_offset: float = 0.0
    fps: float = 30.0
    drift_ppm: float = 0.0
    confidence: float = 0.0
    method: str = "none"

    def __post_init__(self) -> None:
        for field in ("time_offset", "fps", "drift_ppm", "confidence"):
            object.__setattr__(self, field, float(getattr(self, field)))
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"camera {self.name!r}: fps must be positive, got {self.fps}")
        if not (math.isfinite(self.time_offset) and math.isfinite(self.drift_ppm)):
            raise ValueError(f"camera {self.name!r}: time_offset and drift_ppm must be finite numbers")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"camera {self.name!r}: confidence must be in [0, 1], got {self.confidence}")
        if self.method not in SYNC_METHODS:
            raise ValueError(f"camera {self.name!r}: method must be one of {SYNC_METHODS}, got {self.method!r}")

    @property
    def frame_period(self) -> float:
        """Seconds between two frames on the take's timeline (``(1 + drift) / fps``)."""
        return (1.0 + self.drift_ppm * 1e-6) / self.fps

    def frame_times(self, n_frames: int) -> np.ndarray:
        """Times ``(n_frames,)`` in seconds of frames ``0 .. n_frames - 1`` on the take's timeline."""
        return self.time_offset + np.arange(int(n_frames)) * self.frame_period

    def time_of(self, frame: np.ndarray | float) -> np.ndarray:
        """Time(s) of (fractional) frame number(s), same shape as ``frame``."""
        return self.time_offset + np.asarray(frame, dtype=float) * self.frame_period

    def frame_at(self, t: np.ndarray | float) -> np.ndarray:
        """Fractional frame number(s) at take time(s) ``t`` (the inverse of :meth:`time_of`)."""
        return (np.asarray(t, dtype=float) - self.time_offset) / self.frame_period

    def local_to_take(self, tau: np.ndarray | float) -> np.ndarray:
        """Camera-local seconds (file timestamps after frame 0) -> take time."""
        return self.time_offset + np.asarray(tau, dtype=float) * (1.0 + self.drift_ppm * 1e-6)

    def replace(self, **changes: Any) -> CameraClock:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "time_offset": self.time_offset,
            "fps": self.fps,
            "drift_ppm": self.drift_ppm,
            "confidence": self.confidence,
            "method": self.method,
        }


@dataclass(frozen=True)
class TakeSync(NamedCameras[CameraClock]):
    """The clocks of all cameras of one take, in camera order.

    Attributes:
        cameras: one :class:`CameraClock` per camera; the first is the reference (offset 0, no drift,
            once :meth:`rereferenced`).
        metadata: free-form provenance (reference used by audio, residuals), saved as ``[metadata]``.
    """

    cameras: tuple[CameraClock, ...]
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self._freeze_cameras()

    def frame_times(self, n_frames: Sequence[int]) -> list[np.ndarray]:
        """Per camera, the take times ``(F_c,)`` of its ``n_frames[c]`` frames."""
        if len(n_frames) != len(self.cameras):
            raise ValueError(f"need one frame count per camera ({len(self.cameras)}), got {len(n_frames)}")
        return [cam.frame_times(n) for cam, n in zip(self.cameras, n_frames)]

    def frames_at(self, t: np.ndarray | float) -> np.ndarray:
        """Fractional frame numbers ``(C, *t.shape)`` of every camera at take time(s) ``t``."""
        return np.stack([cam.frame_at(t) for cam in self.cameras])

    def spans(self, n_frames: Sequence[int]) -> np.ndarray:
        """``(C, 2)`` take time of each camera's first and last frame."""
        return np.array([[cam.time_of(0), cam.time_of(max(int(n) - 1, 0))] for cam, n in zip(self.cameras, n_frames)])

    def rereferenced(self, name: str | None = None) -> TakeSync:
        """The same clocks expressed relative to camera ``name`` (default: the first camera):
        its offset becomes 0 and its drift 0, exactly (drifts combine as rate ratios)."""
        ref = self[name if name is not None else 0]
        rate0 = 1.0 + ref.drift_ppm * 1e-6
        cams = tuple(
            c.replace(
                time_offset=(c.time_offset - ref.time_offset) / rate0,
                drift_ppm=((1.0 + c.drift_ppm * 1e-6) / rate0 - 1.0) * 1e6,
            )
            for c in self.cameras
        )
        return TakeSync(cams, dict(self.metadata))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SYNC_SCHEMA_VERSION,
            "kind": "mocap.sync",
            "metadata": dict(self.metadata),
            "cameras": [c.to_dict() for c in self.cameras],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | Path | None = None) -> TakeSync:
        version = data.get("schema_version")
        if not isinstance(version, int) or "cameras" not in data:
            raise InputError("not a sync file (needs schema_version and [[cameras]])", path=source, fix=_FIX_FILE)
        if version > SYNC_SCHEMA_VERSION:
            raise InputError(f"sync schema_version {version} is newer than this mocap supports "
                             f"({SYNC_SCHEMA_VERSION})", path=source, fix="upgrade mocap")
        entries = data["cameras"]
        if not isinstance(entries, list) or not entries:
            raise InputError("[[cameras]] must be a non-empty list of tables", path=source, fix=_FIX_FILE)
        cams = []
        for i, entry in enumerate(entries):
            cams.append(_clock_from_dict(entry, i, source))
        try:
            return cls(tuple(cams), dict(data.get("metadata", {})))
        except ValueError as exc:
            raise InputError(str(exc), path=source, fix=_FIX_FILE) from exc

    def save(self, path: str | Path) -> Path:
        """Write ``sync.toml`` atomically."""
        from mocap.io.tomlio import write_toml

        return write_toml(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> TakeSync:
        from mocap.io.tomlio import read_toml

        data = read_toml(path, what="sync file", fix="run the sync stage to create it")
        return cls.from_dict(data, source=path)


def _clock_from_dict(entry: Any, i: int, source: str | Path | None) -> CameraClock:
    where = f"[[cameras]] entry {i + 1}"
    if not isinstance(entry, Mapping):
        raise InputError(f"{where} is not a table", path=source, fix=_FIX_FILE)
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}: 'name' is missing or not a string", path=source, fix=_FIX_FILE)
    where = f"camera {name!r}"
    values: dict[str, Any] = {"name": name}
    for field, default in (("time_offset", 0.0), ("fps", None), ("drift_ppm", 0.0), ("confidence", 0.0)):
        v = entry.get(field, default)
        if v is None:
            raise InputError(f"{where}: '{field}' is missing", path=source, fix=_FIX_FILE)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"{where}: '{field}' must be a finite number, got {v!r}", path=source, fix=_FIX_FILE)
        values[field] = v
    values["method"] = entry.get("method", "none")
    try:
        return CameraClock(**values)
    except ValueError as exc:
        raise InputError(str(exc), path=source, fix=_FIX_FILE) from exc


def read_sync(path: str | Path) -> TakeSync:
    """Read ``sync.toml``; a missing or malformed file raises ``InputError`` naming file and field."""
    return TakeSync.load(path)


def write_sync(path: str | Path, sync: TakeSync) -> Path:
    """Write ``sync.toml`` atomically; returns the path."""
    return sync.save(path)


def manual_offset_hint(camera: str) -> str:
    """How to give a camera's time offset by hand (session.toml), for error messages."""
    return (f"time_offsets = {{ {camera} = <seconds after the first camera> }} in the take's [[takes]] entry "
            f"of session.toml ([calibration] for the calibration take)")


def sync_fix(camera: str) -> str:
    """The advice every failed sync gives."""
    return (f"clap your hands once at the start of the take where every camera hears it (audio sync), "
            f"or set the offset by hand: {manual_offset_hint(camera)}; for cameras synchronized in hardware, "
            f"skip sync with --set sync.method=\"none\" (mocap run) or --method none (mocap sync)")


def unsynchronized(names: Sequence[str], fps: Sequence[float] | float) -> TakeSync:
    """Every camera starting at 0 with no drift (``method = "none"``): today's assumption."""
    rates = [float(fps)] * len(names) if np.isscalar(fps) else list(fps)
    return TakeSync(tuple(CameraClock(n, 0.0, r) for n, r in zip(names, rates)))


def apply_overrides(
    sync: TakeSync, overrides: Mapping[str, Mapping[str, Any]], *, source: str | Path | None = None
) -> TakeSync:
    """Replace estimated values with hand-given ones.

    Args:
        sync: the estimated (or assumed) clocks.
        overrides: per camera name, a table with any of ``time_offset`` (s), ``fps``, ``drift_ppm``
            (:meth:`mocap.session.Session.sync_overrides`). A camera given a ``time_offset`` gets
            ``method = "manual"`` and confidence 1.
        source: the file the overrides came from, for error messages.

    Returns the new :class:`TakeSync`; unknown cameras or fields raise ``InputError``.
    """
    cams = {c.name: c for c in sync.cameras}
    for name, table in overrides.items():
        if name not in cams:
            raise InputError(f"sync override for unknown camera {name!r}", path=source,
                             fix=f"use one of the take's cameras: {', '.join(cams)}")
        if not isinstance(table, Mapping):
            raise InputError(f"sync override for camera {name!r} must be a table", path=source,
                             fix=f"write e.g. {manual_offset_hint(name)}")
        changes: dict[str, Any] = {}
        for field, v in table.items():
            if field not in OVERRIDE_FIELDS:
                raise InputError(f"camera {name!r}: unknown sync field {field!r}", path=source,
                                 fix=f"allowed fields: {', '.join(OVERRIDE_FIELDS)}")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InputError(f"camera {name!r}: sync field {field!r} must be a finite number, got {v!r}",
                                 path=source, fix="give seconds for time_offset, frames per second for fps")
            if field == "fps" and not v > 0:
                raise InputError(f"camera {name!r}: fps must be positive, got {v}", path=source,
                                 fix="give the camera's frame rate, e.g. fps = 29.97")
            changes[field] = float(v)
        if "time_offset" in changes or "drift_ppm" in changes:
            changes.update(method="manual", confidence=1.0)
        cams[name] = cams[name].replace(**changes)
    return TakeSync(tuple(cams[c.name] for c in sync.cameras), dict(sync.metadata))


def check_overlap(sync: TakeSync, n_frames: Sequence[int], *, min_cameras: int = 2,
                  path: str | Path | None = None) -> tuple[float, float]:
    """The take-time span ``(start, end)`` where at least ``min_cameras`` cameras record.

    Raises ``MocapError`` naming the camera whose recording misses every other camera's (a video
    shorter than its offset, or a wrong ``time_offset``).
    """
    spans = sync.spans(n_frames)
    for c, cam in enumerate(sync.cameras):
        others = np.delete(spans, c, axis=0)
        if len(others) and not np.any((others[:, 0] <= spans[c, 1]) & (others[:, 1] >= spans[c, 0])):
            raise MocapError(
                f"camera {cam.name!r} records {spans[c, 0]:.3f}-{spans[c, 1]:.3f} s on the take's timeline "
                f"(time_offset {cam.time_offset:.3f} s, {int(n_frames[c])} frames), which overlaps no other camera",
                path=path,
                fix=f"check that {cam.name}'s video belongs to this take and is long enough, or set its offset by "
                f"hand: {manual_offset_hint(cam.name)}",
            )
    edges = np.unique(spans.ravel())
    count = [(np.sum((spans[:, 0] <= t) & (spans[:, 1] >= t))) for t in edges]
    ok = edges[np.asarray(count) >= min_cameras]
    if len(ok) == 0:
        raise MocapError(f"no moment is recorded by {min_cameras} cameras at once", path=path,
                         fix="check the videos, and the time offsets given in session.toml")
    return float(ok.min()), float(ok.max())


__all__ = [
    "SYNC_SCHEMA_VERSION",
    "CameraClock",
    "TakeSync",
    "read_sync",
    "write_sync",
    "unsynchronized",
    "manual_offset_hint",
    "sync_fix",
    "apply_overrides",
    "check_overlap",
]
