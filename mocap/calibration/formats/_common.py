"""Helpers shared by the format modules: validated access to parsed files, and length units.

Every check on a file's content raises :class:`~mocap.errors.InputError` naming the file, what is
wrong, the format the file was read as, and how to name another one (``--from FORMAT``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mocap.camera import Camera, CameraRig
from mocap.errors import InputError, MocapError

FORMAT_NAMES = ("mocap", "anipose", "freemocap", "pose2sim", "caliscope", "qualisys")
CAMERA_FIELDS = "camera_fields"
"""``rig.metadata[CAMERA_FIELDS][fmt][camera name]``: a tool's per-camera fields that mocap has no use for
(FreeMoCap's ``world_orientation`` / ``world_position``, FreeMoCap 2's ``id`` / ``index``...), kept so that
writing the rig back in that format restores them (file -> mocap -> file is lossless)."""
_PER_FORMAT = (CAMERA_FIELDS, "caliscope")  # rig.metadata keys that are not the file's own [metadata]


def keep_camera_fields(metadata: dict[str, Any], fmt: str, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``metadata`` with ``fields`` (camera name -> unknown fields) stored for format ``fmt`` (when any)."""
    fields = {name: f for name, f in fields.items() if f}
    return {**metadata, CAMERA_FIELDS: {fmt: fields}} if fields else metadata


def camera_fields(rig: CameraRig, fmt: str, name: str) -> dict[str, Any]:
    """The unknown fields camera ``name`` had in a ``fmt`` file (empty when none)."""
    saved = rig.metadata.get(CAMERA_FIELDS, {})
    fields = saved.get(fmt, {}).get(name, {}) if isinstance(saved, dict) and isinstance(saved.get(fmt), dict) else {}
    return dict(fields) if isinstance(fields, dict) else {}


def as_read(saved: dict[str, Any], field: str, internal: np.ndarray, to_internal, computed: Any) -> Any:
    """The file's own text of ``field`` (popped from ``saved``, a camera's kept fields) when it still converts
    to exactly ``internal`` (the camera was not changed since), else ``computed``: so that a Rodrigues vector
    or a translation in mm comes back bit for bit instead of through a conversion and its round-off."""
    raw = saved.pop(field, None)
    try:
        same = raw is not None and np.array_equal(to_internal(np.asarray(raw, dtype=float)), internal)
    except (TypeError, ValueError):
        same = False
    return raw if same else computed


def file_metadata(rig: CameraRig) -> dict[str, Any]:
    """``rig.metadata`` without the per-format camera fields: what goes into a file's ``[metadata]`` table."""
    return {k: v for k, v in rig.metadata.items() if k not in _PER_FORMAT}


def dist_for(cam: Camera, n: int, fmt: str, path: str | Path) -> np.ndarray:
    """``cam.dist`` padded/trimmed to ``n`` coefficients; refuses to drop non-zero ones."""
    d = np.zeros(max(n, cam.dist.size))
    d[: cam.dist.size] = cam.dist
    if np.any(d[n:] != 0):
        raise MocapError(
            f"camera {cam.name!r} has {cam.dist.size} distortion coefficients; the {fmt} format "
            f"holds only {n}",
            path=path,
            fix="write it in the mocap format, or recalibrate with fewer distortion coefficients",
        )
    return d[:n]


def refuse_fisheye(rig: CameraRig, fmt: str, path: str | Path) -> None:
    """Raise for fisheye cameras in a format that has only the pinhole model."""
    fish = [c.name for c in rig if c.model == "fisheye"]
    if fish:
        raise MocapError(
            f"the {fmt} format has no fisheye model, but cameras {fish} are fisheye",
            path=path,
            fix="write them as anipose, freemocap, pose2sim or mocap, which support fisheye",
        )


@dataclass(frozen=True)
class Source:
    """A file being read as format ``fmt``; its methods validate fields and build clear errors."""

    path: Path
    fmt: str

    def error(self, problem: str, fix: str | None = None) -> InputError:
        hint = (
            f"the file was read as {self.fmt}; if it is another format, name it with "
            f"--from ({', '.join(FORMAT_NAMES)})"
        )
        return InputError(problem, path=self.path, fix=f"{fix}; {hint}" if fix else hint)

    def value(self, table: Any, key: str, where: str) -> Any:
        if not isinstance(table, dict):
            raise self.error(f"{where} is not a table")
        if key not in table:
            raise self.error(f"{where} has no {key!r}", fix=f"add {key} to {where}")
        return table[key]

    def array(
        self,
        table: Any,
        key: str,
        where: str,
        shape: tuple[int, ...] | None = None,
        lengths: Sequence[int] | None = None,
    ) -> np.ndarray:
        """A finite float array at ``table[key]`` of ``shape`` (or 1-D with a length in ``lengths``)."""
        value = self.value(table, key, where)
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise self.error(f"{where}.{key} is not an array of finite numbers: {str(value)[:80]}") from None
        if shape is not None and arr.shape != shape:
            raise self.error(f"{where}.{key} must have shape {shape}, got {arr.shape}")
        if lengths is not None and (arr.ndim != 1 or arr.size not in lengths):
            want = " or ".join(str(n) for n in lengths)
            raise self.error(f"{where}.{key} must be a list of {want} numbers, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise self.error(f"{where}.{key} contains NaN or infinite values")
        return arr

    def size(self, table: Any, key: str, where: str) -> tuple[int, int]:
        arr = self.array(table, key, where, shape=(2,))
        if np.any(arr <= 0) or np.any(arr != np.round(arr)):
            raise self.error(f"{where}.{key} must be [width, height] in whole pixels, got {arr.tolist()}")
        return int(arr[0]), int(arr[1])

    def rotation(self, R: np.ndarray, where: str) -> np.ndarray:
        if not (np.allclose(R @ R.T, np.eye(3), atol=1e-5) and np.linalg.det(R) > 0):
            raise self.error(f"{where}: the rotation is not a proper rotation matrix")
        return R

    def camera(self, **fields: Any) -> Camera:
        """A `Camera` from the file's fields; what makes no physical sense is an error naming the file."""
        try:
            return Camera(**fields)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise self.error(str(exc), fix="fix the camera's values in the file") from None

    def rig(self, cameras: Sequence[Camera], metadata: dict[str, Any]) -> CameraRig:
        if not cameras:
            raise self.error("the file holds no cameras")
        try:
            return CameraRig(tuple(cameras), metadata)
        except ValueError as exc:
            raise self.error(str(exc), fix="give every camera a unique name") from None
