"""A take as a Pose2Sim project, for Pose2Sim's kinematics (OpenSim scaling and inverse kinematics).

``mocap export OUT/takes/walk --format pose2sim [-o PROJECT]`` writes, in Pose2Sim's folder layout::

    PROJECT/                                   (default: <take folder>/export/pose2sim/)
      calibration/Calib_mocap.toml             the session's cameras in Pose2Sim's calibration TOML
      pose-3d/<take>_<first>-<last>_filt_mocap.trc
                                               the smoothed 3D points, OpenSim / Pose2Sim marker names

Pose2Sim's kinematics step reads ``pose-3d/*.trc`` (filtered files, ``_filt`` in the name, first) and picks
its OpenSim marker set from the pose model in its ``Config.toml``, which this export does not write (copy
your own, or Pose2Sim's demo one, with ``pose_model`` set to the keypoint set, e.g. ``'HALPE_26'``; the
BlazePose markers are Pose2Sim's ``BLAZEPOSE``). The TRC follows Pose2Sim's conventions exactly (see
:mod:`mocap.io.trc`): Y up, metres, Frame# the video frame index, Time = Frame# / fps; ``<first>-<last>``
are the first and last Frame#, as Pose2Sim names its files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mocap.calibration.formats import write_calibration
from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.io.trc import write_trc
from mocap.keypoints2d.keypoints import first_frame_index
from mocap.keypoints2d.markers import trc_markers
from mocap.layout import OutputLayout, TakeLayout
from mocap.triangulation.points import Points3D

CALIBRATION_FILE = "calibration/Calib_mocap.toml"
"""Pose2Sim reads the newest ``*.toml`` of a folder whose name contains "calib"."""
POSE3D_DIR = "pose-3d"


@dataclass(frozen=True)
class Pose2SimProject:
    """What :func:`export_pose2sim` wrote."""

    folder: Path
    calibration: Path
    trc: Path


def export_pose2sim(take_dir: str | Path, out: str | Path | None = None, *,
                    marker_names: str = "opensim") -> Pose2SimProject:
    """Write a take's rig and smoothed 3D points as a Pose2Sim project (see the module docstring).

    Args:
        take_dir: the take's output folder (``<output>/takes/<take>``, holding ``points3d.npz``).
        out: the project folder; default ``<take_dir>/export/pose2sim``.
        marker_names: ``"opensim"`` (Pose2Sim's marker names) or ``"native"``.
    """
    take_dir = Path(take_dir)
    take = TakeLayout(take_dir, take_dir.name)
    if not take.points3d.is_file():
        raise InputError("no 3D points in this folder", path=take.points3d,
                         fix="give a take's output folder (OUTPUT/takes/TAKE) after `mocap triangulate` or `mocap run`")
    rig_path = OutputLayout(take_dir.parent.parent).calibration.rig
    if take_dir.parent.name != "takes" or not rig_path.is_file():
        raise InputError("the session's camera rig is not where a take folder's session keeps it", path=rig_path,
                         fix="give the take folder inside the session's output (OUTPUT/takes/TAKE), calibrated")
    folder = Path(out) if out is not None else take.pose2sim_project
    points = Points3D.load(take.points3d)
    first = first_frame_index(take.keypoints2d) if take.keypoints2d.is_file() else 0
    last = first + points.xyz.shape[0] - 1
    index, names = trc_markers(points.joint_names, points.keypoint_set, marker_names)
    calibration = write_calibration(CameraRig.load(rig_path), folder / CALIBRATION_FILE, "pose2sim")
    trc = write_trc(folder / POSE3D_DIR / f"{take.name}_{first}-{last}_filt_mocap.trc", points.xyz[:, index], names,
                    points.fps, first_frame=first)
    return Pose2SimProject(folder, calibration, trc)


__all__ = ["Pose2SimProject", "export_pose2sim"]
