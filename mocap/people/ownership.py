"""Which performer each detected joint belongs to, when one detection mixes two people.

A camera that sees one performer partly hidden behind another often returns a single skeleton that covers
both: the head of the taller one behind, the legs of the one in front. The tracking gives that detection to
one performer, whole. Here, once every performer has 3D joints, each detected joint is given to the
performer it fits:

1. every performer's joints are triangulated (robustly) from the detections the tracking gave them, and
   projected back into every camera;
2. a detected joint (left/right as its detection's performer has it) goes to the performer whose
   projection of that same joint is within ``max_distance`` of their height in the image, and at most
   half as far as any other performer's; near several performers alike (their pictures overlap), to the
   one of them nearest the camera, the one in front, whom the camera sees; a joint near nobody is left out
   (a hidden joint the detector guessed, or a mix of two people);
3. a performer with several joints ``j`` in one camera and frame keeps the nearest.

So the legs of the performer in front, found in the detection of the one behind, become the front
performer's in that camera (a view they would otherwise lack), and the one behind loses the legs that were
not theirs. All arrays at once: ``N`` performers x ``C`` cameras x ``F`` frames x ``P`` slots x ``J`` joints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.camera import CameraRig


@dataclass(frozen=True, eq=False)
class JointOwnership:
    """Each performer's 2D keypoints after joints were given to the performer they fit.

    Attributes:
        xy: ``(N, C, F, J, 2)`` video pixels, NaN where missing.
        conf: ``(N, C, F, J)``.
        moved: joints given to another performer than their detection's.
        dropped: joints taken from a performer (given to another), not replaced from another detection.
    """

    xy: np.ndarray
    conf: np.ndarray
    moved: int
    dropped: int


def project_people(rig: CameraRig, points3d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, F, J, 3)`` world joints -> ``(N, C, F, J, 2)`` video pixels in every camera and ``(N, C, F, J)``
    their depths (metres along each camera's axis)."""
    px = np.stack([np.stack([cam.to_video_pixels(cam.project(p)) for cam in rig.cameras]) for p in points3d])
    depth = np.stack([np.stack([cam.world_to_camera(p)[..., 2] for cam in rig.cameras]) for p in points3d])
    return px, depth


def image_heights(projected: np.ndarray) -> np.ndarray:
    """``(N, C, F)`` height in pixels of each performer's projected joints (NaN where none)."""
    y = projected[..., 1]
    with np.errstate(invalid="ignore"), np.testing.suppress_warnings() as sup:
        sup.filter(RuntimeWarning)
        return np.nanmax(y, axis=-1) - np.nanmin(y, axis=-1)


def reassign_joints(xy: np.ndarray, conf: np.ndarray, owner: np.ndarray, swapped: np.ndarray,
                    projected: np.ndarray, depth: np.ndarray, mirror: tuple[int, ...] | None = None, *,
                    max_distance: float = 0.1, min_conf: float = 0.3) -> JointOwnership:
    """Give every detected joint to the performer it fits (see the module docstring).

    Args:
        xy: ``(C, F, P, J, 2)`` the detections (candidates), video pixels.
        conf: ``(C, F, P, J)``.
        owner: ``(C, F, P)`` the performer the tracking gave each detection (-1: nobody).
        swapped: ``(C, F, P)`` that performer matched it with left/right exchanged.
        projected: ``(N, C, F, J, 2)`` every performer's 3D joints projected into every camera.
        depth: ``(N, C, F, J)`` their depths in every camera.
        mirror: the keypoint set's left/right permutation (to undo ``swapped``).
        max_distance: most distance from a performer's projected joint, as a fraction of their height in
            the image.
        min_conf: joints below this confidence are left out.
    """
    xy = np.array(xy, dtype=np.float64)
    conf = np.array(conf, dtype=np.float64)
    if mirror is not None and swapped.any():  # every joint in its performer's left/right
        m = np.asarray(mirror, int)
        xy[swapped] = xy[swapped][:, m]
        conf[swapped] = conf[swapped][:, m]
    n_people = projected.shape[0]
    usable = np.isfinite(xy).all(-1) & (conf >= min_conf)  # (C, F, P, J)
    dist = np.linalg.norm(xy[None] - projected[:, :, :, None], axis=-1)  # (N, C, F, P, J)
    dist = np.where(np.isfinite(dist), dist, np.inf)
    limit = (max_distance * image_heights(projected))[..., None, None]  # (N, C, F, 1, 1)
    order = np.sort(dist, axis=0)
    best = np.argmin(dist, axis=0)  # (C, F, P, J)
    nearest, second = order[0], order[1] if n_people > 1 else np.full(order[0].shape, np.inf)
    limit = np.broadcast_to(np.nan_to_num(limit, nan=-1.0), dist.shape)
    near = dist <= limit  # (N, C, F, P, J)
    clear = np.take_along_axis(near, best[None], 0)[0] & (second >= 2 * nearest)
    in_front = np.argmin(np.where(near, np.nan_to_num(depth, nan=np.inf)[:, :, :, None], np.inf), axis=0)
    target = np.where(clear, best, np.where(near.any(axis=0), in_front, -1))  # (C, F, P, J)
    target = np.where(usable, target, -1)
    moved = int((usable & (target != owner[..., None]) & (owner[..., None] >= 0) & (target >= 0)).sum())
    n_cams, n_frames, _, n_joints = conf.shape
    out_xy = np.full((n_people, n_cams, n_frames, n_joints, 2), np.nan)
    out_conf = np.zeros((n_people, n_cams, n_frames, n_joints))
    dropped = 0
    for n in range(n_people):
        cost = np.where(target == n, dist[n], np.inf)  # (C, F, P, J)
        slot = np.argmin(cost, axis=2)  # (C, F, J)
        have = np.isfinite(np.take_along_axis(cost, slot[:, :, None], 2)[:, :, 0])
        picked_xy = np.take_along_axis(xy, slot[:, :, None, :, None], 2)[:, :, 0]
        picked_conf = np.take_along_axis(conf, slot[:, :, None, :], 2)[:, :, 0]
        out_xy[n] = np.where(have[..., None], picked_xy, np.nan)
        out_conf[n] = np.where(have, picked_conf, 0.0)
        own = (owner == n)[..., None] & usable  # the joints of its own detections
        dropped += int((own.any(axis=2) & ~have).sum())
    return JointOwnership(out_xy, out_conf, moved, dropped)
