"""The report's short animated preview of a take: the fitted body mesh when the open body model and its
posing function are installed, else a stick figure of the body's joints or of the 3D keypoints."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from mocap.report.page import Image
from mocap.report.render import (
    ViewCamera,
    blank,
    draw_floor,
    draw_skeleton,
    encode_gif,
    facing_direction,
    filmstrip_png,
    frame_view,
    rasterize,
    side_of,
)

log = logging.getLogger(__name__)

BODY_MODEL_FILE: Path | None = None
"""A body model file for the mesh preview; ``None``: the model the body was fitted with (the shipped
open model, or the licensed SMPL-X file from ``$MOCAP_SMPLX_PATH``) when it is installed."""
PREVIEW_FRAMES = 30
"""Frames in a preview, spread evenly over the take."""
PREVIEW_FPS = 10.0
"""Playback rate of the preview (30 frames at 10 fps: a 3 s loop)."""
PREVIEW_SIZE = 320
"""Width and height of the preview in pixels."""


def preview_frames(n_frames: int, count: int = PREVIEW_FRAMES) -> np.ndarray:
    """Indices of ``count`` frames spread evenly over a take of ``n_frames``."""
    return np.unique(np.linspace(0, n_frames - 1, min(count, n_frames)).round().astype(int))


def _animation(frames: list[np.ndarray], name: str, caption: str) -> Image:
    gif = encode_gif(frames, PREVIEW_FPS)
    if gif is not None:
        return Image(f"{name}.gif", gif, caption)
    return Image(f"{name}.png", filmstrip_png(frames), caption + " (frames side by side: Pillow is not installed)")


def _view(xyz: np.ndarray, names, keypoint_set: str | None = None) -> ViewCamera:
    from mocap.report.joints import joint_track

    left = joint_track(xyz, names, "left_hip", keypoint_set)
    right = joint_track(xyz, names, "right_hip", keypoint_set)
    forward = facing_direction(left, right) if left is not None and right is not None else np.array([0.0, 1, 0])
    return frame_view(xyz, forward, size=PREVIEW_SIZE)


def stick_figure_frames(xyz: np.ndarray, names, edges: np.ndarray, keypoint_set: str | None = None) -> list[np.ndarray]:
    """Stick-figure images of ``xyz (F, J, 3)`` (every frame given) from a front-3/4 view."""
    view = _view(xyz, names, keypoint_set)
    centre = np.nanmedian(xyz.reshape(-1, 3), axis=0)[:2] if np.isfinite(xyz).any() else np.zeros(2)
    sides = [side_of(n) for n in names]
    frames = []
    for f in range(len(xyz)):
        img = blank(view)
        draw_floor(img, view, centre)
        draw_skeleton(img, view, xyz[f], edges, sides)
        frames.append(img)
    return frames


def points_preview(xyz: np.ndarray, names, keypoint_set: str | None) -> Image | None:
    """A stick-figure animation of triangulated points ``xyz (F, J, 3)``."""
    from mocap.keypoints2d.sets import drawing_edges

    if not np.isfinite(xyz).any():
        return None
    idx = preview_frames(len(xyz))
    frames = stick_figure_frames(xyz[idx], list(names), drawing_edges(names, keypoint_set), keypoint_set)
    return _animation(frames, "preview_points3d", f"3D keypoints, {len(idx)} frames spread over the take")


def body_preview(body) -> Image:
    """The fitted :class:`~mocap.body.motion.BodyMotion`: mesh when possible, else stick figure."""
    idx = preview_frames(body.n_frames)
    mesh = _mesh_frames(body, idx)
    if mesh is not None:
        return _animation(mesh, "preview_body", f"Fitted body mesh, {len(idx)} frames spread over the take")
    from mocap.body import skeleton

    n = skeleton.NUM_JOINTS if body.has_hands else skeleton.NUM_BODY_JOINTS + 1
    xyz = body.joint_positions()[idx, :n]
    parents = np.array(skeleton.PARENTS[:n])
    edges = np.stack([parents[1:], np.arange(1, n)], axis=1)
    frames = stick_figure_frames(xyz, skeleton.JOINT_NAMES[:n], edges)
    return _animation(frames, "preview_body", f"Fitted body skeleton, {len(idx)} frames spread over the take "
                                              "(no body model mesh installed)")


def _body_model(body) -> dict | None:
    """The arrays of the body model ``body`` was fitted with, or ``None`` when it is not installed."""
    from mocap.bodymodels import load_model_arrays, resolve_model_path
    from mocap.errors import InputError

    path = BODY_MODEL_FILE
    if path is None:
        try:
            path, _ = resolve_model_path("open" if body.model == "open_smplx" else "smplx")
        except InputError as exc:
            log.info("no mesh in the preview: %s", exc.problem)
            return None
    if not Path(path).is_file():
        return None
    return load_model_arrays(path)


def _mesh_frames(body, idx: np.ndarray) -> list[np.ndarray] | None:
    """Mesh renders posed by ``mocap.body.lbs.pose_vertices``, or ``None`` when the body model is missing
    (or posing fails, which is logged)."""
    from mocap.body.lbs import pose_vertices

    model = _body_model(body)
    if model is None:
        return None
    try:
        faces = np.asarray(model["f"] if "f" in model else model["faces"], np.int64)
        posed = pose_vertices(model, body.betas, body.full_pose()[idx], body.transl[idx])
        verts = np.asarray(posed[0] if isinstance(posed, tuple) else posed, float)  # (vertices, joints)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("could not pose the body model for the preview (%s); drawing the skeleton instead", exc)
        return None
    verts = verts.reshape(len(idx), -1, 3)
    joints = body.joint_positions()[idx]
    from mocap.body import skeleton

    sample = verts[:, :: max(1, verts.shape[1] // 300)]
    view = _view(np.concatenate([joints, sample], axis=1), list(skeleton.JOINT_NAMES) + ["v"] * sample.shape[1])
    centre = np.median(joints[:, 0, :2], axis=0)
    frames = []
    for f in range(len(idx)):
        img = blank(view)
        draw_floor(img, view, centre)
        frames.append(rasterize(view, verts[f], faces, img, cull_back=True))
    return frames
