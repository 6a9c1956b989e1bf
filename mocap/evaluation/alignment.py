"""Frame alignment: the time shift (in frames, below one frame) that best matches 2D keypoints with a reference.

* :func:`frame_lag`: one camera's keypoints against reference positions in the same pixels (the true
  projections of a rendered take, or the 3D reprojected).
* :func:`camera_lags`: every camera of a take against the 3D triangulated from the *other* cameras (its own
  view left out, so that a late camera cannot pull the reference towards itself). A lag that is not 0 points
  to that camera's timing (a dropped or repeated frame at the start, another frame rate, a sync error).

Sign: ``observed[f]`` matches ``reference[f - lag]``; a positive lag means the camera's frames are late
(its frame ``f`` shows what the reference shows at ``f - lag``), as ``GroundTruth.time_offsets * fps``.
"""

from __future__ import annotations

import numpy as np

from mocap.camera import CameraRig
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.triangulation.robust import TriangulateConfig, triangulate_views

OUTLIER_FACTOR = 5.0
"""Keypoints farther from the reference than this many times the median distance (at the best shift) are left
out: a wrong detection is far at every shift and says nothing about timing."""


MIN_CONTRAST = 0.05
"""Lags whose costs differ by less than this share of the least are not told apart (the person hardly moves)."""


def lag_costs(observed: np.ndarray, reference: np.ndarray, max_lag: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Squared distances between ``observed (F, J, 2)`` and ``reference (F, J, 2)`` shifted by every whole lag in
    ``-max_lag..max_lag``, summed per frame: ``(lags (L,), costs (L, F'))`` (``F' = F - 2 max_lag`` frames, 0 where
    a frame has nothing to compare).

    Every lag is scored on the same keypoints (valid at every shift, minus the far outliers), so the costs are
    comparable."""
    obs, ref = np.asarray(observed, float), np.asarray(reference, float)
    lags = np.arange(-max_lag, max_lag + 1)
    n = obs.shape[0]
    if n <= 2 * max_lag:
        return lags, np.zeros((len(lags), 0))
    core = obs[max_lag:n - max_lag]
    d2 = np.stack([((core - ref[max_lag - lag:n - max_lag - lag]) ** 2).sum(-1) for lag in lags])  # (L, F', J)
    ok = np.isfinite(d2).all(axis=0)
    if ok.any():
        nearest = np.sqrt(np.where(ok, d2.min(axis=0), np.nan))
        ok &= nearest <= OUTLIER_FACTOR * np.nanmedian(nearest)
    return lags, np.where(ok, d2, 0.0).sum(axis=-1)


def _parabola_min(lags: np.ndarray, costs: np.ndarray) -> float:
    """Sub-sample position of the least of ``costs (L,)``: a parabola through the least and its neighbours; NaN
    when the costs hardly differ (nothing moves more than the noise)."""
    if not costs.max() - costs.min() > MIN_CONTRAST * costs.min():
        return float("nan")
    i = int(np.argmin(costs))
    if i in (0, len(lags) - 1):
        return float(lags[i])
    left, mid, right = costs[i - 1], costs[i], costs[i + 1]
    curvature = left - 2 * mid + right
    if not curvature > 1e-12 * max(mid, 1e-12):
        return float("nan")
    return float(lags[i] + 0.5 * (left - right) / curvature)


def frame_lag(observed: np.ndarray, reference: np.ndarray, max_lag: int = 3, blocks: int = 10
              ) -> tuple[float, float]:
    """The shift (frames, sub-frame) that best aligns ``observed (F, J, 2)`` with ``reference (F, J, 2)``, and its
    standard error: ``(lag, stderr)``.

    The lag is the whole lag of least squared distance refined by a parabola through it and its neighbours; the
    standard error is a jackknife over ``blocks`` stretches of frames, so a person who hardly moves gives a large
    one. ``(±max_lag, inf)`` when the least is at the end of the range searched (the lag may be larger);
    ``(nan, nan)`` when nothing overlaps or the cost is flat."""
    lags, per_frame = lag_costs(observed, reference, max_lag)
    if not per_frame.any():
        return float("nan"), float("nan")
    lag = _parabola_min(lags, per_frame.sum(axis=1))
    if abs(lag) >= max_lag:
        return lag, float("inf")
    edges = np.linspace(0, per_frame.shape[1], min(blocks, per_frame.shape[1]) + 1).astype(int)
    if len(edges) < 3 or not np.isfinite(lag):
        return lag, float("nan")
    total = per_frame.sum(axis=1)
    left_out = np.array([_parabola_min(lags, total - per_frame[:, a:b].sum(axis=1)) for a, b in zip(edges[:-1],
                                                                                                     edges[1:])])
    k = len(left_out)
    stderr = float(np.sqrt((k - 1) / k * ((left_out - left_out.mean()) ** 2).sum()))
    return lag, stderr


def camera_lags(rig: CameraRig, keypoints: Keypoints2D, config: TriangulateConfig = TriangulateConfig(), *,
                max_lag: int = 3, max_frames: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """``(lags (C,), stderr (C,))``: the best lag (frames, sub-frame: :func:`frame_lag`) between each camera's 2D
    keypoints and the 3D triangulated from the other cameras, reprojected into it, and its standard error; NaN
    with fewer than three cameras. With four or more, the others are measured again without the camera most out of
    step (which would otherwise pull their reference). At most ``max_frames`` frames from the middle of the take
    are used."""
    rig = rig.subset(keypoints.camera_names)
    n_cams = keypoints.n_cameras
    out, err = np.full(n_cams, np.nan), np.full(n_cams, np.nan)
    if n_cams < 3:
        return out, err
    a = max(0, (keypoints.n_frames - max_frames) // 2)
    b = min(keypoints.n_frames, a + max_frames)
    px = np.stack([cam.from_video_pixels(keypoints.xy[c, a:b]) for c, cam in enumerate(rig.cameras)])
    conf = np.nan_to_num(keypoints.conf[:, a:b])

    def lag_of(c: int, others: list[int]) -> tuple[float, float]:
        xyz, _, _ = triangulate_views(rig.subset([rig.names[k] for k in others]), px[others], conf[others], config)
        observed = np.where((conf[c] >= config.min_confidence)[..., None], px[c], np.nan)
        return frame_lag(observed, rig[c].project(xyz), max_lag)

    for c in range(n_cams):
        out[c], err[c] = lag_of(c, [k for k in range(n_cams) if k != c])
    if n_cams >= 4 and np.isfinite(out).any():  # the others again, without the camera most out of step
        worst = int(np.nanargmax(np.abs(out)))
        for c in range(n_cams):
            if c != worst:
                out[c], err[c] = lag_of(c, [k for k in range(n_cams) if k not in (c, worst)])
    return out, err


__all__ = ["camera_lags", "frame_lag", "lag_costs"]
