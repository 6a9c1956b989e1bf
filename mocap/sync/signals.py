"""Signal helpers shared by audio and motion sync (pure numpy/scipy functions).

* :func:`masked_ncc`: normalized cross-correlation of two signals with missing samples (NaN), over
  a range of lags, by FFT.
* :func:`peak_candidates` / :func:`parabolic_peak`: the best lags, refined below one sample.
* :func:`interpolate_cubic`: Catmull-Rom interpolation of tracks at fractional frames, NaN-aware.

Lag convention: ``masked_ncc(a, b)`` peaks at lag ``L`` when ``a[n + L] ~ b[n]``: ``b``'s sample
``n`` happened at ``a``'s sample ``n + L`` (``b`` started ``L`` samples after ``a``).
"""

from __future__ import annotations

import numpy as np


def _xcorr_sum(x: np.ndarray, y: np.ndarray, n_fft: int) -> np.ndarray:
    """Full cross-correlation ``(Na + Nb - 1,)`` of ``x (Na, K)`` and ``y (Nb, K)``, summed over the
    ``K`` channels; entry ``m`` is lag ``m - (Nb - 1)``: ``sum_l x[l + lag] y[l]``."""
    X = np.fft.rfft(x, n_fft, axis=0)
    Y = np.fft.rfft(y[::-1], n_fft, axis=0)
    return np.fft.irfft((X * Y).sum(axis=1), n_fft)[: len(x) + len(y) - 1]


def masked_ncc(a: np.ndarray, b: np.ndarray, max_lag: int, min_overlap: int = 1, *,
               local: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Normalized cross-correlation of ``a (Na,)`` or ``(Na, K)`` and ``b (Nb,)`` / ``(Nb, K)``.

    NaN marks missing samples; ``K`` channels (e.g. joints) are pooled. Returns ``lags (L,)``
    (integers, ``|lag| <= max_lag``) and ``ncc (L,)``: for each lag, ``sum a[n+lag] b[n] /
    sqrt(sum a^2 sum b^2)`` over the samples both have (each channel's mean removed first), NaN
    where fewer than ``min_overlap`` samples (per channel, on average) overlap. With
    ``local=False`` the sums of squares run over each whole signal instead, which favours lags where
    the signals overlap much (the right prior for two recordings of one take). It peaks at lag
    ``L`` when ``b``'s sample ``n`` looks like ``a``'s sample ``n + L``.
    """
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    ma, mb = np.isfinite(a), np.isfinite(b)
    with np.errstate(invalid="ignore"):
        mean_a = np.where(ma.any(0), np.nanmean(np.where(ma, a, np.nan), axis=0) if ma.any() else 0.0, 0.0)
        mean_b = np.where(mb.any(0), np.nanmean(np.where(mb, b, np.nan), axis=0) if mb.any() else 0.0, 0.0)
    a0 = np.where(ma, a - mean_a, 0.0)
    b0 = np.where(mb, b - mean_b, 0.0)
    fa, fb = ma.astype(float), mb.astype(float)
    n_fft = 1 << int(np.ceil(np.log2(max(len(a) + len(b) - 1, 2))))
    lags = np.arange(len(a) + len(b) - 1) - (len(b) - 1)
    keep = np.abs(lags) <= max_lag
    num = _xcorr_sum(a0, b0, n_fft)[keep]
    if local:
        ea = _xcorr_sum(a0 * a0, fb, n_fft)[keep]
        eb = _xcorr_sum(fa, b0 * b0, n_fft)[keep]
    else:
        ea = np.full(keep.sum(), (a0 * a0).sum())
        eb = np.full(keep.sum(), (b0 * b0).sum())
    cnt = _xcorr_sum(fa, fb, n_fft)[keep] / a.shape[1]
    den = np.sqrt(np.clip(ea, 0, None) * np.clip(eb, 0, None))
    scale = max(float((a0 * a0).sum() * (b0 * b0).sum()) ** 0.5, 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        ncc = np.where((cnt >= max(min_overlap, 1) - 0.5) & (den > 1e-9 * scale), num / den, np.nan)
    return lags[keep], np.clip(ncc, -1.0, 1.0)


def masked_msd(a: np.ndarray, b: np.ndarray, max_lag: int, min_overlap: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared difference of ``a (Na, K)`` and ``b (Nb, K)`` (NaN: missing) over the samples both have,
    for every lag ``|lag| <= max_lag`` (FFT; same lag convention as :func:`masked_ncc`): ``lags (L,)`` and
    ``msd (L,)``, NaN where fewer than ``min_overlap`` samples per channel overlap. Unlike a normalized
    correlation it does not forgive a difference in scale, so signals in physical units (the same in every
    camera) match at one lag only, even where they overlap briefly."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    ma, mb = np.isfinite(a).astype(float), np.isfinite(b).astype(float)
    a0, b0 = np.nan_to_num(a), np.nan_to_num(b)
    n_fft = 1 << int(np.ceil(np.log2(max(len(a) + len(b) - 1, 2))))
    lags = np.arange(len(a) + len(b) - 1) - (len(b) - 1)
    keep = np.abs(lags) <= max_lag
    cross = _xcorr_sum(a0, b0, n_fft)[keep]
    ea = _xcorr_sum(a0 * a0, mb, n_fft)[keep]
    eb = _xcorr_sum(ma, b0 * b0, n_fft)[keep]
    cnt = _xcorr_sum(ma, mb, n_fft)[keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        msd = np.where(cnt / a.shape[1] >= max(min_overlap, 1) - 0.5, np.clip(ea + eb - 2 * cross, 0, None) / cnt,
                       np.nan)
    return lags[keep], msd


def parabolic_peak(values: np.ndarray, i: int) -> tuple[float, float]:
    """Sub-sample position and height of the peak at index ``i`` of ``values`` (a parabola through
    its two neighbours; the index itself at an edge or a NaN neighbour)."""
    if i <= 0 or i >= len(values) - 1:
        return float(i), float(values[i])
    y0, y1, y2 = values[i - 1], values[i], values[i + 1]
    den = y0 - 2 * y1 + y2
    if not (np.isfinite(y0) and np.isfinite(y2)) or den >= 0:
        return float(i), float(y1)
    d = 0.5 * (y0 - y2) / den
    d = float(np.clip(d, -0.5, 0.5))
    return i + d, float(y1 - 0.25 * (y0 - y2) * d)


def peak_candidates(values: np.ndarray, separation: int, k: int = 3) -> list[int]:
    """Indices of up to ``k`` highest local maxima of ``values`` (NaN ignored), at least
    ``separation`` samples apart, best first."""
    v = np.where(np.isfinite(values), values, -np.inf)
    order = np.argsort(-v, kind="stable")
    picked: list[int] = []
    for i in order:
        if not np.isfinite(v[i]) or len(picked) >= k:
            break
        if all(abs(int(i) - j) >= separation for j in picked):
            picked.append(int(i))
    return picked


def prominence_confidence(values: np.ndarray, i: int, separation: int) -> float:
    """0-1 confidence that the peak at ``i`` is the true one: its height times how far it stands
    above the best other peak at least ``separation`` samples away (1 - second / first)."""
    v = np.where(np.isfinite(values), values, -np.inf)
    top = v[i]
    if not np.isfinite(top) or top <= 0:
        return 0.0
    far = np.abs(np.arange(len(v)) - i) >= separation
    second = max(v[far].max(initial=0.0), 0.0)
    return float(np.clip(top, 0, 1) * np.clip(1.0 - second / top, 0.0, 1.0))


def interpolate_cubic(values: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Catmull-Rom interpolation of ``values (F, ...)`` at fractional ``frames (T,)`` -> ``(T, ...)``.

    Uses the 4 frames around each time; where an outer one is missing (NaN or outside the
    recording) it falls back to linear interpolation of the inner two; NaN where an inner one is
    missing or the time is outside ``0 .. F-1``. Whole frames copy the frame.
    """
    values = np.asarray(values, float)
    frames = np.asarray(frames, float)
    n = values.shape[0]
    out = np.full((len(frames),) + values.shape[1:], np.nan)
    inside = np.isfinite(frames) & (frames >= -1e-9) & (frames <= n - 1 + 1e-9)
    if n == 0 or not inside.any():
        return out
    f = np.clip(frames[inside], 0, n - 1)
    i1 = np.minimum(np.floor(f).astype(int), max(n - 2, 0))
    u = (f - i1).reshape((-1,) + (1,) * (values.ndim - 1))
    i2 = np.minimum(i1 + 1, n - 1)
    p1, p2 = values[i1], values[i2]
    p0 = values[np.maximum(i1 - 1, 0)]
    p3 = values[np.minimum(i2 + 1, n - 1)]
    has0 = (i1 - 1 >= 0).reshape(u.shape) & np.isfinite(p0)
    has3 = (i2 + 1 <= n - 1).reshape(u.shape) & np.isfinite(p3)
    p0 = np.where(has0, p0, 2 * p1 - p2)  # missing outer neighbour: extrapolate linearly
    p3 = np.where(has3, p3, 2 * p2 - p1)
    u2, u3 = u * u, u * u * u
    cubic = 0.5 * ((2 * p1) + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u2 + (-p0 + 3 * p1 - 3 * p2 + p3) * u3)
    res = np.where(u == 0, p1, np.where(u == 1, p2, cubic))
    out[inside] = res
    return out
