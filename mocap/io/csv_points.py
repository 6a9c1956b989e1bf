"""3D keypoint trajectories as CSV: one row per frame, metres, world axes (Z up).

Layout::

    frame,time,nose_x,nose_y,nose_z,l_eye_x,l_eye_y,l_eye_z,...
    0,0.0,0.10000000,0.20000000,1.50000000,,,,...

``frame`` counts from 0, ``time`` is in seconds, and an empty cell is a missing value. Names that
contain commas or quotes are quoted as usual for CSV. The file does not store the frame rate: the
reader infers it from the time column (see :func:`infer_fps`) unless it is given.
"""

from __future__ import annotations

import csv
import io
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

DECIMALS = 8
"""Decimals written for positions in metres (10 nm resolution)."""
AXES = ("_x", "_y", "_z")
_FIX = "write the CSV with columns frame,time,<joint>_x,<joint>_y,<joint>_z,... (one row per frame)"


def write_points_csv(
    path: str | Path,
    xyz: Any,
    joint_names: Sequence[str],
    fps: float,
    *,
    frame_times: Any = None,
) -> Path:
    """Write ``xyz (F, J, 3)`` (metres, Z-up world, NaN = missing) as CSV, atomically.

    Args:
        path: the ``.csv`` file.
        xyz: ``(F, J, 3)`` positions in metres.
        joint_names: ``J`` names; the columns are ``<name>_x``, ``<name>_y``, ``<name>_z``.
        fps: frames per second (not stored; used for the default times).
        frame_times: ``(F,)`` seconds for the time column; default ``arange(F) / fps``.

    Returns the path written.
    """
    xyz, names, fps, times = validate_points(xyz, joint_names, fps, frame_times)
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(
        ["frame", "time"] + [f"{name}{axis}" for name in names for axis in AXES]
    )
    fmt = f"{{:.{DECIMALS}f}}".format
    path = Path(path)
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(header.getvalue())
        for i, row in enumerate(xyz.reshape(len(xyz), -1).tolist()):
            fh.write(f"{i},{float(times[i])!r}," + ",".join("" if v != v else fmt(v) for v in row) + "\n")
    return path


def read_points_csv(path: str | Path, *, fps: float | None = None) -> PointTrajectories:
    """Read a CSV written by :func:`write_points_csv` (or laid out the same way).

    Args:
        path: the ``.csv`` file.
        fps: the frame rate; default: inferred from the time column (:func:`infer_fps`).

    Raises ``InputError`` for a missing file, a header not of the form
    ``frame,time,<joint>_x,<joint>_y,<joint>_z,...``, a row with the wrong number of cells, a cell
    that is not a number, or an empty time cell.
    """
    path = Path(path)
    lines = read_text_lines(path, "CSV file")
    records = [(n, cells) for n, cells in enumerate(csv.reader(lines), start=1) if any(c.strip() for c in cells)]
    if not records:
        raise InputError("the CSV file is empty", path=path, fix=_FIX)
    names = _joint_names([c.strip() for c in records[0][1]], path)
    n_columns = 2 + 3 * len(names)
    rows, line_numbers = [], []
    for line_no, cells in records[1:]:
        if len(cells) != n_columns:
            raise InputError(f"line {line_no} has {len(cells)} cells; the header has {n_columns}", path=path, fix=_FIX)
        rows.append([c.strip() for c in cells])
        line_numbers.append(line_no)
    table = parse_number_rows(rows, line_numbers, path, _FIX)
    times = table[:, 1]
    xyz = missing_together(table[:, 2:].reshape(len(rows), len(names), 3))
    check_read_values(times, xyz, line_numbers, path, _FIX)
    rate = infer_fps(times) if fps is None else float(fps)
    return PointTrajectories(np.ascontiguousarray(xyz), names, rate, times)


def _joint_names(header: list[str], path: Path) -> tuple[str, ...]:
    if [h.lower() for h in header[:2]] != ["frame", "time"] or len(header) < 5 or (len(header) - 2) % 3:
        raise InputError(f"unexpected CSV header {header[:5]}{' ...' if len(header) > 5 else ''}",
                         path=path, fix=_FIX)
    names = []
    for k in range(2, len(header), 3):
        triple = header[k:k + 3]
        name = triple[0][:-2]
        if not name or triple != [name + axis for axis in AXES]:
            raise InputError(f"columns {k + 1}-{k + 3} are {triple}; expected <joint>_x, <joint>_y, <joint>_z",
                             path=path, fix=_FIX)
        names.append(name)
    if len(set(names)) != len(names):
        raise InputError(f"joint names repeat in the header: {sorted({n for n in names if names.count(n) > 1})}",
                         path=path, fix="rename the repeated joints")
    return tuple(names)


def infer_fps(times: np.ndarray) -> float:
    """Frame rate from frame times: ``(F - 1) / (t[-1] - t[0])``, snapped to a whole number (or an
    NTSC rate such as 29.97) within 1e-6 relative; NaN with fewer than two distinct times."""
    times = np.asarray(times, dtype=float)
    if len(times) < 2 or not times[-1] > times[0]:
        return float("nan")
    fps = (len(times) - 1) / (times[-1] - times[0])
    for candidate in (round(fps), round(fps * 1.001) / 1.001):
        if candidate > 0 and abs(fps - candidate) <= 1e-6 * fps:
            return float(candidate)
    return float(fps)


__all__ = ["infer_fps", "read_points_csv", "write_points_csv"]
