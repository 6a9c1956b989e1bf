"""Synthetic unsynchronized takes with known clocks, for tests and benchmarks.

A continuous 3D motion (a function of time) is seen by virtual cameras, each sampling it at its
own frame times (:class:`~mocap.sync.clock.CameraClock`), with pixel noise and dropouts. The truth
(clocks and 3D motion at any time) is kept, so sync can be checked against known answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.camera import Camera, CameraRig, look_at
from mocap.sync.clock import CameraClock, TakeSync

Motion = Callable[[np.ndarray], np.ndarray]
"""A 3D motion: take times ``(T,)`` seconds -> joint positions ``(T, J, 3)`` metres (Z up)."""


def ring_rig(n: int = 4, size: tuple[int, int] = (1280, 720), focal: float = 1100.0, radius: float = 4.0) -> CameraRig:
    """``n`` cameras on a ring of ``radius`` metres around the origin, 1.4-1.8 m high, looking at
    (0, 0, 1), with mild lens distortion."""
    cams = []
    for k in range(n):
        a = 2 * np.pi * k / n + 0.4
        R, t = look_at(np.array([radius * np.cos(a), radius * np.sin(a), 1.4 + 0.2 * (k % 3)]), np.array([0, 0, 1.0]))
        K = [[focal + 15 * k, 0, size[0] / 2 + 3 * k], [0, focal + 15 * k, size[1] / 2 - 2 * k], [0, 0, 1]]
        cams.append(Camera(f"cam{k}", size, K, [-0.08 + 0.01 * k, 0.02, 0.0003, -0.0002, 0.0], R, t))
    return CameraRig(tuple(cams))


def procedural_motion(seed: int = 0, n_joints: int = 17) -> Motion:
    """A non-periodic whole-body-like motion: a wandering root (0.05-0.35 Hz, about 1 m) and points
    swinging around it at 0.3-3 Hz (limb-like, 0.2-0.9 m from the root), all swings waxing and
    waning together (bursts of activity, as a person moves and pauses). Defined for any time."""
    rng = np.random.default_rng(seed)
    root_f = rng.uniform(0.05, 0.35, (3, 3))
    root_a = rng.uniform(0.2, 0.5, (3, 3)) * np.array([[1.0], [1.0], [0.15]])
    root_p = rng.uniform(0, 2 * np.pi, (3, 3))
    rest = rng.normal(0, 1, (n_joints, 3))
    rest *= rng.uniform(0.2, 0.9, (n_joints, 1)) / np.linalg.norm(rest, axis=1, keepdims=True)
    rest[:, 2] = np.abs(rest[:, 2]) * np.sign(rng.uniform(-1, 1, n_joints)) * 0.9
    f = rng.uniform(0.3, 3.0, (n_joints, 3, 2))
    a = rng.uniform(0.03, 0.15, (n_joints, 3, 2))
    p = rng.uniform(0, 2 * np.pi, (n_joints, 3, 2))
    act_f = rng.uniform(0.08, 0.3, 3)
    act_p = rng.uniform(0, 2 * np.pi, 3)

    def motion(times: np.ndarray) -> np.ndarray:
        t = np.asarray(times, float)[:, None, None]
        root = (root_a * np.sin(2 * np.pi * root_f * t + root_p)).sum(-1)  # (T, 3)
        root = root + np.array([0.0, 0.0, 1.0])
        activity = 0.15 + (np.sin(2 * np.pi * act_f * t[:, 0] + act_p).sum(-1) / 3) ** 2 * 2.5  # (T,)
        wiggle = activity[:, None, None] * (a * np.sin(2 * np.pi * f * t[..., None] + p)).sum(-1)  # (T, J, 3)
        return root[:, None, :] + rest[None] + wiggle

    return motion


def cmu_motion(path: str | Path, *, skip: int = 12) -> tuple[Motion, tuple[str, ...], float]:
    """A CMU BVH clip as a continuous motion (cubic spline of its 120 Hz frames, centred on the
    origin), played forwards then backwards so it is defined for any time. Returns the motion, the
    joint names and the clip's length in seconds. ``skip`` drops the first frames (often a T-pose)."""
    from scipy.interpolate import CubicSpline

    from mocap.synth.cmu import load_cmu_clip

    xyz, names, fps = load_cmu_clip(path, center=True)
    xyz = xyz[skip:]
    xyz = xyz - np.r_[xyz[len(xyz) // 2, 0, :2], 0.0]
    length = (len(xyz) - 1) / fps
    spline = CubicSpline(np.arange(len(xyz)) / fps, xyz, axis=0)

    def motion(times: np.ndarray) -> np.ndarray:
        t = np.mod(np.asarray(times, float), 2 * length)
        return spline(np.where(t > length, 2 * length - t, t))

    return motion, tuple(names), length


@dataclass(frozen=True, eq=False)
class SyntheticTake:
    """A take seen by unsynchronized cameras, with its truth.

    Attributes:
        rig: the cameras.
        truth: the true clocks (offsets relative to the first camera).
        xy: per camera ``(F_c, J, 2)`` pixels, NaN where missing.
        conf: per camera ``(F_c, J)`` confidence.
        motion: the true 3D motion (take time -> ``(T, J, 3)``).
    """

    rig: CameraRig
    truth: TakeSync
    xy: tuple[np.ndarray, ...]
    conf: tuple[np.ndarray, ...]
    motion: Motion

    @property
    def n_frames(self) -> list[int]:
        return [len(x) for x in self.xy]


def make_take(
    motion: Motion,
    rig: CameraRig,
    offsets: Sequence[float],
    fps: Sequence[float],
    seconds: float | Sequence[float],
    *,
    drift_ppm: Sequence[float] | None = None,
    noise_px: float = 1.0,
    dropout: float = 0.02,
    seed: int = 0,
) -> SyntheticTake:
    """Sample ``motion`` in every camera of ``rig`` at its own clock.

    Args:
        motion: the true motion.
        rig: ``C`` cameras.
        offsets: ``(C,)`` seconds, when each camera's frame 0 happened (the first should be 0).
        fps: ``(C,)`` nominal frame rates.
        seconds: recording length per camera (or one for all), in the camera's own seconds.
        drift_ppm: ``(C,)`` clock drift (default none).
        noise_px: Gaussian pixel noise (standard deviation).
        dropout: fraction of observations replaced by NaN (short runs, like a detector losing a joint).
        seed: random seed.
    """
    rng = np.random.default_rng(seed)
    n = len(rig)
    drift = [0.0] * n if drift_ppm is None else list(drift_ppm)
    secs = [float(seconds)] * n if np.isscalar(seconds) else list(seconds)
    clocks = tuple(CameraClock(cam.name, offsets[c], fps[c], drift[c], 1.0, "manual") for c, cam in enumerate(rig))
    xys, confs = [], []
    for cam, clock, s in zip(rig, clocks, secs):
        t = clock.frame_times(int(np.floor(s * clock.fps + 1e-9)))
        px = cam.to_video_pixels(cam.project(motion(t)))
        px = px + rng.normal(0, noise_px, px.shape)
        w, h = cam.size
        outside = ~((px[..., 0] >= 0) & (px[..., 0] < w) & (px[..., 1] >= 0) & (px[..., 1] < h))
        drop = rng.random(px.shape[:2]) < dropout / 3
        drop |= np.roll(drop, 1, axis=0) | np.roll(drop, 2, axis=0)  # runs of 3 frames
        px[outside | drop] = np.nan
        conf = np.where(np.isfinite(px[..., 0]), rng.uniform(0.6, 1.0, px.shape[:2]), 0.0)
        xys.append(px)
        confs.append(conf)
    return SyntheticTake(rig, TakeSync(clocks), tuple(xys), tuple(confs), motion)


__all__ = ["Motion", "ring_rig", "procedural_motion", "cmu_motion", "SyntheticTake", "make_take"]
