"""``mocap triangulate`` (second half): a take's raw 3D points -> gap-filled, smoothed ``points3d.npz`` and the
point files animators and biomechanists open (``points3d.trc`` / ``.c3d`` / ``.csv``)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.keypoints2d.sets import registered_set
from mocap.session import Session
from mocap.smoothing.filters import SmoothConfig, smooth, stabilize_bone_lengths, tree_edges
from mocap.triangulation.points import Points3D
from mocap.triangulation.robust import TriangulateConfig

log = logging.getLogger(__name__)

#: Point files written beside ``points3d.npz`` (formats of :mod:`mocap.io.points3d_formats`).
POINT_FILE_FORMATS = ("trc", "c3d", "csv")


@dataclass(frozen=True, eq=False)
class TriangulationResult:
    """Raw and smoothed 3D points of one take, and the files written."""

    raw: Points3D
    smoothed: Points3D
    files: dict[str, Path] = field(default_factory=dict)


def smooth_points(raw: Points3D, config: SmoothConfig = SmoothConfig()) -> Points3D:
    """Array-level API of the stage: gap filling and smoothing (and, with ``config.stabilize_bones``,
    constant bone lengths over the keypoint set's skeleton)."""
    xyz = smooth(raw.xyz, raw.fps, config) if np.isfinite(raw.xyz).any() else raw.xyz
    if config.stabilize_bones and np.isfinite(xyz).any():
        edges = skeleton_tree(raw.joint_names, raw.keypoint_set)
        if len(edges):
            xyz = stabilize_bone_lengths(xyz, edges)
        else:
            log.warning("keypoint set %r is unknown or its joint order differs: bone lengths not stabilised",
                        raw.keypoint_set)
    return dataclasses.replace(raw, xyz=xyz)


def skeleton_tree(joint_names, keypoint_set: str | None) -> np.ndarray:
    """``(E, 2)`` the bones of the keypoint set's skeleton as a spanning tree (one bone per child joint,
    parents first); empty when the set is unknown or the joints do not follow its order."""
    ks = registered_set(joint_names, keypoint_set)
    if ks is None or not ks.edges:
        return np.zeros((0, 2), int)
    return tree_edges(ks.edges, len(ks.joint_names))


def triangulate_and_smooth(rig: CameraRig, keypoints: Keypoints2D, config: TriangulateConfig = TriangulateConfig(),
                           smoothing: SmoothConfig = SmoothConfig()) -> tuple[Points3D, Points3D]:
    """Both halves of ``mocap triangulate`` on arrays: ``(raw, smoothed)`` `Points3D`."""
    from mocap.triangulation.stage import triangulate

    raw = triangulate(rig, keypoints, config)
    return raw, smooth_points(raw, smoothing)


def smooth_take(session: Session | str | Path, take: str, config: SmoothConfig = SmoothConfig(), *,
                formats: tuple[str, ...] = POINT_FILE_FORMATS, marker_names: str = "opensim",
                performer: str | None = None) -> TriangulationResult:
    """Smooth one take's ``points3d_raw.npz`` (or one performer's); writes ``points3d.npz`` and
    ``points3d.<fmt>`` for ``formats`` beside it.

    The TRC file is OpenSim-ready as Pose2Sim writes it: Frame# is the video frame index (from the take's
    2D keypoints), and with ``marker_names="opensim"`` the markers are the keypoint set's OpenSim / Pose2Sim
    markers (:func:`mocap.keypoints2d.markers.trc_markers`); C3D and CSV keep every keypoint's own name."""
    from mocap.io.points3d_formats import write_points
    from mocap.keypoints2d.keypoints import first_frame_index
    from mocap.keypoints2d.markers import trc_markers

    session = Session.of(session)
    files = session.layout.take(take)
    files = files.person(performer) if performer else files
    if not files.points3d_raw.is_file():
        raise InputError("raw 3D points not found", path=files.points3d_raw,
                         fix=f"run `mocap triangulate {session.root} --take {take}` first")
    raw = Points3D.load(files.points3d_raw)
    smoothed = smooth_points(raw, config)
    written = {"raw": files.points3d_raw, "points": smoothed.save(files.points3d)}
    first = first_frame_index(files.keypoints2d) if files.keypoints2d.is_file() else 0
    for fmt in formats:
        if fmt == "trc":
            index, names = trc_markers(smoothed.joint_names, smoothed.keypoint_set, marker_names)
            written[fmt] = write_points(files.points3d_file(fmt), smoothed.xyz[:, index], names, smoothed.fps,
                                        first_frame=first)
        else:
            written[fmt] = write_points(files.points3d_file(fmt), smoothed.xyz, list(smoothed.joint_names),
                                        smoothed.fps)
    return TriangulationResult(raw, smoothed, written)
