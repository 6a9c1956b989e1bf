"""``mocap triangulate``: a take's 2D keypoints + the calibrated rig -> smoothed 3D points and exports."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.keypoints import Keypoints2D, left_right_pairs
from mocap.session import Session
from mocap.smoothing import SmoothConfig, smooth, stabilize_bone_lengths, tree_edges
from mocap.triangulation.robust import Points3D, TriangulateConfig, triangulate_keypoints

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("trc", "c3d", "csv")


@dataclass(frozen=True, eq=False)
class TriangulationResult:
    """Raw and smoothed 3D points of one take, and the files written."""

    raw: Points3D
    smoothed: Points3D
    files: dict[str, Path] = field(default_factory=dict)


def triangulate_and_smooth(rig: CameraRig, keypoints: Keypoints2D, config: TriangulateConfig = TriangulateConfig(),
                           smoothing: SmoothConfig = SmoothConfig(), *,
                           stabilize_bones: bool = False) -> tuple[Points3D, Points3D]:
    """Array-level API of the stage: robust triangulation, then gap filling and smoothing.

    With ``stabilize_bones`` every bone of the keypoint set's skeleton (a spanning tree of it) gets
    its median length in every frame, after smoothing.
    """
    raw = triangulate_keypoints(rig, keypoints, config, swap_pairs=left_right_pairs(keypoints.joint_names))
    xyz = smooth(raw.xyz, raw.fps, smoothing) if np.isfinite(raw.xyz).any() else raw.xyz
    if stabilize_bones and np.isfinite(xyz).any():
        edges = _skeleton_tree(keypoints)
        if len(edges):
            xyz = stabilize_bone_lengths(xyz, edges)
    return raw, dataclasses.replace(raw, xyz=xyz)


def _skeleton_tree(keypoints: Keypoints2D) -> np.ndarray:
    from mocap.keypoint_sets import get_keypoint_set

    try:
        ks = get_keypoint_set(keypoints.keypoint_set)
    except KeyError:
        log.warning("keypoint set %r has no skeleton: bone lengths not stabilised", keypoints.keypoint_set)
        return np.zeros((0, 2), int)
    if tuple(ks.joint_names) != tuple(keypoints.joint_names):
        log.warning("keypoints do not follow the %r joint order: bone lengths not stabilised", ks.name)
        return np.zeros((0, 2), int)
    return tree_edges(ks.edges, len(ks.joint_names))


def triangulate_take(
    session: Session | str | Path,
    take: str,
    *,
    keypoints_path: str | Path | None = None,
    config: TriangulateConfig = TriangulateConfig(),
    smoothing: SmoothConfig = SmoothConfig(),
    formats: tuple[str, ...] = EXPORT_FORMATS,
    stabilize_bones: bool = False,
) -> TriangulationResult:
    """Triangulate one take of a session and write ``points3d_raw.npz``, ``points3d.npz`` and the
    exports (``points3d.trc`` / ``.c3d`` / ``.csv``) into ``<output>/takes/<take>/``."""
    from mocap.io.points3d_formats import write_points

    if not isinstance(session, Session):
        session = Session.load(session)
    session.take(take)  # a clear error for an unknown take
    if not session.rig_path.is_file():
        raise InputError("the session is not calibrated yet", path=session.rig_path,
                         fix=f"run `mocap calibrate {session.root}` first")
    rig = CameraRig.load(session.rig_path)
    out = session.take_dir(take)
    kp_path = Path(keypoints_path) if keypoints_path else out / "keypoints2d.npz"
    if not kp_path.is_file():
        raise InputError("2D keypoints not found", path=kp_path,
                         fix=f"run `mocap detect {session.root} --take {take}` first, or pass --keypoints FILE")
    keypoints = Keypoints2D.load(kp_path)
    raw, smoothed = triangulate_and_smooth(rig, keypoints, config, smoothing, stabilize_bones=stabilize_bones)
    files = {"raw": raw.save(out / "points3d_raw.npz"), "points": smoothed.save(out / "points3d.npz")}
    for fmt in formats:
        files[fmt] = write_points(out / f"points3d.{fmt}", smoothed.xyz, list(smoothed.joint_names), smoothed.fps)
    return TriangulationResult(raw, smoothed, files)
