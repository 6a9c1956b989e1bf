"""Several performers: association + tracking time per frame, and multi-person detection speed.

Run from the repository root::

    .venv/bin/python bench/multiperson.py [--frames 120] [--video-frames 60] [--skip-detection]

Everything runs pinned to one core (``os.sched_setaffinity``) with one BLAS thread. Tracking times are
the thread's CPU time (``time.thread_time``), so other work sharing the core does not inflate them;
detection rates are wall-clock.

1. **Association + tracking** (:class:`mocap.people.tracking.PeopleTracker.update`, which runs the
   cross-view association, the triangulation of the groups and the identity assignment) on
   synthetic walkers (:mod:`mocap.people.synthetic`: 1-6 people on random paths never closer than
   0.45 m, 2-8 cameras on a ring, 1080x1920, 2 px noise, 5 % missed detections, shuffled
   candidates): median (and 90th percentile) milliseconds per frame, and identity switches.
   Goal: <= 5 ms per frame for 3 people and 4 cameras.
2. **Detection** on the real two-person footage (``../shared/data/pose2sim_multiperson``, 4 cameras
   1088x1920, decoding excluded): frames/s of the legacy single-person ``mp.solutions.pose``
   (model_complexity=1, video mode) and of :class:`mocap.people.detector.MultiPoseDetector` with 1,
   2 and 3 poses on the same frames, with the mean number of people found per frame.
   Goal: two-person detection >= half the single-person frames/s.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.people import synthetic as syn  # noqa: E402
from mocap.people.association import AssociationConfig  # noqa: E402
from mocap.people.tracking import PeopleTracker, TrackingConfig  # noqa: E402

FPS = 60.0
PEOPLE = (1, 2, 3, 4, 5, 6)
CAMERAS = (2, 3, 4, 6, 8)


def shared_data() -> Path:
    """``../shared/data`` next to the repository (or ``$MOCAP_SHARED_DATA``)."""
    return Path(os.environ.get("MOCAP_SHARED_DATA", REPO.parent / "shared" / "data"))


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity)"


def identity_errors(tracks, obs) -> tuple[int, int]:
    """Identity switches (a true person's identity changes between frames where one identity holds
    that person alone) and mixed frames (an identity holding candidates of several true people)."""
    n_frames = tracks.candidate.shape[2]
    label = np.full((tracks.n_people, n_frames), -1)
    for n in range(tracks.n_people):
        for f in range(n_frames):
            who = {int(obs.person[c, f, s]) for c, s in enumerate(tracks.candidate[n, :, f]) if s >= 0}
            label[n, f] = who.pop() if len(who) == 1 else (-2 if who else -1)
    switches = 0
    for i in range(obs.points3d.shape[0]):
        seq = [int(np.flatnonzero(label[:, f] == i)[0]) for f in range(n_frames) if (label[:, f] == i).any()]
        switches += sum(a != b for a, b in zip(seq, seq[1:]))
    return switches, int((label == -2).sum())


def bench_tracking(n_frames: int) -> None:
    config = TrackingConfig(bones=syn.BONES, association=AssociationConfig(mirror=syn.MIRROR))
    median = np.full((len(PEOPLE), len(CAMERAS)), np.nan)
    p90 = np.full_like(median, np.nan)
    switches = np.zeros(median.shape, int)
    mixed = np.zeros(median.shape, int)
    for i, n_people in enumerate(PEOPLE):
        people = syn.random_scene(n_people, n_frames, radius=2.2, min_distance=0.45, seed=n_people)
        for k, n_cams in enumerate(CAMERAS):
            rig = syn.ring_rig(n_cams, (1080, 1920))
            obs = syn.observe(rig, people, noise_px=2.0, miss_rate=0.05, seed=n_cams)
            tracker = PeopleTracker(rig, FPS, config)
            tracker.update(obs.xy[:, 0], obs.conf[:, 0])  # imports, caches
            times = []
            for f in range(1, n_frames):
                t0 = time.thread_time()
                tracker.update(obs.xy[:, f], obs.conf[:, f])
                times.append(time.thread_time() - t0)
            median[i, k] = 1e3 * np.median(times)
            p90[i, k] = 1e3 * np.percentile(times, 90)
            switches[i, k], mixed[i, k] = identity_errors(tracker.result(), obs)
    head = "people \\ cameras " + "".join(f"{c:>13d}" for c in CAMERAS)
    print(f"\nassociation + tracking, CPU ms per frame: median (p90), {n_frames} frames, 1080x1920, one core")
    print(head)
    for i, n_people in enumerate(PEOPLE):
        cells = "".join(f"{median[i, k]:>6.2f} ({p90[i, k]:>4.1f})" for k in range(len(CAMERAS)))
        print(f"{n_people:>16d} {cells}")

    def listed(a):
        runs = [(p, c, a[i, k]) for i, p in enumerate(PEOPLE) for k, c in enumerate(CAMERAS) if a[i, k]]
        return ", ".join(f"{p}p x {c}c: {v}" for p, c, v in runs)

    print(f"identity switches: {int(switches.sum())} in all {switches.size} runs ({listed(switches) or '-'})")
    print(f"person-frames whose identity mixed two people: {int(mixed.sum())} ({listed(mixed) or '-'})")
    k3, k4 = PEOPLE.index(3), CAMERAS.index(4)
    verdict = "met" if median[k3, k4] <= 5.0 else "NOT met"
    print(f"goal <= 5 ms/frame for 3 people x 4 cameras: {median[k3, k4]:.2f} ms ({verdict})")


def read_frames(video: Path, n: int) -> list[np.ndarray]:
    import cv2

    from mocap.io.frames import open_frames

    frames = []
    for i, bgr in open_frames(video).frames():
        if i >= n:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return frames


def bench_detection(n_frames: int) -> None:
    import mediapipe as mp

    from mocap.people.bundle import pose_landmarker_bundle
    from mocap.people.detector import MultiPoseDetector

    folder = shared_data() / "pose2sim_multiperson" / "videos"
    videos = sorted(folder.glob("cam*.mp4"))
    if not videos:
        print(f"\ndetection: skipped, {folder} not found")
        return
    bundle = pose_landmarker_bundle()
    rows = ["legacy mp.solutions.pose (1 person)"] + [f"PoseLandmarker num_poses={k}" for k in (1, 2, 3)]
    fps = np.zeros((len(rows), len(videos)))
    found = np.zeros_like(fps)
    for v, video in enumerate(videos):
        frames = read_frames(video, n_frames)
        legacy = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False)
        legacy.process(frames[0])  # warm up (graph start)
        t0 = time.perf_counter()
        n_found = sum(legacy.process(rgb).pose_landmarks is not None for rgb in frames)
        fps[0, v] = len(frames) / (time.perf_counter() - t0)
        found[0, v] = n_found / len(frames)
        legacy.close()
        for r, k in enumerate((1, 2, 3), start=1):
            with MultiPoseDetector(num_poses=k, fps=FPS, bundle=bundle) as det:
                det.detect(frames[0])  # warm up; the timed frames continue the same video clock
                t0 = time.perf_counter()
                counts = [len(det.detect(rgb)[0]) for rgb in frames]
                fps[r, v] = len(frames) / (time.perf_counter() - t0)
                found[r, v] = np.mean(counts)
    size = "x".join(map(str, frames[0].shape[1::-1]))
    print(f"\ndetection on {folder} ({len(videos)} cameras, {size}, {n_frames} frames each, decoding excluded, "
          "one core): frames/s (people found per frame)")
    print(f"{'':38s}" + "".join(f"{v.stem:>15s}" for v in videos) + f"{'mean':>15s}")
    for r, row in enumerate(rows):
        cells = "".join(f"{fps[r, v]:>8.1f} ({found[r, v]:.2f})" for v in range(len(videos)))
        print(f"{row:38s}{cells}{fps[r].mean():>8.1f} ({found[r].mean():.2f})")
    ratio = fps[2].mean() / fps[0].mean()
    verdict = "met" if ratio >= 0.5 else "NOT met"
    print(f"goal: two-person detection >= half the single-person frames/s: {ratio:.2f} x legacy ({verdict})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120, help="synthetic frames per tracking run")
    parser.add_argument("--video-frames", type=int, default=60, help="real frames per camera for detection")
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--skip-tracking", action="store_true")
    args = parser.parse_args()
    print(pin_one_core())
    if not args.skip_tracking:
        bench_tracking(args.frames)
    if not args.skip_detection:
        bench_detection(args.video_frames)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
