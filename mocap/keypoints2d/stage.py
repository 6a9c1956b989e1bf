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
    tracking: bool = True
    """Video mode: follow the person from frame to frame (faster); false: detect every frame on its own (static
    image mode)."""
    workers: int = 0
    """Worker processes (0 = one per camera, up to the number of cores)."""

    def detector_options(self) -> dict:
        return {"model_complexity": self.model_complexity, "min_detection_confidence": self.min_detection_confidence,
                "min_tracking_confidence": self.min_tracking_confidence, "tracking": self.tracking}


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
    """Detect keypoints in the videos of one take (one per camera) -> ``Keypoints2D``.

    Every camera keeps its own frame count and frame rate (``frame_counts``, ``camera_fps``); the
    arrays are padded with NaN to the longest. Which frames happened together is the sync stage's
    answer (``sync.toml``), never guessed here.
    """
    mirrored = list(mirrored) if mirrored is not None else [False] * len(sources)
    infos = [open_frames(s) for s in sources]  # fail fast on missing or corrupt videos
    results = map_cameras(detect_camera, [(s, config, m) for s, m in zip(sources, mirrored)], progress=progress,
                          workers=config.workers)
    counts = [r[5] for r in results]
    n_frames = max(counts)
    if len(set(counts)) > 1:
        log.info("cameras have different frame counts (%s); the sync stage puts them on one timeline",
                 ", ".join(f"{n}: {c}" for n, c in zip(camera_names, counts)))
    n_joints = results[0][0].shape[1]
    xy = np.full((len(sources), n_frames, n_joints, 2), np.nan, np.float32)
    conf = np.zeros((len(sources), n_frames, n_joints), np.float32)
    for c, r in enumerate(results):
        xy[c, : r[5]], conf[c, : r[5]] = r[0], r[1]
    fps = next((i.fps for i in infos if np.isfinite(i.fps) and i.fps > 0), 30.0)
    rates = [float(r[4]) if np.isfinite(r[4]) and r[4] > 0 else float(fps) for r in results]
    return Keypoints2D(xy, conf, results[0][3], tuple(results[0][2]), tuple(camera_names),
                       np.arange(n_frames) / fps, float(fps), np.array(counts), np.array(rates))


def detect_take(session: Session | str | Path, take: str, config: DetectionConfig = DetectionConfig(), *,
                progress: Callable[[int, int, int], None] | None = None) -> tuple[Keypoints2D, Path]:
    """Detect keypoints for one take of a session; writes ``<output>/takes/<take>/keypoints2d.npz``.

    The mirrored flag of each camera comes from the calibration (``camera_rig.toml``) when present,
    else from session.toml (``"auto"`` counts as not mirrored). Every video's size is checked against its
    calibrated camera first (:mod:`mocap.keypoints2d.video_size`).
    """
    from mocap.camera import CameraRig
    from mocap.keypoints2d.video_size import check_video_sizes

    session = Session.of(session)
    t = session.take(take)
    mirrored = [bool(c.mirrored) for c in session.cameras]
    rig_path = session.layout.calibration.rig
    if rig_path.is_file():
        rig = CameraRig.load(rig_path)
        mirrored = [rig[n].mirrored if n in rig.names else m for n, m in zip(session.camera_names, mirrored)]
        check_video_sizes(session, take, rig)  # a clear error before any work when a video does not fit its camera
    kp = detect_views(t.videos, session.camera_names, config, mirrored=mirrored, progress=progress)
    return kp, kp.save(session.layout.take(take).keypoints2d)


def load_take_keypoints(session: Session, take: str) -> Keypoints2D:
    """A take's ``keypoints2d.npz``; an ``InputError`` naming the file and the command that makes it when absent."""
    session.take(take)  # a clear error for an unknown take
    path = session.layout.take(take).keypoints2d
    if not path.is_file():
        raise InputError("2D keypoints not found", path=path, fix=f"run `mocap detect {session.root} --take {take}` first")
    return Keypoints2D.load(path)
