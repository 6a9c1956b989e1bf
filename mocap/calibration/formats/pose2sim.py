"""Pose2Sim calibration TOML (``Calib*.toml``), as Pose2Sim's ``toml_write`` lays it out.

Layout: one table per camera, named after the camera, then ``[metadata]``::

    [cam01]
    name = "cam01"
    size = [1088, 1920]                  # width, height in pixels
    matrix = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]
    distortions = [k1, k2, p1, p2]       # OpenCV order; fisheye: [k1, k2, k3, k4]
    rotation = [rx, ry, rz]              # Rodrigues vector, world-to-camera
    translation = [tx, ty, tz]           # world-to-camera, metres
    fisheye = false

    [metadata]
    adjusted = false
    error = 0.0

Pose2Sim writes four pinhole coefficients; a camera whose ``k3`` (or higher) is non-zero is written
with all its coefficients rather than silently truncated (OpenCV, which Pose2Sim uses, takes both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mocap.calibration.formats._common import Source
from mocap.camera import CameraRig
from mocap.errors import MocapError
from mocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from mocap.io.tomlio import read_toml, write_toml

FMT = "Pose2Sim"


def from_toml(data: dict[str, Any], source: Source) -> CameraRig:
    """Parsed Pose2Sim TOML -> rig; every table except ``[metadata]`` is a camera, in file order."""
    cams = []
    for key, tab in data.items():
        if key == "metadata":
            continue
        where = f"[{key}]"
        if not isinstance(tab, dict):
            raise source.error(f"{key!r} is not a camera table", fix="remove the stray top-level key")
        fisheye = bool(tab.get("fisheye", False))
        R = axis_angle_to_matrix(source.array(tab, "rotation", where, shape=(3,)))
        cams.append(
            source.camera(
                name=str(tab.get("name", key)),
                size=source.size(tab, "size", where),
                K=source.array(tab, "matrix", where, shape=(3, 3)),
                dist=source.array(tab, "distortions", where, lengths=(4,) if fisheye else (4, 5, 8, 12, 14)),
                R=source.rotation(R, where),
                t=source.array(tab, "translation", where, shape=(3,)),
                model="fisheye" if fisheye else "pinhole",
            )
        )
    meta = data.get("metadata", {})
    return source.rig(cams, dict(meta) if isinstance(meta, dict) else {})


def to_toml(rig: CameraRig) -> dict[str, Any]:
    """Rig -> Pose2Sim TOML tables (translations in metres)."""
    out: dict[str, Any] = {}
    for cam in rig:
        dist = cam.dist[:4] if cam.model == "fisheye" or not np.any(cam.dist[4:]) else cam.dist
        out[cam.name] = {
            "name": cam.name,
            "size": list(cam.size),
            "matrix": cam.K,
            "distortions": np.pad(dist, (0, max(0, 4 - dist.size))),
            "rotation": matrix_to_axis_angle(cam.R),
            "translation": cam.t,
            "fisheye": cam.model == "fisheye",
        }
    out["metadata"] = {"adjusted": False, "error": 0.0}
    return out


def read(path: str | Path) -> CameraRig:
    """Read a Pose2Sim calibration TOML."""
    data = read_toml(path, what="Pose2Sim calibration file")
    return from_toml(data, Source(Path(path), FMT))


def write(rig: CameraRig, path: str | Path) -> Path:
    """Write ``rig`` as a Pose2Sim calibration TOML (atomically)."""
    if "metadata" in rig.names:
        raise MocapError(
            "a camera named 'metadata' clashes with Pose2Sim's [metadata] table",
            path=path,
            fix="rename the camera",
        )
    return write_toml(path, to_toml(rig))
