"""``mocap overlay``: draw detected 2D keypoints (and reprojected 3D points) on each camera's video.

Green: the detector's keypoints and skeleton; magenta: the triangulated (smoothed) 3D points
projected back into the camera. Where the two disagree, look: a swap, a miss, or a bad calibration.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.io.frames import open_frames
from mocap.keypoints import Keypoints2D
from mocap.parallel import map_cameras
from mocap.session import Session

DETECTED = (80, 220, 80)
REPROJECTED = (230, 60, 230)


def skeleton_edges(keypoint_set: str, joint_names: tuple[str, ...]) -> np.ndarray:
    """``(E, 2)`` joint index pairs to draw, from the keypoint-set registry (none if unknown)."""
    try:
        from mocap.keypoint_sets import get_keypoint_set

        ks = get_keypoint_set(keypoint_set)
    except (ImportError, KeyError, ValueError):  # unknown set (or no registry): points only
        return np.zeros((0, 2), int)
    if tuple(ks.joint_names) != tuple(joint_names):
        return np.zeros((0, 2), int)
    return np.asarray(ks.edges, int).reshape(-1, 2)


def draw_frame(img: np.ndarray, xy: np.ndarray, edges: np.ndarray, color, *, conf: np.ndarray | None = None,
               radius: int = 4) -> np.ndarray:
    """Draw keypoints ``xy (J, 2)`` (NaN skipped) and skeleton ``edges (E, 2)`` on ``img`` in place."""
    import cv2

    ok = np.isfinite(xy).all(axis=1)
    if conf is not None:
        ok &= conf >= 0.3
    thick = max(1, img.shape[1] // 500)
    for a, b in edges:
        if ok[a] and ok[b]:
            cv2.line(img, tuple(np.round(xy[a]).astype(int)), tuple(np.round(xy[b]).astype(int)), color, thick,
                     cv2.LINE_AA)
    for p in xy[ok]:
        cv2.circle(img, tuple(np.round(p).astype(int)), radius, color, -1, cv2.LINE_AA)
    return img


def overlay_video(video: str | Path, out: str | Path, xy: np.ndarray, conf: np.ndarray, edges: np.ndarray,
                  reprojected: np.ndarray | None = None, label: str = "",
                  progress: Callable[[int, int], None] | None = None) -> Path:
    """Write ``out`` (.mp4) = ``video`` with ``xy (F, J, 2)`` (and ``reprojected (F, J, 2)``) drawn."""
    import cv2

    from mocap.io.atomic import atomic_path

    frames = open_frames(video)
    out = Path(out)
    fps = frames.fps if np.isfinite(frames.fps) else 30.0
    with atomic_path(out) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, frames.size)
        try:
            for i, img in frames.frames():
                if i < len(xy):
                    draw_frame(img, xy[i], edges, DETECTED, conf=conf[i])
                    if reprojected is not None:
                        draw_frame(img, reprojected[i], edges, REPROJECTED, radius=3)
                cv2.putText(img, f"{label} frame {i}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
                writer.write(img)
                if progress is not None and i % 10 == 0:
                    progress(i + 1, frames.n_frames)
        finally:
            writer.release()
    return out


def _overlay_job(video, out, xy, conf, edges, reprojected, label, progress=None):
    return overlay_video(video, out, xy, conf, edges, reprojected, label, progress)


def overlay_take(session: Session | str | Path, take: str, *,
                 progress: Callable[[int, int, int], None] | None = None) -> list[Path]:
    """Write ``<output>/takes/<take>/overlay/<camera>.mp4`` for every camera of a take."""
    if not isinstance(session, Session):
        session = Session.load(session)
    t = session.take(take)
    folder = session.take_dir(take)
    kp_path = folder / "keypoints2d.npz"
    if not kp_path.is_file():
        raise InputError("2D keypoints not found", path=kp_path, fix=f"run `mocap detect {session.root} --take {take}`")
    kp = Keypoints2D.load(kp_path)
    edges = skeleton_edges(kp.keypoint_set, kp.joint_names)
    reprojected = [None] * kp.n_cameras
    points = folder / "points3d.npz"
    if points.is_file() and session.rig_path.is_file():
        from mocap.triangulation.robust import Points3D

        rig = CameraRig.load(session.rig_path).subset(kp.camera_names)
        xyz = Points3D.load(points).xyz
        reprojected = [cam.to_video_pixels(cam.project(xyz)) for cam in rig.cameras]
    jobs = [(t.videos[c], folder / "overlay" / f"{name}.mp4", kp.xy[c], kp.conf[c], edges, reprojected[c], name)
            for c, name in enumerate(kp.camera_names)]
    return map_cameras(_overlay_job, jobs, progress=progress)
