"""C3D point data, through the optional ``ezc3d`` package (imported only when a C3D file is used).

Written files follow the usual C3D conventions: POINT data as 32-bit floats (``POINT:SCALE`` -1) in
millimetres (``POINT:UNITS`` "mm"), ``POINT:LABELS`` the joint names, ``POINT:RATE`` the frame rate,
and a residual per point and frame: 0 for a valid point, -1 for a missing one (its coordinates are
written as 0). Axes are the world frame's (Z up); ``POINT:X_SCREEN`` "+X" and ``POINT:Y_SCREEN`` "+Z"
tell viewers such as Mokka which way is up.

C3D stores a constant rate only: ``frame_times`` are not stored, and reading gives
``(first_frame + arange(F)) / rate``. The reader accepts "mm", "cm" and "m" units and treats a
negative residual or a NaN coordinate as missing.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mocap.errors import InputError
from mocap.io.atomic import atomic_path
from mocap.io.points_common import PointTrajectories, missing_together, validate_points
from mocap.units import METRES_PER_UNIT, MocapError

log = logging.getLogger(__name__)

EZC3D_PIN = "ezc3d==1.7.2"
"""The version tested with this module (``pip install ezc3d==1.7.2``; wheels work with numpy 1.26)."""


class MissingDependencyError(MocapError, ImportError):
    """An optional package needed for the requested file format is not installed."""


def _ezc3d():
    try:
        import ezc3d
    except ImportError as exc:
        raise MissingDependencyError(
            "reading and writing C3D files needs the optional package ezc3d, which is not installed",
            fix=f"pip install {EZC3D_PIN}",
        ) from exc
    return ezc3d


def write_c3d(
    path: str | Path,
    xyz: Any,
    joint_names: Sequence[str],
    fps: float,
    *,
    frame_times: Any = None,
) -> Path:
    """Write ``xyz (F, J, 3)`` (metres, Z-up world, NaN = missing) as C3D point data, atomically.

    Args:
        path: the ``.c3d`` file.
        xyz: ``(F, J, 3)`` positions in metres; stored as float32 millimetres.
        joint_names: ``J`` point labels.
        fps: frames per second (``POINT:RATE``).
        frame_times: accepted for symmetry with the other formats but not stored (C3D has a
            constant rate); a warning is logged when they are not ``t0 + arange(F) / fps``.

    Returns the path written.
    """
    xyz, names, fps, times = validate_points(xyz, joint_names, fps, frame_times)
    if frame_times is not None and not np.allclose(times - times[0], np.arange(len(times)) / fps, atol=1e-6):
        log.warning("%s: C3D stores a constant rate; the given frame_times are not stored", path)
    ezc3d = _ezc3d()
    missing = np.isnan(xyz[..., 0])  # (F, J)
    n_frames, n_joints = missing.shape

    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = np.array([fps])
    c3d["parameters"]["POINT"]["LABELS"]["value"] = list(names)
    c3d.add_parameter("POINT", "UNITS", ["mm"])
    c3d.add_parameter("POINT", "X_SCREEN", ["+X"])
    c3d.add_parameter("POINT", "Y_SCREEN", ["+Z"])
    points = np.ones((4, n_joints, n_frames))
    points[:3] = np.where(missing[..., None], 0.0, xyz * 1000.0).transpose(2, 1, 0)
    c3d["data"]["points"] = points
    c3d["data"]["meta_points"]["residuals"] = np.where(missing, -1.0, 0.0).T[None]

    path = Path(path)
    with atomic_path(path) as tmp:
        _write_ezc3d(c3d, tmp)
    return path


def _write_ezc3d(c3d: Any, target: Path) -> None:
    """``c3d.write`` to exactly ``target`` (ezc3d appends ".c3d" to names that lack it)."""
    if target.name.endswith(".c3d"):
        c3d.write(str(target))
        return
    side = Path(f"{target}.c3d")
    try:
        c3d.write(str(side))
        os.replace(side, target)
    finally:
        if side.exists():
            side.unlink()


def read_c3d(path: str | Path) -> PointTrajectories:
    """Read the POINT data of a C3D file as metres (axes as stored; this project writes Z up).

    Raises ``InputError`` for a missing, unreadable or truncated file, or unknown point units.
    """
    path = Path(path)
    ezc3d = _ezc3d()
    fix = "re-export the C3D file from the capture software"
    if not path.is_file():
        raise InputError("C3D file not found", path=path, fix="check the path")
    try:
        c3d = ezc3d.c3d(str(path))
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError(f"not a readable C3D file ({exc})", path=path, fix=fix) from None

    params = c3d["parameters"]["POINT"]
    points = np.asarray(c3d["data"]["points"], dtype=float)  # (4, J, F)
    n_joints, n_frames = points.shape[1], points.shape[2]
    head = c3d["header"]["points"]
    expected = _header_frame_count(path)
    if n_joints and n_frames < expected:  # more is fine: long files cap the header's last frame
        raise InputError(f"C3D file ends early: its header announces {expected} frames, it holds {n_frames}",
                         path=path, fix=fix)
    labels = _labels(params, n_joints)
    units = str((params.get("UNITS", {}).get("value") or ["mm"])[0]).strip().lower() or "mm"
    if units not in METRES_PER_UNIT:
        raise InputError(f"unknown C3D point units {units!r}", path=path,
                         fix=f"convert the file to one of {', '.join(METRES_PER_UNIT)}")
    rate = float(np.ravel(params["RATE"]["value"])[0]) if "RATE" in params else float(head["frame_rate"])
    if not np.isfinite(rate) or rate <= 0:
        raise InputError(f"C3D point rate is {rate}", path=path, fix="set POINT:RATE to the capture rate")

    xyz = points[:3].transpose(2, 1, 0) * METRES_PER_UNIT[units]  # (F, J, 3)
    residuals = np.asarray(c3d["data"]["meta_points"]["residuals"], dtype=float)
    if residuals.shape == (1, n_joints, n_frames):
        xyz[residuals[0].T < 0] = np.nan
    if np.isinf(xyz).any():
        raise InputError("the C3D file holds infinite coordinates", path=path, fix=fix)
    times = (int(head["first_frame"]) + np.arange(n_frames)) / rate
    return PointTrajectories(np.ascontiguousarray(missing_together(xyz)), labels, rate, times)


def _header_frame_count(path: Path) -> int:
    """Frames announced by the file's own header (ezc3d reports what it could read instead).

    Header words 4 and 5 are the first and last frame (16 bit, capped at 65535); the byte order
    follows the processor type in the parameter block (86 = MIPS, big-endian; else little-endian).
    """
    with open(path, "rb") as fh:
        head = fh.read(512)
        fh.seek(max(head[0] - 1, 0) * 512)
        param = fh.read(4)
    if len(head) < 10 or len(param) < 4:
        return 0
    first, last = struct.unpack((">" if param[3] == 86 else "<") + "HH", head[6:10])
    return last - first + 1


def _labels(params: dict, n_joints: int) -> tuple[str, ...]:
    """POINT:LABELS, continued in LABELS2, LABELS3 ... when there are more than 255 points."""
    labels = list(params.get("LABELS", {}).get("value", []))
    k = 2
    while f"LABELS{k}" in params:
        labels += list(params[f"LABELS{k}"]["value"])
        k += 1
    labels = [str(s).strip() for s in labels][:n_joints]
    labels += [f"point{i + 1}" for i in range(len(labels), n_joints)]
    return tuple(labels)


__all__ = ["EZC3D_PIN", "MissingDependencyError", "read_c3d", "write_c3d"]
