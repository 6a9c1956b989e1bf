"""3D keypoint trajectories to and from TRC, C3D and CSV files: the shared contract and a registry.

The data is a set of plain arrays:

* ``xyz (F, J, 3)``: positions in metres in this project's world frame (right-handed, Z up);
  NaN where a point is missing. A point with any NaN coordinate counts as missing as a whole.
* ``joint_names``: ``J`` unique names, no tabs or line breaks and no surrounding spaces.
* ``fps``: frames per second.
* ``frame_times (F,)``: seconds; optional for writers (default ``arange(F) / fps``).

Formats (``formats()`` keys; chosen from the file suffix when ``fmt`` is ``None``):

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

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mocap.errors import InputError, MocapError


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


# --------------------------------------------------------------------------------------------------
# Shared helpers for the format modules
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    """A 3D points file format.

    ``write(path, xyz, joint_names, fps, *, frame_times=None, **opts) -> Path`` (atomic) and
    ``read(path, **opts) -> PointTrajectories``.
    """

    name: str
    suffix: str
    description: str
    write: Callable[..., Path]
    read: Callable[..., PointTrajectories]


SUFFIXES = {".trc": "trc", ".c3d": "c3d", ".csv": "csv"}
"""File suffix (lower case) -> format name."""


def formats() -> dict[str, Format]:
    """The formats by name (their modules are imported on first use)."""
    from mocap.io import c3d_io, csv_points, trc

    return {
        "trc": Format("trc", ".trc", "OpenSim / Pose2Sim marker file (options: units m|mm, up_axis Y|Z)",
                      trc.write_trc, trc.read_trc),
        "c3d": Format("c3d", ".c3d", "C3D point data in mm, Z up (needs the ezc3d package)",
                      c3d_io.write_c3d, c3d_io.read_c3d),
        "csv": Format("csv", ".csv", "CSV, a row per frame: frame,time,<joint>_x,_y,_z (metres, Z up)",
                      csv_points.write_points_csv, csv_points.read_points_csv),
    }


def _format_name(path: Path, fmt: str | None, reading: bool) -> str:
    if fmt is not None:
        if fmt not in SUFFIXES.values():
            raise MocapError(f"unknown 3D points format {fmt!r}", fix=f"use one of {', '.join(SUFFIXES.values())}")
        return fmt
    name = SUFFIXES.get(path.suffix.lower())
    if name is None:
        error = InputError if reading else MocapError
        raise error(f"cannot tell the 3D points format from the suffix {path.suffix!r}", path=path,
                    fix=f"use a {', '.join(SUFFIXES)} file name, or name the format with fmt=")
    return name


def _call(func: Callable[..., Any], fmt: str, args: tuple, opts: dict[str, Any], fixed: set[str]) -> Any:
    accepted = set(inspect.signature(func).parameters) - fixed
    unknown = sorted(set(opts) - accepted)
    if unknown:
        raise MocapError(f"option(s) {unknown} do not apply to the {fmt} format",
                         fix=f"the {fmt} format takes {sorted(accepted) or 'no options'}")
    return func(*args, **opts)


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
    name = _format_name(path, fmt, reading=False)
    return _call(formats()[name].write, name, (path, xyz, joint_names, fps), opts,
                 {"path", "xyz", "joint_names", "fps"})


def read_points(path: str | Path, fmt: str | None = None, **opts: Any) -> PointTrajectories:
    """Read a TRC, C3D or CSV file as :class:`PointTrajectories` (metres, Z-up world frame).

    Args:
        path: the file.
        fmt: ``"trc"``, ``"c3d"`` or ``"csv"``; ``None`` picks it from the suffix.
        opts: format options: TRC ``up_axis`` (the file's up axis, "Y" by default; "Y" files are
            rotated back to Z up), CSV ``fps`` (instead of inferring it from the time column).
    """
    path = Path(path)
    name = _format_name(path, fmt, reading=True)
    return _call(formats()[name].read, name, (path,), opts, {"path"})


__all__ = [
    "Format",
    "PointTrajectories",
    "SUFFIXES",
    "formats",
    "read_points",
    "validate_points",
    "write_points",
]
