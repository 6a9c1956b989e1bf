"""``mocap detect``: 2D keypoints for every camera of a take, cameras in parallel worker processes.

Frames are streamed (memory stays flat with video length) and decoded once. A mirrored camera's
frames are flipped back before detection, so the detector sees the true scene and left/right come
out right; the saved pixels are converted back to the video's own (mirrored) coordinates, as
``Keypoints2D`` specifies.
"""

from __future__ import annotations

import logging
import os
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


def detect_camera(source: str | Path, config: DetectionConfig, mirrored: bool = False, decode_threads: int = 0,
                  progress: Callable[[int, int], None] | None = None):
    """Detect keypoints in every frame of one camera's video.

    Frames are decoded to RGB with ``decode_threads`` decoding threads
    (0: OpenCV's default, one per core). Returns ``xy (F, J, 2)`` video pixels (NaN missing), ``conf (F, J)``,
    the joint names, the keypoint set, the video's fps and its frame count.
    """
    import cv2

    from mocap.keypoints2d.detectors import create_detector

    cv2.setNumThreads(1)
    frames = open_frames(source)
    detector = create_detector(config.detector, **config.detector_options())
    width = frames.size[0]
    xys, confs = [], []
    try:
        for k, (_, rgb) in enumerate(frames.frames(rgb=True, threads=decode_threads)):
            xy, conf = detector.detect(cv2.flip(rgb, 1) if mirrored else rgb)
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
    infos = [open_frames(s) for s in sources]  # fail fast on missing or corrupt videos
    # one decoding thread per worker when the workers fill the cores: FFmpeg's frame threads then add work
    # (their hand-over) without adding speed
    workers = config.workers or min(len(sources), os.cpu_count() or 1)
    threads = max(1, (os.cpu_count() or 1) // workers)
    results = map_cameras(detect_camera, [(s, config, m, threads) for s, m in zip(sources, mirrored)],
                          progress=progress, workers=config.workers)
    counts = [r[5] for r in results]
    n_frames = max(counts)
    if len(set(counts)) > 1:
        log.warning("cameras have different frame counts (%s); frames are aligned by index and the shorter "
                    "videos padded with missing keypoints", ", ".join(f"{n}: {c}" for n, c in zip(camera_names, counts)))
    n_joints = results[0][0].shape[1]
    xy = np.full((len(sources), n_frames, n_joints, 2), np.nan, np.float32)
    conf = np.zeros((len(sources), n_frames, n_joints), np.float32)
    for c, r in enumerate(results):
        xy[c, : r[5]], conf[c, : r[5]] = r[0], r[1]
    fps = next((i.fps for i in infos if np.isfinite(i.fps) and i.fps > 0), 30.0)
    return Keypoints2D(xy, conf, results[0][3], tuple(results[0][2]), tuple(camera_names),
                       np.arange(n_frames) / fps, float(fps))


def detect_take(session: Session | str | Path, take: str, config: DetectionConfig = DetectionConfig(), *,
                progress: Callable[[int, int, int], None] | None = None) -> tuple[Keypoints2D, Path]:
    """Detect keypoints for one take of a session; writes ``<output>/takes/<take>/keypoints2d.npz``.

    The mirrored flag of each camera comes from the calibration (``camera_rig.toml``) when present,
    else from session.toml (``"auto"`` counts as not mirrored).
    """
    from mocap.camera import CameraRig

    if not isinstance(session, Session):
        session = Session.load(session)
    t = session.take(take)
    mirrored = [bool(c.mirrored) for c in session.cameras]
    rig_path = session.layout.calibration.rig
    if rig_path.is_file():
        rig = CameraRig.load(rig_path)
        mirrored = [rig[n].mirrored if n in rig.names else m for n, m in zip(session.camera_names, mirrored)]
    kp = detect_views(t.videos, session.camera_names, config, mirrored=mirrored, progress=progress)
    return kp, kp.save(session.layout.take(take).keypoints2d)
