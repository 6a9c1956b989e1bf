"""Per-camera intrinsics (K and distortion) from ChArUco views, pinhole or fisheye."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from mocap.calibration.board import CharucoBoard
from mocap.errors import MocapError

log = logging.getLogger(__name__)


def _pinhole_models():
    import cv2

    return {
        "k1": (1, cv2.CALIB_FIX_K2 | cv2.CALIB_FIX_K3 | cv2.CALIB_ZERO_TANGENT_DIST),
        "k1k2": (2, cv2.CALIB_FIX_K3 | cv2.CALIB_ZERO_TANGENT_DIST),
        "k1k2p1p2": (4, cv2.CALIB_FIX_K3),
        "k1k2k3": (5, cv2.CALIB_ZERO_TANGENT_DIST),  # radial only; p1 = p2 = 0 stay fixed
        "full": (5, 0),
    }


PINHOLE_DISTORTION = _pinhole_models()
FIXED_COEFFICIENTS = {"k1k2k3": (2, 3)}
"""Distortion coefficients held at zero in bundle adjustment, per model (indices into dist)."""


@dataclass(frozen=True, eq=False)
class Intrinsics:
    """Result of one camera's intrinsic calibration.

    Attributes:
        K: ``(3, 3)``.
        dist: pinhole ``(5,)`` (k1, k2, p1, p2, k3) or fisheye ``(4,)``.
        rms: RMS reprojection error over the frames used, pixels.
        frames: indices of the frames used.
    """

    K: np.ndarray
    dist: np.ndarray
    rms: float
    frames: np.ndarray
    model: str


def _point_lists(corners: np.ndarray, board: CharucoBoard):
    obj_all = board.corners_3d.astype(np.float32)
    objs, imgs = [], []
    for c in corners:
        ok = np.isfinite(c[:, 0])
        objs.append(obj_all[ok].reshape(-1, 1, 3))
        imgs.append(c[ok].astype(np.float32).reshape(-1, 1, 2))
    return objs, imgs


def calibrate_intrinsics(
    corners: np.ndarray,
    frames: np.ndarray,
    board: CharucoBoard,
    size: tuple[int, int],
    *,
    model: str = "pinhole",
    camera_name: str = "camera",
    distortion: str = "full",
) -> Intrinsics:
    """Calibrate one camera from ``corners (F, N, 2)`` restricted to ``frames``.

    ``distortion`` (pinhole only) is one of ``PINHOLE_DISTORTION``: which coefficients are fitted;
    the returned ``dist`` has just those (OpenCV order, trailing zeros dropped).

    Raises ``MocapError`` naming the camera when there are too few usable views.
    """
    import cv2

    if len(frames) < 4:
        raise MocapError(
            f"camera {camera_name}: only {len(frames)} usable board views for intrinsics (need at least 4, "
            "ideally 20+)",
            fix="record the board closer to this camera, filling different parts of the image and tilted "
            "in several directions; check the board definition matches the printed board",
        )
    objs, imgs = _point_lists(corners[frames], board)
    if model == "fisheye":
        return _calibrate_fisheye(objs, imgs, np.asarray(frames), size, camera_name)
    n_coeffs, flags = PINHOLE_DISTORTION[distortion]
    rms, K, dist, _, _ = cv2.calibrateCamera(objs, imgs, size, None, None, flags=flags)
    return Intrinsics(K, dist.ravel()[:n_coeffs], float(rms), np.asarray(frames), "pinhole")


def choose_distortion(coverage_fraction: float) -> str:
    """Distortion model for ``distortion = "auto"``: radial terms only (tangential terms trade off
    against the principal point and cost 0.1-0.2 degrees of camera rotation on synthetic takes), and
    k3 only when the board covered most of the image (fitted on the centre alone it goes wild at the
    edges)."""
    if coverage_fraction < 0.7:
        return "k1k2"
    return "k1k2k3"


def _calibrate_fisheye(objs, imgs, frames, size, camera_name) -> Intrinsics:
    import cv2

    # Start from a pinhole fit (robust), then let the fisheye model take over.
    _, K0, _, _, _ = cv2.calibrateCamera(objs, imgs, size, None, None,
                                          flags=cv2.CALIB_FIX_K3 | cv2.CALIB_ZERO_TANGENT_DIST)
    objs = [o.reshape(1, -1, 3).astype(np.float64) for o in objs]
    imgs = [i.reshape(1, -1, 2).astype(np.float64) for i in imgs]
    keep = list(range(len(objs)))
    flags = (cv2.fisheye.CALIB_RECOMPUTE_EXTRINSIC | cv2.fisheye.CALIB_FIX_SKEW | cv2.fisheye.CALIB_CHECK_COND
             | cv2.fisheye.CALIB_USE_INTRINSIC_GUESS)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-9)
    while len(keep) >= 4:
        try:
            rms, K, D, _, _ = cv2.fisheye.calibrate(
                [objs[i] for i in keep], [imgs[i] for i in keep], size, K0.copy(), np.zeros((4, 1)),
                flags=flags, criteria=crit,
            )
            return Intrinsics(K, D.ravel(), float(rms), frames[keep], "fisheye")
        except cv2.error as exc:
            # "CALIB_CHECK_COND - Ill-conditioned matrix for input array 12": drop that view, retry.
            m = re.search(r"input array (\d+)", str(exc))
            if not m:
                raise
            bad = keep[int(m.group(1))]
            log.debug("fisheye calibration of %s: dropping ill-conditioned view %d", camera_name, bad)
            keep.remove(bad)
    raise MocapError(
        f"camera {camera_name}: fisheye calibration failed (too few well-conditioned views)",
        fix="record more views of the board across the whole image, or try model = 'pinhole'",
    )
