"""``mocap triangulate`` (first half): a take's 2D keypoints + the calibrated rig -> ``points3d_raw.npz``.

Smoothing the result and writing the point files is the next stage (:mod:`mocap.smoothing.stage`).
"""

from __future__ import annotations

from pathlib import Path

from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.keypoints2d.keypoints import Keypoints2D, left_right_pairs
from mocap.session import Session
from mocap.sync.clock import TakeSync
from mocap.sync.stage import synced_keypoints
from mocap.triangulation.points import Points3D
from mocap.triangulation.robust import TriangulateConfig, triangulate_keypoints


def triangulate(rig: CameraRig, keypoints: Keypoints2D, config: TriangulateConfig = TriangulateConfig()) -> Points3D:
    """Array-level API of the stage: robust triangulation with the keypoint set's left/right swaps fixed."""
    return triangulate_keypoints(rig, keypoints, config, swap_pairs=left_right_pairs(keypoints.joint_names))


def triangulate_take(session: Session | str | Path, take: str, *, keypoints_path: str | Path | None = None,
                     config: TriangulateConfig = TriangulateConfig(), performer: str | None = None) -> Points3D:
    """Triangulate one take of a session and write ``<output>/takes/<take>/points3d_raw.npz`` (one performer's
    of a take with several: ``people/<performer>/points3d_raw.npz``); with the take's ``sync.toml``
    (``mocap sync``), on its common timeline."""
    session = Session.of(session)
    session.take(take)  # a clear error for an unknown take
    files = session.layout.take(take)
    files = files.person(performer) if performer else files
    rig_path = session.layout.calibration.rig
    if not rig_path.is_file():
        raise InputError("the session is not calibrated yet", path=rig_path,
                         fix=f"run `mocap calibrate {session.root}` first")
    kp_path = Path(keypoints_path) if keypoints_path else files.keypoints2d
    if not kp_path.is_file():
        raise InputError("2D keypoints not found", path=kp_path,
                         fix=f"run `mocap detect {session.root} --take {take}` first, or pass --keypoints FILE")
    keypoints = Keypoints2D.load(kp_path)
    if files.sync.is_file():  # unsynchronized cameras: every camera's 2D on the take's common timeline
        keypoints = synced_keypoints(keypoints, TakeSync.load(files.sync), source=files.sync)
    raw = triangulate(CameraRig.load(rig_path), keypoints, config)
    raw.save(files.points3d_raw)
    return raw
