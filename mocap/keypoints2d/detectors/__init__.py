"""2D keypoint detectors: a small protocol and a registry of backends, each imported only when used.

A backend is a class with ``keypoint_set`` (a name in :mod:`mocap.keypoints2d.sets`), ``joint_names``
and ``detect(rgb) -> (xy (J, 2) pixels, conf (J,))`` for the next frame of one video (backends may
track between frames), plus ``close()``. A multi-person backend has ``multi_person = True`` and returns
everyone: ``detect(rgb) -> (xy (P, J, 2), conf (P, J))``. Register new ones in ``DETECTORS`` (a
:class:`mocap.registry.Registry`) as an ``Entry`` whose ``create`` function is the class,
``"module.path:ClassName"``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from mocap.registry import Entry, Registry


class Detector(Protocol):
    keypoint_set: str
    joint_names: tuple[str, ...]

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints of the person in the next frame ``rgb (H, W, 3)`` uint8: ``xy (J, 2)`` pixels
        (NaN where not found) and ``conf (J,)`` in [0, 1]."""

    def close(self) -> None: ...


DETECTORS = Registry("detector", [
    Entry("blazepose", "MediaPipe BlazePose: 33 body landmarks (bundled full model)",
          {"create": "mocap.keypoints2d.detectors.blazepose:BlazePoseDetector"}),
    Entry("holistic", "MediaPipe Holistic: the 33 BlazePose landmarks + 21 per hand",
          {"create": "mocap.keypoints2d.detectors.blazepose:HolisticDetector"}),
    Entry("blazepose_multi", "MediaPipe PoseLandmarker: 33 BlazePose landmarks of every person (up to num_poses)",
          {"create": "mocap.keypoints2d.detectors.blazepose_multi:MultiPoseDetector"}),
])


def create_detector(name: str, **options) -> Detector:
    """Instantiate a registered detector backend by name."""
    return DETECTORS.call(name, "create", **options)
