"""anipose / FreeMoCap calibration TOML (also read by aniposelib's ``CameraGroup.load``).

Layout: one ``[cam_N]`` table per camera (N = 0, 1, ...) and a ``[metadata]`` table::

    [cam_0]
    name = "back"
    size = [1280, 1024]                  # width, height in pixels
    matrix = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]
    distortions = [k1, k2, p1, p2, k3]   # OpenCV order; fisheye: [k1, k2, k3, k4]
    rotation = [rx, ry, rz]              # Rodrigues vector, world-to-camera
    translation = [tx, ty, tz]           # world-to-camera, in the board's length unit
    fisheye = true                       # only for fisheye cameras

The file does not record the translation's unit: anipose uses the unit of the board's square
length, which is millimetres for FreeMoCap and for most anipose projects. ``units`` names it
(default ``"mm"``); translations are converted to metres on reading and from metres on writing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mocap.calibration.formats._common import Source
from mocap.camera import CameraRig
from mocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from mocap.io.tomlio import read_toml, write_toml
from mocap.units import metres_per_unit

FMT = "anipose/FreeMoCap"
_CAM_KEY = re.compile(r"cam_(\d+)")


def camera_keys(data: dict[str, Any]) -> list[str]:
    """The ``cam_N`` table names of a parsed file, ordered by N."""
    keys = [k for k, v in data.items() if _CAM_KEY.fullmatch(k) and isinstance(v, dict)]
    return sorted(keys, key=lambda k: int(_CAM_KEY.fullmatch(k).group(1)))


def from_toml(data: dict[str, Any], source: Source, *, units: str = "mm") -> CameraRig:
    """Parsed anipose TOML -> rig (translations converted from ``units`` to metres)."""
    scale = metres_per_unit(units)
    keys = camera_keys(data)
    if not keys:
        raise source.error("no [cam_N] camera tables", fix="add one [cam_0], [cam_1], ... table per camera")
    cams = []
    for key in keys:
        tab, where = data[key], f"[{key}]"
        fisheye = bool(tab.get("fisheye", False))
        dist = source.array(tab, "distortions", where, lengths=(4,) if fisheye else (4, 5, 8, 12, 14))
        R = axis_angle_to_matrix(source.array(tab, "rotation", where, shape=(3,)))
        cams.append(
            source.camera(
                name=str(tab.get("name", key)),
                size=source.size(tab, "size", where),
                K=source.array(tab, "matrix", where, shape=(3, 3)),
                dist=dist,
                R=source.rotation(R, where),
                t=source.array(tab, "translation", where, shape=(3,)) * scale,
                model="fisheye" if fisheye else "pinhole",
            )
        )
    meta = data.get("metadata", {})
    return source.rig(cams, dict(meta) if isinstance(meta, dict) else {})


def to_toml(rig: CameraRig, *, units: str = "mm") -> dict[str, Any]:
    """Rig -> anipose TOML tables (translations converted from metres to ``units``)."""
    scale = metres_per_unit(units)
    out: dict[str, Any] = {}
    for i, cam in enumerate(rig):
        tab: dict[str, Any] = {
            "name": cam.name,
            "size": list(cam.size),
            "matrix": cam.K,
            "distortions": cam.dist[:4] if cam.model == "fisheye" else cam.dist,
            "rotation": matrix_to_axis_angle(cam.R),
            "translation": cam.t / scale,
        }
        if cam.model == "fisheye":
            tab["fisheye"] = True
        out[f"cam_{i}"] = tab
    out["metadata"] = dict(rig.metadata)
    return out


def read(path: str | Path, *, units: str = "mm") -> CameraRig:
    """Read an anipose / FreeMoCap calibration TOML whose translations are in ``units``."""
    data = read_toml(path, what="anipose/FreeMoCap calibration file")
    return from_toml(data, Source(Path(path), FMT), units=units)


def write(rig: CameraRig, path: str | Path, *, units: str = "mm") -> Path:
    """Write ``rig`` as anipose / FreeMoCap TOML with translations in ``units`` (atomically)."""
    return write_toml(path, to_toml(rig, units=units))
