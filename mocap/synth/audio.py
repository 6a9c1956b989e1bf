"""Synthetic sound for unsynchronized takes: claps, footsteps and room noise, as each camera's
microphone would have recorded it, muxed into that camera's video with PyAV.

The room's sound is one signal on the take's timeline; each camera hears it on its own clock
(:class:`~mocap.sync.clock.CameraClock`: offset and drift), with its own gain and microphone noise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from mocap.io.atomic import atomic_path
from mocap.sync.clock import CameraClock

log = logging.getLogger(__name__)


def clap(rate: int, rng: np.random.Generator) -> np.ndarray:
    """A hand clap: a broadband noise burst with a sub-millisecond attack and ~6 ms decay, ``(N,)``."""
    n = int(0.04 * rate)
    t = np.arange(n) / rate
    env = (1 - np.exp(-t / 0.0003)) * np.exp(-t / 0.006)
    burst = rng.normal(0, 1, n)
    burst = np.diff(burst, prepend=0.0)  # tilt towards high frequencies, as a clap is
    return (0.9 * env * burst / np.abs(burst).max()).astype(np.float64)


def footstep(rate: int, rng: np.random.Generator) -> np.ndarray:
    """A footstep: a low thud (90-140 Hz, ~25 ms decay) with a short heel click, ``(N,)``."""
    n = int(0.15 * rate)
    t = np.arange(n) / rate
    thud = np.sin(2 * np.pi * rng.uniform(90, 140) * t) * np.exp(-t / 0.025) * (1 - np.exp(-t / 0.002))
    click = rng.normal(0, 1, n) * np.exp(-t / 0.003) * 0.3
    return 0.4 * (thud + click)


def room_sound(
    seconds: float,
    rate: int = 48000,
    *,
    claps: Sequence[float] = (),
    footsteps: Sequence[float] = (),
    hum_hz: float = 50.0,
    hum_level: float = 0.05,
    noise_level: float = 0.01,
    babble_level: float = 0.03,
    seed: int = 0,
) -> np.ndarray:
    """The sound in the room over ``seconds`` of take time, ``(N,)`` float, sample 0 at ``t = 0``.

    Args:
        claps: take times (s) of hand claps.
        footsteps: take times (s) of footsteps.
        hum_hz: mains hum frequency (with harmonics); ``hum_level`` its amplitude.
        noise_level: broadband room noise (standard deviation).
        babble_level: amplitude of speech-like modulated noise (syllables at ~4 Hz).
    """
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    out = noise_level * rng.normal(0, 1, n)
    out += hum_level * (np.sin(2 * np.pi * hum_hz * t) + 0.5 * np.sin(2 * np.pi * 3 * hum_hz * t + 1.0))
    if babble_level > 0:
        voice = sosfilt(butter(4, [200, 3000], "bandpass", fs=rate, output="sos"), rng.normal(0, 1, n))
        syllables = np.clip(np.sin(2 * np.pi * 4.1 * t + 2 * np.sin(2 * np.pi * 0.37 * t)), 0, None) ** 2
        out += babble_level * voice / (voice.std() + 1e-12) * syllables
    for times, make in ((claps, clap), (footsteps, footstep)):
        for te in times:
            wave = make(rate, rng)
            i = int(round(te * rate))
            if i >= n or i + len(wave) <= 0:
                continue
            lo = max(i, 0)
            out[lo : min(i + len(wave), n)] += wave[lo - i : min(len(wave), n - i)]
    return out


def camera_audio(
    room: np.ndarray,
    rate: int,
    clock: CameraClock,
    seconds: float,
    *,
    gain: float = 1.0,
    mic_noise: float = 0.005,
    seed: int = 0,
) -> np.ndarray:
    """What ``clock``'s camera recorded of ``room`` (sampled at ``rate`` on the take's timeline):
    ``seconds`` of its own time from its frame 0, ``(N,)`` float32. The camera's sample ``n`` is the
    room at take time ``clock.local_to_take(n / rate)`` (linear interpolation; silence outside)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    pos = clock.local_to_take(np.arange(n) / rate) * rate
    heard = np.interp(pos, np.arange(len(room)), room, left=0.0, right=0.0)
    return (gain * heard + mic_noise * rng.normal(0, 1, n)).astype(np.float32)


def _rate_fraction(fps: float) -> Fraction:
    """29.97 -> 30000/1001 (the NTSC rates), other rates as the closest small fraction."""
    for base in (24, 30, 60, 120, 240):
        if abs(fps - base * 1000 / 1001) < 1e-3:
            return Fraction(base * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


def write_test_video(path: str | Path, seconds: float, fps: float, size: tuple[int, int] = (96, 64),
                     *, codec: str = "mpeg4") -> Path:
    """A small silent video (a moving gradient with a frame counter bar), atomically."""
    import av

    path = Path(path)
    n = int(np.floor(seconds * fps + 1e-9))
    w, h = size
    with atomic_path(path) as tmp:
        with av.open(str(tmp), "w") as out:
            stream = out.add_stream(codec, rate=_rate_fraction(fps))
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            x = np.arange(w)[None, :, None]
            for i in range(n):
                img = np.broadcast_to(((x + 3 * i) % 256).astype(np.uint8), (h, w, 3)).copy()
                img[: h // 8, : (i % w)] = 255
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    return path


def mux_audio(video: str | Path, samples: np.ndarray, rate: int, out: str | Path | None = None,
              *, codec: str = "aac", bit_rate: int = 128000, delay: float = 0.0) -> Path:
    """Add a mono audio track to ``video``, its first sample ``delay`` seconds (>= 0) after the
    video's first frame (as some cameras write it).

    The video stream is copied packet by packet (no re-encoding); any audio already in the file
    is dropped. ``codec`` is ``"aac"`` or ``"pcm_s16le"`` (the latter needs a ``.mov``/``.mkv`` file).
    Written atomically to ``out`` (default: replace ``video``). Returns the written path.
    """
    import av

    video = Path(video)
    out = Path(out) if out is not None else video
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    with av.open(str(video)) as src, atomic_path(out) as tmp, av.open(str(tmp), "w", format=_format(out)) as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        astream = dst.add_stream(codec, rate=rate, layout="mono")
        if codec == "aac":
            astream.bit_rate = bit_rate
        fmt = astream.codec_context.format.name  # fltp for aac, s16 for pcm
        packets = []
        step = 1024
        start = int(round(max(delay, 0.0) * rate))
        for i in range(0, len(samples), step):
            chunk = samples[i : i + step]
            if fmt.startswith("s16"):
                data = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)[None]
            else:
                data = chunk[None]
            frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
            frame.sample_rate = rate
            frame.pts = start + i
            frame.time_base = Fraction(1, rate)
            packets.extend(astream.encode(frame))
        packets.extend(astream.encode(None))
        vpackets = [p for p in src.demux(vin) if p.dts is not None]
        # interleave by time so the muxer never buffers a whole stream
        key = lambda p: float(p.dts * p.time_base)  # noqa: E731
        for p in vpackets:
            p.stream = vout
        for p in sorted(vpackets + packets, key=key):
            dst.mux(p)
    return out


def _format(path: Path) -> str | None:
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}.get(path.suffix.lower())


def synth_take_audio(
    videos: Sequence[str | Path],
    clocks: Sequence[CameraClock],
    *,
    claps: Sequence[float] = (0.5,),
    footsteps: Sequence[float] = (),
    rate: int = 48000,
    seconds: Sequence[float] | None = None,
    codec: str = "aac",
    seed: int = 0,
    **room: float,
) -> list[Path]:
    """Give every camera's video its camera's recording of one synthetic room sound.

    ``clocks[c]`` says when video ``c``'s frame 0 happened and how its clock drifts; ``seconds``
    per video defaults to each file's duration. Extra keyword arguments go to :func:`room_sound`.
    Returns the rewritten video paths.
    """
    import av

    if seconds is None:
        seconds = []
        for v in videos:
            with av.open(str(v)) as c:
                s = c.streams.video[0]
                seconds.append(float(s.frames / s.average_rate) if s.frames else float(c.duration / 1e6))
    end = max(cl.local_to_take(s) for cl, s in zip(clocks, seconds)) + 1.0
    start = min(0.0, min(cl.time_offset for cl in clocks)) - 1.0
    shifted = room_sound(end - start, rate, claps=[t - start for t in claps], footsteps=[t - start for t in footsteps],
                         seed=seed, **room)
    rng = np.random.default_rng(seed + 1)
    out = []
    for k, (video, clock, s) in enumerate(zip(videos, clocks, seconds)):
        local = camera_audio(shifted, rate, clock.replace(time_offset=clock.time_offset - start), s,
                             gain=float(rng.uniform(0.5, 1.5)), seed=seed + 10 + k)
        out.append(mux_audio(video, local, rate, codec=codec))
    return out


__all__ = ["clap", "footstep", "room_sound", "camera_audio", "write_test_video", "mux_audio", "synth_take_audio"]
