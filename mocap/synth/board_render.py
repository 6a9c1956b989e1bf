"""Render a ChArUco board seen by virtual cameras with lens distortion (OpenCV warps, no GPU).

Each output pixel is traced back through the camera model (undistort -> ray -> board plane) and
the board texture is sampled there, so lens distortion and perspective are exact; 2x supersampling
keeps small, distant boards free of aliasing. Used for known-answer calibration tests and for the
calibration take of the shipped sample session.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from mocap.calibration.board import CharucoBoard
from mocap.camera import Camera


@dataclass(frozen=True, eq=False)
class _RayGrid:
    """Undistorted normalized coordinates of every (supersampled) pixel: ``(H*s, W*s, 2)``."""

    xy: np.ndarray
    supersample: int


def ray_grid(camera: Camera, supersample: int = 2) -> _RayGrid:
    w, h = camera.size
    s = supersample
    u = (np.arange(w * s) + 0.5) / s - 0.5
    v = (np.arange(h * s) + 0.5) / s - 0.5
    uu, vv = np.meshgrid(u, v)
    pts = np.stack([uu, vv], axis=-1).reshape(-1, 2)
    xy = camera.undistort_points(pts).reshape(h * s, w * s, 2).astype(np.float32)
    return _RayGrid(xy, s)


class BoardRenderer:
    """Renders ``board`` into ``camera`` images for given board poses.

    A board pose is ``(R_wb, t_wb)``: board coordinates (metres, z = 0 on the printed face, the face
    pointing towards -z) to world.
    """

    def __init__(self, board: CharucoBoard, px_per_square: int = 80, seed: int = 0):
        self.board = board
        self.px_per_m = px_per_square / board.square_length
        margin = int(round(0.25 * px_per_square))
        texture = board.render(px_per_square=px_per_square, margin_squares=0.0)
        border = 255 if not board.inverted else 0
        self.texture = np.pad(texture, margin, constant_values=border).astype(np.float32)
        self.margin = margin
        self.rng = np.random.default_rng(seed)
        self._grids: dict[tuple, _RayGrid] = {}

    def background(self, camera: Camera) -> np.ndarray:
        """A smooth grey background with some texture (deterministic per camera name)."""
        import cv2

        w, h = camera.size
        rng = np.random.default_rng(zlib.crc32(camera.name.encode()))  # same background every run
        noise = cv2.resize(rng.uniform(90, 150, (h // 40 + 2, w // 40 + 2)).astype(np.float32), (w, h),
                           interpolation=cv2.INTER_CUBIC)
        return noise

    def _roi(self, camera: Camera, R_wb, t_wb):
        """Pixel box ``(x0, y0, x1, y1)`` that can contain the board, or None if it is out of view."""
        w_m = self.texture.shape[1] / self.px_per_m
        h_m = self.texture.shape[0] / self.px_per_m
        m = self.margin / self.px_per_m
        u = np.linspace(-m, w_m - m, 9)
        v = np.linspace(-m, h_m - m, 9)
        edge = np.concatenate([np.stack([u, np.full(9, v[0])], 1), np.stack([u, np.full(9, v[-1])], 1),
                               np.stack([np.full(9, u[0]), v], 1), np.stack([np.full(9, u[-1]), v], 1)])
        pts = np.column_stack([edge, np.zeros(len(edge))]) @ R_wb.T + t_wb
        width, height = camera.size
        if (camera.world_to_camera(pts)[:, 2] <= 0.05).any():
            return 0, 0, width, height
        px = camera.project(pts)
        if not np.isfinite(px).all():
            return 0, 0, width, height
        x0, y0 = np.floor(px.min(axis=0)).astype(int) - 4
        x1, y1 = np.ceil(px.max(axis=0)).astype(int) + 4
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        return x0, y0, x1, y1

    def render(self, camera: Camera, R_wb: np.ndarray, t_wb: np.ndarray, *, noise_sigma: float = 2.0,
               background: np.ndarray | None = None) -> np.ndarray:
        """Grayscale ``(H, W)`` uint8 image of the board at pose ``(R_wb, t_wb)`` seen by ``camera``."""
        import cv2

        key = (camera.name, camera.size, camera.model, camera.K.tobytes(), camera.dist.tobytes())
        grid = self._grids.get(key)
        if grid is None:
            grid = self._grids[key] = ray_grid(camera)
        bg = self.background(camera) if background is None else background.astype(np.float32)
        out = bg.copy()
        # board -> camera
        R_cb = camera.R @ R_wb
        t_cb = camera.R @ t_wb + camera.t
        # Only the printed face is visible: the camera must be on the board's -z side.
        roi = self._roi(camera, R_wb, t_wb) if (R_cb[:, 2] @ t_cb) > 0 else None
        if roi is not None:
            x0, y0, x1, y1 = roi
            s = grid.supersample
            xy = grid.xy[y0 * s : y1 * s, x0 * s : x1 * s]
            H = np.column_stack([R_cb[:, 0], R_cb[:, 1], t_cb])  # normalized ~ H [u, v, 1]
            Hinv = np.linalg.inv(H)
            num = xy @ Hinv[:, :2].T + Hinv[:, 2]
            w = num[..., 2]
            with np.errstate(divide="ignore", invalid="ignore"):
                bu = num[..., 0] / w
                bv = num[..., 1] / w
            valid = (w > 0) & np.isfinite(bu)
            # Texture pixel j covers board [j, j+1) / px_per_m, so board u sits at u * px_per_m - 0.5.
            mapx = np.where(valid, bu * self.px_per_m + self.margin - 0.5, -1e4).astype(np.float32)
            mapy = np.where(valid, bv * self.px_per_m + self.margin - 0.5, -1e4).astype(np.float32)
            big = cv2.remap(self.texture, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=-1)
            size = (x1 - x0, y1 - y0)
            img = cv2.resize(np.where(big >= 0, big, 0), size, interpolation=cv2.INTER_AREA)
            cover = cv2.resize((big >= 0).astype(np.float32), size, interpolation=cv2.INTER_AREA)
            # Dim the board a little so it is not perfectly black/white, then blend over the background.
            img = 25 + 0.85 * img / np.maximum(cover, 1e-6)
            out[y0:y1, x0:x1] = cover * img + (1 - cover) * out[y0:y1, x0:x1]
        if noise_sigma > 0:
            out = out + self.rng.normal(0, noise_sigma, out.shape)
        return np.clip(out, 0, 255).astype(np.uint8)
