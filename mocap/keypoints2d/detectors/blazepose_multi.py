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


#: Tiles for :func:`add_missed_people`: ``(x0, x1)`` as fractions of the image width.
TILES = ((0.0, 0.6), (0.4, 1.0))


def _boxes(xy: np.ndarray, conf: np.ndarray, min_conf: float = 0.3) -> np.ndarray:
    """``(P, 4)`` x0, y0, x1, y1 of each person's confident keypoints (NaN where none)."""
    pts = np.where((conf >= min_conf)[..., None], xy, np.nan)
    with np.errstate(invalid="ignore"), np.testing.suppress_warnings() as sup:
        sup.filter(RuntimeWarning)
        return np.concatenate([np.nanmin(pts, axis=1), np.nanmax(pts, axis=1)], axis=1)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection of boxes ``a`` and ``b`` over the smaller one's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if not (w > 0 and h > 0):
        return 0.0
    area = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(w * h / area) if area > 0 else 1.0


def add_missed_people(detector: MultiPoseDetector, rgb: np.ndarray, xy: np.ndarray, conf: np.ndarray,
                      num_poses: int, max_overlap: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """People that a whole-frame detection missed, looked for in two overlapping halves of the frame.

    MediaPipe's person detector sees the frame at 224 x 224 and finds people by their faces: people far
    from the camera (small faces) are missed; in a half frame they are twice as large. A person found in a
    half is added when their box overlaps no one already found by more than ``max_overlap`` (of the
    smaller box) and they do not touch the half's inner edge (cut there: the other half holds them).

    Args:
        detector: an image-mode :class:`MultiPoseDetector` (``image_mode=True``).
        rgb: ``(H, W, 3)`` the frame.
        xy, conf: ``(P, J, 2)``, ``(P, J)`` the people already found.
        num_poses: the most people to return.

    Returns:
        ``xy (P', J, 2)`` and ``conf (P', J)``: the people found before, then the added ones.
    """
    h, w = rgb.shape[:2]
    people_xy, people_conf = list(xy), list(conf)
    for lo, hi in TILES:
        if len(people_xy) >= num_poses:
            break
        x0, x1 = int(round(lo * w)), int(round(hi * w))
        found_xy, found_conf = detector.detect(np.ascontiguousarray(rgb[:, x0:x1]))
        found_xy[..., 0] += x0
        margin = 0.02 * w
        for pxy, pconf in zip(found_xy, found_conf):
            box = _boxes(pxy[None], pconf[None])[0]
            if not np.isfinite(box).all() or len(people_xy) >= num_poses:
                continue
            cut = (x0 > 0 and box[0] < x0 + margin) or (x1 < w and box[2] > x1 - margin)
            known = _boxes(np.array(people_xy), np.array(people_conf)) if people_xy else np.zeros((0, 4))
            if not cut and all(_overlap(box, k) <= max_overlap for k in known if np.isfinite(k).all()):
                people_xy.append(pxy)
                people_conf.append(pconf)
    n_joints = xy.shape[1] if xy.ndim == 3 else N_LANDMARKS
    return (np.array(people_xy, np.float32).reshape(-1, n_joints, 2),
            np.array(people_conf, np.float32).reshape(-1, n_joints))


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
