"""Sync benchmark: our camera sync vs the whole-frame keypoint-speed method (Pose2Sim's), on the same takes.

Run from the repository root (``nice``: it renders for about an hour the first time, cached after)::

    nice .venv/bin/python bench/sync.py [--quick] [--parts synthetic,rendered,real]

Three parts:

**rendered**: sessions made by ``mocap synth session`` (a rendered person, 4 cameras at 480x360, sound
in every video; cached in ``~/.cache/mocap/bench/sync``): the same 6 s performance seen synchronized at
30 fps and by cameras at 30/60, 25/30 and 29.97/30 fps, started at offsets from 0.37 frame to 3 s. Each
runs the real pipeline (calibrate, BlazePose detection, sync, triangulation and smoothing) with each
sync method's ``sync.toml``; 3D errors are against the ground truth at the timeline's instants, over the
whole take and over the stretch all four cameras record (``MPJPE 4 cams``, comparable with the
synchronized render over the same stretch).

**real**: the Pose2Sim multi-person trial (../shared/data, 3 synchronized real 60 fps cameras, 100
frames, BlazePose): one camera cut by whole frames, another read at a fractional offset; the shifts
found (relative to those found on the untouched tracks) against the known ones.

**synthetic**: each take is a 3D motion (a procedural one, and real CMU clips from ../shared/data/bvh when
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

#: Rendered sessions (``mocap synth session``) are cached here: rendering takes about an hour on 2 cores.
RENDER_CACHE = Path(os.environ.get("MOCAP_BENCH_CACHE", Path.home() / ".cache" / "mocap" / "bench")) / "sync"
#: Rendered takes: the same 6 s performance (``demo`` motion, 4 cameras, 480x360, sound in every video) seen
#: synchronized, and by cameras at mixed rates starting at different times: relative to cam0, cam1 starts
#: 0.37 of its own frame later, cam2 0.43 s earlier and cam3 3.0 s later.
RENDERED = {
    "sync30": {},
    "30_60": {"camera_fps": (30.0, 60.0, 30.0, 60.0)},
    "25_30": {"camera_fps": (25.0, 30.0, 25.0, 30.0)},
    "2997_30": {"camera_fps": (29.97, 30.0, 30.0, 29.97)},
}


def rendered_config(name: str):
    """The ``HumanSessionConfig`` of a rendered bench take."""
    from mocap.synth.human_take import HumanSessionConfig

    extra = dict(RENDERED[name])
    if "camera_fps" in extra:
        f1 = extra["camera_fps"][1]
        extra["time_offsets"] = (0.43, 0.43 + 0.37 / f1, 0.0, 3.43)
    return HumanSessionConfig(motion="demo", size=(480, 360), fps=30.0, seconds=6.0, audio=True, take="demo",
                              **extra)


# --------------------------------------------------------------------------------------------------
# The reference: whole-frame cross-correlation of vertical keypoint speeds (Pose2Sim's idea)
# --------------------------------------------------------------------------------------------------


def whole_frame_sync(xy, fps, max_lag: float = 5.0, min_overlap: float = 1.0) -> TakeSync:
    """Whole-frame offsets: per camera, ``sum_j |dy_j/dt|`` (gaps filled linearly), 6 Hz low-pass,
    resampled to the reference camera's rate; at every lag, the Pearson correlation with the reference
    over the samples both have (as ``a.corr(b.shift(lag))`` in pandas), at least ``min_overlap``
    seconds; the best lag rounded to the camera's own whole frames."""
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
        score = []
        for k in lags:
            u, v = a[max(k, 0): len(b) + k][: len(a)], b[max(-k, 0): len(a) - k][: len(b)]
            n = min(len(u), len(v))  # both slices run over the overlap (none: empty)
            score.append(np.corrcoef(u[:n], v[:n])[0, 1] if n >= max(min_overlap * ref_fps, 3) else -np.inf)
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


# --------------------------------------------------------------------------------------------------
# Rendered sessions through the whole pipeline
# --------------------------------------------------------------------------------------------------


def rendered_session(name: str):
    """The cached rendered session ``name`` (rendered now when missing), with its output folder."""
    import dataclasses

    from mocap.session import Session
    from mocap.synth.human_take import write_human_session

    folder = RENDER_CACHE / name
    if not (folder / "session.toml").is_file():
        log.info("rendering %s into %s (about 15 min on 2 cores)", name, folder)
        write_human_session(folder, rendered_config(name))
    return dataclasses.replace(Session.load(folder), output_dir=RENDER_CACHE / "out" / name)


def prepared(name: str):
    """Session ``name`` calibrated and detected (stamped stages: reused on later runs)."""
    import shutil

    from mocap.pipeline import RunConfig, run_session

    session = rendered_session(name)
    reference = RENDER_CACHE / "out" / "sync30" / "calibration"
    if name != "sync30" and reference.is_dir() and not session.layout.calibration.rig.is_file():
        shutil.copytree(reference, session.layout.calibration.folder, dirs_exist_ok=True)  # same rig, same take
    run_session(session, RunConfig(until="detect"), accept=True)
    return session


def points_errors(session, take: str, window: tuple[float, float] | None = None) -> float:
    """MPJPE (mm) of the take's smoothed points against the truth at their instants; only the instants in the
    truth-time ``window`` when given."""
    from mocap.evaluation.ground_truth import load_ground_truth
    from mocap.keypoints2d.keypoints import Keypoints2D
    from mocap.sync.resample import interpolate_frames
    from mocap.triangulation.points import Points3D

    truth = load_ground_truth(session.root, take)
    files = session.layout.take(take)
    pts = Points3D.load(files.points3d)
    first = Keypoints2D.load(files.keypoints2d).camera_names[0]
    times = truth.take_to_truth(pts.timestamps, first)
    index = {n: i for i, n in enumerate(truth.blazepose_names)}
    joints = [j for j, n in enumerate(pts.joint_names) if n in index]
    ref = interpolate_frames(truth.blazepose[:, [index[pts.joint_names[j]] for j in joints]], truth.frames_at(times))
    err = np.linalg.norm(pts.xyz[:, joints] - ref, axis=-1) * 1000
    keep = np.isfinite(ref).all(axis=(1, 2))
    if window is not None:
        keep &= (times >= window[0] - 1e-9) & (times <= window[1] + 1e-9)
    return float(np.nanmean(err[keep]))


def all_cameras_window(truth_sync, counts, offset0: float) -> tuple[float, float]:
    """Truth-time stretch every camera records."""
    spans = truth_sync.spans(counts)
    return float(spans[:, 0].max() + offset0), float(spans[:, 1].min() + offset0)


def run_rendered(quick: bool) -> list[tuple]:
    """Rows ``(take, method, offset error (frames), MPJPE, MPJPE 4 cams, time)``."""
    from mocap.evaluation.ground_truth import load_ground_truth
    from mocap.keypoints2d.keypoints import Keypoints2D
    from mocap.smoothing.stage import smooth_take
    from mocap.sync.clock import unsynchronized
    from mocap.sync.stage import SyncConfig, sync_take
    from mocap.triangulation.stage import triangulate_take

    rows = []
    reference = prepared("sync30")

    def triangulate(session, sync):
        sync.save(session.layout.take("demo").sync)
        triangulate_take(session, "demo")
        smooth_take(session, "demo")

    triangulate(reference, load_sync(reference))
    names = [n for n in RENDERED if n != "sync30"][: 1 if quick else None]
    for name in ["sync30"] + names:
        session = prepared(name) if name != "sync30" else reference
        kp = Keypoints2D.load(session.layout.take("demo").keypoints2d)
        truth = load_sync(session)
        gt = load_ground_truth(session.root, "demo")
        window = all_cameras_window(truth, list(kp.frame_counts), float(gt.time_offsets[0]))
        tracks = [kp.camera_tracks(c) for c in range(kp.n_cameras)]
        methods = {
            "true clocks": lambda: truth,
            "none": lambda: unsynchronized(kp.camera_names, list(kp.camera_fps)),
            "whole-frame": lambda: whole_frame_sync([t[0] for t in tracks], list(kp.camera_fps)),
            "motion (ours)": lambda: sync_take(session, "demo", SyncConfig(method="motion")).sync,
            "audio (ours)": lambda: sync_take(session, "demo", SyncConfig(method="audio")).sync,
        }
        if name == "sync30":
            methods = {k: methods[k] for k in ("true clocks", "motion (ours)", "audio (ours)")}
        else:
            rows.append((name, "synchronized render", float("nan"), float("nan"),
                         points_errors(reference, "demo", window), float("nan")))
        for method, fn in methods.items():
            t0 = time.perf_counter()
            sync = fn()
            dt = time.perf_counter() - t0
            sync = TakeSync(tuple(c.replace(name=n) for c, n in zip(sync, kp.camera_names)), dict(sync.metadata))
            off = max(abs(a.time_offset - b.time_offset) * b.fps for a, b in zip(sync, truth))
            triangulate(session, sync)
            rows.append((name, method, off, points_errors(session, "demo"), points_errors(session, "demo", window), dt))
        if name == "sync30":
            triangulate(reference, load_sync(reference))  # the reference for the other takes
    return rows


def load_sync(session) -> TakeSync:
    """The true clocks of a rendered session (``ground_truth/<take>/sync.toml``)."""
    return TakeSync.load(session.ground_truth.sync("demo"))


# --------------------------------------------------------------------------------------------------
# Real footage: known shifts of real keypoints
# --------------------------------------------------------------------------------------------------

REAL_CAMERAS = ("cam01", "cam02", "cam04")
REAL_SHIFTS = [(7, 0.4), (3, 0.37), (12, 0.75), (5, 0.0)]


def run_real() -> list[tuple]:
    """Rows ``(shift, method, error of cam02's whole-frame cut (frames), error of cam04's fraction (frames), time)``."""
    from mocap.calibration.formats import read_calibration
    from mocap.keypoints2d.stage import DetectionConfig, detect_camera
    from mocap.sync.motion import MotionSyncConfig
    from mocap.sync.signals import interpolate_cubic

    folder = SHARED_DATA / "pose2sim_multiperson"
    if not folder.is_dir():
        log.info("skipping real footage: %s not found", folder)
        return []
    rig = read_calibration(folder / "calibration" / "Calib.qca.txt", "qualisys").subset(REAL_CAMERAS)
    found = [detect_camera(folder / "videos" / f"{n}.mp4", DetectionConfig()) for n in REAL_CAMERAS]
    xy, conf = [f.xy for f in found], [f.conf for f in found]
    # relative to the untouched tracks: no snapping to whole frames (the untouched rig would snap, the shifted not)
    config = MotionSyncConfig(max_lag=0.5, snap_frames=0.0)

    def shifted(cut, frac):
        n = len(xy[2]) - 1
        return ([xy[0], xy[1][cut:], interpolate_cubic(xy[2], np.arange(n) + frac)],
                [conf[0], conf[1][cut:], conf[2][:n]])

    methods = {"motion (ours)": lambda x, c: motion_sync(rig, x, c, [60.0] * 3, config=config).sync,
               "whole-frame": lambda x, c: whole_frame_sync(x, [60.0] * 3, max_lag=0.5)}
    rows = []
    for method, fn in methods.items():
        base = np.array([c.time_offset * 60 for c in fn(*shifted(0, 0.0))])
        for cut, frac in REAL_SHIFTS:
            t0 = time.perf_counter()
            sync = fn(*shifted(cut, frac))
            dt = time.perf_counter() - t0
            got = np.array([c.time_offset * 60 for c in sync]) - base
            rows.append((f"cut {cut}, fraction {frac}", method, got[1] - cut, got[2] - frac, dt))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="procedural synthetic takes up to 30 s, one rendered take")
    ap.add_argument("--parts", default="rendered,real,synthetic", help="comma-separated: rendered, real, synthetic")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("mocap").setLevel(logging.WARNING)
    parts = set(args.parts.split(","))
    out = []
    if "rendered" in parts:
        head = f"{'rendered take':<14} {'method':<20} {'offset err':>11} {'MPJPE':>8} {'MPJPE 4 cams':>13} {'time':>7}"
        out += [head, f"{'':<14} {'':<20} {'(frames)':>11} {'(mm)':>8} {'(mm)':>13} {'(s)':>7}", "-" * len(head)]
        for name, method, off, mpjpe, m4, dt in run_rendered(args.quick):
            out.append(f"{name:<14} {method:<20} {off:>11.3f} {mpjpe:>8.1f} {m4:>13.1f} {dt:>7.2f}")
        out.append("")
    if "real" in parts:
        head = f"{'real shift (frames)':<24} {'method':<14} {'cut err':>9} {'fraction err':>13} {'time':>7}"
        out += [head, "-" * len(head)]
        for shift, method, e1, e2, dt in run_real():
            out.append(f"{shift:<24} {method:<14} {e1:>9.3f} {e2:>13.3f} {dt:>7.2f}")
        out.append("")
    if "synthetic" in parts:
        head = f"{'synthetic take':<26} {'method':<14} {'offset err':>11} {'drift err':>10} {'MPJPE':>9} {'time':>7}"
        out += [head, f"{'':<26} {'':<14} {'(frames)':>11} {'(ppm)':>10} {'(mm)':>9} {'(s)':>7}", "-" * len(head)]
        for name, method, off, derr, mpjpe, dt in run(args.quick):
            out.append(f"{name:<26} {method:<14} {off:>11.3f} {derr:>10.1f} {mpjpe:>9.1f} {dt:>7.2f}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
