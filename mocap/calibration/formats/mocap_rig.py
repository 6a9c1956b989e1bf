"""The mocap rig's own TOML (``schema_version`` + ``[[cameras]]``; metres; OpenCV conventions).

A thin wrapper over :meth:`CameraRig.load` and :meth:`CameraRig.save` so the rig appears in the
format registry like the others.
"""

from __future__ import annotations

from pathlib import Path

from mocap.camera import CameraRig


def read(path: str | Path) -> CameraRig:
    """Read a rig written by :meth:`CameraRig.save`."""
    return CameraRig.load(path)


def write(rig: CameraRig, path: str | Path) -> Path:
    """Write ``rig`` as mocap TOML (atomically)."""
    return rig.save(path)
