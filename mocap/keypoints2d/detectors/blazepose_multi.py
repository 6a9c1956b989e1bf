"""Several people per image: MediaPipe's Tasks ``PoseLandmarker`` with ``num_poses > 1``, offline.

Same protocol as the single-person backends in :mod:`mocap.keypoints2d.detectors` (``keypoint_set``,
``joint_names``, ``detect``, ``close``), except that ``multi_person`` is true and ``detect`` returns
every person found: ``xy (P, 33, 2)`` and ``conf (P, 33)`` with ``0 <= P <= num_poses``. The order
of the people is MediaPipe's and may change from frame to frame; :mod:`mocap.people.association` and
:mod:`mocap.people.tracking` give them identities.

The model is the ``full`` BlazePose network of the installed wheel (the one the legacy solution
runs), packed into a ``.task`` bundle by :func:`mocap.keypoints2d.detectors.bundle.pose_landmarker_bundle`.
Video (tracking) mode: the pose detector runs again only while fewer than ``num_poses`` people are
tracked, so asking for more people than are in view costs a detector run every frame. Set
``num_poses`` to the number of performers, not more: measured with mediapipe 0.10.21 on the shared
two-person footage, ``num_poses=2`` kept both people in every frame of the camera that sees both,
while ``num_poses=3`` lost the second person after 11 frames there (and on another camera), with
no third person to find (MediaPipe's re-detection replaces tracked people; IMAGE mode finds both
less steadily and is slower). So the detection stage counts the people first when it is not told
(:func:`count_people`, IMAGE mode on frames spread over the video) and then asks for that many.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mocap.errors import MocapError

N_LANDMARKS = 33


class MultiPoseDetector:
    """BlazePose body landmarks of up to ``num_poses`` people per frame of one video.

    ``conf`` is MediaPipe's per-landmark visibility, as in
    :class:`mocap.keypoints2d.detectors.blazepose.BlazePoseDetector`.

    Args:
        num_poses: the most people returned per frame.
        fps: frame rate of the video; timestamps are ``frame_index * 1000 / fps`` ms (MediaPipe's
            landmark smoothing in video mode depends on them).
        model_complexity: 1 only (the wheel's full model), for the same options as the single-person one.
        min_detection_confidence: pose detector score to start tracking a person.
        min_presence_confidence: landmark model's person-presence score to keep a pose.
        min_tracking_confidence: below this the person is detected again instead of tracked.
        bundle: a ``.task`` bundle; default: built from the wheel's models at first use.
        image_mode: detect every frame afresh (no tracking, no timestamps): for sparse frames.
    """

    keypoint_set = "blazepose33"
    multi_person = True

    def __init__(self, num_poses: int = 2, *, fps: float = 30.0, model_complexity: int = 1,
                 min_detection_confidence: float = 0.5,
                 min_presence_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 bundle: str | Path | None = None, image_mode: bool = False):
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

        from mocap.keypoints2d.detectors.bundle import pose_landmarker_bundle

        if model_complexity != 1:
            raise MocapError(f"the multi-person detector has only the full model (model_complexity=1), got "
                             f"{model_complexity}", fix="set model_complexity = 1 for several performers")
        if int(num_poses) < 1:
            raise MocapError(f"num_poses must be at least 1, got {num_poses}", fix="use the number of performers")
        if not fps > 0:
            raise MocapError(f"fps must be positive, got {fps}", fix="pass the video's frame rate")
        path = Path(bundle) if bundle is not None else pose_landmarker_bundle()
        if not path.is_file():
            raise MocapError("pose landmarker bundle not found", path=path,
                             fix="leave `bundle` unset to build it from the installed mediapipe wheel")
        self.joint_names = tuple(m.name.lower() for m in mp.solutions.pose.PoseLandmark)
        self.num_poses = int(num_poses)
        self.fps = float(fps)
        self._frame = 0
        self._last_ms = -1
        self.image_mode = bool(image_mode)
        options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=RunningMode.IMAGE if image_mode else RunningMode.VIDEO,
            num_poses=self.num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        try:
            self._landmarker = PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise MocapError(f"MediaPipe cannot load the pose landmarker bundle ({exc})", path=path,
                             fix="delete the file so that it is rebuilt from the installed mediapipe wheel") from exc
        self._mp = mp

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Everyone in the next frame ``rgb (H, W, 3)`` uint8, RGB.

        Returns:
            ``xy (P, 33, 2)`` float32 pixels (pixel centres at integers, as the single-person
            backend) and ``conf (P, 33)`` float32 visibility in [0, 1]; ``P = 0`` when nobody is found.
        """
        h, w = rgb.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.image_mode:
            return people_arrays(self._landmarker.detect(image).pose_landmarks, w, h)
        ms = int(round(self._frame * 1000.0 / self.fps))
        ms = max(ms, self._last_ms + 1)  # strictly increasing, whatever the rounding
        self._frame += 1
        self._last_ms = ms
        result = self._landmarker.detect_for_video(image, ms)
        return people_arrays(result.pose_landmarks, w, h)

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> MultiPoseDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def people_arrays(poses, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Tasks landmarks (a list of people, each a list of 33 ``NormalizedLandmark``) -> arrays.

    MediaPipe's normalised coordinates put the image's left edge at 0 and right edge at 1, so a pixel
    centre ``i`` is at ``(i + 0.5) / w``: ``x_px = x * w - 0.5``.

    Returns:
        ``xy (P, J, 2)`` float32 pixels and ``conf (P, J)`` float32 (visibility; 1 where unset).
    """
    n = len(poses)
    j = len(poses[0]) if n else N_LANDMARKS
    vals = np.array([[(p.x, p.y, 1.0 if p.visibility is None else p.visibility) for p in pose] for pose in poses],
                    dtype=np.float64).reshape(n, j, 3)
    xy = np.empty((n, j, 2), np.float32)
    xy[..., 0] = vals[..., 0] * w - 0.5
    xy[..., 1] = vals[..., 1] * h - 0.5
    return xy, vals[..., 2].astype(np.float32)


def pad_candidates(per_frame, n_slots: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack one video's per-frame detections into fixed-size arrays (empty slots NaN).

    Args:
        per_frame: ``F`` pairs ``(xy (P_f, J, 2), conf (P_f, J))`` as :meth:`MultiPoseDetector.detect`
            returns them.
        n_slots: slots per frame; default the most people found in a frame. Frames with more people
            keep the ``n_slots`` with the highest mean confidence.

    Returns:
        ``xy (F, n_slots, J, 2)`` float32 (NaN in empty slots), ``conf (F, n_slots, J)`` float32
        (0 there) and ``dropped (F,)`` int, the people left out per frame.
    """
    per_frame = list(per_frame)
    n_joints = next((xy.shape[1] for xy, _ in per_frame if len(xy)), N_LANDMARKS)
    n_slots = max((len(xy) for xy, _ in per_frame), default=0) if n_slots is None else int(n_slots)
    xy_out = np.full((len(per_frame), n_slots, n_joints, 2), np.nan, np.float32)
    conf_out = np.zeros((len(per_frame), n_slots, n_joints), np.float32)
    dropped = np.zeros(len(per_frame), int)
    for f, (xy, conf) in enumerate(per_frame):
        keep = np.argsort(-np.asarray(conf).mean(axis=1), kind="stable")[:n_slots] if len(xy) else np.zeros(0, int)
        keep = np.sort(keep)
        xy_out[f, : len(keep)] = xy[keep]
        conf_out[f, : len(keep)] = conf[keep]
        dropped[f] = len(xy) - len(keep)
    return xy_out, conf_out, dropped
