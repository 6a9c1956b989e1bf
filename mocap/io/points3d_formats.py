"""3D keypoint trajectories to and from TRC, C3D and CSV files: the shared contract and a registry.

The data is a set of plain arrays:

* ``xyz (F, J, 3)``: positions in metres in this project's world frame (right-handed, Z up);
  NaN where a point is missing. A point with any NaN coordinate counts as missing as a whole.
* ``joint_names``: ``J`` unique names, no tabs or line breaks and no surrounding spaces.
* ``fps``: frames per second.
* ``frame_times (F,)``: seconds; optional for writers (default ``arange(F) / fps``).

Formats (``FORMATS``, a :class:`mocap.registry.Registry`; chosen from the file suffix when ``fmt`` is ``None``):

``trc``  OpenSim / Pose2Sim marker file (:mod:`mocap.io.trc`). Y up by default, as OpenSim expects,
         using Pose2Sim's axis convention; ``units`` "m" (default) or "mm".
``c3d``  C3D point data in mm with residuals (:mod:`mocap.io.c3d_io`); Z up, as in the world frame.
         Needs the optional ``ezc3d`` package.
``csv``  one row per frame: ``frame,time,<joint>_x,<joint>_y,<joint>_z,...``; metres, Z up
         (:mod:`mocap.io.csv_points`).

Readers return a :class:`PointTrajectories` in metres: TRC rotated back to Z up (``up_axis``), C3D
and CSV with their axes as stored (Z up for files written here). Writers write atomically (the file
appears complete or not at all) and return the path. Invalid arrays raise ``ValueError`` before
anything is written; a malformed file raises :class:`~mocap.errors.InputError` naming the file and
the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mocap.io.points_common import PointTrajectories, validate_points
from mocap.registry import Entry, Registry

# --------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------

FORMATS = Registry("3D points format", [
    Entry("trc", "OpenSim / Pose2Sim marker file (options: units m|mm, up_axis Y|Z)",
          {"read": "mocap.io.trc:read_trc", "write": "mocap.io.trc:write_trc"}, suffixes=(".trc",)),
    Entry("c3d", "C3D point data in mm, Z up (needs the ezc3d package)",
          {"read": "mocap.io.c3d_io:read_c3d", "write": "mocap.io.c3d_io:write_c3d"}, suffixes=(".c3d",)),
    Entry("csv", "CSV, a row per frame: frame,time,<joint>_x,_y,_z (metres, Z up)",
          {"read": "mocap.io.csv_points:read_points_csv", "write": "mocap.io.csv_points:write_points_csv"},
          suffixes=(".csv",)),
])


def write_points(
    path: str | Path,
    xyz: Any,
    joint_names: Sequence[str],
    fps: float,
    fmt: str | None = None,
    **opts: Any,
) -> Path:
    """Write trajectories ``xyz (F, J, 3)`` (metres, Z up, NaN = missing) to ``path`` atomically.

    Args:
        path: the output file.
        xyz: ``(F, J, 3)`` positions in metres in the world frame.
        joint_names: ``J`` names.
        fps: frames per second.
        fmt: ``"trc"``, ``"c3d"`` or ``"csv"``; ``None`` picks it from the suffix.
        opts: ``frame_times=(F,)`` seconds, and format options: TRC ``units`` ("m" | "mm"),
            ``up_axis`` ("Y" | "Z"), ``missing`` ("empty" | "nan").

    Returns the path written.
    """
    path = Path(path)
    entry = FORMATS.for_path(path, fmt, "write")
    return FORMATS.call(entry.name, "write", path, xyz, joint_names, fps, **opts)


def read_points(path: str | Path, fmt: str | None = None, **opts: Any) -> PointTrajectories:
    """Read a TRC, C3D or CSV file as :class:`PointTrajectories` (metres, Z-up world frame).

    Args:
        path: the file.
        fmt: ``"trc"``, ``"c3d"`` or ``"csv"``; ``None`` picks it from the suffix.
        opts: format options: TRC ``up_axis`` (the file's up axis, "Y" by default; "Y" files are
            rotated back to Z up), CSV ``fps`` (instead of inferring it from the time column).
    """
    path = Path(path)
    entry = FORMATS.for_path(path, fmt, "read")
    return FORMATS.call(entry.name, "read", path, **opts)


__all__ = ["FORMATS", "PointTrajectories", "read_points", "validate_points", "write_points"]
