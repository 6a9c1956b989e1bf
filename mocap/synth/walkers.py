"""Synthetic multi-person scenes with known answers: stick-figure walkers seen by virtual cameras.

For tests and benchmarks of association and tracking (no rendering, no detector): people are
33-point stick figures in the BlazePose landmark order that walk along given floor paths; their
joints are projected into a camera ring, with pixel noise, missed detections, occlusion by a nearer
person, and the candidate order shuffled in every camera and frame, exactly the way a multi-person
detector hands them over. The truth (which slot holds which person) comes back with them.

World frame: Z up, metres, floor at Z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.camera import Camera, CameraRig, look_at

# Rest pose of a 1.75 m figure in the BlazePose landmark order, body frame: +x the person's left,
# +y forward, +z up, feet on the floor.
_REST_175 = np.array([
    (0.0, 0.10, 1.62),  # nose
    (0.015, 0.08, 1.66), (0.03, 0.075, 1.665), (0.045, 0.07, 1.66),  # left eye inner, eye, outer
    (-0.015, 0.08, 1.66), (-0.03, 0.075, 1.665), (-0.045, 0.07, 1.66),  # right eye inner, eye, outer
    (0.075, 0.0, 1.62), (-0.075, 0.0, 1.62),  # ears
    (0.025, 0.085, 1.57), (-0.025, 0.085, 1.57),  # mouth left, right
    (0.19, 0.0, 1.43), (-0.19, 0.0, 1.43),  # shoulders
    (0.21, 0.0, 1.15), (-0.21, 0.0, 1.15),  # elbows
    (0.22, 0.0, 0.90), (-0.22, 0.0, 0.90),  # wrists
    (0.235, 0.0, 0.82), (-0.235, 0.0, 0.82),  # pinky
    (0.215, 0.025, 0.81), (-0.215, 0.025, 0.81),  # index
    (0.20, 0.04, 0.85), (-0.20, 0.04, 0.85),  # thumb
    (0.10, 0.0, 0.93), (-0.10, 0.0, 0.93),  # hips
    (0.10, 0.0, 0.50), (-0.10, 0.0, 0.50),  # knees
    (0.10, 0.0, 0.08), (-0.10, 0.0, 0.08),  # ankles
    (0.10, -0.05, 0.03), (-0.10, -0.05, 0.03),  # heels
    (0.10, 0.15, 0.01), (-0.10, 0.15, 0.01),  # foot index
])

#: Left/right permutation of the figure's joints (joint ``j``'s mirror image is ``MIRROR[j]``).
MIRROR = (0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21, 24, 23,
          26, 25, 28, 27, 30, 29, 32, 31)
#: Rigid segments of the figure, for body signatures: (parent, child) joint pairs.
BONES = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (23, 24), (11, 23), (12, 24), (23, 25),
         (25, 27), (24, 26), (26, 28), (7, 8), (27, 31), (28, 32))

_LEFT_LEG, _RIGHT_LEG = [25, 27, 29, 31], [26, 28, 30, 32]
_LEFT_SHIN, _RIGHT_SHIN = [27, 29, 31], [28, 30, 32]
_LEFT_ARM, _RIGHT_ARM = [13, 15, 17, 19, 21], [14, 16, 18, 20, 22]


def _rot_x(points: np.ndarray, pivot: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate ``points (F, n, 3)`` about the x axis through ``pivot (F, 3)`` by ``angle (F,)``."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    v = points - pivot[:, None]
    y, z = v[..., 1], v[..., 2]
    out = v.copy()
    out[..., 1] = c * y - s * z
    out[..., 2] = s * y + c * z
    return out + pivot[:, None]


def walker(path: np.ndarray, height: float = 1.75, phase0: float = 0.0, fps: float = 60.0) -> np.ndarray:
    """A figure walking along a floor path.

    Args:
        path: ``(F, 2)`` floor position (x, y) per frame, metres. Where the figure stands still its
            heading is kept and its limbs rest.
        height: figure height, metres (the whole figure scales; bone lengths differ per person).
        phase0: gait phase at the start, radians.
        fps: frame rate (only sets the heading smoothing).

    Returns:
        ``(F, 33, 3)`` world joint positions, metres.
    """
    path = np.asarray(path, dtype=float)
    n = len(path)
    rest = _REST_175 * (height / 1.75)
    step = np.diff(path, axis=0, prepend=path[:1])
    dist = np.linalg.norm(step, axis=1)
    travelled = np.cumsum(dist)
    stride = 0.8 * height  # one gait cycle (two steps)
    phase = phase0 + 2 * np.pi * travelled / stride
    moving = np.convolve(dist > 1e-4, np.ones(5) / 5, mode="same")  # ease in and out of the gait
    heading = np.arctan2(step[:, 1], step[:, 0])
    for f in range(n):  # keep the last heading while standing
        if dist[f] <= 1e-4:
            heading[f] = heading[f - 1] if f else (np.arctan2(*(path[-1] - path[0])[::-1]) if n > 1 else 0.0)
    pts = np.broadcast_to(rest, (n,) + rest.shape).copy()
    swing = 0.45 * np.sin(phase) * moving
    hip_l, hip_r = pts[:, 23], pts[:, 24]
    pts[:, _LEFT_LEG] = _rot_x(pts[:, _LEFT_LEG], hip_l, swing)
    pts[:, _RIGHT_LEG] = _rot_x(pts[:, _RIGHT_LEG], hip_r, -swing)
    knee_l = -0.6 * np.maximum(0, np.sin(phase + 1.2)) * moving  # shin folds back
    knee_r = -0.6 * np.maximum(0, np.sin(phase + 1.2 + np.pi)) * moving
    pts[:, _LEFT_SHIN] = _rot_x(pts[:, _LEFT_SHIN], pts[:, 25], knee_l)
    pts[:, _RIGHT_SHIN] = _rot_x(pts[:, _RIGHT_SHIN], pts[:, 26], knee_r)
    pts[:, _LEFT_ARM] = _rot_x(pts[:, _LEFT_ARM], pts[:, 11], -0.7 * swing)
    pts[:, _RIGHT_ARM] = _rot_x(pts[:, _RIGHT_ARM], pts[:, 12], 0.7 * swing)
    pts[..., 2] += 0.02 * height * np.abs(np.cos(phase))[:, None] * moving[:, None]
    # body frame (+y forward) -> world: forward along the heading
    yaw = heading - np.pi / 2
    c, s = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    x, y = pts[..., 0].copy(), pts[..., 1].copy()
    pts[..., 0] = c * x - s * y + path[:, None, 0]
    pts[..., 1] = s * x + c * y + path[:, None, 1]
    return pts


def line_path(start, end, n_frames: int) -> np.ndarray:
    """``(F, 2)`` constant-speed path from ``start`` to ``end``."""
    u = np.linspace(0.0, 1.0, n_frames)[:, None]
    return (1 - u) * np.asarray(start, float) + u * np.asarray(end, float)


def circle_path(center, radius: float, n_frames: int, turns: float = 1.0, start_angle: float = 0.0) -> np.ndarray:
    """``(F, 2)`` constant-speed path around a circle."""
    a = start_angle + 2 * np.pi * turns * np.linspace(0.0, 1.0, n_frames)
    return np.asarray(center, float) + radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def ring_rig(n_cameras: int = 4, size: tuple[int, int] = (640, 480), hfov_deg: float = 70.0,
             radius: float = 5.0, heights=(2.0, 2.4, 1.8), target=(0.0, 0.0, 0.9)) -> CameraRig:
    """Pinhole cameras evenly on a ring around the origin, looking at ``target`` (two cameras: 90
    degrees apart, as a two-camera studio would place them, not face to face).

    ``hfov_deg`` is the horizontal field of view, so the picture's content does not depend on the
    resolution: 640x480 and 1080x1920 (portrait) see the same scene at different pixel scales.
    """
    w, h = size
    focal = 0.5 * w / np.tan(np.radians(hfov_deg) / 2)
    cams = []
    for k in range(n_cameras):
        a = (np.pi / 2 if n_cameras == 2 else 2 * np.pi / n_cameras) * k + 0.4
        center = np.array([radius * np.cos(a), radius * np.sin(a), heights[k % len(heights)]])
        R, t = look_at(center, np.asarray(target, float))
        K = [[focal, 0, (w - 1) / 2], [0, focal, (h - 1) / 2], [0, 0, 1]]
        cams.append(Camera(f"cam{k}", (w, h), K, np.zeros(5), R, t))
    return CameraRig(tuple(cams))


@dataclass(frozen=True, eq=False)
class SyntheticCandidates:
    """Candidates as a multi-person detector would give them, and the truth.

    Attributes:
        xy: ``(C, F, P, J, 2)`` video pixels, NaN in empty slots and for missing joints.
        conf: ``(C, F, P, J)`` confidence, 0 where missing.
        person: ``(C, F, P)`` int, the true person in each slot, -1 for an empty slot.
        points3d: ``(N, F, J, 3)`` the true joints.
    """

    xy: np.ndarray
    conf: np.ndarray
    person: np.ndarray
    points3d: np.ndarray

    def slot_of(self) -> np.ndarray:
        """``(N, C, F)`` slot holding each true person, -1 where not detected."""
        n = self.points3d.shape[0]
        out = np.full((n,) + self.person.shape[:2], -1)
        c, f, p = np.nonzero(self.person >= 0)
        out[self.person[c, f, p], c, f] = p
        return out


def observe(rig: CameraRig, points3d: np.ndarray, *, noise_px: float = 1.5, miss_rate: float = 0.0,
            joint_drop_rate: float = 0.0, occlusion: float = 0.6, visible: np.ndarray | None = None,
            n_slots: int | None = None, seed: int = 0) -> SyntheticCandidates:
    """Project people into the cameras as per-camera candidate lists with known identities.

    Args:
        rig: the cameras.
        points3d: ``(N, F, J, 3)`` true joints; a NaN frame means the person is absent.
        noise_px: Gaussian pixel noise (std) scaled with the image width relative to 640, so the
            angular noise is the same at every resolution.
        miss_rate: probability that a camera misses a person in a frame.
        joint_drop_rate: probability that a single joint is missing.
        occlusion: a person whose picture box is covered by more than this fraction by a nearer
            person's box is not detected in that camera.
        visible: optional ``(N, C, F)`` bool, False forces "not detected" (a person only some
            cameras see).
        n_slots: slots per camera and frame (default N).
        seed: random seed.
    """
    rng = np.random.default_rng(seed)
    n_people, n_frames, n_joints, _ = points3d.shape
    n_cams = len(rig)
    n_slots = n_people if n_slots is None else n_slots
    px = np.stack([rig.project(points3d[i]) for i in range(n_people)], axis=1)  # (C, N, F, J, 2)
    depth = np.stack([np.stack([cam.world_to_camera(points3d[i])[..., 2] for i in range(n_people)])
                      for cam in rig.cameras])  # (C, N, F, J)
    sizes = np.array([cam.size for cam in rig.cameras], float)  # (C, 2)
    inside = ((px >= 0) & (px <= sizes[:, None, None, None] - 1)).all(-1) & (depth > 0)
    scale = sizes[:, 0] / 640.0
    px = px + rng.normal(0.0, 1.0, px.shape) * (noise_px * scale)[:, None, None, None, None]
    ok = inside & (rng.random(inside.shape) >= joint_drop_rate)
    detected = ok.sum(-1) >= 8
    detected &= rng.random(detected.shape) >= miss_rate
    if visible is not None:
        detected &= np.asarray(visible, bool).transpose(1, 0, 2)
    if occlusion < 1 and n_people > 1:
        n_ok = ok.sum(-1)
        mean_depth = np.where(ok, depth, 0.0).sum(-1) / np.maximum(n_ok, 1)
        detected &= ~_occluded(px, ok, np.where(n_ok > 0, mean_depth, np.inf), occlusion)
    xy = np.full((n_cams, n_frames, n_slots, n_joints, 2), np.nan)
    conf = np.zeros((n_cams, n_frames, n_slots, n_joints))
    person = np.full((n_cams, n_frames, n_slots), -1)
    for c in range(n_cams):
        for f in range(n_frames):
            who = np.flatnonzero(detected[c, :, f])[:n_slots]
            slots = rng.permutation(n_slots)[: len(who)]
            for i, p in zip(who, slots):
                keep = ok[c, i, f]
                xy[c, f, p][keep] = px[c, i, f][keep]
                conf[c, f, p][keep] = rng.uniform(0.6, 1.0, int(keep.sum()))
                person[c, f, p] = i
    return SyntheticCandidates(xy, conf, person, np.asarray(points3d, float))


def _occluded(px: np.ndarray, ok: np.ndarray, depth: np.ndarray, fraction: float) -> np.ndarray:
    """``(C, N, F)``: the person's box is covered more than ``fraction`` by a nearer person's box."""
    big = np.where(ok[..., None], px, np.nan)
    with np.errstate(invalid="ignore"), np.testing.suppress_warnings() as sup:
        sup.filter(RuntimeWarning)
        lo, hi = np.nanmin(big, axis=3), np.nanmax(big, axis=3)  # (C, N, F, 2)
    area = np.prod(hi - lo, axis=-1)
    out = np.zeros(depth.shape, bool)
    n = px.shape[1]
    for i in range(n):
        for k in range(n):
            if i == k:
                continue
            inter = np.prod(np.clip(np.minimum(hi[:, i], hi[:, k]) - np.maximum(lo[:, i], lo[:, k]), 0, None), -1)
            with np.errstate(invalid="ignore", divide="ignore"):
                covered = (inter / area[:, i] > fraction) & (depth[:, k] < depth[:, i])
            out[:, i] |= np.nan_to_num(covered, nan=0).astype(bool)
    return out


def random_scene(n_people: int, n_frames: int, *, radius: float = 2.0, min_distance: float = 0.5,
                 seed: int = 0, tries: int = 500) -> np.ndarray:
    """People walking between random points of a disc without ever coming closer than ``min_distance``.

    Each person walks at constant speed from one random point to another through a third one, with
    a random height in 1.55-1.95 m; a person whose path comes too close to an earlier one is drawn
    again.

    Returns:
        ``(N, F, 33, 3)`` world joints, metres.
    """
    rng = np.random.default_rng(seed)
    paths: list[np.ndarray] = []
    while len(paths) < n_people:
        for _ in range(tries):
            r = radius * np.sqrt(rng.random(3))
            a = 2 * np.pi * rng.random(3)
            pts = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
            half = n_frames // 2
            path = np.concatenate([line_path(pts[0], pts[1], half), line_path(pts[1], pts[2], n_frames - half)])
            if all(np.linalg.norm(path - other, axis=1).min() >= min_distance for other in paths):
                paths.append(path)
                break
        else:
            raise ValueError(f"cannot place {n_people} people at least {min_distance} m apart in a {radius} m disc")
    heights = rng.uniform(1.55, 1.95, n_people)
    return np.stack([walker(p, h, phase0=rng.uniform(0, 2 * np.pi)) for p, h in zip(paths, heights)])
