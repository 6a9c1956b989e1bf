"""Import and export of camera calibrations made by other tools, to and from :class:`CameraRig`.

Formats (``FORMATS``, a :class:`mocap.registry.Registry`):

``mocap``       this project's rig TOML (:meth:`CameraRig.save`)
``anipose``     anipose ``calibration.toml`` (``[cam_N]``; translation unit given by ``units``, mm)
``freemocap``   FreeMoCap calibration TOML: the anipose layout (``units``, default mm)
``pose2sim``    Pose2Sim ``Calib*.toml`` (metres)
``caliscope``   caliscope ``camera_array.toml`` (metres)
``qualisys``    Qualisys ``.qca.txt`` XML (mm, converted to OpenCV conventions)

Every reader returns a rig in the project's conventions (world-to-camera ``R``, ``t`` in metres,
OpenCV ``K`` and distortion); every writer converts back and writes atomically. A malformed file
raises :class:`~mocap.errors.InputError` naming the file, the problem and the format assumed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mocap.calibration.formats import anipose
from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.io.tomlio import read_toml
from mocap.registry import Entry, Registry

_M = "mocap.calibration.formats."
FORMATS = Registry("calibration format", [
    Entry("mocap", "mocap camera rig TOML (schema_version, [[cameras]]; metres)",
          {"read": _M + "mocap_rig:read", "write": _M + "mocap_rig:write"}),
    Entry("anipose", "anipose calibration.toml ([cam_N]; Rodrigues; option units, default mm)",
          {"read": _M + "anipose:read", "write": _M + "anipose:write"}),
    Entry("freemocap", "FreeMoCap calibration TOML (anipose layout; option units, default mm)",
          {"read": _M + "anipose:read", "write": _M + "anipose:write"}),
    Entry("pose2sim", "Pose2Sim Calib.toml (a table per camera; Rodrigues; metres)",
          {"read": _M + "pose2sim:read", "write": _M + "pose2sim:write"}),
    Entry("caliscope", "caliscope camera_array.toml ([cameras.N]; 3x3 rotation; metres)",
          {"read": _M + "caliscope:read", "write": _M + "caliscope:write"}),
    Entry("qualisys", "Qualisys .qca.txt XML export (camera poses in mm)",
          {"read": _M + "qualisys:read", "write": _M + "qualisys:write"}, suffixes=(".qca.txt", ".qca", ".xml")),
])


def _looks_like_xml(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(64).lstrip()
    except OSError:
        return False  # read_toml reports the missing / unreadable file
    return head.startswith((b"<?xml", b"<calibration"))


def detect_format(path: str | Path) -> str:
    """Guess a calibration file's format from its name and content.

    ``*.qca.txt`` / ``*.xml`` / XML content -> qualisys. Otherwise the file is read as TOML:
    ``schema_version`` and ``cameras`` -> mocap; a ``cameras`` table of tables with ``cam_id`` ->
    caliscope; ``[metadata]`` with Pose2Sim's ``adjusted`` key -> pose2sim; only ``[cam_N]``
    tables -> anipose; other tables with ``matrix`` or ``rotation`` -> pose2sim.
    """
    path = Path(path)
    if FORMATS.from_suffix(path) is not None or _looks_like_xml(path):
        return "qualisys"
    data = read_toml(path, what="calibration file", fix="fix the TOML syntax, or name the format with --from")
    if "schema_version" in data and "cameras" in data:
        return "mocap"
    cameras = data.get("cameras")
    if isinstance(cameras, dict) and any(
        isinstance(v, dict) and ("cam_id" in v or "port" in v) for v in cameras.values()
    ):
        return "caliscope"
    tables = {k: v for k, v in data.items() if k != "metadata" and isinstance(v, dict)}
    meta = data.get("metadata")
    if tables:
        if isinstance(meta, dict) and "adjusted" in meta:
            return "pose2sim"
        if len(anipose.camera_keys(data)) == len(tables):
            return "anipose"
        if any("matrix" in v or "rotation" in v for v in tables.values()):
            return "pose2sim"
    raise InputError(
        "could not tell which calibration format this file is",
        path=path,
        fix=f"name the format with --from ({', '.join(FORMATS.names())})",
    )


def read_calibration(path: str | Path, fmt: str | None = None, **opts: Any) -> CameraRig:
    """Read a calibration file as a rig (metres, OpenCV conventions).

    Args:
        path: the file.
        fmt: a ``FORMATS`` key; ``None`` detects it (:func:`detect_format`).
        opts: format options, e.g. ``units="mm"`` for anipose / freemocap.
    """
    name = fmt or detect_format(path)
    return FORMATS.call(name, "read", Path(path), **opts)


def write_calibration(rig: CameraRig, path: str | Path, fmt: str, **opts: Any) -> Path:
    """Write ``rig`` to ``path`` in format ``fmt`` (atomically); returns the path."""
    return FORMATS.call(fmt, "write", rig, Path(path), **opts)


__all__ = ["FORMATS", "detect_format", "read_calibration", "write_calibration"]
