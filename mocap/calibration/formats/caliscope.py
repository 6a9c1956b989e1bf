"""caliscope ``camera_array.toml``.

Layout: one ``[cameras.N]`` table per camera, N being its ``cam_id``::

    [cameras.0]
    cam_id = 0
    size = [1280, 720]                   # width, height in pixels
    rotation_count = 0                   # 90-degree image rotations caliscope applies
    error = 0.541                        # intrinsic RMS reprojection error, pixels
    matrix = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]
    distortions = [k1, k2, p1, p2, k3]   # OpenCV order (pinhole only)
    ignore = false
    translation = [tx, ty, tz]           # world-to-camera, metres
    rotation = [[...], [...], [...]]     # 3x3 world-to-camera rotation matrix

Cameras are named ``cam_{cam_id}`` and ordered by ``cam_id``. The caliscope-only fields
(``rotation_count``, ``error``, ``exposure``, ``grid_count``, ``ignore``, ``verified_resolutions``)
are kept in ``rig.metadata["caliscope"][name]`` so that writing the rig back restores them.
Older caliscope files name the id ``port``; both are read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mocap.calibration.formats._common import Source, dist_for, refuse_fisheye
from mocap.camera import CameraRig
from mocap.io.tomlio import read_toml, write_toml

FMT = "caliscope"
EXTRAS = ("rotation_count", "error", "exposure", "grid_count", "ignore", "verified_resolutions")
_NAME = re.compile(r"cam_(\d+)")


def from_toml(data: dict[str, Any], source: Source) -> CameraRig:
    """Parsed ``camera_array.toml`` -> rig, cameras ordered by ``cam_id``."""
    tables = source.value(data, "cameras", "the file")
    if not isinstance(tables, dict) or not tables:
        raise source.error("[cameras] holds no [cameras.N] tables", fix="add a [cameras.N] table per camera")
    entries = []
    for key, tab in tables.items():
        where = f"[cameras.{key}]"
        cam_id = tab.get("cam_id", tab.get("port")) if isinstance(tab, dict) else None
        if not isinstance(cam_id, int):
            raise source.error(f"{where} has no integer 'cam_id'", fix=f"add cam_id = {key} to {where}")
        entries.append((cam_id, where, tab))
    cams, extras = [], {}
    for cam_id, where, tab in sorted(entries, key=lambda e: e[0]):
        name = f"cam_{cam_id}"
        R = source.array(tab, "rotation", where, shape=(3, 3))
        cams.append(
            source.camera(
                name=name,
                size=source.size(tab, "size", where),
                K=source.array(tab, "matrix", where, shape=(3, 3)),
                dist=source.array(tab, "distortions", where, lengths=(4, 5, 8, 12, 14)),
                R=source.rotation(R, where),
                t=source.array(tab, "translation", where, shape=(3,)),
            )
        )
        extras[name] = {k: tab[k] for k in EXTRAS if k in tab}
    return source.rig(cams, {"caliscope": extras})


def camera_ids(rig: CameraRig) -> list[int]:
    """``cam_id`` per camera: N from names ``cam_N`` when all have that form, else 0, 1, 2, ..."""
    matches = [_NAME.fullmatch(n) for n in rig.names]
    if all(matches):
        ids = [int(m.group(1)) for m in matches]
        if len(set(ids)) == len(ids):
            return ids
    return list(range(len(rig)))


def to_toml(rig: CameraRig, path: str | Path = "camera_array.toml") -> dict[str, Any]:
    """Rig -> caliscope tables (pinhole cameras with at most 5 distortion coefficients)."""
    refuse_fisheye(rig, FMT, path)
    saved = rig.metadata.get("caliscope", {})
    tables: dict[str, Any] = {}
    for cam_id, cam in zip(camera_ids(rig), rig):
        extra = saved.get(cam.name, {}) if isinstance(saved, dict) else {}
        extra = extra if isinstance(extra, dict) else {}
        tables[str(cam_id)] = {
            "cam_id": cam_id,
            "size": list(cam.size),
            "rotation_count": 0,
            "ignore": False,
            **{k: extra[k] for k in EXTRAS if k in extra},
            "matrix": cam.K,
            "distortions": dist_for(cam, 5, FMT, path),
            "translation": cam.t,
            "rotation": cam.R,
        }
    return {"cameras": tables}


def read(path: str | Path) -> CameraRig:
    """Read a caliscope ``camera_array.toml``."""
    data = read_toml(path, what="caliscope camera_array.toml")
    return from_toml(data, Source(Path(path), FMT))


def write(rig: CameraRig, path: str | Path) -> Path:
    """Write ``rig`` as a caliscope ``camera_array.toml`` (atomically)."""
    return write_toml(path, to_toml(rig, path))
