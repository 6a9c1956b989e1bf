"""Small offscreen renderers for the report's previews: a virtual camera framing the performer, a
z-buffer flat-shaded triangle rasterizer, stick figures, and GIF encoding. Pure numpy + OpenCV.

Images are ``(H, W, 3)`` uint8 RGB.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

UP = np.array([0.0, 0.0, 1.0])
BACKGROUND = (246, 246, 246)
LEFT, RIGHT, CENTRE = (33, 102, 172), (214, 47, 39), (90, 90, 90)


@dataclass(frozen=True)
class ViewCamera:
    """A pinhole camera for previews: ``uv = f * (x / z, y / z) + c`` with ``x_cam = R @ X + t``.

    Attributes:
        R: ``(3, 3)`` world-to-camera rotation.
        t: ``(3,)`` world-to-camera translation.
        focal: focal length in pixels.
        centre: ``(2,)`` principal point.
        size: ``(width, height)``.
    """

    R: np.ndarray
    t: np.ndarray
    focal: float
    centre: np.ndarray
    size: tuple[int, int]

    def to_camera(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, float) @ self.R.T + self.t

    def project(self, X: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world -> ``(..., 2)`` pixels; NaN behind the camera."""
        Xc = self.to_camera(X)
        z = np.where(Xc[..., 2] > 1e-6, Xc[..., 2], np.nan)
        return self.focal * Xc[..., :2] / z[..., None] + self.centre


def facing_direction(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Unit horizontal direction the performer faces, from left/right joints ``(F, 3)`` (median over
    frames); +Y when unknown."""
    across = np.nanmedian(np.asarray(left, float) - np.asarray(right, float), axis=0)
    forward = np.cross(across, UP) if np.isfinite(across).all() else np.array([0.0, 1.0, 0.0])
    forward[2] = 0.0
    n = np.linalg.norm(forward)
    return forward / n if n > 1e-9 else np.array([0.0, 1.0, 0.0])


def frame_view(points: np.ndarray, forward: np.ndarray, *, size: int = 320, azimuth_deg: float = 35.0,
               elevation_deg: float = 12.0, margin: float = 0.88) -> ViewCamera:
    """A camera in front of the performer, ``azimuth_deg`` to their left, slightly above, framing every
    finite point of ``points (..., 3)`` with ``margin`` of the image."""
    from mocap.camera import look_at

    pts = np.asarray(points, float).reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        pts = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.8]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    target = 0.5 * (lo + hi)
    radius = max(0.5 * float(np.linalg.norm(hi - lo)), 0.5)
    a, e = np.radians(azimuth_deg), np.radians(elevation_deg)
    side = np.cross(UP, forward)  # the performer's left
    direction = np.cos(e) * (np.cos(a) * forward + np.sin(a) * side) + np.sin(e) * UP
    R, t = look_at(target + 3.0 * radius * direction, target)
    Xc = pts @ R.T + t
    uv = Xc[:, :2] / Xc[:, 2:]
    span = max(float(np.ptp(uv[:, 0])), float(np.ptp(uv[:, 1])), 1e-6)
    focal = margin * size / span
    centre = size / 2 - focal * 0.5 * (uv.min(axis=0) + uv.max(axis=0))
    return ViewCamera(R, t, focal, centre, (size, size))


def blank(view: ViewCamera) -> np.ndarray:
    w, h = view.size
    return np.full((h, w, 3), BACKGROUND, np.uint8)


def draw_floor(img: np.ndarray, view: ViewCamera, centre_xy: np.ndarray, half: float = 1.5,
               step: float = 0.5) -> None:
    """Grey grid lines on the floor (z = 0) around ``centre_xy``."""
    import cv2

    c = np.round(np.asarray(centre_xy, float) / step) * step
    ticks = np.arange(-half, half + 1e-9, step)
    for k in ticks:
        for a, b in (((c[0] + k, c[1] - half), (c[0] + k, c[1] + half)),
                     ((c[0] - half, c[1] + k), (c[0] + half, c[1] + k))):
            uv = view.project(np.array([[a[0], a[1], 0.0], [b[0], b[1], 0.0]]))
            if np.isfinite(uv).all():
                cv2.line(img, _pt(uv[0]), _pt(uv[1]), (205, 205, 205), 1, cv2.LINE_AA)


def _pt(uv) -> tuple[int, int]:
    return int(round(float(uv[0]))), int(round(float(uv[1])))


def draw_skeleton(img: np.ndarray, view: ViewCamera, xyz: np.ndarray, edges: np.ndarray,
                  sides: list[str]) -> None:
    """Bones (left blue, right red, middle grey) and joints of one frame ``xyz (J, 3)``."""
    import cv2

    colour = {"left": LEFT, "right": RIGHT}
    uv = view.project(xyz)
    for a, b in np.asarray(edges, int).reshape(-1, 2):
        if np.isfinite(uv[[a, b]]).all():
            side = sides[b] if sides[b] != "centre" else sides[a]
            cv2.line(img, _pt(uv[a]), _pt(uv[b]), colour.get(side, CENTRE), 3, cv2.LINE_AA)
    for j in np.flatnonzero(np.isfinite(uv).all(axis=1)):
        cv2.circle(img, _pt(uv[j]), 3, colour.get(sides[j], CENTRE), -1, cv2.LINE_AA)


def side_of(name: str) -> str:
    """``"left"``, ``"right"`` or ``"centre"`` from a joint name (``left_knee``, ``LKnee``, ``l_hip``)."""
    low = name.lower()
    if low.startswith(("left", "l_")) or "_left" in low or (len(name) > 1 and name[0] == "L" and name[1].isupper()):
        return "left"
    if low.startswith(("right", "r_")) or "_right" in low or (len(name) > 1 and name[0] == "R" and name[1].isupper()):
        return "right"
    return "centre"


# --------------------------------------------------------------------------------------- rasterizer


def rasterize(view: ViewCamera, vertices: np.ndarray, faces: np.ndarray, img: np.ndarray | None = None,
              colour=(200, 170, 150), *, cull_back: bool = False) -> np.ndarray:
    """Render a triangle mesh ``vertices (V, 3)`` (world), ``faces (T, 3)`` with a z-buffer and flat
    shading (light from the camera); returns the image (drawn into ``img`` when given). With
    ``cull_back`` (for closed meshes) faces turned away from the camera are skipped: about twice as fast.

    Vectorized: triangles are grouped by the size of their pixel bounding box, and every candidate
    pixel of a group is tested at once (barycentric coordinates), so a 20k-triangle body at 320x320
    takes a few tens of milliseconds.
    """
    img = blank(view) if img is None else img
    h, w = img.shape[:2]
    Xc = view.to_camera(vertices)
    faces = np.asarray(faces, np.int64)
    tri_c = Xc[faces]  # (T, 3, 3)
    normal = np.cross(tri_c[:, 1] - tri_c[:, 0], tri_c[:, 2] - tri_c[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    to_eye = -tri_c.mean(axis=1)
    to_eye /= np.maximum(np.linalg.norm(to_eye, axis=1, keepdims=True), 1e-12)
    facing = (normal * to_eye).sum(axis=1)
    keep = (tri_c[..., 2] > 1e-3).all(axis=1)
    if cull_back:  # a closed mesh: drop faces turned away (winding from the sign of the enclosed volume)
        outward = np.sign(np.einsum("ti,ti->t", tri_c[:, 0], np.cross(tri_c[:, 1], tri_c[:, 2])).sum()) or 1.0
        keep &= outward * facing > 0
    tri_c, facing = tri_c[keep], facing[keep]
    uv = view.focal * tri_c[..., :2] / tri_c[..., 2:] + view.centre  # (T, 3, 2)
    depth = tri_c[..., 2]
    shade = 0.3 + 0.7 * np.abs(facing)
    tri_rgb = np.clip(shade[:, None] * np.asarray(colour, float), 0, 255).astype(np.uint8)

    lo = np.floor(uv.min(axis=1)).astype(np.int64)
    hi = np.ceil(uv.max(axis=1)).astype(np.int64)
    visible = (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] < w) & (lo[:, 1] < h)
    extent = (hi - lo).max(axis=1) + 1
    zbuf = np.full(h * w, np.inf)
    cand_idx, cand_depth, cand_tri = [], [], []
    prev = 0
    for s in (2, 4, 8, 16, 32, 64, 128, 256, 512):
        group = np.flatnonzero(visible & (extent > prev) & (extent <= s))
        prev = s
        step = max(1, 2_000_000 // (s * s))  # bounded memory per batch
        for start in range(0, len(group), step):
            part = group[start:start + step]
            idx, z, tri = _cover(uv[part], depth[part], lo[part], s, w, h)
            cand_idx.append(idx)
            cand_depth.append(z)
            cand_tri.append(part[tri])
    if not cand_idx:
        return img
    idx, z, tri = np.concatenate(cand_idx), np.concatenate(cand_depth), np.concatenate(cand_tri)
    np.minimum.at(zbuf, idx, z)
    win = z <= zbuf[idx]
    flat = img.reshape(-1, 3)
    flat[idx[win]] = tri_rgb[tri[win]]
    return img


def _cover(uv: np.ndarray, depth: np.ndarray, lo: np.ndarray, s: int, w: int, h: int):
    """Pixels (flat index), depths and triangle numbers of every pixel centre inside triangles
    ``uv (T, 3, 2)`` whose bounding box starting at ``lo (T, 2)`` fits in ``s x s`` pixels."""
    oy, ox = np.mgrid[0:s, 0:s].astype(np.float32)
    px = lo[:, 0, None, None].astype(np.float32) + ox  # (T, s, s)
    py = lo[:, 1, None, None].astype(np.float32) + oy
    a, b, c = uv[:, 0], uv[:, 1], uv[:, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    area = np.where(np.abs(area) < 1e-12, np.nan, area)
    weights = []
    for p, q in ((b, c), (c, a), (a, b)):  # barycentric weight = signed area of (p, q, pixel) / area
        A = (-(q[:, 1] - p[:, 1]) / area).astype(np.float32)[:, None, None]
        B = ((q[:, 0] - p[:, 0]) / area).astype(np.float32)[:, None, None]
        C = (((q[:, 1] - p[:, 1]) * p[:, 0] - (q[:, 0] - p[:, 0]) * p[:, 1]) / area).astype(np.float32)
        weights.append(A * px + B * py + C[:, None, None])
    w0, w1, w2 = weights
    inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0) & (px >= 0) & (py >= 0) & (px < w) & (py < h)
    t, iy, ix = np.nonzero(inside)
    z = w0[t, iy, ix] * depth[t, 0] + w1[t, iy, ix] * depth[t, 1] + w2[t, iy, ix] * depth[t, 2]
    return (py[t, iy, ix] * w + px[t, iy, ix]).astype(np.int64), z, t


# ---------------------------------------------------------------------------------------- encoding


def encode_gif(frames: list[np.ndarray], fps: float) -> bytes | None:
    """An endlessly looping GIF of RGB ``frames``; ``None`` when Pillow is not installed."""
    try:
        from PIL import Image
    except ImportError:
        return None
    # one palette for all frames (from a few frames side by side): quicker than one per frame, no flicker
    sample = np.concatenate([frames[i] for i in np.linspace(0, len(frames) - 1, min(4, len(frames))).astype(int)])
    palette = Image.fromarray(sample).quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(round(1000 / fps)), loop=0, optimize=True, disposal=1)
    return buf.getvalue()


def filmstrip_png(frames: list[np.ndarray], count: int = 6) -> bytes:
    """Up to ``count`` frames side by side as one PNG (the fallback when no GIF writer exists)."""
    import cv2

    pick = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    strip = np.concatenate([frames[i] for i in pick], axis=1)
    ok, data = cv2.imencode(".png", strip[..., ::-1])
    return data.tobytes()
