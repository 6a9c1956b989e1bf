"""Motion sync: camera time offsets and drift from the 2D keypoints themselves.

1. **Coarse** (whole take, lags up to ``max_lag`` seconds): every camera's keypoint speed signal
   (per joint, the image velocity along the world's up direction, pixels/s, which looks alike in
   every upright camera; normalized per camera and joint) is put on a fine common grid of local
   time and cross-correlated with every other camera's, all joints pooled (:func:`masked_ncc`:
   missing frames do not count). Per pair, up to three correlation peaks are kept and the one whose
   two-view triangulation reprojects best wins (periodic motions such as walking have several
   peaks); offsets are chained from the reference along the best-correlated pairs (a camera that
   shares little time with the reference is timed through one that shares more).
2. **Sub-frame refinement**: every camera's 2D tracks, low-passed without lag (10 Hz: detector
   jitter out), are read at sample times by Catmull-Rom interpolation at continuous (fractional)
   frames of each camera's own clock, all cameras are
   triangulated (DLT) and the robust reprojection error is minimised over the offsets (a scan per
   camera, then all offsets together by robust least squares).
3. **Drift** (takes longer than ``drift_min_span``): the refinement is repeated in windows along
   the take; a line through the windows' offsets gives offset and drift per camera; a last
   refinement of the offsets with the drift applied follows.
4. **Uncertainty and whole frames**: each offset's standard error comes from refining again
   without each sixth of the take in turn (jackknife, ``offset_std_s`` in sync.toml); when every
   camera lands within a tenth of a frame of whole frames, the rig is frame-synchronized and the
   offsets are taken as those whole frames.

Works with mixed frame rates (each camera is read at its own clock). When a camera (or the
reference) does not move enough for any of this, :func:`motion_sync` raises ``MocapError``
naming the camera and the two ways out: a clap (audio sync) or a hand-set ``time_offset``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import MocapError
from mocap.sync.clock import CameraClock, TakeSync, sync_fix
from mocap.sync.curves import Correlation, DriftWindows, SyncCurves
from mocap.sync.resample import interpolate_frames
from mocap.sync.signals import interpolate_cubic, masked_ncc, parabolic_peak, peak_candidates, prominence_confidence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MotionSyncConfig:
    """Settings of motion sync (one place for the defaults)."""

    max_lag: float = 5.0
    """Largest offset searched between a camera and the reference, seconds."""
    grid_rate: float | None = None
    """Rate of the common grid for the coarse correlation (default: 2x the fastest camera), Hz."""
    min_score: float = 0.2
    """Lowest accepted peak correlation of the speed signals (0-1)."""
    static_px: float = 4.0
    """A camera whose keypoints move less than this (median p5-p95 range, pixels, beyond noise) is static."""
    min_conf: float = 0.3
    """Keypoints below this confidence are treated as missing."""
    track_cutoff_hz: float = 10.0
    """Before the sub-frame refinement every camera's tracks go through a zero-phase low-pass at this
    frequency, Hz (body motion lies below it, detector jitter mostly above; 0: off)."""
    robust_px: float = 5.0
    """Scale of the Cauchy loss on reprojection residuals, pixels."""
    max_residual_px: float = 10.0
    """After sync, a camera reprojecting worse than this (and 3x worse than the others) on points
    triangulated without it is an error, pixels."""
    max_samples: int = 400
    """At most this many reference frames are triangulated per cost evaluation."""
    estimate_drift: bool = True
    """Estimate clock drift from windows along the take (when it is long enough)."""
    drift_min_span: float = 60.0
    """Shortest shared span, seconds, for which drift is estimated."""
    window: float = 20.0
    """Target window length for the drift estimate, seconds."""
    jackknife_blocks: int = 6
    """The offsets' standard errors (``offset_std_s`` in sync.toml) come from refining them again without
    each of this many stretches of the take in turn (delete-a-block jackknife; below 3: not estimated)."""
    snap_frames: float = 0.1
    """When every camera's offset is within this fraction of a whole frame, all are taken as whole frames (a
    frame-synchronized rig; 0: never): the detector's own temporal smoothing leaves biases of about 0.05 frame
    between views (0.01-0.05 frame on the synchronized sample session), which 2D keypoints cannot tell from
    offsets."""


@dataclass(frozen=True, eq=False)
class MotionSyncResult:
    """What motion sync found.

    Attributes:
        sync: the clocks, relative to the first camera (``method = "motion"``).
        coarse_offsets: ``(C,)`` seconds, the whole-take correlation estimate (before refinement).
        scores: ``(C,)`` peak speed correlation of each camera with the reference (1 for it).
        residual_px: robust RMS reprojection residual at the solution, pixels.
        window_times: ``(W,)`` reference times of the drift windows' centres (empty: no drift estimate).
        window_offsets: ``(W, C)`` offsets found in each window, seconds.
        curves: the speed correlation of each camera with the camera it was timed through, and the
            drift windows.
    """

    sync: TakeSync
    coarse_offsets: np.ndarray
    scores: np.ndarray
    residual_px: float
    window_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    window_offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    curves: SyncCurves = field(default_factory=SyncCurves)


# --------------------------------------------------------------------------------------------------
# Coarse: speed signals
# --------------------------------------------------------------------------------------------------


def up_directions(rig: CameraRig, min_norm: float = 0.3) -> np.ndarray:
    """``(C, 2)`` unit direction of the world's up (+Z) in each camera's image (video pixels, y
    down); NaN for a camera looking nearly straight up or down (up is then not a direction)."""
    out = np.full((len(rig), 2), np.nan)
    for c, cam in enumerate(rig):
        d = cam.R[:2, 2].copy()  # world +Z in camera x/y (image y points down)
        if cam.mirrored:
            d[0] = -d[0]
        nrm = np.linalg.norm(d)
        if nrm >= min_norm:
            out[c] = d / nrm
    return out


def keypoint_velocity(xy: np.ndarray, fps: float, up: np.ndarray | None = None, conf: np.ndarray | None = None,
                      *, min_conf: float = 0.3) -> np.ndarray:
    """Per-joint image velocity along ``up``, pixels/s (central differences).

    Args:
        xy: ``(F, J, 2)`` video pixels, NaN where missing.
        fps: the camera's frame rate.
        up: ``(2,)`` unit image direction of world up (:func:`up_directions`): vertical velocities
            look alike in every upright camera. None or NaN: the 2D speed magnitude instead.
        conf: ``(F, J)`` confidence; below ``min_conf`` counts as missing.

    Returns:
        ``(F, J)`` velocities, NaN where a neighbouring frame is missing (and at both ends).
    """
    xy = np.asarray(xy, float)
    ok = np.isfinite(xy).all(-1)
    if conf is not None:
        ok &= np.asarray(conf) >= min_conf
    p = np.where(ok[..., None], xy, np.nan)
    out = np.full(xy.shape[:2], np.nan)
    if len(xy) >= 3:
        v = (p[2:] - p[:-2]) * (fps / 2.0)
        out[1:-1] = np.linalg.norm(v, axis=-1) if up is None or not np.isfinite(up).all() else v @ np.asarray(up)
    return out


def normalize_columns(s: np.ndarray) -> np.ndarray:
    """Each column of ``s (F, K)`` to zero mean and unit deviation (NaN kept; all-NaN columns stay)."""
    with np.errstate(invalid="ignore"), _quiet():
        sd = np.nanstd(s, axis=0)
        return (s - np.nanmean(s, axis=0)) / np.where(sd > 0, sd, 1.0)


def on_grid(signal: np.ndarray, fps: float, rate: float) -> np.ndarray:
    """A per-frame signal ``(F, ...)`` read at local times ``k / rate`` (linear, NaN-aware)."""
    n = int(np.floor((len(signal) - 1) * rate / fps + 1e-9)) + 1 if len(signal) else 0
    return interpolate_frames(signal, np.arange(n) * fps / rate)


def motion_extent(xy: np.ndarray) -> tuple[float, float]:
    """How much keypoints move, and the noise level, in pixels: the median over joints of the
    p5-p95 range of their coordinates, and a noise estimate from second differences."""
    xy = np.asarray(xy, float)
    with np.errstate(invalid="ignore"), _quiet():
        rng = np.nanpercentile(xy, 95, axis=0) - np.nanpercentile(xy, 5, axis=0)  # (J, 2)
        extent = float(np.nanmedian(np.nanmax(rng, axis=-1)))
        d2 = xy[2:] - 2 * xy[1:-1] + xy[:-2]
        noise = float(np.nanmedian(np.abs(d2)) / 0.6745 / np.sqrt(6)) if np.isfinite(d2).any() else 0.0
    return (extent if np.isfinite(extent) else 0.0), noise


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


def coarse_candidates(ref: np.ndarray, sig: np.ndarray, rate: float, max_lag: float,
                      k: int = 3) -> tuple[list[float], float, float, tuple[np.ndarray, np.ndarray]]:
    """Candidate offsets (seconds, best correlation first) of a signal against the reference's,
    both on grids of ``rate`` Hz starting at each camera's frame 0; with the best peak's
    correlation, its prominence-based confidence and the curve ``(offsets (L,) seconds, ncc (L,))``."""
    per_channel = lambda x: np.isfinite(x).sum() / (x.shape[1] if x.ndim == 2 else 1)  # noqa: E731
    min_overlap = int(max(1.0 * rate, 0.25 * min(per_channel(ref), per_channel(sig))))
    lags, ncc = masked_ncc(ref, sig, int(np.ceil(max_lag * rate)), min_overlap)
    curve = (lags / rate, ncc)
    if not np.isfinite(ncc).any():
        return [], 0.0, 0.0, curve
    sep = max(int(0.15 * rate), 2)
    picks = peak_candidates(ncc, sep, k)
    cands = []
    for i in picks:
        pos, _ = parabolic_peak(ncc, i)
        cands.append(float(np.interp(pos, np.arange(len(lags)), lags)) / rate)
    best = picks[0]
    return cands, float(ncc[best]), prominence_confidence(ncc, best, sep), curve


# --------------------------------------------------------------------------------------------------
# Refinement: reprojection error over continuous offsets
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Views:
    """Per camera, undistorted normalized observations and weights, plus the rig's geometry."""

    rig: CameraRig
    nrm: tuple[np.ndarray, ...]  # (F_c, J, 2)
    w: tuple[np.ndarray, ...]  # (F_c, J)
    focal: np.ndarray  # (C,)


def _views(rig: CameraRig, xy: Sequence[np.ndarray], conf: Sequence[np.ndarray | None], min_conf: float,
           fps: Sequence[float] | None = None, cutoff_hz: float = 0.0) -> _Views:
    nrm, w = [], []
    for k, (cam, x, c) in enumerate(zip(rig, xy, conf)):
        x = np.asarray(x, float)
        ok = np.isfinite(x).all(-1)
        cc = np.ones(x.shape[:2]) if c is None else np.asarray(c, float)
        ok &= cc >= min_conf
        n = cam.undistort_points(cam.from_video_pixels(np.where(ok[..., None], x, np.nan)))
        if cutoff_hz > 0 and fps is not None:
            n = lowpass(n, fps[k], cutoff_hz)
        nrm.append(n)
        w.append(np.where(ok, cc, np.nan))
    focal = np.array([0.5 * (cam.K[0, 0] + cam.K[1, 1]) for cam in rig])
    return _Views(rig, tuple(nrm), tuple(w), focal)


def lowpass(values: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase (forward-backward, 2nd order) low-pass of ``values (F, ...)`` over time, each run of
    frames without NaN on its own: keypoint jitter goes, the timing of the motion stays (no lag)."""
    from scipy.signal import butter, sosfiltfilt

    if not 0 < cutoff_hz < 0.5 * fps:
        return values
    sos = butter(2, cutoff_hz, fs=fps, output="sos")
    flat = values.reshape(len(values), -1)
    out = flat.copy()
    for k in range(flat.shape[1]):
        ok = np.isfinite(flat[:, k])
        edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
        for a, b in zip(edges[::2], edges[1::2]):
            if b - a > 12:  # shorter runs keep their samples
                out[a:b, k] = sosfiltfilt(sos, flat[a:b, k], padlen=min(9, b - a - 1))
    return out.reshape(values.shape)


def _observe(views: _Views, c: int, clock: CameraClock, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frames = clock.frame_at(times)
    obs = interpolate_cubic(views.nrm[c], frames)
    w = interpolate_frames(views.w[c], frames)
    bad = ~np.isfinite(obs).all(-1) | ~np.isfinite(w)
    obs[bad] = np.nan
    return obs, np.where(bad, 0.0, w)


def _normal_equations(P: np.ndarray, obs: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One camera's share of the weighted DLT normal equations for every point.

    ``P (3, 4)`` is ``[R | t]``, ``obs (M, 2)`` normalized coordinates, ``w (M,)`` weights (0: not
    seen). Returns ``H (M, 3, 3)`` and ``g (M, 3)``; the points solve ``sum_c H X = -sum_c g``.
    """
    o = np.nan_to_num(obs)
    rows = o[:, :, None] * P[2][None, None, :] - P[None, :2, :]  # (M, 2, 4)
    rows = rows * w[:, None, None]
    a = rows[..., :3]
    x, y = a[:, 0], a[:, 1]
    H = x[:, :, None] * x[:, None, :] + y[:, :, None] * y[:, None, :]
    g = x * rows[:, 0, 3:4] + y * rows[:, 1, 3:4]
    return H, g


def _solve3(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Batched ``H X = -g`` for ``H (M, 3, 3)`` by cofactors; NaN where ``H`` is singular."""
    a, b, c = H[:, 0, 0], H[:, 0, 1], H[:, 0, 2]
    d, e, f = H[:, 1, 0], H[:, 1, 1], H[:, 1, 2]
    p, q, r = H[:, 2, 0], H[:, 2, 1], H[:, 2, 2]
    A, B, C = e * r - f * q, -(d * r - f * p), d * q - e * p
    det = a * A + b * B + c * C
    inv = np.stack([
        np.stack([A, -(b * r - c * q), b * f - c * e], -1),
        np.stack([B, a * r - c * p, -(a * f - c * d)], -1),
        np.stack([C, -(a * q - b * p), a * e - b * d], -1),
    ], 1)
    scale = np.abs(H).reshape(len(H), -1).max(1) ** 3
    with np.errstate(invalid="ignore", divide="ignore"):
        X = -(inv * g[:, None, :]).sum(-1) / det[:, None]
    X[~(np.abs(det) > 1e-12 * scale)] = np.nan
    return X


class _Problem:
    """Triangulate-and-reproject cost over a fixed set of reference times, with each camera's
    observations replaceable (only the changed camera's share of the normal equations is redone)."""

    def __init__(self, views: _Views, clocks: Sequence[CameraClock], times: np.ndarray, robust_px: float,
                 valid: np.ndarray | None = None):
        """``valid (C, 2)``: per camera, the take times outside which it is never read (fixed, so
        that a camera's recording edges do not move in and out of the cost as its offset changes)."""
        self.views, self.times, self.robust_px = views, times, robust_px
        n = len(clocks)
        self.valid = np.tile([-np.inf, np.inf], (n, 1)) if valid is None else np.asarray(valid, float)
        self.P = np.stack([np.hstack([c.R, c.t[:, None]]) for c in views.rig])
        self.obs: list = [None] * n
        self.w: list = [None] * n
        self.H: list = [None] * n
        self.g: list = [None] * n
        self.clocks: list = [None] * n
        for c in range(n):
            self.set_clock(c, clocks[c])

    def set_clock(self, c: int, clock: CameraClock) -> None:
        if clock == self.clocks[c]:
            return
        self.clocks[c] = clock
        obs, w = _observe(self.views, c, clock, self.times)
        outside = (self.times < self.valid[c, 0]) | (self.times > self.valid[c, 1])
        obs[outside], w[outside] = np.nan, 0.0
        self.obs[c], self.w[c] = obs.reshape(-1, 2), w.reshape(-1)
        self.H[c], self.g[c] = _normal_equations(self.P[c], self.obs[c], self.w[c])

    def _reprojection(self) -> tuple[np.ndarray, np.ndarray]:
        """Residuals ``(C, M, 2)`` in pixels (NaN where not observed) and weights ``(C, M)``."""
        W = np.stack(self.w)  # (C, M)
        X = _solve3(sum(self.H), sum(self.g))
        X[(W > 0).sum(0) < 2] = np.nan
        xc = np.stack([X @ P[:, :3].T + P[:, 3] for P in self.P])  # (C, M, 3)
        with np.errstate(invalid="ignore", divide="ignore"):
            proj = xc[..., :2] / xc[..., 2:3]
        return (proj - np.stack(self.obs)) * self.views.focal[:, None, None], W

    def cost(self) -> float:
        """Mean Cauchy loss (pixels^2) of the reprojection residuals (weights: confidences)."""
        res, W = self._reprojection()
        r2 = (res**2).sum(-1)
        ok = np.isfinite(r2) & (W > 0)
        if not ok.any():
            return float("inf")
        s2 = self.robust_px**2
        return float(np.average(s2 * np.log1p(r2[ok] / s2), weights=W[ok]))

    def camera_rms(self) -> np.ndarray:
        """``(C,)`` robust RMS reprojection residual per camera (1.4826 x median absolute), pixels."""
        res, W = self._reprojection()
        r = np.sqrt((res**2).sum(-1))
        out = np.full(len(r), np.nan)
        for c in range(len(r)):
            ok = np.isfinite(r[c]) & (W[c] > 0)
            if ok.any():
                out[c] = 1.4826 * np.median(r[c][ok]) / np.sqrt(2)  # per coordinate
        return out

    def leave_one_out_rms(self) -> np.ndarray:
        """``(C,)`` robust RMS residual of each camera against points triangulated without it."""
        out = np.full(len(self.H), np.nan)
        for c in range(len(self.H)):
            saved = self.H[c], self.g[c], self.w[c]
            self.H[c], self.g[c] = np.zeros_like(saved[0]), np.zeros_like(saved[1])
            self.w[c] = np.zeros_like(saved[2])
            res, W = self._reprojection()
            self.H[c], self.g[c], self.w[c] = saved
            r = np.sqrt((res[c] ** 2).sum(-1))
            ok = np.isfinite(r) & (saved[2] > 0) & ((W > 0).sum(0) >= 2)
            if ok.any():
                out[c] = 1.4826 * np.median(r[ok]) / np.sqrt(2)
        return out

    def residuals(self) -> np.ndarray:
        """Weighted residuals as one vector of fixed length (0 where not observed), pixels."""
        res, W = self._reprojection()
        res = res * np.sqrt(W)[..., None]
        return np.where(np.isfinite(res), res, 0.0).reshape(-1)


def _shared_span(spans: np.ndarray, margin: float) -> tuple[float, float]:
    """The take-time interval ``(lo, hi)`` all ``spans (C, 2)`` cover, shrunk by ``margin``."""
    return float(spans[:, 0].max() + margin), float(spans[:, 1].min() - margin)


def _sample_times(lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` sorted times in ``[lo, hi]``, one at a random place in each of ``n`` equal bins.

    Not on any camera's frame grid: every camera is then read at all fractions of its frame
    interval alike, so the interpolation's effect on the noise does not depend on the offset
    (on a frame grid it would pull the estimate towards half-frame offsets)."""
    if not hi > lo or n < 1:
        return np.zeros(0)
    u = (np.arange(n) + np.random.default_rng(0).uniform(0.0, 1.0, n)) / n
    return lo + (hi - lo) * u


def _refine(views: _Views, clocks: list[CameraClock], times: np.ndarray, cams: Sequence[int],
            half_width: Sequence[float], cfg: MotionSyncConfig, *, scan: bool,
            valid: np.ndarray) -> tuple[list[CameraClock], float, np.ndarray]:
    """Offsets of ``cams`` that minimise the robust reprojection error at take ``times``.

    With ``scan``, each camera's offset is first scanned over ``±half_width[c]`` seconds (9 values,
    the others fixed; the cost is not convex far from the minimum). Then all offsets are solved
    together (robust least squares, Cauchy loss, within ``±half_width`` of the start). Returns the
    new clocks, the final mean loss (pixels^2) and each camera's leave-one-out RMS residual ``(C,)``."""
    from scipy.optimize import least_squares

    clocks = list(clocks)
    problem = _Problem(views, clocks, times, cfg.robust_px, valid)
    if scan:
        for c in cams:
            grid = clocks[c].time_offset + np.linspace(-half_width[c], half_width[c], 9)
            vals = []
            for g in grid:
                problem.set_clock(c, clocks[c].replace(time_offset=g))
                vals.append(problem.cost())
            clocks[c] = clocks[c].replace(time_offset=float(grid[int(np.argmin(vals))]))
            problem.set_clock(c, clocks[c])
    if not cams:
        return clocks, problem.cost(), problem.leave_one_out_rms()
    x0 = np.array([clocks[c].time_offset for c in cams])
    scale = np.array([1.0 / clocks[c].fps for c in cams])
    hw = np.array([half_width[c] for c in cams])

    def residuals(u: np.ndarray) -> np.ndarray:  # u: offsets in frames relative to x0
        for c, off in zip(cams, x0 + u * scale):
            problem.set_clock(c, clocks[c].replace(time_offset=float(off)))
        return problem.residuals()

    sol = least_squares(residuals, np.zeros(len(cams)), bounds=(-hw / scale, hw / scale), loss="cauchy",
                        f_scale=cfg.robust_px, diff_step=1e-3, xtol=1e-4, ftol=1e-6, max_nfev=30)
    for c, off in zip(cams, x0 + sol.x * scale):
        clocks[c] = clocks[c].replace(time_offset=float(off))
        problem.set_clock(c, clocks[c])
    return clocks, problem.cost(), problem.leave_one_out_rms()


def _offset_std(views: _Views, clocks: list[CameraClock], times: np.ndarray, cams: Sequence[int],
                fps: Sequence[float], cfg: MotionSyncConfig, valid: np.ndarray) -> np.ndarray:
    """Standard errors ``(len(cams),)`` of the offsets of ``cams`` (seconds): the offsets are refined again
    with each of ``cfg.jackknife_blocks`` consecutive stretches of ``times`` left out (keypoint errors are
    correlated over neighbouring frames, so whole stretches go), and the jackknife formula applied."""
    k = cfg.jackknife_blocks
    found = []
    for block in np.array_split(np.arange(len(times)), k):
        kept = np.delete(times, block)
        refined, _, _ = _refine(views, clocks, kept, cams, [0.25 / f for f in fps], cfg, scan=False, valid=valid)
        found.append([refined[c].time_offset for c in cams])
    found = np.asarray(found)
    return np.sqrt((k - 1) / k * ((found - found.mean(0)) ** 2).sum(0))


def snap_to_frames(clocks: list[CameraClock], reference: int, frames: float) -> list[CameraClock]:
    """When every camera's offset (cameras without drift) is within ``frames`` of a whole frame of its own,
    counted from the reference's frame 0, the rig is taken as frame-synchronized and every offset becomes that
    whole frame. Free-running cameras all land that close to whole frames only ``(2 frames)^(C-1)`` of the time
    (0.8 % for 4 cameras at 0.1 frame); one camera alone is never snapped (its fraction is as likely as any)."""
    ref = clocks[reference].time_offset
    cams = [c for c in range(len(clocks)) if c != reference and clocks[c].drift_ppm == 0.0]
    if not cams:
        return list(clocks)
    whole = {c: ref + np.round((clocks[c].time_offset - ref) * clocks[c].fps) / clocks[c].fps for c in cams}
    if any(abs(clocks[c].time_offset - whole[c]) * clocks[c].fps > frames for c in cams):
        return list(clocks)
    out = list(clocks)
    for c in cams:
        if whole[c] != clocks[c].time_offset:
            log.info("motion sync %s: offset %.5f s taken as the whole frame %.5f s (every camera within %.2f frame "
                     "of one: a frame-synchronized rig)", clocks[c].name, clocks[c].time_offset - ref, whole[c] - ref,
                     frames)
            out[c] = clocks[c].replace(time_offset=float(whole[c]))
    return out


def _valid_windows(clocks: Sequence[CameraClock], n_frames: Sequence[int], margin: float) -> np.ndarray:
    """``(C, 2)`` take-time windows each camera is read in: its recording less ``margin`` each side."""
    return np.array([[cl.time_of(0) + margin, cl.time_of(n - 1) - margin] for cl, n in zip(clocks, n_frames)])


def _covered_times(valid: np.ndarray, n: int, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """About ``n`` sample times (:func:`_sample_times`) in ``[lo, hi]`` (default: all recordings)
    where at least two cameras' ``valid`` windows overlap."""
    lo = valid[:, 0].min() if lo is None else lo
    hi = valid[:, 1].max() if hi is None else hi
    t = _sample_times(lo, hi, n)
    covered = ((t[None] >= valid[:, :1]) & (t[None] <= valid[:, 1:])).sum(0) >= 2
    return t[covered]


# --------------------------------------------------------------------------------------------------
# The whole method
# --------------------------------------------------------------------------------------------------


def motion_sync(
    rig: CameraRig,
    xy: Sequence[np.ndarray],
    conf: Sequence[np.ndarray | None],
    fps: Sequence[float],
    *,
    reference: int = 0,
    config: MotionSyncConfig | None = None,
) -> MotionSyncResult:
    """Find each camera's time offset (sub-frame) and drift from its 2D keypoint tracks.

    Args:
        rig: the calibrated cameras (order = the order of ``xy``).
        xy: per camera ``(F_c, J, 2)`` video pixels, NaN where missing (the same J joints in all).
        conf: per camera ``(F_c, J)`` confidence (or None).
        fps: per camera nominal frame rate.
        reference: index of the camera the others are timed against.
        config: settings (:class:`MotionSyncConfig`).

    Returns:
        :class:`MotionSyncResult`; its ``sync`` is relative to the first camera.

    Raises:
        MocapError: a camera that does not move (or whose motion matches no other camera's), naming
            the camera and the fix.
    """
    cfg = config or MotionSyncConfig()
    n = len(rig)
    if not (len(xy) == len(conf) == len(fps) == n):
        raise ValueError(f"need one track and fps per camera: {len(xy)} xy, {len(conf)} conf, {len(fps)} fps, {n} cameras")
    names = rig.names
    _check_moving(xy, names, cfg)
    rate = cfg.grid_rate or 2.0 * max(fps)
    up = up_directions(rig)
    if not np.isfinite(up).all():  # a camera looking straight down: compare speeds, not vertical velocities
        up[:] = np.nan
    sig = [on_grid(normalize_columns(keypoint_velocity(x, f, u, c, min_conf=cfg.min_conf)), f, rate)
           for x, c, f, u in zip(xy, conf, fps, up)]
    views = _views(rig, xy, conf, cfg.min_conf, fps, cfg.track_cutoff_hz)
    clocks = [CameraClock(nm, 0.0, f, 0.0, 1.0, "motion") for nm, f in zip(names, fps)]
    coarse, scores, confs, curves = _coarse_offsets(views, sig, rate, xy, fps, reference, cfg)
    clocks = [cl.replace(time_offset=float(o), confidence=float(k)) for cl, o, k in zip(clocks, coarse, confs)]
    others = [c for c in range(n) if c != reference]
    half = [1.5 / rate + 0.5 / f for f in fps]
    n_frames = [len(x) for x in xy]
    valid = _valid_windows(clocks, n_frames, max(half) + 1.0 / min(fps))
    lo, hi = valid[:, 0].min(), valid[:, 1].max()
    times = _covered_times(valid, int(min(cfg.max_samples, max(hi - lo, 0.0) * max(fps))))
    if len(times) < 10:
        raise MocapError(f"the cameras share less than {10 / max(fps):.2f} s of recording at the offsets found",
                         fix=sync_fix(names[others[0]] if others else names[0]))
    clocks, cost, rms = _refine(views, clocks, times, others, half, cfg, scan=True, valid=valid)
    log.debug("leave-one-out residuals %s", np.round(rms, 2))
    _check_residuals(rms, names, cfg)

    win_t, win_off = np.zeros(0), np.zeros((0, n))
    span = _shared_span(valid, 0.0)
    if cfg.estimate_drift and span[1] - span[0] >= cfg.drift_min_span and others:
        win_t, win_off = _window_offsets(views, clocks, span, others, fps, cfg, valid)
        for c in others:
            tau = win_t - win_off[:, c]  # camera-local time at each window centre
            slope, icpt = np.polyfit(tau, win_off[:, c], 1)
            clocks[c] = clocks[c].replace(time_offset=float(icpt), drift_ppm=float(slope * 1e6))
        clocks, cost, rms = _refine(views, clocks, times, others, [0.25 / f for f in fps], cfg, scan=False, valid=valid)
    std = np.zeros(n)
    if cfg.jackknife_blocks >= 3 and others:
        std[others] = _offset_std(views, clocks, times, others, fps, cfg, valid)
    clocks = snap_to_frames(clocks, reference, cfg.snap_frames)
    meta = {"reference": names[reference], "method": "motion",
            "offset_std_s": {names[c]: float(std[c]) for c in others}}
    sync = TakeSync(tuple(clocks), meta).rereferenced(names[0])
    windows = tuple(DriftWindows(names[c], "motion", win_t, win_off[:, c] - win_off[:, 0]) for c in others
                    if len(win_t))
    return MotionSyncResult(sync, coarse - coarse[0], scores, float(np.sqrt(cost)), win_t, win_off,
                            SyncCurves(curves, windows))


def _check_residuals(loo: np.ndarray, names: Sequence[str], cfg: MotionSyncConfig) -> None:
    """A camera whose keypoints reproject much worse than the others' on points triangulated without
    it (``loo (C,)``, pixels) was matched at a wrong offset (or is badly calibrated): say so rather
    than return it."""
    if not np.isfinite(loo).any():
        return
    c = int(np.nanargmax(loo))
    others = np.delete(loo, c)
    ref = float(np.nanmedian(others)) if np.isfinite(others).any() else 0.0
    if loo[c] > cfg.max_residual_px and loo[c] > 3.0 * ref:
        raise MocapError(
            f"camera {names[c]!r}: its keypoints do not triangulate with the other cameras' at the best offset "
            f"found from motion (reprojection error {loo[c]:.1f} px, others {ref:.1f} px); its video may "
            "not overlap the others in time, or its calibration is wrong",
            fix=sync_fix(names[c]),
        )


def _check_moving(xy: Sequence[np.ndarray], names: Sequence[str], cfg: MotionSyncConfig) -> None:
    static = []
    for x, nm in zip(xy, names):
        extent, noise = motion_extent(x)
        if extent < cfg.static_px + 6.0 * noise:
            static.append((nm, extent))
    if static:
        which = ", ".join(f"{nm} ({e:.1f} px)" for nm, e in static)
        everyone = len(static) == len(names)
        raise MocapError(
            f"{'no camera sees' if everyone else 'camera ' + static[0][0] + ' does not see'} enough motion to "
            f"synchronize from keypoints (keypoint movement: {which})",
            fix=sync_fix(static[0][0]),
        )


def _coarse_offsets(views, sig, rate, xy, fps, ref, cfg):
    """Whole-take offsets ``(C,)`` relative to camera ``ref``, with the correlation ``(C,)`` and
    confidence ``(C,)`` of the camera pair each came from, and the correlation curves of those pairs.

    Every pair of cameras is correlated; offsets are chained from the reference along the most
    correlated pairs (:func:`chain_pairs`), so a camera that shares little time with the reference is
    timed through one that shares more."""
    n = len(sig)
    names = views.rig.names
    pairs: dict[tuple[int, int], tuple[float, float, float]] = {}
    pair_curves = {}
    for i in range(n):
        for j in range(i + 1, n):
            cands, score, conf, pair_curves[(i, j)] = coarse_candidates(sig[i], sig[j], rate, cfg.max_lag)
            if cands:
                pairs[(i, j)] = (_pick_candidate(views, i, j, cands, xy, fps, cfg), score, conf)
    offset, score, confidence, curves, lost = chain_pairs(pairs, pair_curves, names, ref, cfg.min_score, "motion")
    if lost:
        best = max((v[1] for (i, j), v in pairs.items() if lost[0] in (i, j)), default=0.0)
        raise MocapError(
            f"cannot synchronize camera {names[lost[0]]!r} from motion: its keypoint speeds match no other "
            f"camera's at any offset within ±{cfg.max_lag:g} s (best correlation {best:.2f}); is its video "
            "from this take, and does it overlap the others in time?",
            fix=sync_fix(names[lost[0]]),
        )
    return offset, score, confidence, curves


def chain_pairs(pairs: dict[tuple[int, int], tuple[float, float, float]],
                curves: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]], names: Sequence[str], ref: int,
                min_score: float, method: str):
    """Offsets of every camera relative to camera ``ref`` from pairwise ones, along the most correlated
    pairs (a maximum spanning tree grown from ``ref``).

    Args:
        pairs: ``(i, j) -> (offset of j relative to i (s), correlation, confidence)``, ``i < j``.
        curves: ``(i, j) -> (offsets (L,), scores (L,))`` correlation curves of the pairs.
        names: camera names; ``min_score``: weakest correlation a pair may be used with.

    Returns:
        ``offset (C,)``, ``score (C,)``, ``confidence (C,)`` (1 for ``ref``; 0 for unreached cameras),
        the :class:`~mocap.sync.curves.Correlation` of each edge used, and the indices of the cameras
        no pair reaches (their offset stays 0).
    """
    n = len(names)
    offset, score, confidence = np.zeros(n), np.zeros(n), np.zeros(n)
    score[ref] = confidence[ref] = 1.0
    used = []
    known = {ref}
    while len(known) < n:
        edges = [(v[1], i, j) for (i, j), v in pairs.items() if (i in known) != (j in known) and v[1] >= min_score]
        if not edges:
            break
        _, i, j = max(edges)
        d, sc, cf = pairs[(i, j)]
        new, old = (j, i) if i in known else (i, j)
        offset[new] = offset[old] + (d if new == j else -d)
        score[new], confidence[new] = sc, cf
        known.add(new)
        lags, ncc = curves[(i, j)]
        # the curve as the new camera's start relative to the known one's
        used.append(Correlation(names[new], names[old], method, lags if new == j else -lags[::-1],
                                ncc if new == j else ncc[::-1], d if new == j else -d))
        log.info("%s sync %s: coarse offset %.4f s (via %s, correlation %.2f)", method, names[new], offset[new],
                 names[old], sc)
    return offset, score, confidence, tuple(used), [c for c in range(n) if c not in known]


def _pick_candidate(views, i, j, cands, xy, fps, cfg) -> float:
    """The candidate offset of camera j relative to camera i whose two-view triangulation
    reprojects best."""
    if len(cands) == 1:
        return cands[0]
    sub = _Views(views.rig.subset([views.rig.names[i], views.rig.names[j]]), (views.nrm[i], views.nrm[j]),
                 (views.w[i], views.w[j]), views.focal[[i, j]])
    ci = CameraClock("i", 0.0, fps[i])
    costs = []
    for off in cands:
        cj = CameraClock("j", off, fps[j])
        span = np.array([[0.0, ci.time_of(len(xy[i]) - 1)], [cj.time_of(0), cj.time_of(len(xy[j]) - 1)]])
        lo, hi = _shared_span(span, 0.0)
        times = _sample_times(lo, hi, int(min(cfg.max_samples, max(hi - lo, 0.0) * max(fps))))
        if len(times) < 5 or hi - lo < 0.5:
            costs.append(np.inf)
            continue
        costs.append(_Problem(sub, [ci, cj], times, cfg.robust_px).cost())
    return cands[int(np.argmin(costs))]


def _window_offsets(views, clocks, span, others, fps, cfg, valid) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``(W, C)`` refined in ``W`` windows splitting the shared ``span = (lo, hi)``, and the
    windows' centre times ``(W,)``."""
    lo, hi = span
    n_win = int(np.clip(round((hi - lo) / cfg.window), 2, 12))
    edges = np.linspace(lo, hi, n_win + 1)
    centres, offs = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        t = _covered_times(valid, int(min(cfg.max_samples // 2, (b - a) * max(fps))), a, b)
        cl, _, _ = _refine(views, clocks, t, others, [0.3 / f for f in fps], cfg, scan=False, valid=valid)
        centres.append(0.5 * (a + b))
        offs.append([c.time_offset for c in cl])
    return np.array(centres), np.array(offs)


__all__ = ["MotionSyncConfig", "MotionSyncResult", "motion_sync", "up_directions", "keypoint_velocity", "motion_extent",
           "coarse_candidates", "chain_pairs", "normalize_columns", "on_grid", "snap_to_frames"]
