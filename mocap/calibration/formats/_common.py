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
