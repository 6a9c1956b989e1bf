"""Choose calibration frames for coverage and pose diversity instead of using every frame."""

from __future__ import annotations

import numpy as np

from mocap.calibration.board import CharucoBoard


def usable_views(corners: np.ndarray, board: CharucoBoard, min_corners: int = 6) -> np.ndarray:
    """``(..., N, 2)`` corners -> ``(...)`` bool: enough corners, spread over >= 2 rows and columns.

    Collinear corners (one row of the board) do not constrain a pose or a homography.
    """
    found = np.isfinite(corners[..., 0])
    nx = board.squares_x - 1
    cols = np.arange(board.n_corners) % nx
    rows = np.arange(board.n_corners) // nx
    n_cols = np.zeros(found.shape[:-1], int)
    n_rows = np.zeros(found.shape[:-1], int)
    for c in range(nx):
        n_cols += found[..., cols == c].any(axis=-1)
    for r in range(board.squares_y - 1):
        n_rows += found[..., rows == r].any(axis=-1)
    return (found.sum(axis=-1) >= min_corners) & (n_cols >= 2) & (n_rows >= 2)


def view_features(corners: np.ndarray, board: CharucoBoard, size: tuple[int, int]) -> np.ndarray:
    """Describe each view of the board by where it is and how it is tilted.

    Args:
        corners: ``(F, N, 2)`` pixels, NaN missing; every frame must be usable.
        size: image ``(width, height)``.

    Returns:
        ``(F, 5)``: centroid x and y (fractions of the image), log apparent size, and the two
        perspective terms of the board-to-image homography (tilt), scaled by the board size.
    """
    import cv2

    w, h = size
    obj = board.corners_3d[:, :2]
    extent = max(board.size_m)
    feats = np.zeros((len(corners), 5))
    for i, c in enumerate(corners):
        ok = np.isfinite(c[:, 0])
        H, _ = cv2.findHomography(obj[ok], c[ok].astype(np.float64))
        if H is None:
            H = np.eye(3)
        H = H / H[2, 2]
        pts = c[ok]
        area = np.prod(pts.max(0) - pts.min(0)) / (w * h)
        feats[i] = [pts[:, 0].mean() / w, pts[:, 1].mean() / h, 0.5 * np.log(max(area, 1e-6)),
                    H[2, 0] * extent, H[2, 1] * extent]
    return feats


def farthest_point_sample(features: np.ndarray, k: int, first: int = 0) -> np.ndarray:
    """Pick ``k`` rows of ``features (F, D)`` that are spread out (greedy farthest-point order)."""
    n = len(features)
    if n <= k:
        return np.arange(n)
    scale = features.std(axis=0)
    f = features / np.where(scale > 1e-12, scale, 1.0)
    chosen = [first]
    dist = np.linalg.norm(f - f[first], axis=1)
    for _ in range(k - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(f - f[nxt], axis=1))
    return np.sort(np.array(chosen))


def select_intrinsic_frames(
    corners: np.ndarray, board: CharucoBoard, size: tuple[int, int], *, max_frames: int = 40, min_corners: int = 6
) -> np.ndarray:
    """Frame indices (into ``corners (F, N, 2)``) for one camera's intrinsic calibration.

    Frames are spread over image position, apparent size and tilt, starting from the view with the
    most corners.
    """
    usable = np.flatnonzero(usable_views(corners, board, min_corners))
    if len(usable) <= max_frames:
        return usable
    counts = np.isfinite(corners[usable, :, 0]).sum(axis=1)
    feats = view_features(corners[usable], board, size)
    pick = farthest_point_sample(feats, max_frames, first=int(np.argmax(counts)))
    return usable[pick]


def select_joint_frames(usable: np.ndarray, *, max_frames: int = 200, min_pair_frames: int = 30) -> np.ndarray:
    """Frames for bundle adjustment from ``usable (C, F)`` bool (camera sees the board well).

    Keeps every frame seen by two or more cameras when there are few; otherwise an even subsample,
    plus every frame that links a pair of cameras with few shared views (so weakly connected
    cameras keep all their links).
    """
    multi = np.flatnonzero(usable.sum(axis=0) >= 2)
    if len(multi) <= max_frames:
        return multi
    keep = set(multi[np.linspace(0, len(multi) - 1, max_frames).round().astype(int)].tolist())
    n_cams = usable.shape[0]
    for i in range(n_cams):
        for j in range(i + 1, n_cams):
            shared = np.flatnonzero(usable[i] & usable[j])
            if 0 < len(shared) <= min_pair_frames:
                keep.update(shared.tolist())
    return np.array(sorted(keep))


def coverage(corners: np.ndarray, size: tuple[int, int], grid: tuple[int, int] = (8, 6)) -> tuple[float, np.ndarray]:
    """Fraction of image cells that contain at least one detected corner, and the count per cell.

    Args:
        corners: ``(F, N, 2)`` pixels for one camera.
        grid: ``(columns, rows)`` of the cell grid.

    Returns:
        ``(fraction, counts (rows, columns))``.
    """
    pts = corners.reshape(-1, 2)
    pts = pts[np.isfinite(pts[:, 0])]
    gx, gy = grid
    w, h = size
    hist, _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=[gy, gx], range=[[0, h], [0, w]])
    return float((hist > 0).mean()), hist
