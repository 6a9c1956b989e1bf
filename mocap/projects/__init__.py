"""Bring your own captures: other tools' projects and plain folders of videos as mocap sessions.

``mocap session import DIR --from pose2sim|freemocap|anipose`` and ``mocap session new FOLDER`` write a
commented ``session.toml`` that points at the original files (nothing is copied): cameras in order, the
videos of each take, the existing calibration (``[calibration] rig``), the frame rate, and 2D keypoints the
other tool already made (``[[takes]] keypoints``, imported by ``mocap run`` instead of detecting).

==========  ====================================================================================
from        reads (see each module for the layout and the rules)
==========  ====================================================================================
pose2sim    a Pose2Sim project or batch session (:mod:`mocap.projects.pose2sim`)
freemocap   a FreeMoCap recording folder (:mod:`mocap.projects.freemocap`)
anipose     an Anipose session folder (:mod:`mocap.projects.anipose`)
==========  ====================================================================================

Register another tool by adding an :class:`mocap.registry.Entry` with its reader to ``PROJECTS``.
"""

from __future__ import annotations

from pathlib import Path

from mocap.errors import InputError
from mocap.projects.draft import SessionDraft, TakeDraft
from mocap.projects.folder import new_session
from mocap.registry import Entry, Registry

_M = "mocap.projects."
PROJECTS = Registry("project layout", [
    Entry("pose2sim", "a Pose2Sim project (Config.toml, calibration/, videos/, pose*/)",
          {"read": _M + "pose2sim:import_pose2sim"}),
    Entry("freemocap", "a FreeMoCap recording (synchronized_videos/, <recording>_camera_calibration.toml)",
          {"read": _M + "freemocap:import_freemocap"}),
    Entry("anipose", "an Anipose session (videos-raw/, calibration/calibration.toml, pose-2d/)",
          {"read": _M + "anipose:import_anipose"}),
])
"""Tool name -> reader of its project folder: ``read(folder) -> SessionDraft``."""


def import_project(folder: str | Path, tool: str) -> SessionDraft:
    """Read another tool's project folder as a :class:`SessionDraft` (write it with ``.write(session_dir)``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{tool} project folder not found", path=folder, fix="pass the project's folder")
    return PROJECTS.call(tool, "read", folder)


__all__ = ["PROJECTS", "SessionDraft", "TakeDraft", "import_project", "new_session"]
