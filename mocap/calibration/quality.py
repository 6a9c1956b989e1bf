"""Calibration quality: reprojection errors, metric square length, coverage, connectivity; the gate."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mocap.calibration.board import CharucoBoard
from mocap.calibration.config import QualityThresholds
from mocap.calibration.select import coverage
from mocap.camera import CameraRig
from mocap.multiview import triangulate_dlt


@dataclass(frozen=True)
class CameraQuality:
    name: str
    reprojection_mean_px: float
    reprojection_p95_px: float
    observations: int
    outliers: int
    coverage: float
    shared_frames: int
    views: int


@dataclass(frozen=True, eq=False)
class CalibrationQuality:
    """The calibration's quality figures and the gate's verdict.

    Attributes:
        cameras: per-camera figures, in rig order.
        square_error_mean_mm / square_error_std_mm: triangulated board square length minus the true
            length, over all adjacent corner pairs seen by 2+ cameras.
        square_pairs: number of corner pairs measured.
        coverage_maps: ``(C, rows, cols)`` corner counts per image cell.
        shared: ``(C, C)`` frames in which both cameras saw the board.
        failures: one message per failed threshold (empty = passed).
        warnings: problems worth knowing that do not fail the gate (e.g. low coverage).
        world: how the world frame was chosen.
    """

    cameras: tuple[CameraQuality, ...]
    square_error_mean_mm: float
    square_error_std_mm: float
    square_pairs: int
    coverage_maps: np.ndarray
    shared: np.ndarray
    failures: tuple[str, ...]
    world: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "failures": list(self.failures),
            "warnings": list(self.warnings),
            "square_error_mean_mm": self.square_error_mean_mm,
            "square_error_std_mm": self.square_error_std_mm,
            "square_pairs": self.square_pairs,
            "world": self.world,
            "cameras": [vars(c) for c in self.cameras],
            "shared_frames": self.shared.tolist(),
        }


def square_length_errors(rig: CameraRig, corners: np.ndarray, board: CharucoBoard) -> np.ndarray:
    """Triangulate board corners ``(C, F, N, 2)`` and return adjacent-corner distance errors (m)."""
    pts = triangulate_dlt(rig, corners)  # (F, N, 3)
    pairs = board.adjacent_pairs()
    d = np.linalg.norm(pts[:, pairs[:, 0]] - pts[:, pairs[:, 1]], axis=-1)
    d = d[np.isfinite(d)]
    return d - board.square_length


def assess(
    rig: CameraRig,
    board: CharucoBoard,
    corners: np.ndarray,
    usable: np.ndarray,
    obs_cam: np.ndarray,
    residuals: np.ndarray,
    inliers: np.ndarray,
    thresholds: QualityThresholds,
    world: dict | None = None,
) -> CalibrationQuality:
    """Compute every quality figure and check them against ``thresholds``.

    Args:
        corners: ``(C, F, N, 2)`` all detections (model pixels).
        usable: ``(C, F)`` views good enough to use.
        obs_cam, residuals, inliers: bundle-adjustment observations' camera, ``(M, 2)`` residual
            and inlier flag.
    """
    err = np.linalg.norm(residuals, axis=1)
    shared = (usable[:, None, :] & usable[None, :, :]).sum(axis=-1)
    multi = usable.sum(axis=0) >= 2
    maps, cams, failures, warnings = [], [], [], []
    th = thresholds
    for c, cam in enumerate(rig.cameras):
        e = err[(obs_cam == c) & inliers]
        cov, hist = coverage(corners[c], cam.size)
        maps.append(hist)
        q = CameraQuality(
            name=cam.name,
            reprojection_mean_px=float(e.mean()) if len(e) else float("nan"),
            reprojection_p95_px=float(np.percentile(e, 95)) if len(e) else float("nan"),
            observations=int(len(e)),
            outliers=int(((obs_cam == c) & ~inliers).sum()),
            coverage=cov,
            shared_frames=int((usable[c] & multi).sum()),
            views=int(usable[c].sum()),
        )
        cams.append(q)
        n = cam.name
        if not len(e) or not q.reprojection_mean_px <= th.max_reprojection_mean_px:
            failures.append(f"camera {n}: mean reprojection error {q.reprojection_mean_px:.2f} px > "
                            f"{th.max_reprojection_mean_px} px. Check that this camera is in focus, not moved "
                            "during the take, and that its lens model is right (fisheye for wide lenses).")
        elif not q.reprojection_p95_px <= th.max_reprojection_p95_px:
            failures.append(f"camera {n}: 95th-percentile reprojection error {q.reprojection_p95_px:.2f} px > "
                            f"{th.max_reprojection_p95_px} px. Motion blur or rolling shutter: move the board "
                            "more slowly and light the scene better.")
        if cov < th.min_coverage:
            warnings.append(f"camera {n}: the board covered only {cov:.0%} of the image (< {th.min_coverage:.0%}); "
                            "lens distortion near the edges is extrapolated. Next time move the board into the "
                            "corners and edges of this camera's view.")
        if q.shared_frames < th.min_shared_frames:
            failures.append(f"camera {n}: only {q.shared_frames} frames shared with other cameras "
                            f"(< {th.min_shared_frames}). Hold the board where this camera and its neighbours "
                            "see it at the same time.")
    sq = square_length_errors(rig, corners, board) * 1000.0
    sq_mean = float(sq.mean()) if len(sq) else float("nan")
    sq_std = float(sq.std()) if len(sq) else float("nan")
    if not len(sq):
        failures.append("no board corner was seen by two cameras at once, so the metric scale cannot be checked")
    elif not abs(sq_mean) <= th.max_square_error_mm or not sq_std <= th.max_square_std_mm:
        failures.append(f"board square length measured {sq_mean:+.2f} ± {sq_std:.2f} mm against the true "
                        f"{board.square_length * 1000:.1f} mm (limits ±{th.max_square_error_mm} mm, "
                        f"std {th.max_square_std_mm} mm). Measure a printed square and fix square_length in the "
                        "board file; make sure the board is flat and rigid.")
    return CalibrationQuality(tuple(cams), sq_mean, sq_std, int(len(sq)), np.stack(maps), shared,
                              tuple(failures), dict(world or {}), tuple(warnings))
