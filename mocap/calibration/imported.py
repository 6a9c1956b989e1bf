"""An existing calibration as a session's calibration stage (``rig = "FILE"`` in session.toml's ``[calibration]``).

Instead of calibrating from a ChArUco take, ``mocap run`` reads the file (any format of
:mod:`mocap.calibration.formats`, detected as ``mocap calib convert`` detects it), matches its cameras to the
session's, and writes ``<output>/calibration/camera_rig.toml`` plus ``rig_source.toml`` (where the rig came
from: the file, its format and content hash, and which of its cameras became which session camera), which
the take reports show.

Cameras are matched by name (the file may hold more cameras than the session uses). When no name matches
and the counts are equal, they are taken in file order, as Pose2Sim does, and the pairing is logged and
recorded. A camera's ``mirrored`` flag comes from session.toml (``"auto"`` counts as not mirrored: there
is no board to detect it from).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from mocap.calibration.formats import detect_format, read_calibration
from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.io.tomlio import write_toml
from mocap.session import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ImportedRig:
    """The session's rig read from an existing calibration file, and where it came from."""

    rig: CameraRig
    source: Path
    format: str
    pairs: tuple[tuple[str, str], ...]
    """``(camera in the file, session camera)`` in session order."""

    def to_dict(self) -> dict:
        return {"schema_version": 1, "file": str(self.source), "format": self.format,
                "sha256": hashlib.sha256(self.source.read_bytes()).hexdigest(),
                "cameras": [{"file": a, "session": b} for a, b in self.pairs],
                "imported": time.strftime("%Y-%m-%dT%H:%M:%S")}


def read_session_rig(session: Session) -> ImportedRig:
    """The rig of ``session.rig`` with the session's cameras, in the session's order."""
    path = session.rig
    if path is None:
        raise InputError("the session has no [calibration] rig", path=session.file,
                         fix='add rig = "FILE" to [calibration], or calibrate from a board take')
    if not path.is_file():
        raise InputError("the calibration file named by [calibration] rig is not there", path=path,
                         fix=f"fix rig in {session.file} (paths are relative to the session folder)")
    fmt = detect_format(path)
    found = read_calibration(path, fmt)
    wanted = session.camera_names
    if set(wanted) <= set(found.names):
        pairs = [(n, n) for n in wanted]
    elif not set(wanted) & set(found.names) and len(found) == len(wanted):
        pairs = list(zip(found.names, wanted))
        log.warning("%s: no camera name matches the session's, so they are paired in file order: %s", path,
                    ", ".join(f"{a} -> {b}" for a, b in pairs))
    else:
        missing = [n for n in wanted if n not in found.names]
        raise InputError(f"the calibration has cameras {found.names}, the session {wanted} "
                         f"({', '.join(missing)} not in the file)", path=path,
                         fix=f"name the session's [[cameras]] in {session.file} as in the calibration file")
    entries = {c.name: c for c in session.cameras}
    cams = tuple(found[a].replace(name=b, mirrored=bool(entries[b].mirrored)) for a, b in pairs)
    for cam in cams:
        if cam.model != entries[cam.name].model:
            log.warning("camera %s: the calibration file's model %r is used, not session.toml's %r", cam.name,
                        cam.model, entries[cam.name].model)
    return ImportedRig(CameraRig(cams, dict(found.metadata)), path, fmt, tuple(pairs))


def import_session_rig(session: Session) -> ImportedRig:
    """Read the session's calibration file and write ``camera_rig.toml`` and ``rig_source.toml`` (atomically)."""
    imported = read_session_rig(session)
    files = session.layout.calibration
    imported.rig.save(files.rig)
    write_toml(files.source, imported.to_dict())
    return imported


__all__ = ["ImportedRig", "import_session_rig", "read_session_rig"]
