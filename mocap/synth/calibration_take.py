"""A synthetic calibration take with known answers: virtual cameras, a moving board, the floor pose.

The board is carried through the capture volume facing different cameras, then laid on the floor
(printed face up, ChArUco corner 0 on the world origin, board x along world X) for the last frames,
so the world frame that calibration recovers is exactly the true one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mocap.calibration.board import CharucoBoard
from mocap.camera import Camera, CameraRig, look_at
from mocap.io.atomic import atomic_path, write_text


def ring_rig(
    n_cameras: int = 4,
    *,
    size: tuple[int, int] = (640, 480),
    radius: float = 3.2,
    heights: Sequence[float] = (2.0, 1.6, 2.2, 1.8, 2.1, 1.7, 2.3, 1.9),
    focal: float = 560.0,
    target: Sequence[float] = (0.0, 0.0, 0.9),
    distortion: Sequence[float] = (-0.12, 0.03, 0.0005, -0.0003, 0.0),
    fisheye: Sequence[int] = (),
    seed: int = 0,
) -> CameraRig:
    """Cameras on a ring around the origin (Z-up world, metres) looking at ``target``."""
    rng = np.random.default_rng(seed)
    cams = []
    for k in range(n_cameras):
        a = 2 * np.pi * k / n_cameras + np.pi / 4
        center = np.array([radius * np.cos(a), radius * np.sin(a), heights[k % len(heights)]])
        R, t = look_at(center, np.asarray(target, float) + rng.normal(0, 0.05, 3))
        f = focal * (1 + 0.05 * rng.normal())
        K = np.array([[f, 0, size[0] / 2 - 0.5 + rng.normal(0, 4)], [0, f * (1 + 0.002 * rng.normal()),
                      size[1] / 2 - 0.5 + rng.normal(0, 4)], [0, 0, 1]])
        if k in fisheye:
            cams.append(Camera(f"cam{k}", size, K, [0.02, -0.01, 0.003, 0.0], R, t, model="fisheye"))
        else:
            d = np.asarray(distortion, float) * (1 + 0.2 * rng.normal(size=len(distortion)))
            cams.append(Camera(f"cam{k}", size, K, d, R, t))
    return CameraRig(tuple(cams), {"tool": "mocap synth (ground truth)"})


def _board_axes(normal: np.ndarray, roll: float) -> np.ndarray:
    """Board-to-world rotation whose printed face points along ``normal`` (unit), rolled by ``roll``."""
    bz = -normal
    ref = np.array([0.0, 0.0, 1.0]) if abs(normal[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    bx = np.cross(ref, bz)
    bx /= np.linalg.norm(bx)
    by = np.cross(bz, bx)
    c, s = np.cos(roll), np.sin(roll)
    bx, by = c * bx + s * by, -s * bx + c * by
    return np.column_stack([bx, by, bz])


def _facing(center: np.ndarray, toward: np.ndarray, board: CharucoBoard, tilt_x: float, tilt_y: float,
            roll: float):
    """Pose whose board centre is ``center``, face turned towards ``toward`` then tilted/rolled."""
    n = toward - center
    n /= np.linalg.norm(n)
    R = _board_axes(n, roll)
    rx = np.array([[1, 0, 0], [0, np.cos(tilt_x), -np.sin(tilt_x)], [0, np.sin(tilt_x), np.cos(tilt_x)]])
    ry = np.array([[np.cos(tilt_y), 0, np.sin(tilt_y)], [0, 1, 0], [-np.sin(tilt_y), 0, np.cos(tilt_y)]])
    R = R @ rx @ ry
    half = np.array([board.size_m[0] / 2, board.size_m[1] / 2, 0.0])
    return R, center - R @ half


def board_trajectory(board: CharucoBoard, rig: CameraRig, *, n_per_camera: int = 30, n_per_pair: int = 20,
                     n_floor: int = 12, seed: int = 0):
    """Board-to-world poses ``R (F, 3, 3)``, ``t (F, 3)`` the way a person calibrates:

    1. in front of each camera in turn, swept over its whole image and tilted (intrinsics),
    2. between each pair of neighbouring cameras, facing both (extrinsics),
    3. lying still on the floor, face up, ChArUco corner 0 on the origin (world frame).
    """
    rng = np.random.default_rng(seed)
    Rs, ts = [], []
    tilt = np.radians(40)
    for cam in rig.cameras:
        w, h = cam.size
        for k in range(n_per_camera):
            # a ray through a point spread over the image, at a distance that fills 30-60 % of it
            u, v = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
            ray = cam.R.T @ np.linalg.solve(cam.K, [u, v, 1.0])
            ray /= np.linalg.norm(ray)
            dist = rng.uniform(1.3, 2.4) * board.size_m[0] / 0.77
            center = cam.center + dist * ray
            R, t = _facing(center, cam.center, board, rng.uniform(-tilt, tilt), rng.uniform(-tilt, tilt),
                           rng.uniform(-0.4, 0.4))
            Rs.append(R)
            ts.append(t)
    n_cams = len(rig)
    for i in range(n_cams):
        for j in ([i + 1] if n_cams > 2 else [1]) if i + 1 < n_cams or n_cams > 2 else []:
            j %= n_cams
            ci, cj = rig[i].center, rig[j].center
            for _ in range(n_per_pair):
                center = np.array([*rng.uniform(-0.6, 0.6, 2), rng.uniform(0.6, 1.6)])
                di = (ci - center) / np.linalg.norm(ci - center)
                dj = (cj - center) / np.linalg.norm(cj - center)
                R, t = _facing(center, center + di + dj, board, rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3),
                               rng.uniform(-0.5, 0.5))
                Rs.append(R)
                ts.append(t)
    # On the floor: face up, board x = world X, corner 0 (at (sq, sq) on the board) on the origin.
    R_floor = np.column_stack([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])
    sq = board.square_length
    t_floor = -R_floor @ np.array([sq, sq, 0.0])
    for _ in range(n_floor):
        Rs.append(R_floor)
        ts.append(t_floor)
    return np.stack(Rs), np.stack(ts)


def render_calibration_take(rig: CameraRig, board: CharucoBoard, board_R: np.ndarray, board_t: np.ndarray,
                            *, mirrored: Sequence[str] = (), noise_sigma: float = 2.0, seed: int = 0):
    """Yield ``(frame_index, [image per camera])`` grayscale uint8, mirrored cameras flipped."""
    import cv2

    from mocap.synth.board_render import BoardRenderer

    renderer = BoardRenderer(board, seed=seed)
    backgrounds = [renderer.background(cam) for cam in rig.cameras]
    for f in range(len(board_t)):
        imgs = []
        for cam, bg in zip(rig.cameras, backgrounds):
            img = renderer.render(cam, board_R[f], board_t[f], noise_sigma=noise_sigma, background=bg)
            imgs.append(cv2.flip(img, 1) if cam.name in mirrored else img)
        yield f, imgs


def write_video(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    """Write grayscale frames as a video (MJPG for .avi, MPEG-4 part 2 for .mp4), atomically."""
    import cv2

    h, w = frames[0].shape[:2]
    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if path.suffix.lower() == ".avi" else "mp4v"))
    with atomic_path(path) as tmp:
        writer = cv2.VideoWriter(str(tmp), fourcc, fps, (w, h), isColor=True)
        if not writer.isOpened():
            raise RuntimeError(f"OpenCV cannot write {path.suffix} video here")
        if path.suffix.lower() == ".avi":
            writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
        for img in frames:
            writer.write(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img)
        writer.release()
    return path


def write_calibration_session(
    out_dir: str | Path,
    board: CharucoBoard,
    rig: CameraRig | None = None,
    *,
    n_per_camera: int = 30,
    n_per_pair: int = 20,
    n_floor: int = 12,
    mirrored: Sequence[str] = (),
    video_suffix: str = ".avi",
    fps: float = 30.0,
    seed: int = 0,
    board_ref: str | None = None,
) -> Path:
    """Write a complete session folder with a rendered calibration take and its ground truth.

    Layout: ``session.toml``, ``calibration/<cam><suffix>``, ``ground_truth/camera_rig.toml``,
    ``ground_truth/board_poses.npz``. Returns the session folder.
    """
    from mocap.io.atomic import write_npz
    from mocap.io.tomlio import dumps_toml

    out = Path(out_dir)
    rig = rig or ring_rig(seed=seed)
    R, t = board_trajectory(board, rig, n_per_camera=n_per_camera, n_per_pair=n_per_pair, n_floor=n_floor,
                            seed=seed)
    per_cam: list[list[np.ndarray]] = [[] for _ in rig.cameras]
    for _, imgs in render_calibration_take(rig, board, R, t, mirrored=mirrored, seed=seed):
        for c, img in enumerate(imgs):
            per_cam[c].append(img)
    for cam, frames in zip(rig.cameras, per_cam):
        write_video(out / "calibration" / f"{cam.name}{video_suffix}", frames, fps)
    truth = CameraRig(tuple(c.replace(mirrored=c.name in mirrored) for c in rig.cameras), rig.metadata)
    truth.save(out / "ground_truth" / "camera_rig.toml")
    write_npz(out / "ground_truth" / "board_poses.npz", R=R, t=t, floor_frames=np.arange(len(t) - n_floor, len(t)))
    session = {
        "schema_version": 1,
        "name": out.name,
        "board": board_ref or board.name,
        "output_dir": "output",
        "cameras": [{"name": c.name, "model": c.model, "mirrored": "auto"} for c in rig.cameras],
        "calibration": {"videos": f"calibration/{{camera}}{video_suffix}"},
    }
    write_text(out / "session.toml", "# Synthetic session written by mocap.synth (ground truth in ground_truth/)\n"
               + dumps_toml(session))
    return out
