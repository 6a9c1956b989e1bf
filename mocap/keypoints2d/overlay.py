"""``mocap overlay``: draw detected 2D keypoints (and reprojected 3D points) on each camera's video.

Green: the detector's keypoints and skeleton; magenta: the triangulated (smoothed) 3D points
projected back into the camera. Where the two disagree, look: a swap, a miss, or a bad calibration.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from mocap.io.frames import open_frames
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.keypoints2d.sets import drawing_edges
from mocap.parallel import map_cameras

DETECTED = (80, 220, 80)
REPROJECTED = (230, 60, 230)


def draw_frame(img: np.ndarray, xy: np.ndarray, edges: np.ndarray, color, *, conf: np.ndarray | None = None,
               radius: int = 4) -> np.ndarray:
    """Draw keypoints ``xy (J, 2)`` (NaN skipped) and skeleton ``edges (E, 2)`` on ``img`` in place."""
    import cv2

    ok = np.isfinite(xy).all(axis=1)
    if conf is not None:
        ok &= conf >= 0.3
    thick = max(1, img.shape[1] // 500)
    for a, b in edges:
        if ok[a] and ok[b]:
            cv2.line(img, tuple(np.round(xy[a]).astype(int)), tuple(np.round(xy[b]).astype(int)), color, thick,
                     cv2.LINE_AA)
    for p in xy[ok]:
        cv2.circle(img, tuple(np.round(p).astype(int)), radius, color, -1, cv2.LINE_AA)
    return img


def overlay_video(video: str | Path, out: str | Path, xy: np.ndarray, conf: np.ndarray, edges: np.ndarray,
                  reprojected: np.ndarray | None = None, label: str = "",
                  progress: Callable[[int, int], None] | None = None) -> Path:
    """Write ``out`` (.mp4) = ``video`` with ``xy (F, J, 2)`` (and ``reprojected (F, J, 2)``) drawn."""

    def draw(img: np.ndarray, i: int) -> None:
        if i < len(xy):
            draw_frame(img, xy[i], edges, DETECTED, conf=conf[i])
            if reprojected is not None:
                draw_frame(img, reprojected[i], edges, REPROJECTED, radius=3)

    return write_overlay(video, out, draw, label, progress)


def write_overlay(video: str | Path, out: str | Path, draw: Callable[[np.ndarray, int], None], label: str = "",
                  progress: Callable[[int, int], None] | None = None) -> Path:
    """Write ``out`` (.mp4, atomically) = ``video`` with ``draw(image, frame_index)`` applied to every frame
    and the frame number written in a corner."""
    import cv2

    from mocap.io.atomic import atomic_path

    frames = open_frames(video)
    out = Path(out)
    fps = frames.fps if np.isfinite(frames.fps) else 30.0
    with atomic_path(out) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, frames.size)
        try:
            for i, img in frames.frames():
                draw(img, i)
                cv2.putText(img, f"{label} frame {i}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
                writer.write(img)
                if progress is not None and i % 10 == 0:
                    progress(i + 1, frames.n_frames)
        finally:
            writer.release()
    return out


#: Colours (BGR) of performers 0, 1, 2, ... in a take with several; candidates given to nobody are grey.
PERFORMER_COLOURS = ((60, 200, 255), (255, 160, 40), (80, 220, 80), (200, 90, 230), (40, 80, 240), (230, 230, 60))
UNASSIGNED = (150, 150, 150)


def performer_colour(index: int) -> tuple[int, int, int]:
    return PERFORMER_COLOURS[index % len(PERFORMER_COLOURS)]


def draw_label(img: np.ndarray, xy: np.ndarray, text: str, color) -> None:
    """``text`` above the highest keypoint of ``xy (J, 2)`` (nothing when no keypoint is there)."""
    import cv2

    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        return
    top = xy[ok][np.argmin(xy[ok, 1])]
    scale = max(0.6, img.shape[1] / 1000)
    org = (int(top[0]) - 10 * len(text) // 2, max(int(top[1]) - 15, 20))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 4 * max(1, int(scale)), cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, 2 * max(1, int(scale)), cv2.LINE_AA)


def overlay_people_video(video: str | Path, out: str | Path, people, edges: np.ndarray,
                         others: tuple[np.ndarray, np.ndarray] | None = None, label: str = "",
                         progress: Callable[[int, int], None] | None = None) -> Path:
    """Write ``out`` (.mp4) = ``video`` with several performers drawn, each in its colour with its name.

    Args:
        people: ``(name, colour, xy (F, J, 2), conf (F, J), reprojected (F, J, 2) or None)`` per performer.
        others: candidates given to nobody, ``xy (F, P, J, 2)`` and ``conf (F, P, J)`` (drawn grey), or None.
    """

    def draw(img: np.ndarray, i: int) -> None:
        if others is not None and i < len(others[0]):
            for xy, conf in zip(*(o[i] for o in others)):
                draw_frame(img, xy, edges, UNASSIGNED, conf=conf, radius=3)
        for name, colour, xy, conf, reprojected in people:
            if i >= len(xy):
                continue
            if reprojected is not None:
                draw_frame(img, reprojected[i], edges, tuple(c // 2 for c in colour), radius=2)
            draw_frame(img, xy[i], edges, colour, conf=conf[i])
            draw_label(img, np.where((conf[i] >= 0.3)[:, None], xy[i], np.nan), name, colour)

    return write_overlay(video, out, draw, label, progress)


def _overlay_job(video, out, xy, conf, edges, reprojected, label, progress=None):
    return overlay_video(video, out, xy, conf, edges, reprojected, label, progress)


def overlay_views(videos, keypoints: Keypoints2D, out_paths, reprojected=None, *,
                  progress: Callable[[int, int, int], None] | None = None) -> list[Path]:
    """Write one overlay video per camera (cameras in parallel processes).

    Args:
        videos: ``C`` source videos, in the keypoints' camera order.
        keypoints: the take's 2D keypoints (green).
        out_paths: ``C`` output ``.mp4`` paths.
        reprojected: ``C`` arrays ``(F, J, 2)`` of 3D points projected into each video (magenta), or None.
    """
    edges = drawing_edges(keypoints.joint_names, keypoints.keypoint_set)
    reprojected = reprojected if reprojected is not None else [None] * keypoints.n_cameras
    jobs = [(videos[c], out_paths[c], keypoints.xy[c], keypoints.conf[c], edges, reprojected[c], name)
            for c, name in enumerate(keypoints.camera_names)]
    return map_cameras(_overlay_job, jobs, progress=progress)


def _people_job(video, out, people, edges, others, label, progress=None):
    return overlay_people_video(video, out, people, edges, others, label, progress)


def overlay_people_views(videos, performers, out_paths, reprojected=None, others=None, *,
                         progress: Callable[[int, int, int], None] | None = None) -> list[Path]:
    """One overlay video per camera of a take with several performers (cameras in parallel processes).

    Args:
        videos: ``C`` source videos, in the keypoints' camera order.
        performers: ``(name, Keypoints2D)`` per performer (all with the same cameras).
        out_paths: ``C`` output ``.mp4`` paths.
        reprojected: per performer, ``C`` arrays ``(F, J, 2)`` of its 3D points in each video, or None.
        others: per camera, the candidates given to nobody ``(xy (F, P, J, 2), conf (F, P, J))``, or None.
    """
    first = performers[0][1]
    edges = drawing_edges(first.joint_names, first.keypoint_set)
    jobs = []
    for c, cam in enumerate(first.camera_names):
        people = [(name, performer_colour(k), kp.xy[c], kp.conf[c],
                   reprojected[k][c] if reprojected is not None and reprojected[k] is not None else None)
                  for k, (name, kp) in enumerate(performers)]
        jobs.append((videos[c], out_paths[c], people, edges, others[c] if others is not None else None, cam))
    return map_cameras(_people_job, jobs, progress=progress)
