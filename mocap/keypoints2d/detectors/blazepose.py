"""MediaPipe BlazePose (33 body landmarks) and Holistic (+ 2 x 21 hand landmarks), fully offline.

Uses the legacy ``mediapipe.solutions`` API of ``mediapipe==0.10.21``, whose wheel bundles the
BlazePose *full* model (``model_complexity=1``). The *lite* (0) and *heavy* (2) models are not in the
wheel and MediaPipe would try to download them; we never do: they are used only when their
``.tflite`` file is already in mediapipe's ``modules/pose_landmark`` folder (they ship in the npm
package ``@mediapipe/pose``), otherwise the error says how to install them.

Video (tracking) mode: MediaPipe re-runs its person detector by itself whenever tracking is lost; with
``tracking=False`` (static image mode) every frame is detected on its own. Neither shifts the keypoints in
time (no landmark smoothing; tested against the true projections of a rendered take).
"""

from __future__ import annotations

import os

import numpy as np

from mocap.errors import MocapError

POSE_MODEL_FILES = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite", 2: "pose_landmark_heavy.tflite"}


def _check_model(model_complexity: int) -> None:
    import mediapipe as mp

    if model_complexity not in POSE_MODEL_FILES:
        raise MocapError(f"model_complexity must be 0, 1 or 2, got {model_complexity}", fix="use 1 (the bundled model)")
    folder = os.path.join(os.path.dirname(mp.__file__), "modules", "pose_landmark")
    path = os.path.join(folder, POSE_MODEL_FILES[model_complexity])
    if not os.path.isfile(path):
        raise MocapError(
            f"the BlazePose model for model_complexity={model_complexity} is not installed ({path})",
            fix="use model_complexity=1 (bundled), or copy pose_landmark_lite.tflite / pose_landmark_heavy.tflite "
            f"from the npm package @mediapipe/pose into {folder} (mocap never downloads models)",
        )


def _names(enum) -> tuple[str, ...]:
    return tuple(m.name.lower() for m in enum)


class BlazePoseDetector:
    """BlazePose body landmarks; ``conf`` is MediaPipe's per-landmark visibility."""

    keypoint_set = "blazepose33"

    def __init__(self, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, tracking: bool = True):
        import mediapipe as mp

        _check_model(model_complexity)
        self.joint_names = _names(mp.solutions.pose.PoseLandmark)
        self._pose = mp.solutions.pose.Pose(static_image_mode=not tracking, model_complexity=model_complexity,
                                            smooth_landmarks=False, min_detection_confidence=min_detection_confidence,
                                            min_tracking_confidence=min_tracking_confidence)

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        result = self._pose.process(rgb)
        return _landmarks(result.pose_landmarks, 33, w, h, visibility=True)

    def close(self) -> None:
        self._pose.close()


class HolisticDetector:
    """Holistic: the 33 BlazePose landmarks then 21 left-hand and 21 right-hand landmarks.

    Hand landmarks carry no visibility; their ``conf`` is 1 where the hand was found.
    """

    keypoint_set = "holistic"

    def __init__(self, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, tracking: bool = True):
        import mediapipe as mp

        _check_model(model_complexity)
        hand = _names(mp.solutions.hands.HandLandmark)
        self.joint_names = (_names(mp.solutions.pose.PoseLandmark) + tuple(f"left_hand_{n}" for n in hand)
                            + tuple(f"right_hand_{n}" for n in hand))
        self._holistic = mp.solutions.holistic.Holistic(
            static_image_mode=not tracking, model_complexity=model_complexity, smooth_landmarks=False,
            min_detection_confidence=min_detection_confidence, min_tracking_confidence=min_tracking_confidence)

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        r = self._holistic.process(rgb)
        parts = [_landmarks(r.pose_landmarks, 33, w, h, visibility=True),
                 _landmarks(r.left_hand_landmarks, 21, w, h, visibility=False),
                 _landmarks(r.right_hand_landmarks, 21, w, h, visibility=False)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def close(self) -> None:
        self._holistic.close()


def _landmarks(landmarks, n: int, w: int, h: int, *, visibility: bool) -> tuple[np.ndarray, np.ndarray]:
    xy = np.full((n, 2), np.nan, np.float32)
    conf = np.zeros(n, np.float32)
    if landmarks is None:
        return xy, conf
    lm = landmarks.landmark
    # MediaPipe's normalized coordinates put the image's left edge at 0 and right edge at 1.
    xy[:, 0] = [p.x * w - 0.5 for p in lm]
    xy[:, 1] = [p.y * h - 0.5 for p in lm]
    conf[:] = [p.visibility for p in lm] if visibility else 1.0
    return xy, conf
