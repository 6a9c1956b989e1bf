"""TRC marker files, as written by Pose2Sim and read by OpenSim.

Layout (tab-separated)::

    PathFileType  4  (X/Y/Z)  <file name>
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    30  30  120  26  m  30  1  120
    Frame#  Time  Nose  <tab>  <tab>  LEye  <tab>  <tab> ...     (each name followed by two empty cells)
    <tab>  <tab>  X1  Y1  Z1  X2  Y2  Z2 ...
    1  0  0.1  1.5  0.2 ...                                      (Frame# from 1, Time in seconds)

Missing values are written as empty cells (what Pose2Sim writes; OpenSim's ``TRCFileAdapter`` reads an
empty cell as NaN) or, with ``missing="nan"``, as ``NaN``. The reader accepts both, CRLF line ends,
blank lines before the data (OpenSim writes one), trailing tabs, spaces around cells, and "m", "cm"
or "mm" units.

Axes. The world frame of this project is right-handed with Z up. OpenSim and Pose2Sim expect Y up.
With ``up_axis="Y"`` (the default) positions are rotated the way Pose2Sim's ``zup2yup`` does
(``Pose2Sim/common.py``; also ``Utilities/trc_Zup_to_Yup.py``), a cyclic permutation of the axes::

    X_file = y_world,   Y_file = z_world,   Z_file = x_world

This is a proper rotation (determinant +1), so handedness is kept; its inverse (used when reading
with ``up_axis="Y"``) is ``x_world = Z_file, y_world = X_file, z_world = Y_file``. The other common
choice, ``(x, z, -y)``, differs from it by a quarter turn about the vertical axis. With
``up_axis="Z"`` positions are written and read as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mocap.errors import InputError
from mocap.io.atomic import atomic_open
from mocap.io.points_common import (
    PointTrajectories,
    check_read_values,
    missing_together,
    parse_number_rows,
    read_text_lines,
    validate_points,
)
from mocap.units import METRES_PER_UNIT

UP_AXES = ("Y", "Z")
"""TRC ``Units`` value (lower case) -> metres per unit. The writer offers "m" and "mm"."""
DECIMALS = {"m": 8, "mm": 5}
"""Decimals written per unit: a resolution of 10 nm either way."""
HEADER_KEYS = ("DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units", "OrigDataRate",
               "OrigDataStartFrame", "OrigNumFrames")

ZUP_TO_YUP = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
"""Rotation from the Z-up world to Pose2Sim's Y-up TRC axes: ``p_file = ZUP_TO_YUP @ p_world``."""

_FIX = "re-export the TRC file, or repair it to the OpenSim TRC layout (see mocap.io.trc)"


def zup_to_yup(xyz: np.ndarray) -> np.ndarray:
    """``(..., 3)`` world positions (Z up) -> Pose2Sim's Y-up axes: ``(x, y, z) -> (y, z, x)``."""
    return np.asarray(xyz)[..., [1, 2, 0]]


def yup_to_zup(xyz: np.ndarray) -> np.ndarray:
    """Inverse of :func:`zup_to_yup`: ``(X, Y, Z) -> (Z, X, Y)``."""
    return np.asarray(xyz)[..., [2, 0, 1]]


def _check_up_axis(up_axis: str) -> str:
    if up_axis not in UP_AXES:
        raise ValueError(f"up_axis must be 'Y' (OpenSim, Pose2Sim) or 'Z' (as stored); got {up_axis!r}")
    return up_axis


def _number(x: float) -> str:
    """A rate for the header: ``60`` for whole numbers, else the shortest exact decimal."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def write_trc(
    path: str | Path,
    xyz: Any,
    joint_names: Sequence[str],
    fps: float,
    *,
    frame_times: Any = None,
    units: str = "m",
    up_axis: str = "Y",
    missing: str = "empty",
) -> Path:
    """Write ``xyz (F, J, 3)`` (metres, Z-up world, NaN = missing) as a TRC file, atomically.

    Args:
        path: the ``.trc`` file.
        xyz: ``(F, J, 3)`` positions in metres.
        joint_names: ``J`` marker names.
        fps: frames per second (``DataRate``).
        frame_times: ``(F,)`` seconds for the Time column; default ``arange(F) / fps``.
        units: "m" (default, as Pose2Sim) or "mm".
        up_axis: "Y" (default: rotated to Pose2Sim's Y-up axes, see the module docstring) or "Z".
        missing: "empty" (default: empty cells, as Pose2Sim) or "nan" (``NaN`` cells).

    Returns the path written.
    """
    xyz, names, fps, times = validate_points(xyz, joint_names, fps, frame_times)
    if units not in DECIMALS:
        raise ValueError(f"units must be 'm' or 'mm', got {units!r}")
    _check_up_axis(up_axis)
    if missing not in ("empty", "nan"):
        raise ValueError(f"missing must be 'empty' or 'nan', got {missing!r}")
    path = Path(path)
    values = (zup_to_yup(xyz) if up_axis == "Y" else xyz) / METRES_PER_UNIT[units]
    n_frames, n_joints = xyz.shape[:2]
    rate = _number(fps)
    header = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "\t".join(HEADER_KEYS),
        "\t".join([rate, rate, str(n_frames), str(n_joints), units, rate, "1", str(n_frames)]),
        "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t",  # as Pose2Sim: names at columns 3, 6, 9 ...
        "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, n_joints + 1)),
    ]
    cells = _format_cells(values.reshape(n_frames, -1), DECIMALS[units], "" if missing == "empty" else "NaN")
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(header) + "\n")
        for i, row in enumerate(cells):
            fh.write(f"{i + 1}\t{float(times[i])!r}\t" + "\t".join(row) + "\n")
    return path


def _format_cells(values: np.ndarray, decimals: int, nan_text: str) -> list[list[str]]:
    """``(F, 3J)`` numbers -> text cells with fixed decimals; NaN -> ``nan_text``."""
    fmt = f"{{:.{decimals}f}}".format
    return [[nan_text if v != v else fmt(v) for v in row] for row in values.tolist()]


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def read_trc(path: str | Path, *, up_axis: str = "Y") -> PointTrajectories:
    """Read a TRC file (Pose2Sim, OpenSim or this module's) as metres in the Z-up world frame.

    Args:
        path: the ``.trc`` file.
        up_axis: the file's up axis. "Y" (default: Pose2Sim / OpenSim files, and files written with
            ``up_axis="Y"``) rotates the positions back to Z up; "Z" returns them as stored.

    Raises ``InputError`` for a file that is not a TRC file, has a malformed header, a row with the
    wrong number of values, a cell that is not a number, or fewer / more rows than ``NumFrames``.
    """
    _check_up_axis(up_axis)
    path = Path(path)
    lines = read_text_lines(path, "TRC file")
    header = _read_header(lines, path)
    names = _read_names(lines, path, header["NumMarkers"])
    rows, line_numbers = _data_rows(lines, path, 2 + 3 * len(names))
    if len(rows) != header["NumFrames"]:
        problem = "ends early" if len(rows) < header["NumFrames"] else "has more rows than its header says"
        raise InputError(
            f"file {problem}: NumFrames is {header['NumFrames']} but there are {len(rows)} data rows",
            path=path, fix="re-export the file, or correct NumFrames on line 3 if the rows are complete",
        )
    table = parse_number_rows(rows, line_numbers, path, _FIX)
    times = table[:, 1]
    xyz = table[:, 2:].reshape(len(rows), len(names), 3) * header["scale"]
    check_read_values(times, xyz, line_numbers, path, _FIX)
    if up_axis == "Y":
        xyz = yup_to_zup(xyz)
    return PointTrajectories(np.ascontiguousarray(missing_together(xyz)), tuple(names), header["DataRate"], times)


def _cells(line: str) -> list[str]:
    """Tab-separated cells with spaces trimmed (whitespace-separated if the line has no tab)."""
    parts = line.split("\t") if "\t" in line else line.split()
    return [p.strip() for p in parts]


def _read_header(lines: list[str], path: Path) -> dict[str, Any]:
    if not lines or not lines[0].strip().startswith("PathFileType"):
        raise InputError("not a TRC file: the first line does not start with 'PathFileType'", path=path,
                         fix="check that this is a TRC marker file")
    if len(lines) < 5:
        raise InputError(f"TRC header is incomplete: {len(lines)} line(s), a header has 5", path=path, fix=_FIX)
    keys, values = lines[1].split(), lines[2].split()
    if len(values) < len(keys):
        raise InputError(f"line 3 has {len(values)} values for the {len(keys)} header keys on line 2",
                         path=path, fix=_FIX)
    meta = dict(zip(keys, values))
    missing = [k for k in ("DataRate", "NumFrames", "NumMarkers", "Units") if k not in meta]
    if missing:
        raise InputError(f"TRC header lacks {missing} (line 2 should list {' '.join(HEADER_KEYS)})",
                         path=path, fix=_FIX)
    try:
        rate = float(meta["DataRate"])
        n_frames, n_markers = int(meta["NumFrames"]), int(meta["NumMarkers"])
    except ValueError:
        raise InputError(f"TRC header values are not numbers: DataRate={meta['DataRate']!r}, "
                         f"NumFrames={meta['NumFrames']!r}, NumMarkers={meta['NumMarkers']!r}",
                         path=path, fix=_FIX) from None
    if not np.isfinite(rate) or rate <= 0 or n_frames < 0 or n_markers < 1:
        raise InputError(f"TRC header values out of range: DataRate={rate}, NumFrames={n_frames}, "
                         f"NumMarkers={n_markers}", path=path, fix=_FIX)
    unit = meta["Units"].lower()
    if unit not in METRES_PER_UNIT:
        raise InputError(f"unknown TRC units {meta['Units']!r}", path=path,
                         fix=f"set Units on line 3 to one of {', '.join(METRES_PER_UNIT)}")
    return {"DataRate": rate, "NumFrames": n_frames, "NumMarkers": n_markers, "scale": METRES_PER_UNIT[unit]}


def _read_names(lines: list[str], path: Path, n_markers: int) -> list[str]:
    cells = [c for c in _cells(lines[3]) if c]
    if cells[:2] != ["Frame#", "Time"]:
        raise InputError("line 4 should start with 'Frame#' and 'Time' followed by the marker names",
                         path=path, fix=_FIX)
    names = cells[2:]
    if len(names) != n_markers:
        raise InputError(f"line 4 names {len(names)} markers but NumMarkers is {n_markers}", path=path, fix=_FIX)
    if len(set(names)) != len(names):
        raise InputError(f"marker names repeat on line 4: {sorted({n for n in names if names.count(n) > 1})}",
                         path=path, fix="rename the repeated markers")
    coords = [c for c in _cells(lines[4]) if c]
    if coords[:3] != ["X1", "Y1", "Z1"]:
        raise InputError("line 5 should hold the coordinate labels X1 Y1 Z1 X2 ...", path=path, fix=_FIX)
    return names


def _data_rows(lines: list[str], path: Path, n_columns: int) -> tuple[list[list[str]], list[int]]:
    """Data rows (blank lines skipped) cut to ``n_columns`` cells; trailing empty cells are allowed."""
    rows, line_numbers = [], []
    for line_no, line in enumerate(lines[5:], start=6):
        if not line.strip():
            continue
        cells = _cells(line)
        if len(cells) > n_columns and not any(cells[n_columns:]):
            cells = cells[:n_columns]
        if len(cells) != n_columns:
            raise InputError(
                f"line {line_no} has {len(cells)} values; expected {n_columns} "
                f"(Frame#, Time and X, Y, Z for each of {(n_columns - 2) // 3} markers)",
                path=path, fix=_FIX,
            )
        rows.append(cells)
        line_numbers.append(line_no)
    return rows, line_numbers


__all__ = ["UP_AXES", "ZUP_TO_YUP", "read_trc", "write_trc", "yup_to_zup", "zup_to_yup"]
