"""C3D point data: written through the optional ``ezc3d`` package (imported only then), read in pure numpy.

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

    Read in pure numpy (:mod:`mocap.io.c3d_read`; ezc3d crashes on damaged files). Raises ``InputError``
    for a missing, unreadable, damaged or truncated file, or unknown point units.
    """
    from mocap.io.c3d_read import read_c3d_points

    path = Path(path)
    xyz, missing, labels, units, rate, first = read_c3d_points(path)
    if units not in METRES_PER_UNIT:
        raise InputError(f"unknown C3D point units {units!r}", path=path,
                         fix=f"convert the file to one of {', '.join(METRES_PER_UNIT)}")
    xyz = np.where(missing[..., None], np.nan, xyz * METRES_PER_UNIT[units])
    if np.isinf(xyz).any():
        raise InputError("the C3D file holds infinite coordinates", path=path,
                         fix="re-export the C3D file from the capture software")
    times = (first + np.arange(len(xyz))) / rate
    return PointTrajectories(np.ascontiguousarray(missing_together(xyz)), labels, rate, times)


__all__ = ["EZC3D_PIN", "MissingDependencyError", "read_c3d", "write_c3d"]
