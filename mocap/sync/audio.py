"""Audio sync: camera time offsets and drift from the sound every camera recorded.

Each video's first audio track is decoded with PyAV, streamed chunk by chunk (memory grows with
the onset envelope only: 2,000 values per second of audio), mixed to mono and resampled to 16 kHz.
An **onset envelope** is computed on the fly: band-pass (300-6000 Hz: above mains hum, where
claps and heel strikes are loud), short-time energy (a 2nd-order 200 Hz low-pass of the squared
signal, kept every 0.5 ms), then the positive time derivative of its logarithm. Steady sounds
(hum, fans, room noise) give nothing, sharp attacks (claps, footsteps, door slams) give spikes, and
the log makes it independent of each microphone's gain.

Then per camera, against the reference camera: a **coarse** normalized cross-correlation (FFT) of
the envelopes pooled to 100 Hz over lags up to ``max_offset``; then a **fine** one at full
envelope rate in windows, with parabolic interpolation of the peak (well below a millisecond for
a clap); on long recordings the windows spread along the take and a line through their lags gives
offset and drift. Confidence comes from peak prominence (the best peak against the best other).

Offsets are those of the videos' frame 0: the audio's own start time in the file (relative to
the first video frame) is taken into account. Sound travels 0.34 m per millisecond: cameras at
different distances from a clap disagree by that much, which no audio method can remove.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.errors import InputError, MocapError
from mocap.sync.clock import CameraClock, TakeSync, manual_offset_hint
from mocap.sync.curves import Correlation, DriftWindows, SyncCurves
from mocap.sync.signals import masked_ncc, parabolic_peak, peak_candidates, prominence_confidence

log = logging.getLogger(__name__)


class NoSoundError(MocapError):
    """Fewer than two cameras recorded usable sound (audio sync is impossible, not failed)."""


@dataclass(frozen=True)
class AudioSyncConfig:
    """Settings of audio sync (one place for the defaults)."""

    rate: int = 16000
    """Rate audio is resampled to before analysis, Hz."""
    hop: int = 8
    """Envelope hop, samples at ``rate`` (8 at 16 kHz: 0.5 ms)."""
    band: tuple[float, float] = (300.0, 6000.0)
    """Band-pass before the energy envelope, Hz."""
    smoothing_hz: float = 200.0
    """Low-pass of the squared signal (the energy envelope), Hz."""
    max_offset: float | None = None
    """Largest offset searched, seconds (None: anything the recordings allow)."""
    min_confidence: float = 0.15
    """Below this, a camera counts as not synchronized by audio."""
    drift_min_span: float = 60.0
    """Shortest shared span, seconds, for which drift is estimated."""
    window: float = 20.0
    """Length of the fine-correlation windows, seconds."""
    max_windows: int = 8
    """At most this many windows along the take."""
    max_drift_ppm: float = 500.0
    """Largest drift allowed for, parts per million (widens the fine search along the take)."""


@dataclass(frozen=True, eq=False)
class OnsetEnvelope:
    """A recording's onset strength over time.

    Attributes:
        values: ``(N,)`` float32 onset strength (>= 0).
        rate: values per second.
        start: local time of ``values[0]``, seconds after the video's first frame.
        path: the video it came from.
    """

    values: np.ndarray
    rate: float
    start: float = 0.0
    path: Path | None = None

    @property
    def duration(self) -> float:
        return len(self.values) / self.rate


class OnsetFilter:
    """Streaming onset envelope: feed mono chunks at ``rate``, get the envelope at ``rate / hop``."""

    def __init__(self, rate: int, hop: int = 8, band: tuple[float, float] = (300.0, 6000.0),
                 smoothing_hz: float = 200.0):
        from scipy.signal import butter, sosfilt_zi

        hi = min(band[1], 0.45 * rate)
        self.band_sos = butter(4, [band[0], hi], "bandpass", fs=rate, output="sos")
        self.smooth_sos = butter(2, smoothing_hz, "lowpass", fs=rate, output="sos")
        self.zi_band = sosfilt_zi(self.band_sos) * 0.0
        self.zi_smooth = sosfilt_zi(self.smooth_sos) * 0.0
        self.hop = int(hop)
        self.rate = rate
        self._phase = 0  # samples to skip before the next kept one
        self._energy: list[np.ndarray] = []

    def feed(self, chunk: np.ndarray) -> None:
        from scipy.signal import sosfilt

        x, self.zi_band = sosfilt(self.band_sos, np.asarray(chunk, float), zi=self.zi_band)
        e, self.zi_smooth = sosfilt(self.smooth_sos, x * x, zi=self.zi_smooth)
        kept = e[self._phase :: self.hop]
        self._phase = (self._phase - len(e)) % self.hop
        self._energy.append(kept.astype(np.float32))

    def envelope(self) -> np.ndarray:
        """The onset strength of everything fed so far, ``(N,)`` float32. The first 40 ms are 0:
        the filters settling (and the recording starting) are no onsets."""
        e = np.concatenate(self._energy) if self._energy else np.zeros(0, np.float32)
        out = onset_from_energy(e, self.rate / self.hop)
        out[: int(0.04 * self.rate / self.hop)] = 0.0
        return out


def onset_from_energy(energy: np.ndarray, rate: float) -> np.ndarray:
    """Onset strength ``(N,)`` from a short-time energy envelope ``(N,)`` sampled at ``rate``: the
    positive part of the time derivative of ``log(energy + floor)``, per second."""
    e = np.clip(np.asarray(energy, float), 0, None)
    if len(e) < 2:
        return np.zeros(len(e), np.float32)
    floor = max(float(np.percentile(e, 10)), 1e-12 * float(e.max()), 1e-20)
    loge = np.log(e + floor)
    d = np.diff(loge, prepend=loge[0]) * rate
    return np.clip(d, 0, None).astype(np.float32)


def onsets_from_samples(samples: np.ndarray, rate: int, *, start: float = 0.0,
                        config: AudioSyncConfig | None = None) -> OnsetEnvelope:
    """Onset envelope of mono ``samples (N,)`` already at ``config.rate`` (pure; for arrays)."""
    cfg = config or AudioSyncConfig()
    f = OnsetFilter(rate, cfg.hop, cfg.band, cfg.smoothing_hz)
    f.feed(samples)
    return OnsetEnvelope(f.envelope(), rate / cfg.hop, start)


def read_onsets(path: str | Path, *, config: AudioSyncConfig | None = None) -> OnsetEnvelope | None:
    """Decode ``path``'s first audio track (streaming) into an :class:`OnsetEnvelope`.

    Returns None when the file has no audio track (or ``path`` is a folder of images, or does not exist:
    keypoints imported without their videos); raises ``InputError`` when it cannot be read.
    """
    import av

    cfg = config or AudioSyncConfig()
    path = Path(path)
    if path.is_dir() or any(ch in str(path) for ch in "*?[") or not path.exists():
        return None  # a folder of images (or a glob of them), or no video at all (imported keypoints): no sound
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            astream = container.streams.audio[0]
            video_start = _video_start(container)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=cfg.rate)
            filt = OnsetFilter(cfg.rate, cfg.hop, cfg.band, cfg.smoothing_hz)
            first: float | None = None
            for frame in container.decode(astream):
                if first is None and frame.pts is not None:
                    first = float(frame.pts * frame.time_base)
                for out in resampler.resample(frame):
                    filt.feed(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                filt.feed(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as exc:
        raise InputError(f"audio cannot be decoded ({exc})", path=path,
                         fix="re-export the video with AAC or PCM audio, or sync it by motion") from exc
    start = (first if first is not None else 0.0) - video_start
    return OnsetEnvelope(filt.envelope(), cfg.rate / cfg.hop, start, path)


def _video_start(container) -> float:
    """Time of the first video frame (container seconds); 0 without a video stream."""
    if not container.streams.video:
        return 0.0
    vs = container.streams.video[0]
    if vs.start_time is not None:
        return float(vs.start_time * vs.time_base)
    return 0.0


def video_fps(path: str | Path) -> float:
    """Nominal frame rate of a video (its average rate), frames per second."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise InputError("file has no video stream", path=path, fix="point session.toml at the camera's video")
        vs = container.streams.video[0]
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        return float(rate)


# --------------------------------------------------------------------------------------------------
# Lags between envelopes
# --------------------------------------------------------------------------------------------------


def _pool(values: np.ndarray, factor: int) -> np.ndarray:
    n = len(values) // factor
    return values[: n * factor].reshape(n, factor).max(1) if n else np.zeros(0, values.dtype)


def coarse_lag(ref: OnsetEnvelope, env: OnsetEnvelope, max_offset: float | None = None,
               pooled_rate: float = 100.0) -> tuple[float, float, tuple[np.ndarray, np.ndarray]]:
    """Offset (seconds: when ``env``'s video frame 0 happened on ``ref``'s clock) and confidence
    (0-1), from the envelopes pooled to ``pooled_rate`` (10 ms resolution); with the correlation
    curve ``(offsets (L,) seconds, scores (L,))``."""
    factor = max(int(round(ref.rate / pooled_rate)), 1)
    a, b = _pool(ref.values, factor), _pool(env.values, factor)
    rate = ref.rate / factor
    nothing = (0.0, 0.0, (np.zeros(0), np.zeros(0)))
    if len(a) < 4 or len(b) < 4:
        return nothing
    max_lag = len(a) + len(b) if max_offset is None else int(np.ceil(max_offset * rate)) + 2
    min_overlap = int(min(len(a), len(b), 2 * rate) * 0.5)
    lags, ncc = masked_ncc(a, b, max_lag, min_overlap, local=False)
    if not np.isfinite(ncc).any():
        return nothing
    i = peak_candidates(ncc, 1)[0]
    pos, peak = parabolic_peak(ncc, i)
    lag = float(np.interp(pos, np.arange(len(lags)), lags)) / rate
    confidence = prominence_confidence(ncc, i, max(int(0.05 * rate), 2))
    log.debug("coarse audio lag %.4f s: peak %.3f, confidence %.3f", lag, peak, confidence)
    shift = ref.start - env.start
    return lag + shift, confidence, (lags / rate + shift, ncc)


def window_lag(ref: OnsetEnvelope, env: OnsetEnvelope, t0: float, t1: float, guess: float,
               margin: float) -> tuple[float, float]:
    """Fine offset and confidence from ``env``'s local times ``[t0, t1]`` (seconds after its frame
    0), searching ``guess ± margin`` (seconds, ``ref``'s clock), sub-sample by parabolic fit."""
    if ref.rate != env.rate:
        raise ValueError("envelopes must have the same rate")
    rate = env.rate
    i0, i1 = int(np.floor((t0 - env.start) * rate)), int(np.ceil((t1 - env.start) * rate))
    i0, i1 = max(i0, 0), min(i1, len(env.values))
    if i1 - i0 < 8:
        return guess, 0.0
    seg = env.values[i0:i1]
    # env sample i is at env local time env.start + i/rate -> ref local time + guess -> ref index
    centre = (env.start + i0 / rate + guess - ref.start) * rate
    m = int(np.ceil(margin * rate)) + 2
    j0 = int(np.floor(centre)) - m
    j1 = j0 + (i1 - i0) + 2 * m + 1
    a = np.full(j1 - j0, np.nan)
    lo, hi = max(j0, 0), min(j1, len(ref.values))
    if hi - lo < 8:
        return guess, 0.0
    a[lo - j0 : hi - j0] = ref.values[lo:hi]
    lags, ncc = masked_ncc(a, seg, 2 * m + 1, min_overlap=(i1 - i0) // 2)
    keep = (lags >= 0) & (lags <= 2 * m)
    lags, ncc = lags[keep], ncc[keep]
    if not np.isfinite(ncc).any():
        return guess, 0.0
    i = peak_candidates(ncc, 1)[0]
    pos, peak = parabolic_peak(ncc, i)
    lag = float(np.interp(pos, np.arange(len(lags)), lags))  # samples into a
    offset = (j0 + lag) / rate + ref.start - (env.start + i0 / rate)
    log.debug("window %.1f-%.1f s: offset %.5f s, peak %.3f, confidence %.3f", t0, t1, offset, peak,
              prominence_confidence(ncc, i, max(int(0.02 * rate), 2)))
    return offset, prominence_confidence(ncc, i, max(int(0.02 * rate), 2))


# --------------------------------------------------------------------------------------------------
# The whole method
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AudioSyncResult:
    """What audio sync found.

    Attributes:
        sync: clocks relative to the first camera that has usable audio (``metadata["reference"]``);
            cameras that could not be synchronized by audio have ``method = "none"``, confidence 0.
        unsynced: names of those cameras, each with the reason (``"no audio track"``, ...).
        window_times: per camera, ``(W,)`` local times of the fine windows used (empty if none).
        window_offsets: per camera, ``(W,)`` offsets found in those windows, seconds.
        curves: the whole-take correlation curve of every camera with sound against the reference.
    """

    sync: TakeSync
    unsynced: dict[str, str] = field(default_factory=dict)
    window_times: tuple[np.ndarray, ...] = ()
    window_offsets: tuple[np.ndarray, ...] = ()
    curves: SyncCurves = field(default_factory=SyncCurves)

    @property
    def reference(self) -> str | None:
        return self.sync.metadata.get("reference")


def audio_sync(
    videos: Sequence[str | Path],
    names: Sequence[str] | None = None,
    *,
    fps: Sequence[float] | None = None,
    config: AudioSyncConfig | None = None,
    envelopes: Sequence[OnsetEnvelope | None] | None = None,
) -> AudioSyncResult:
    """Offsets and drift of every camera from its video's sound.

    Args:
        videos: one video per camera (camera order).
        names: camera names (default: the file stems).
        fps: nominal frame rates (default: read from the files).
        config: settings (:class:`AudioSyncConfig`).
        envelopes: already computed onset envelopes (skips decoding; None entries: no audio).

    Returns:
        :class:`AudioSyncResult`. Cameras without an audio track, or whose sound matches no other
        camera's, are listed in ``unsynced`` (sync them by motion); the others are timed against
        the first camera with audio.

    Raises:
        MocapError: no two cameras have audio at all (names the files and the fix).
    """
    cfg = config or AudioSyncConfig()
    videos = [Path(v) for v in videos]
    names = list(names) if names is not None else [v.stem for v in videos]
    rates = list(fps) if fps is not None else [video_fps(v) for v in videos]
    envs = list(envelopes) if envelopes is not None else [read_onsets(v, config=cfg) for v in videos]
    unsynced: dict[str, str] = {nm: "no audio track" for nm, e in zip(names, envs) if e is None}
    for nm, e in zip(names, envs):
        if e is not None and (len(e.values) < 16 or float(e.values.max(initial=0)) <= 0):
            unsynced[nm] = "silent audio track"
    usable = [c for c, nm in enumerate(names) if nm not in unsynced]
    if len(usable) < 2:
        raise NoSoundError(
            "audio sync needs sound from at least two cameras; "
            + (", ".join(f"{nm}: {why}" for nm, why in unsynced.items()) or "none found"),
            path=videos[0].parent if videos else None,
            fix="record with the cameras' microphones on and clap once at the start, or sync by motion "
            f"(keypoints), or set the offsets by hand: {manual_offset_hint(names[-1])}",
        )
    ref = usable[0]
    clocks = [CameraClock(nm, 0.0, r, 0.0, 0.0, "none") for nm, r in zip(names, rates)]
    clocks[ref] = clocks[ref].replace(confidence=1.0, method="audio")
    wt: list[np.ndarray] = [np.zeros(0)] * len(names)
    wo: list[np.ndarray] = [np.zeros(0)] * len(names)
    curves, windows = [], []
    for c in usable[1:]:
        found = _sync_one(envs[ref], envs[c], cfg)
        if found is not None:
            curve = found[5]
            curves.append(Correlation(names[c], names[ref], "audio", curve[0], curve[1], found[0]))
        if found is None or found[2] < cfg.min_confidence:
            score = 0.0 if found is None else found[2]
            unsynced[names[c]] = f"its sound matches {names[ref]}'s nowhere (confidence {score:.2f})"
            log.warning("audio sync %s: no match with %s (confidence %.2f)", names[c], names[ref], score)
            continue
        offset, drift, conf, wt[c], wo[c], _ = found
        if len(wt[c]) >= 2:
            windows.append(DriftWindows(names[c], "audio", wt[c] + offset, wo[c]))
        clocks[c] = clocks[c].replace(time_offset=offset, drift_ppm=drift, confidence=conf, method="audio")
        log.info("audio sync %s: offset %.5f s, drift %.1f ppm (confidence %.2f)", names[c], offset, drift, conf)
    meta = {"reference": names[ref], "method": "audio"}
    if unsynced:
        meta["unsynced"] = dict(unsynced)
    return AudioSyncResult(TakeSync(tuple(clocks), meta), unsynced, tuple(wt), tuple(wo),
                           SyncCurves(tuple(curves), tuple(windows)))


def _sync_one(ref: OnsetEnvelope, env: OnsetEnvelope, cfg: AudioSyncConfig):
    """(offset, drift_ppm, confidence, window local times, window offsets, correlation curve) of
    ``env`` against ``ref``, or None when nothing matches."""
    guess, conf0, curve = coarse_lag(ref, env, cfg.max_offset)
    if conf0 <= 0:
        return None
    # env's local times that ref also covers, at this offset
    lo = max(env.start, ref.start - guess)
    hi = min(env.start + env.duration, ref.start + ref.duration - guess)
    if hi - lo < 0.5:
        return None
    span = hi - lo
    if span >= cfg.drift_min_span:
        n_win = int(np.clip(np.floor(span / cfg.window), 2, cfg.max_windows))
        starts = np.linspace(lo, hi - cfg.window, n_win)
        bounds = [(s, s + cfg.window) for s in starts]
    else:
        bounds = [(lo, hi)]
    mid = 0.5 * (lo + hi)
    times, offs, confs = [], [], []
    for t0, t1 in bounds:
        margin = 0.03 + cfg.max_drift_ppm * 1e-6 * (abs(0.5 * (t0 + t1) - mid) + span)
        off, conf = window_lag(ref, env, t0, t1, guess, margin)
        if conf >= cfg.min_confidence:
            times.append(0.5 * (t0 + t1))
            offs.append(off)
            confs.append(conf)
    if not offs:
        return guess, 0.0, 0.0, np.zeros(0), np.zeros(0), curve
    times_a, offs_a, w = np.array(times), np.array(offs), np.array(confs)
    # confidence: the whole-take peak must stand out (no other offset fits nearly as well) and the
    # fine windows must agree
    if len(offs) >= 2 and times_a.ptp() >= 0.5 * cfg.drift_min_span:
        slope, icpt = _robust_line(times_a, offs_a, w)
        return float(icpt), float(slope * 1e6), min(conf0, float(np.median(w))), times_a, offs_a, curve
    k = int(np.argmax(w))
    return float(offs_a[k]), 0.0, min(conf0, float(w[k])), times_a, offs_a, curve


def _robust_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted line fit ``y = slope x + icpt`` that drops points more than 2 ms (or 3 MAD) off."""
    keep = np.ones(len(x), bool)
    for _ in range(3):
        slope, icpt = np.polyfit(x[keep], y[keep], 1, w=w[keep])
        r = np.abs(y - (slope * x + icpt))
        tol = max(2e-3, 3 * 1.4826 * float(np.median(r[keep])))
        new = r <= tol
        if new.sum() < 2 or np.array_equal(new, keep):
            break
        keep = new
    return float(slope), float(icpt)


__all__ = [
    "AudioSyncConfig",
    "NoSoundError",
    "OnsetEnvelope",
    "OnsetFilter",
    "onset_from_energy",
    "onsets_from_samples",
    "read_onsets",
    "video_fps",
    "coarse_lag",
    "window_lag",
    "AudioSyncResult",
    "audio_sync",
]
