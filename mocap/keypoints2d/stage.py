"""``mocap detect``: 2D keypoints for every camera of a take, cameras in parallel worker processes.

Frames are streamed (memory stays flat with video length) and decoded once. A mirrored camera's
frames are flipped back before detection, so the detector sees the true scene and left/right come
out right; the saved pixels are converted back to the video's own (mirrored) coordinates, as
``Keypoints2D`` specifies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from mocap.errors import InputError
from mocap.io.frames import open_frames
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.parallel import map_cameras
from mocap.session import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectionConfig:
    """Settings for ``mocap detect``."""

    detector: Literal["blazepose", "holistic"] = "blazepose"
    """Backend: "blazepose" (33 body landmarks) or "holistic" (+ 21 landmarks per hand)."""
    model_complexity: Literal[0, 1, 2] = 1
    """BlazePose model: 1 = full (bundled); 0 = lite and 2 = heavy only if installed (never downloaded)."""
    min_detection_confidence: float = 0.5
    """Person-detector threshold."""
    min_tracking_confidence: float = 0.5
    """Below this the tracker gives up and the person detector runs again."""
    workers: int = 0
    """Worker processes (0 = one per camera, up to the number of cores)."""

    def detector_options(self) -> dict:
        return {"model_complexity": self.model_complexity, "min_detection_confidence": self.min_detection_confidence,
                "min_tracking_confidence": self.min_tracking_confidence}


def detect_camera(source: str | Path, config: DetectionConfig, mirrored: bool = False,
                 progress: Callable[[int, int], None] | None = None):
    """Detect keypoints in every frame of one camera's video.

    Returns ``xy (F, J, 2)`` video pixels (NaN missing), ``conf (F, J)``, the joint names, the
    keypoint set, the video's fps and its frame count.
    """
    import cv2

    from mocap.keypoints2d.detectors import create_detector

    cv2.setNumThreads(1)
    frames = open_frames(source)
    detector = create_detector(config.detector, **config.detector_options())
    width = frames.size[0]
    xys, confs = [], []
    try:
        for k, (_, bgr) in enumerate(frames.frames()):
            if mirrored:
                bgr = cv2.flip(bgr, 1)
            xy, conf = detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            if mirrored:
                xy[:, 0] = width - 1 - xy[:, 0]
            xys.append(xy)
            confs.append(conf)
            if progress is not None and k % 10 == 0:
                progress(k + 1, frames.n_frames)
    finally:
        detector.close()
    if progress is not None:
        progress(len(xys), len(xys))
    if not xys:
        raise InputError("no frames could be read", path=source, fix="check that the video is not empty or corrupt")
    return np.stack(xys), np.stack(confs), detector.joint_names, detector.keypoint_set, frames.fps, len(xys)


def detect_views(
    sources: Sequence[str | Path],
    camera_names: Sequence[str],
    config: DetectionConfig = DetectionConfig(),
    *,
    mirrored: Sequence[bool] | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> Keypoints2D:
    """Detect keypoints in synchronized videos (one per camera) -> ``Keypoints2D``.

    Cameras with different frame counts are reported (a warning naming them) and padded with NaN
    to the longest: frames are aligned by index, never silently resampled.
    """
    mirrored = list(mirrored) if mirrored is not None else [False] * len(sources)
    for s in sources:
        open_frames(s)  # fail fast on missing or corrupt videos
    results = map_cameras(detect_camera, [(s, config, m) for s, m in zip(sources, mirrored)], progress=progress,
                          workers=config.workers)
    return merge_views([camera_keypoints(r, name) for r, name in zip(results, camera_names)])


def camera_keypoints(result: tuple, camera: str) -> Keypoints2D:
    """One camera's :func:`detect_camera` result as a one-camera ``Keypoints2D`` (its own fps, NaN if unknown)."""
    xy, conf, joint_names, keypoint_set, fps, n_frames = result
    known = bool(np.isfinite(fps) and fps > 0)
    return Keypoints2D(xy[None].astype(np.float32), conf[None].astype(np.float32), keypoint_set,
                       tuple(joint_names), (camera,), np.arange(n_frames) / (fps if known else 30.0),
                       float(fps) if known else float("nan"))


def merge_views(views: Sequence[Keypoints2D]) -> Keypoints2D:
    """One-camera keypoints (in the session's camera order) -> one ``Keypoints2D`` of every camera.

    Cameras with different frame counts are reported (a warning naming them) and padded with NaN
    to the longest: frames are aligned by index, never silently resampled. The fps is the first
    camera's that knows it (30 if none does).
    """
    counts = [v.n_frames for v in views]
    names = [v.camera_names[0] for v in views]
    n_frames = max(counts)
    if len(set(counts)) > 1:
        log.warning("cameras have different frame counts (%s); frames are aligned by index and the shorter "
                    "videos padded with missing keypoints", ", ".join(f"{n}: {c}" for n, c in zip(names, counts)))
    n_joints = views[0].xy.shape[2]
    xy = np.full((len(views), n_frames, n_joints, 2), np.nan, np.float32)
    conf = np.zeros((len(views), n_frames, n_joints), np.float32)
    for c, v in enumerate(views):
        xy[c, : v.n_frames], conf[c, : v.n_frames] = v.xy[0], v.conf[0]
    fps = next((v.fps for v in views if np.isfinite(v.fps) and v.fps > 0), 30.0)
    return Keypoints2D(xy, conf, views[0].keypoint_set, views[0].joint_names, tuple(names),
                       np.arange(n_frames) / fps, float(fps))


def camera_mirrored(session: Session) -> list[bool]:
    """Whether each camera's video is mirrored: from the calibration (``camera_rig.toml``) when present,
    else from session.toml (``"auto"`` counts as not mirrored)."""
    from mocap.camera import CameraRig

    mirrored = [bool(c.mirrored) for c in session.cameras]
    rig_path = session.layout.calibration.rig
    if rig_path.is_file():
        rig = CameraRig.load(rig_path)
        mirrored = [rig[n].mirrored if n in rig.names else m for n, m in zip(session.camera_names, mirrored)]
    return mirrored


def detect_take(session: Session | str | Path, take: str, config: DetectionConfig = DetectionConfig(), *,
                progress: Callable[[int, int, int], None] | None = None) -> tuple[Keypoints2D, Path]:
    """Detect keypoints for one take of a session; writes ``<output>/takes/<take>/keypoints2d.npz``.

    The mirrored flag of each camera comes from :func:`camera_mirrored`.
    """
    if not isinstance(session, Session):
        session = Session.load(session)
    t = session.take(take)
    kp = detect_views(t.videos, session.camera_names, config, mirrored=camera_mirrored(session), progress=progress)
    return kp, kp.save(session.layout.take(take).keypoints2d)


def detect_take_camera(session: Session, take: str, camera: str, config: DetectionConfig = DetectionConfig(), *,
                       mirrored: bool | None = None, progress: Callable[[int, int], None] | None = None) -> Path:
    """Detect keypoints in one camera's video of a take; writes ``cameras/<camera>/keypoints2d.npz`` in the
    take's folder (a one-camera ``Keypoints2D``, merged by :func:`merge_take_cameras`).

    This is the unit ``mocap batch`` distributes; ``detect_take`` gives the same keypoints in one call.
    """
    video = session.take(take).videos[_camera_index(session, camera)]
    if mirrored is None:
        mirrored = camera_mirrored(session)[_camera_index(session, camera)]
    result = detect_camera(video, config, mirrored, progress=progress)
    return camera_keypoints(result, camera).save(session.layout.take(take).keypoints2d_camera(camera))


def merge_take_cameras(session: Session, take: str) -> tuple[Keypoints2D, Path]:
    """Merge every camera's ``cameras/<camera>/keypoints2d.npz`` of a take into its ``keypoints2d.npz``."""
    files = session.layout.take(take)
    views = []
    for camera in session.camera_names:
        path = files.keypoints2d_camera(camera)
        if not path.is_file():
            raise InputError(f"camera {camera!r} of take {take!r} has not been detected yet", path=path,
                             fix="run `mocap batch` (or `mocap detect`) on the take again")
        views.append(Keypoints2D.load(path))
    kp = merge_views(views)
    return kp, kp.save(files.keypoints2d)


def _camera_index(session: Session, camera: str) -> int:
    if camera not in session.camera_names:
        raise InputError(f"no camera named {camera!r} (cameras: {', '.join(session.camera_names)})",
                         path=session.file, fix="use one of the session's camera names")
    return session.camera_names.index(camera)
