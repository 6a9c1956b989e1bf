"""The world frame: metric, Z up, origin on the floor.

When the board lies on the floor at some point of the calibration take (it stays still there), that
pose defines the world: origin at ChArUco corner 0, X along the board's rows of corners, Z up out of
the printed face. Otherwise (``floor = "none"`` or no floor pose found) Z is the cameras' average
"up" direction, which is right for cameras mounted upright, and the origin is the board in the first
frame seen by the most cameras.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from mocap.geometry import rotation_angle_deg

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class WorldFrame:
    """Transform from the calibration's working frame to the world: ``x_w = R x + t``.

    Attributes:
        R: ``(3, 3)``; t: ``(3,)`` metres.
        source: ``"floor_board"`` (board on the floor), ``"board_frame"`` (explicit frame) or
            ``"camera_up"`` (no floor pose: Z from the cameras' up vectors).
        frame: the board-pose index used for the origin (-1 if none).
        static_frames: how many still frames the floor pose was averaged over.
        tilt_deg: angle between the floor normal and the cameras' mean up direction.
    """

    R: np.ndarray
    t: np.ndarray
    source: str
    frame: int
    static_frames: int
    tilt_deg: float


def cameras_up(cam_R: np.ndarray) -> np.ndarray:
    """Mean "up" direction of the cameras (image -y axis) in the working frame, unit ``(3,)``."""
    up = -cam_R[:, 1, :]  # row 1 of world-to-camera R is the camera's y axis in world coordinates
    m = up.mean(axis=0)
    return m / np.linalg.norm(m)


def find_static_runs(board_R: np.ndarray, board_t: np.ndarray, *, max_move_m: float = 0.005,
                     max_turn_deg: float = 1.0, min_frames: int = 3) -> list[tuple[int, int]]:
    """Runs ``[start, stop)`` of consecutive frames where the board stays still.

    NaN poses (board not seen) break runs.
    """
    n = len(board_t)
    ok = np.isfinite(board_t).all(axis=1)
    still = np.zeros(n, bool)
    if n > 1:
        move = np.linalg.norm(np.diff(board_t, axis=0), axis=1)
        turn = rotation_angle_deg(np.nan_to_num(board_R[1:]), np.nan_to_num(board_R[:-1]))
        still[1:] = ok[1:] & ok[:-1] & (move <= max_move_m) & (turn <= max_turn_deg)
    runs, start = [], None
    for i in range(n):
        if still[i] and start is None:
            start = i - 1
        elif not still[i] and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, n))
    out = []
    for a, b in runs:
        spread = np.linalg.norm(board_t[a:b] - np.median(board_t[a:b], axis=0), axis=1).max()
        if b - a >= min_frames and spread <= 2 * max_move_m:  # a slow drift is not a still board
            out.append((a, b))
    return out


def board_world(R_b: np.ndarray, t_b: np.ndarray, origin_point: np.ndarray, up_hint: np.ndarray):
    """World transform from a board pose: Z = printed-face normal (towards ``up_hint``)."""
    z = -R_b[:, 2]  # the printed face points along -z of the board
    if z @ up_hint < 0:
        z = -z
    x = R_b[:, 0] - (R_b[:, 0] @ z) * z
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])  # rows: world axes in working coordinates
    origin = R_b @ origin_point + t_b
    return R, -R @ origin


def choose_world_frame(
    cam_R: np.ndarray,
    board_R: np.ndarray,
    board_t: np.ndarray,
    n_views: np.ndarray,
    origin_point: np.ndarray,
    *,
    still: list[tuple[int, int]] = (),
    floor: str = "auto",
    origin_pose: int | None = None,
    max_floor_tilt_deg: float = 30.0,
) -> WorldFrame:
    """Pick the world frame from the optimised board poses.

    Args:
        cam_R: ``(C, 3, 3)`` world-to-camera rotations in the working frame.
        board_R, board_t: ``(B, 3, 3)``, ``(B, 3)`` board-to-working poses (NaN = unseen).
        n_views: ``(B,)`` cameras that saw each board pose.
        origin_point: ``(3,)`` board coordinates of the origin (ChArUco corner 0).
        still: candidate floor poses as ``(pose index, number of still frames it stands for)``.
        floor: ``"auto"`` (use a still board lying roughly flat, if any), ``"board"`` (use the
            best still pose or ``origin_pose`` even if tilted), or ``"none"``.
        origin_pose: board-pose index to use as the floor/origin (overrides the search).
    """
    up = cameras_up(cam_R)
    seen = np.isfinite(board_t).all(axis=1)
    if floor != "none":
        candidates = [(origin_pose, 1)] if origin_pose is not None else list(still)
        best = None
        for k, n_still in candidates:
            if not seen[k]:
                continue
            normal = -board_R[k][:, 2]
            tilt = float(np.degrees(np.arccos(np.clip(abs(normal @ up), -1, 1))))
            ok = tilt <= max_floor_tilt_deg or floor == "board" or origin_pose is not None
            score = (ok, n_views[k], n_still)
            if best is None or score > best[0]:
                best = (score, k, n_still, tilt)
        if best is not None and best[0][0]:
            _, k, n_still, tilt = best
            R, t = board_world(board_R[k], board_t[k], origin_point, up)
            return WorldFrame(R, t, "floor_board" if origin_pose is None else "board_frame", k, n_still, tilt)
        if floor == "board":
            log.warning("no still board pose found for the floor; using the cameras' up direction")
    # No floor pose: Z from the cameras, origin at the board seen by most cameras (first such frame).
    f = int(np.argmax(np.where(seen, n_views, -1)))
    z = up
    x = board_R[f][:, 0] - (board_R[f][:, 0] @ z) * z
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(z, x), z])
    origin = board_R[f] @ origin_point + board_t[f]
    return WorldFrame(R, -R @ origin, "camera_up", f, 0, float("nan"))
