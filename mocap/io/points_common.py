"""What the 3D point file formats share: the trajectories type and the checks of their arrays and cells.

See :mod:`mocap.io.points3d_formats` for the contract and the registry of formats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mocap.errors import InputError


@dataclass(frozen=True, eq=False)
class PointTrajectories:
    """3D keypoint trajectories read from a file.

    Attributes:
        xyz: ``(F, J, 3)`` metres, world frame (Z up) for files written by this project; NaN where
            a point is missing.
        joint_names: ``J`` names, in file order.
        fps: frames per second (NaN when the file does not tell, e.g. a one-row CSV).
        frame_times: ``(F,)`` seconds, as stored in the file (C3D: ``(first_frame + i) / fps``).
    """

    xyz: np.ndarray
    joint_names: tuple[str, ...]
    fps: float
    frame_times: np.ndarray


def validate_points(
    xyz: Any, joint_names: Sequence[str], fps: float, frame_times: Any = None
) -> tuple[np.ndarray, tuple[str, ...], float, np.ndarray]:
    """Check writer arguments; return ``(xyz (F, J, 3) float64, names, fps, frame_times (F,))``.

    ``xyz`` is copied, and a point with any NaN coordinate becomes NaN in all three. Raises
    ``ValueError`` saying what to change.
    """
    try:
        xyz = np.array(xyz, dtype=float)  # a copy: the caller's array is never modified
    except (TypeError, ValueError) as exc:
        raise ValueError(f"xyz must be a numeric (F, J, 3) array ({exc})") from exc
    if xyz.ndim != 3 or xyz.shape[2] != 3 or xyz.shape[0] == 0 or xyz.shape[1] == 0:
        raise ValueError(f"xyz must be (F, J, 3) with F, J >= 1; got shape {xyz.shape}")
    if np.isinf(xyz).any():
        raise ValueError("xyz has infinite values; use NaN for missing points")
    missing_together(xyz)
    if isinstance(joint_names, str):
        raise ValueError("joint_names must be a list of names, not one string")
    names = tuple(joint_names)
    if len(names) != xyz.shape[1]:
        raise ValueError(f"joint_names has {len(names)} names but xyz has {xyz.shape[1]} joints (J)")
    for name in names:
        if not isinstance(name, str) or not name or name != name.strip() or any(c in name for c in "\t\r\n"):
            raise ValueError(
                f"joint name {name!r} is invalid: names must be non-empty strings without tabs, "
                "line breaks or surrounding spaces"
            )
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"joint names must be unique; repeated: {dupes}")
    try:
        fps = float(fps)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"fps must be a number, got {fps!r}") from exc
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps}")
    if frame_times is None:
        times = np.arange(xyz.shape[0]) / fps
    else:
        times = np.asarray(frame_times, dtype=float)
        if times.shape != (xyz.shape[0],):
            raise ValueError(f"frame_times must have shape ({xyz.shape[0]},) like xyz's F; got {times.shape}")
        if not np.isfinite(times).all():
            raise ValueError("frame_times must be finite")
    return xyz, names, fps, times


def missing_together(xyz: np.ndarray) -> np.ndarray:
    """Make a point with any NaN coordinate NaN in all three (in place); returns ``xyz``."""
    xyz[np.isnan(xyz).any(axis=-1)] = np.nan
    return xyz


def parse_number_rows(rows: list[list[str]], line_numbers: list[int], path: Path, fix: str) -> np.ndarray:
    """Convert rows of equal length of text cells to a float array; empty cells become NaN.

    Raises ``InputError`` naming the line and the cell that is not a number, or when there are no rows.
    """
    if not rows:
        raise InputError("the file holds no data rows (no frames)", path=path, fix=fix)
    cells = [[c if c else "nan" for c in row] for row in rows]
    try:
        return np.array(cells, dtype=float).reshape(len(rows), -1)
    except ValueError:
        pass
    for row, line_no in zip(cells, line_numbers):
        for col, cell in enumerate(row, start=1):
            try:
                float(cell)
            except ValueError:
                problem = f"line {line_no}, column {col}: {cell!r} is not a number"
                raise InputError(problem, path=path, fix=fix) from None
    raise InputError("the data rows could not be read as numbers", path=path, fix=fix)  # pragma: no cover


def read_text_lines(path: Path, what: str) -> list[str]:
    """The file's lines without line endings (UTF-8, falling back to Latin-1); ``InputError`` if unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=path, fix="check the path") from None
    except OSError as exc:
        raise InputError(f"{what} cannot be read ({exc.strerror or exc})", path=path,
                         fix="check the path and its permissions") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.splitlines()


def check_read_values(times: np.ndarray, xyz: np.ndarray, line_numbers: list[int], path: Path, fix: str) -> None:
    """What a point file's rows must hold: a time on every row, strictly increasing, and no infinite
    coordinate (missing points are empty cells or NaN). Raises ``InputError`` naming the line."""
    if np.isnan(times).any():
        raise InputError(f"line {line_numbers[int(np.flatnonzero(np.isnan(times))[0])]}: the time cell is empty",
                         path=path, fix=fix)
    if not np.isfinite(times).all():
        raise InputError(f"line {line_numbers[int(np.flatnonzero(~np.isfinite(times))[0])]}: the time is infinite",
                         path=path, fix=fix)
    steps = np.diff(times)
    if (steps <= 0).any():
        k = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise InputError(f"line {line_numbers[k]}: the time {times[k]:g} does not increase (previous row: "
                         f"{times[k - 1]:g})", path=path, fix=fix)
    bad = np.isinf(xyz).any(axis=tuple(range(1, xyz.ndim)))
    if bad.any():
        raise InputError(f"line {line_numbers[int(np.flatnonzero(bad)[0])]}: a coordinate is infinite", path=path,
                         fix="write missing points as empty cells (or NaN), never inf")
