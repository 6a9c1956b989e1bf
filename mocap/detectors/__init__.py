"""2D keypoint detectors: a small protocol and a registry of backends, each imported only when used.

A backend is a class with ``keypoint_set`` (a name in :mod:`mocap.keypoint_sets`), ``joint_names``
and ``detect(rgb) -> (xy (J, 2) pixels, conf (J,))`` for the next frame of one video (backends may
track between frames), plus ``close()``. Register new ones in ``DETECTORS`` as
``"name": "module.path:ClassName"``.
"""

from __future__ import annotations

import importlib
from typing import Protocol

import numpy as np

from mocap.errors import MocapError


class Detector(Protocol):
    keypoint_set: str
    joint_names: tuple[str, ...]

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints of the person in the next frame ``rgb (H, W, 3)`` uint8: ``xy (J, 2)`` pixels
        (NaN where not found) and ``conf (J,)`` in [0, 1]."""

    def close(self) -> None: ...


DETECTORS: dict[str, str] = {
    "blazepose": "mocap.detectors.blazepose:BlazePoseDetector",
    "holistic": "mocap.detectors.blazepose:HolisticDetector",
}


def create_detector(name: str, **options) -> Detector:
    """Instantiate a registered detector backend by name."""
    if name not in DETECTORS:
        raise MocapError(f"unknown detector {name!r}", fix=f"use one of: {', '.join(DETECTORS)}")
    module, cls = DETECTORS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)
