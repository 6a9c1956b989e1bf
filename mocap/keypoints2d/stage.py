"""``mocap detect``: 2D keypoints for every camera of a take, cameras in parallel worker processes.

Frames are streamed (memory stays flat with video length) and decoded once. A mirrored camera's
frames are flipped back before detection, so the detector sees the true scene and left/right come
out right; the saved pixels are converted back to the video's own (mirrored) coordinates, as
``Keypoints2D`` specifies.

Several performers: with ``max_people`` above 1 (set, or session.toml's ``performers``, or counted in
each camera's video when neither says: :func:`detect_camera`) the multi-person detector (``blazepose_multi``)
keeps every person each camera finds, in ``candidates2d.npz`` (:class:`Candidates2D`); the ``people``
stage then tells who is who. With one person the single-person path runs exactly as before and writes
``keypoints2d.npz``. A take is one or the other: writing one removes the other's take-level files.
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
from mocap.keypoints2d.candidates import Candidates2D, stack_views
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.parallel import map_cameras
from mocap.session import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectionConfig:
    """Settings for ``mocap detect``."""

    detector: Literal["blazepose", "holistic", "blazepose_multi"] = "blazepose"
    """Backend: "blazepose" (33 body landmarks), "holistic" (+ 21 landmarks per hand) or "blazepose_multi"
    (several people per image: MediaPipe's PoseLandmarker); "blazepose" becomes "blazepose_multi" by
    itself when more than one performer is expected (max_people)."""
    max_people: int = 0
    """Most performers per take: 0 = auto (the number of session.toml's performers when listed, else
    counted in each camera on a few frames spread over the take); 1 = one performer (the single-person
    path). Above 1, each camera keeps up to this many people per frame (ask for no more than there are:
    MediaPipe then loses people). Also caps the performers the people stage keeps."""
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
    look_closer: bool = True
    """Several performers: when a camera finds fewer people than max_people in a frame, also look in two
    overlapping halves of it, where people far from the camera are twice as large (MediaPipe misses small
    faces); two more detections on those frames only."""

    def detector_options(self) -> dict:
        return {"model_complexity": self.model_complexity, "min_detection_confidence": self.min_detection_confidence,
                "min_tracking_confidence": self.min_tracking_confidence, "tracking": self.tracking}

    def multi_person(self, n_people: int) -> bool:
        """Whether ``n_people`` expected performers need the multi-person detector."""
        if n_people > 1 and self.detector == "holistic":
            raise InputError(f"the holistic detector finds one person, but {n_people} performers are expected",
                             fix='use detector = "blazepose" for several performers (or max_people = 1)')
        return self.detector == "blazepose_multi" or n_people > 1


#: With ``max_people = 0`` (auto), each camera counts people on this many frames spread over its video,
#: looking for up to ``COUNT_MAX_PEOPLE`` per image.
COUNT_FRAMES = 8
COUNT_MAX_PEOPLE = 6


@dataclass(frozen=True, eq=False)
class CameraDetections:
    """What one camera's detection pass found.

    Attributes:
        xy: ``(F, J, 2)`` video pixels (one person), or ``(F, P, J, 2)`` (several, empty slots NaN).
        conf: ``(F, J)`` or ``(F, P, J)``.
        joint_names, keypoint_set: the detector's.
        fps: the video's frame rate (NaN for image folders).
        dropped: ``(F,)`` people found beyond ``P`` and left out (several people only).
        people: people counted in this camera (auto mode), else the number asked for.
    """

    xy: np.ndarray
    conf: np.ndarray
    joint_names: tuple[str, ...]
    keypoint_set: str
    fps: float
    dropped: np.ndarray | None = None
    people: int = 1

    @property
    def n_frames(self) -> int:
        return self.xy.shape[0]

    @property
    def multi(self) -> bool:
        return self.xy.ndim == 4

    def as_candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """``(F, P, J, 2)`` and ``(F, P, J)`` (a single-person pass as one slot)."""
        return (self.xy, self.conf) if self.multi else (self.xy[:, None], self.conf[:, None])

    def save(self, path: str | Path) -> Path:
        """One camera's detections as ``.npz`` (``mocap batch`` detects each camera as its own task)."""
        from mocap.io.atomic import write_npz

        extra = {} if self.dropped is None else {"dropped": self.dropped}
        return write_npz(path, schema_version=np.array(1), xy=self.xy, conf=self.conf,
                         joint_names=np.array(self.joint_names), keypoint_set=np.array(self.keypoint_set),
                         fps=np.array(float(self.fps)), people=np.array(int(self.people)), **extra)

    @classmethod
    def load(cls, path: str | Path) -> CameraDetections:
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(z["xy"], z["conf"], tuple(str(n) for n in z["joint_names"]), str(z["keypoint_set"]),
                           float(z["fps"]), z["dropped"] if "dropped" in z.files else None, int(z["people"]))
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"not a camera's detections file ({exc})", path=path,
                             fix="delete it and run the detection again") from exc


def counted_people(counts: Sequence[int]) -> int:
    """The people a camera sees, from per-frame counts: the most found in at least two of the frames (one
    stray detection does not count); at least 1."""
    ranked = sorted(counts, reverse=True)
    return max(ranked[1] if len(ranked) >= 2 else (ranked[0] if ranked else 0), 1)


def detect_camera(source: str | Path, config: DetectionConfig, mirrored: bool = False,
                  progress: Callable[[int, int], None] | None = None, *, num_poses: int = 0,
                  count: bool = False, decode_threads: int = 0) -> CameraDetections:
    """Detect keypoints in every frame of one camera's video.

    Args:
        source: the video (or image folder).
        config: detector settings.
        mirrored: flip frames back before detection (and the pixels back after).
        progress: ``progress(done, total)``.
        num_poses: 0: one person (``config.detector``); ``>= 1``: the multi-person detector keeps up to
            that many people per frame.
        count: with ``num_poses = 0``, also count the people on :data:`COUNT_FRAMES` frames spread over the
            video (each on its own); when the camera sees several, detect again with the multi-person
            detector for that many. A one-person camera costs a few extra detections.
        decode_threads: FFmpeg decoding threads (0: OpenCV's default, one per core); frames are decoded
            straight to RGB.
    """
    import cv2

    cv2.setNumThreads(1)
    frames = open_frames(source)
    stride = max(1, frames.n_frames // COUNT_FRAMES) if count and not num_poses else 0
    xys, confs, counts, names = _detection_pass(frames, config, mirrored, progress, num_poses, stride, decode_threads)
    if not xys:
        raise InputError("no frames could be read", path=source, fix="check that the video is not empty or corrupt")
    people = counted_people(counts) if stride else max(num_poses, 1)
    if stride and people > 1:
        log.info("%s: %d people seen, detecting them all", source, people)
        num_poses = people
        xys, confs, _, names = _detection_pass(frames, config, mirrored, progress, num_poses, 0, decode_threads)
    if num_poses:
        from mocap.keypoints2d.detectors.blazepose_multi import pad_candidates

        xy, conf, dropped = pad_candidates(zip(xys, confs), num_poses)
        return CameraDetections(xy, conf, *names, frames.fps, dropped, people)
    return CameraDetections(np.stack(xys), np.stack(confs), *names, frames.fps, None, people)


def _detection_pass(frames, config: DetectionConfig, mirrored: bool, progress, num_poses: int, count_stride: int,
                    decode_threads: int = 0):
    """One pass over the frames: per-frame ``xy``, ``conf``, the people counted every ``count_stride`` frames
    (0: none) and ``(joint_names, keypoint_set)``."""
    import cv2

    from mocap.keypoints2d.detectors import create_detector
    from mocap.keypoints2d.detectors.blazepose_multi import add_missed_people

    options = config.detector_options()
    name = config.detector
    # the multi-person detector's video mode is BlazePose's tracking; its image mode, static images
    multi = {k: v for k, v in options.items() if k != "tracking"}
    if num_poses:
        name = "blazepose_multi"
        options = dict(multi, num_poses=num_poses, image_mode=not options.get("tracking", True),
                       fps=frames.fps if np.isfinite(frames.fps) and frames.fps > 0 else 30.0)
    detector = create_detector(name, **options)
    counter = (create_detector("blazepose_multi", num_poses=COUNT_MAX_PEOPLE, image_mode=True, **multi)
               if count_stride else None)
    closer = (create_detector("blazepose_multi", num_poses=num_poses, image_mode=True, **multi)
              if num_poses and config.look_closer else None)
    width = frames.size[0]
    xys, confs, counts = [], [], []
    try:
        for k, (_, rgb) in enumerate(frames.frames(rgb=True, threads=decode_threads)):
            if mirrored:
                rgb = cv2.flip(rgb, 1)
            xy, conf = detector.detect(rgb)
            if closer is not None and len(xy) < num_poses:
                xy, conf = add_missed_people(closer, rgb, xy, conf, num_poses)
            if counter is not None and k % count_stride == 0 and len(counts) < COUNT_FRAMES:
                counts.append(len(counter.detect(rgb)[0]))
            if mirrored:
                xy[..., 0] = width - 1 - xy[..., 0]
            xys.append(xy)
            confs.append(conf)
            if progress is not None and k % 10 == 0:
                progress(k + 1, frames.n_frames)
    finally:
        for d in (detector, counter, closer):
            if d is not None:
                d.close()
    if progress is not None:
        progress(len(xys), len(xys))
    return xys, confs, counts, (tuple(detector.joint_names), detector.keypoint_set)


def detect_views(
    sources: Sequence[str | Path],
    camera_names: Sequence[str],
    config: DetectionConfig = DetectionConfig(),
    *,
    mirrored: Sequence[bool] | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    num_poses: int = 0,
    count: bool = False,
) -> Keypoints2D | Candidates2D:
    """Detect keypoints in synchronized videos (one per camera) -> ``Keypoints2D``; with ``num_poses >= 1``
    every person, up to that many per camera -> ``Candidates2D``; with ``count``, ``Candidates2D`` when any
    camera counts several people (see :func:`detect_camera`).

    Every camera keeps its own frame count and frame rate (``frame_counts``, ``camera_fps``); the
    arrays are padded with NaN to the longest. Which frames happened together is the sync stage's
    answer (``sync.toml``), never guessed here.
    """
    mirrored = list(mirrored) if mirrored is not None else [False] * len(sources)
    infos = [open_frames(s) for s in sources]  # fail fast on missing or corrupt videos
    # one decoding thread per worker when the workers fill the cores: FFmpeg's frame threads then add work
    # (their hand-over) without adding speed
    workers = config.workers or min(len(sources), os.cpu_count() or 1)
    threads = max(1, (os.cpu_count() or 1) // workers)
    jobs = [(s, config, m, num_poses, count, threads) for s, m in zip(sources, mirrored)]
    results: list[CameraDetections] = map_cameras(_detect_job, jobs, progress=progress, workers=config.workers)
    redo, n_people = cameras_to_detect_again(results)
    if redo:  # a camera that counted one person, in a take with several: it may see the others later
        log.info("%d people in the take: detecting everyone in %s too", n_people,
                 ", ".join(camera_names[c] for c in redo))
        again = map_cameras(_detect_job, [(sources[c], config, mirrored[c], n_people, False, threads) for c in redo],
                            progress=(lambda i, d, t: progress(redo[i], d, t)) if progress else None,
                            workers=config.workers)
        for c, r in zip(redo, again):
            results[c] = r
    fps = next((i.fps for i in infos if np.isfinite(i.fps) and i.fps > 0), 30.0)
    return merge_detections(results, camera_names, fps)


def cameras_to_detect_again(results: Sequence[CameraDetections]) -> tuple[list[int], int]:
    """The cameras that kept one person in a take where some camera counted several (they may see the others
    later), and that number of people."""
    n_people = max(r.people for r in results)
    return [c for c, r in enumerate(results) if n_people > 1 and not r.multi], n_people


def merge_detections(results: Sequence[CameraDetections], camera_names: Sequence[str],
                     fps: float) -> Keypoints2D | Candidates2D:
    """Every camera's detections (in the session's camera order) -> one ``Keypoints2D`` (``Candidates2D`` when
    any camera kept several people). Each camera keeps its own frame count and frame rate; the arrays are padded
    with NaN to the longest (the sync stage puts them on one timeline). ``fps``: the take's rate."""
    counts = [r.n_frames for r in results]
    n_frames = max(counts)
    if len(set(counts)) > 1:
        log.info("cameras have different frame counts (%s); the sync stage puts them on one timeline",
                 ", ".join(f"{n}: {c}" for n, c in zip(camera_names, counts)))
    first = results[0]
    if any(r.multi for r in results):
        xy, conf = stack_views([r.as_candidates() for r in results])
        dropped = np.zeros(xy.shape[:2], np.int32)
        for c, r in enumerate(results):
            if r.dropped is not None:
                dropped[c, : r.n_frames] = r.dropped
        return Candidates2D(xy, conf, first.keypoint_set, first.joint_names, tuple(camera_names),
                            np.arange(n_frames) / fps, float(fps), max(r.people for r in results), dropped)
    n_joints = first.xy.shape[1]
    xy = np.full((len(results), n_frames, n_joints, 2), np.nan, np.float32)
    conf = np.zeros((len(results), n_frames, n_joints), np.float32)
    for c, r in enumerate(results):
        xy[c, : r.n_frames], conf[c, : r.n_frames] = r.xy, r.conf
    rates = [float(r.fps) if np.isfinite(r.fps) and r.fps > 0 else float(fps) for r in results]
    return Keypoints2D(xy, conf, first.keypoint_set, first.joint_names, tuple(camera_names),
                       np.arange(n_frames) / fps, float(fps), np.array(counts), np.array(rates))


def _detect_job(source, config, mirrored, num_poses, count, threads, progress=None):
    return detect_camera(source, config, mirrored, progress, num_poses=num_poses, count=count, decode_threads=threads)


def expected_people(session: Session, take: str, config: DetectionConfig) -> int:
    """The performers a take is expected to have: ``max_people``, else session.toml's performers (the take's
    own, else the session's); 0: count them."""
    if config.max_people < 0:
        raise InputError(f"max_people must be 0 (auto) or more, got {config.max_people}",
                         fix="set [detection] max_people to the number of performers, or 0")
    return config.max_people or len(session.performers_of(take))


def detection_mode(session: Session, take: str, config: DetectionConfig) -> tuple[int, bool]:
    """``(num_poses, count)`` for :func:`detect_camera` in this take: the people expected, or counting them."""
    n_people = expected_people(session, take, config)
    multi = config.multi_person(n_people)
    return (max(n_people, 1) if multi else 0,
            n_people == 0 and config.detector == "blazepose" and config.model_complexity == 1)


def clear_other_mode(files, multi: bool) -> None:
    """Remove the take-level outputs of the other mode (single- vs multi-person) so that no stale file of an
    earlier run is read as this run's: a multi-person take has no take-level keypoints or body."""
    if multi:
        stale = [files.keypoints2d, files.points3d_raw, files.points3d, files.body_motion, files.fit_summary]
        stale += files.point_files()
    else:
        stale = [files.candidates2d, files.people, files.people_tracks]
    for path in stale:
        if path.is_file():
            log.info("removing %s (from an earlier %s-person run)", path, "single" if multi else "multi")
            path.unlink()


def detection_file(files) -> Path:
    """The take's detection output: ``candidates2d.npz`` (several performers) when present, else
    ``keypoints2d.npz``."""
    return files.candidates2d if files.candidates2d.is_file() else files.keypoints2d


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
                progress: Callable[[int, int, int], None] | None = None
                ) -> tuple[Keypoints2D | Candidates2D, Path]:
    """Detect keypoints for one take of a session; writes ``<output>/takes/<take>/keypoints2d.npz``, or
    ``candidates2d.npz`` when several performers are expected or counted (see the module docstring).

    The mirrored flag of each camera comes from :func:`camera_mirrored`. Every video's size is checked against
    its calibrated camera first (:mod:`mocap.keypoints2d.video_size`).
    """
    session = Session.of(session)
    t = session.take(take)
    check_take_video_sizes(session, take)  # a clear error before any work when a video does not fit its camera
    num_poses, count = detection_mode(session, take, config)
    result = detect_views(t.videos, session.camera_names, config, mirrored=camera_mirrored(session),
                          progress=progress, num_poses=num_poses, count=count)
    return result, save_detections(session, take, result)


def check_take_video_sizes(session: Session, take: str) -> None:
    """Every video of the take against its calibrated camera (when calibrated): a clear error otherwise."""
    from mocap.camera import CameraRig
    from mocap.keypoints2d.video_size import check_video_sizes

    rig_path = session.layout.calibration.rig
    if rig_path.is_file():
        check_video_sizes(session, take, CameraRig.load(rig_path))


def save_detections(session: Session, take: str, result: Keypoints2D | Candidates2D) -> Path:
    """Write a take's detections (``keypoints2d.npz``, or ``candidates2d.npz`` for several people) and remove
    the other mode's stale outputs."""
    files = session.layout.take(take)
    multi = isinstance(result, Candidates2D)
    path = result.save(files.candidates2d if multi else files.keypoints2d)
    clear_other_mode(files, multi)
    return path


def detect_take_camera(session: Session, take: str, camera: str, config: DetectionConfig = DetectionConfig(), *,
                       mirrored: bool | None = None, progress: Callable[[int, int], None] | None = None) -> Path:
    """Detect keypoints in one camera's video of a take, as :func:`detect_take` does for every camera; writes
    ``cameras/<camera>/keypoints2d.npz`` in the take's folder (that camera's :class:`CameraDetections`, merged
    by :func:`merge_take_cameras`).

    This is the unit ``mocap batch`` distributes; ``detect_take`` gives the same keypoints in one call.
    """
    index = _camera_index(session, camera)
    video = session.take(take).videos[index]
    if mirrored is None:
        mirrored = camera_mirrored(session)[index]
    check_take_video_sizes(session, take)
    num_poses, count = detection_mode(session, take, config)
    result = detect_camera(video, config, mirrored, progress, num_poses=num_poses, count=count, decode_threads=1)
    return result.save(session.layout.take(take).keypoints2d_camera(camera))


def merge_take_cameras(session: Session, take: str, config: DetectionConfig = DetectionConfig()
                       ) -> tuple[Keypoints2D | Candidates2D, Path]:
    """Merge every camera's ``cameras/<camera>/keypoints2d.npz`` of a take into its ``keypoints2d.npz`` (or
    ``candidates2d.npz``); a camera that kept one person where others counted several is detected again."""
    files = session.layout.take(take)
    results = []
    for camera in session.camera_names:
        path = files.keypoints2d_camera(camera)
        if not path.is_file():
            raise InputError(f"camera {camera!r} of take {take!r} has not been detected yet", path=path,
                             fix="run `mocap batch` (or `mocap detect`) on the take again")
        results.append(CameraDetections.load(path))
    redo, n_people = cameras_to_detect_again(results)
    mirrored = camera_mirrored(session)
    for c in redo:
        log.info("%d people in the take: detecting everyone in %s too", n_people, session.camera_names[c])
        results[c] = detect_camera(session.take(take).videos[c], config, mirrored[c], num_poses=n_people)
    fps = next((r.fps for r in results if np.isfinite(r.fps) and r.fps > 0), 30.0)
    result = merge_detections(results, session.camera_names, fps)
    return result, save_detections(session, take, result)


def _camera_index(session: Session, camera: str) -> int:
    if camera not in session.camera_names:
        raise InputError(f"no camera named {camera!r} (cameras: {', '.join(session.camera_names)})",
                         path=session.file, fix="use one of the session's camera names")
    return session.camera_names.index(camera)


def load_take_keypoints(session: Session, take: str) -> Keypoints2D:
    """A take's ``keypoints2d.npz``; an ``InputError`` naming the file and the command that makes it when absent."""
    session.take(take)  # a clear error for an unknown take
    path = session.layout.take(take).keypoints2d
    if not path.is_file():
        raise InputError("2D keypoints not found", path=path, fix=f"run `mocap detect {session.root} --take {take}` first")
    return Keypoints2D.load(path)
