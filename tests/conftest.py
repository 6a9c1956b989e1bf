"""Shared test helpers: where the real third-party data lives, and small synthetic rigs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mocap.camera import Camera, CameraRig, look_at

REPO = Path(__file__).resolve().parents[1]
#: ../shared/data beside the repository; MOCAP_SHARED_DATA points elsewhere (e.g. from a git worktree).
SHARED_DATA = Path(os.environ.get("MOCAP_SHARED_DATA", REPO.parent / "shared" / "data"))
SAMPLE_SESSION = REPO / "sample_sessions" / "ring4"


def shared_path(relative: str) -> Path:
    """A path under ../shared/data; skips the test when the data is not on this machine."""
    p = SHARED_DATA / relative
    if not p.exists():
        pytest.skip(f"real data not available: {p} (../shared/data is absent on this machine)")
    return p


def ring(n: int = 4, size=(640, 480), focal: float = 560.0, fisheye: tuple[int, ...] = ()) -> CameraRig:
    """Cameras on a 3 m ring at 1.6-2.2 m height looking at (0, 0, 1), with lens distortion."""
    cams = []
    for k in range(n):
        a = 2 * np.pi * k / n + 0.3
        R, t = look_at(np.array([3 * np.cos(a), 3 * np.sin(a), 1.6 + 0.2 * (k % 3)]), np.array([0, 0, 1.0]))
        K = [[focal + 10 * k, 0, size[0] / 2 + k], [0, focal + 10 * k, size[1] / 2 - k], [0, 0, 1]]
        if k in fisheye:
            cams.append(Camera(f"cam{k}", size, K, [0.03, -0.01, 0.002, 0.0], R, t, model="fisheye"))
        else:
            cams.append(Camera(f"cam{k}", size, K, [-0.15 + 0.01 * k, 0.04, 0.0005, -0.0004, 0.0], R, t))
    return CameraRig(tuple(cams))
