"""Sync benchmark: our camera sync vs the whole-frame keypoint-speed method, on synthetic takes.

Run from the repository root::

    .venv/bin/python bench/sync.py [--quick]

Each take is a 3D motion (a procedural one, and real CMU clips from ../shared/data/bvh when
present) seen by 4 virtual 1280x720 cameras, each at its own frame rate, start time (0.37 frame up
to 3 s) and clock drift, with 2 px noise and 3 % dropouts. On the same 2D tracks:

* true clocks: the floor (noise only);
* none: frame i of every camera is the same instant (what the pipeline assumed before sync);
* whole-frame: the Pose2Sim method, written here: vertical keypoint speeds summed over joints,
  6 Hz low-pass, cross-correlated with the reference camera, shifted by whole frames (a camera at
  another rate is first resampled to the reference's rate);
* motion: ``mocap.sync.motion.motion_sync`` (speed correlation, sub-frame reprojection refinement,
  drift);
* audio (takes with ``audio``): ``mocap.sync.audio.audio_sync`` on each camera's synthetic
  recording of claps, footsteps and room noise (onset envelopes from arrays: no video files).

For each: the largest offset error (in frames of the camera concerned, at mid-take, so drift
counts), drift error, the 3D error of a plain DLT triangulation of the tracks resampled with that
sync (``mocap.sync.resample``) against the true motion at the same instants (MPJPE, mm), and the
time the sync took.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.sync.audio import audio_sync, onsets_from_samples  # noqa: E402
from mocap.sync.clock import CameraClock, TakeSync  # noqa: E402
from mocap.sync.motion import motion_sync  # noqa: E402
from mocap.sync.resample import resample_take  # noqa: E402
from mocap.synth.unsynced import cmu_motion, make_take, procedural_motion, ring_rig  # noqa: E402
from mocap.multiview import triangulate_dlt  # noqa: E402

#: The shared real data (MOCAP_SHARED_DATA overrides, as in the tests).
SHARED_DATA = Path(os.environ.get("MOCAP_SHARED_DATA", REPO.parent / "shared" / "data"))
BVH_DIR = SHARED_DATA / "bvh"
log = logging.getLogger("bench.sync")


# --------------------------------------------------------------------------------------------------
# The reference: whole-frame cross-correlation of vertical keypoint speeds (Pose2Sim's idea)
# --------------------------------------------------------------------------------------------------


def whole_frame_sync(xy, fps, max_lag: float = 5.0) -> TakeSync:
    """Whole-frame offsets: per camera, ``sum_j |dy_j/dt|`` (gaps filled linearly), 6 Hz low-pass,
    resampled to the reference camera's rate, cross-correlated with it; the best lag rounded to
    the camera's own whole frames."""
    from scipy.signal import butter, filtfilt

    def speed(x, f):
        y = x[..., 1]
        idx = np.arange(len(y))
        for j in range(y.shape[1]):
            ok = np.isfinite(y[:, j])
            if ok.sum() >= 2:
                y[:, j] = np.interp(idx, idx[ok], y[ok, j])
        s = np.nansum(np.abs(np.diff(y, axis=0)), axis=1) * f
        s = filtfilt(*butter(4, 6.0 / (f / 2)), s)
        return (s - s.mean()) / (s.std() + 1e-12)

    ref_fps = fps[0]
    sig = []
    for x, f in zip(xy, fps):
        s = speed(np.array(x, float), f)
        t = np.arange(len(s)) / f
        sig.append(np.interp(np.arange(0, t[-1], 1 / ref_fps), t, s))
    clocks = [CameraClock("cam0", 0.0, fps[0], 0.0, 1.0, "motion")]
    m = int(max_lag * ref_fps)
    for c in range(1, len(xy)):
        a, b = sig[0], sig[c]
        lags = np.arange(-m, m + 1)
        score = [np.dot(a[max(k, 0): len(b) + k][: len(a)], b[max(-k, 0): len(a) - k][: len(b)]) /
                 max(min(len(a) - max(k, 0), len(b) - max(-k, 0)), 1) for k in lags]
        lag = lags[int(np.argmax(score))] / ref_fps  # seconds: b's frame 0 happened at a's time lag
        clocks.append(CameraClock(f"cam{c}", round(lag * fps[c]) / fps[c], fps[c], 0.0, 1.0, "motion"))
    return TakeSync(tuple(clocks))


# --------------------------------------------------------------------------------------------------
# Takes and scoring
# --------------------------------------------------------------------------------------------------

TAKES = [
    # name, motion, fps, offsets (s), drift (ppm), seconds, audio
    ("30/30 fps", "procedural", [30, 30, 30, 30], [0, 0.37 / 30, 1.234, -2.95], [0, 0, 0, 0], 15, True),
    ("30/60 fps", "procedural", [30, 60, 30, 60], [0, 0.37 / 60, -0.871, 2.999], [0, 0, 0, 0], 15, False),
    ("25/30 fps", "procedural", [25, 30, 25, 30], [0, 0.37 / 30, 2.0417, -1.5], [0, 0, 0, 0], 15, False),
    ("29.97/30 fps", "procedural", [29.97, 30, 30, 29.97], [0, 0.37 / 30, -0.4, 1.77], [0, 0, 0, 0], 15, False),
    ("drift 2 min", "procedural", [30, 30, 60, 29.97], [0, 0.5, -0.8, 2.2], [0, 100, -60, 40], 120, True),
    ("CMU dance 30/60/25/29.97", "05_20_moderndance", [30, 60, 25, 29.97], [0, 0.37 / 60, 1.618, -2.4], [0] * 4, 14, False),
    ("CMU walk 30/60", "131_01_walk", [30, 30, 60, 29.97], [0, 0.37 / 30, 1.618, -2.4], [0] * 4, 14, False),
    ("CMU Indian dance, drift", "94_01_indiandance", [30, 30, 60, 29.97], [0, 0.5, -0.8, 2.2], [0, 100, -60, 40], 120, False),
]


def load_motion(name: str):
    if name == "procedural":
        return procedural_motion(7)
    files = sorted(BVH_DIR.glob(f"*{name}*.bvh")) if BVH_DIR.is_dir() else []
    return cmu_motion(files[0])[0] if files else None


def score(sync: TakeSync, take, seconds: float) -> tuple[float, float, float]:
    """(max offset error at mid-take in frames, max drift error ppm, MPJPE mm)."""
    mid = 0.5 * seconds
    off = max(abs(float(a.local_to_take(mid) - b.local_to_take(mid))) * b.fps for a, b in zip(sync, take.truth))
    drift = max(abs(a.drift_ppm - b.drift_ppm) for a, b in zip(sync, take.truth))
    synced = resample_take(take.xy, take.conf, sync)
    pts = triangulate_dlt(take.rig, synced.xy, synced.conf)
    err = np.linalg.norm(pts - take.motion(synced.times), axis=-1) * 1000
    return off, drift, float(np.nanmean(err))


def audio_envelopes(take, seconds: float):
    from mocap.synth.audio import camera_audio, room_sound

    rate = 16000
    rng = np.random.default_rng(0)
    lead = 4.0
    claps = [lead + 1.0] + list(lead + 1.0 + np.cumsum(rng.uniform(4, 12, 40)))
    steps = list(lead + 2.0 + np.cumsum(rng.uniform(0.5, 0.7, 600)))
    room = room_sound(seconds + 2 * lead + 4, rate, claps=claps, footsteps=steps, seed=1)
    return [onsets_from_samples(camera_audio(room, rate, c.replace(time_offset=c.time_offset + lead), seconds,
                                             gain=rng.uniform(0.5, 1.5), seed=k), rate)
            for k, c in enumerate(take.truth)]


def run(quick: bool) -> list[tuple]:
    rows = []
    rig = ring_rig(4)
    for name, motion_name, fps, offsets, drift, seconds, with_audio in TAKES:
        if quick and (seconds > 30 or motion_name != "procedural"):
            continue
        motion = load_motion(motion_name)
        if motion is None:
            log.info("skipping %s: %s not found in %s", name, motion_name, BVH_DIR)
            continue
        fps = [float(f) for f in fps]
        take = make_take(motion, rig, offsets, fps, seconds, drift_ppm=drift, noise_px=2.0, dropout=0.03, seed=5)
        methods = {
            "true clocks": lambda: take.truth,
            "none": lambda: TakeSync(tuple(CameraClock(f"cam{k}", 0.0, f) for k, f in enumerate(fps))),
            "whole-frame": lambda: whole_frame_sync(take.xy, fps),
            "motion (ours)": lambda: motion_sync(rig, take.xy, take.conf, fps).sync,
        }
        if with_audio:
            envs = audio_envelopes(take, seconds)
            methods["audio (ours)"] = lambda: audio_sync([f"cam{k}" for k in range(4)], fps=fps, envelopes=envs).sync
        for method, fn in methods.items():
            t0 = time.perf_counter()
            sync = fn()
            dt = time.perf_counter() - t0
            off, derr, mpjpe = score(sync, take, seconds)
            rows.append((name, method, off, derr, mpjpe, dt))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="procedural takes up to 30 s only")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("mocap").setLevel(logging.WARNING)
    rows = run(args.quick)
    head = f"{'take':<26} {'method':<14} {'offset err':>11} {'drift err':>10} {'MPJPE':>9} {'time':>7}"
    lines = [head, f"{'':<26} {'':<14} {'(frames)':>11} {'(ppm)':>10} {'(mm)':>9} {'(s)':>7}", "-" * len(head)]
    for name, method, off, derr, mpjpe, dt in rows:
        lines.append(f"{name:<26} {method:<14} {off:>11.3f} {derr:>10.1f} {mpjpe:>9.1f} {dt:>7.2f}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
