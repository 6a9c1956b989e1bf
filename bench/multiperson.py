"""Several performers: association + tracking time per frame, multi-person detection speed, rendered takes
against their truth, and the real two-person footage.

Run from the repository root::

    .venv/bin/python bench/multiperson.py [--frames 120] [--video-frames 60] [--skip-detection]
        [--rendered] [--real]

Sections 1-2 run pinned to one core (``os.sched_setaffinity``) with one BLAS thread. Tracking times are
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
   (model_complexity=1, video mode) and of
   :class:`mocap.keypoints2d.detectors.blazepose_multi.MultiPoseDetector` with 1,
   2 and 3 poses on the same frames, with the mean number of people found per frame.
   Goal: two-person detection >= half the single-person frames/s.
3. **Rendered takes** (``--rendered``): ``mocap synth session --people 2 --solo all`` and ``--people 3
   --solo cleo`` (4 cameras, 640x480, 2.5 s at 30 fps; rendered once into ``~/.cache/mocap/bench/people``),
   the whole pipeline (``mocap run``), then per performer against the truth: identity switches, MPJPE of the
   fitted body and of the triangulated landmarks together and alone (the same performer rendered alone,
   through the single-person pipeline; ana and ben of the trio are the duet's, same seed, motion, place and
   shirt, so their solo renders are the duet session's), and PCP (a limb is correct when both its endpoints
   are within half its length; Shelf's ten limbs on the fitted body: upper and lower arms and legs, pelvis to
   neck, neck to the top of the head). Goals: 0 switches, MPJPE within 20 % of alone, PCP >= 97 %.
4. **Real footage** (``--real``): the shared ``pose2sim_multiperson`` take (4 cameras, 100 frames, a real
   and a rendered person, Qualisys calibration converted): detection (two performers), the people stage,
   triangulation; per performer the frames tracked and the largest step of their 3D centre between two
   frames (an identity switch would jump by the distance between the people); then an overlay video per
   camera (``takes/two/overlay/``) to look at.
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

from mocap.people.tracking import PeopleTracker  # noqa: E402
from mocap.synth import walkers as syn  # noqa: E402

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
    median = np.full((len(PEOPLE), len(CAMERAS)), np.nan)
    p90 = np.full_like(median, np.nan)
    switches = np.zeros(median.shape, int)
    mixed = np.zeros(median.shape, int)
    for i, n_people in enumerate(PEOPLE):
        people = syn.random_scene(n_people, n_frames, radius=2.2, min_distance=0.45, seed=n_people)
        for k, n_cams in enumerate(CAMERAS):
            rig = syn.ring_rig(n_cams, (1080, 1920))
            obs = syn.observe(rig, people, noise_px=2.0, miss_rate=0.05, seed=n_cams)
            tracker = PeopleTracker(rig, FPS, bones=syn.BONES, mirror=syn.MIRROR)
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

    from mocap.keypoints2d.detectors.blazepose_multi import MultiPoseDetector
    from mocap.keypoints2d.detectors.bundle import pose_landmarker_bundle

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


BENCH_CACHE = Path(os.environ.get("MOCAP_CACHE", Path.home() / ".cache" / "mocap")) / "bench" / "people"


SOLOS = {2: "all", 3: "cleo"}
"""Who is rendered alone too (``--solo``): the trio's ana and ben are the duet's."""


def render_session(n_people: int) -> Path:
    """``mocap synth session --people N --solo ...`` into the bench cache (once; it takes tens of minutes)."""
    import subprocess

    out = BENCH_CACHE / f"people{n_people}"
    if not (out / "session.toml").is_file():
        tmp = out.with_suffix(".tmp")
        print(f"rendering {out} (slow: about 1 s per image per core) ...", flush=True)
        subprocess.run([sys.executable, "-m", "mocap.cli", "synth", "session", str(tmp), "--people", str(n_people),
                        "--solo", SOLOS[n_people], "--seconds", "2.5", "--fps", "30", "--cameras", "4", "--size",
                        "640x480"],
                       check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        tmp.rename(out)
    return out


def bench_rendered() -> None:
    import dataclasses

    from mocap.body.motion import BodyMotion
    from mocap.evaluation.ground_truth import evaluate_take, load_ground_truth
    from mocap.evaluation.people import evaluate_people, pcp_body
    from mocap.pipeline import RunConfig, run_session
    from mocap.session import Session

    print("\nrendered takes against the truth (4 cameras, 640x480, 2.5 s at 30 fps; mocap run, default settings)")
    print(f"{'take':6s} {'performer':9s} {'switches':>8s} {'body MPJPE mm':>14s} {'alone':>7s} {'ratio':>6s} "
          f"{'points MPJPE mm':>16s} {'alone':>7s} {'ratio':>6s} {'PCP body':>9s} {'PCP points':>10s} "
          f"{'PCP alone':>9s}")
    worst_ratio, worst_pcp, switches = 0.0, 1.0, 0
    sessions = {}
    for n_people in (2, 3):
        folder = render_session(n_people)
        session = Session.load(folder)
        session = dataclasses.replace(session, output_dir=BENCH_CACHE / "runs" / f"people{n_people}")
        sessions[n_people] = session
        t0 = time.perf_counter()
        runs = run_session(session, RunConfig.load(session, overrides={"report": {"enabled": False}}),
                           keep_going=True)
        failed = [r for r in runs if r.status == "failed"]
        print(f"  (pipeline {time.perf_counter() - t0:.0f} s{'; FAILED: ' + str(failed) if failed else ''})")
        take = session.takes[0].name
        result = evaluate_people(folder, take, session.output_dir)
        switches += result.identity_switches
        for p in result.performers:
            alone_in = next(s for s in sessions.values() if any(t.name.endswith(f"_{p.truth}") for t in s.takes))
            solo = next(t.name for t in alone_in.takes if t.name.endswith(f"_{p.truth}"))
            alone = evaluate_take(alone_in.root, solo, alone_in.output_dir)
            a_body, a_points = alone.body_joints.mpjpe, alone.points3d.mpjpe
            a_pcp = pcp_body(BodyMotion.load(alone_in.layout.take(solo).body_motion),
                             load_ground_truth(alone_in.root, solo).motion)
            r_body = p.body_joints.mpjpe / a_body
            r_points = p.points3d.mpjpe / a_points
            worst_ratio = max(worst_ratio, r_body, r_points)
            worst_pcp = min(worst_pcp, p.pcp_body)
            print(f"{take:6s} {p.name:9s} {result.identity_switches:>8d} {p.body_joints.mpjpe:>14.1f} {a_body:>7.1f} "
                  f"{r_body:>6.2f} {p.points3d.mpjpe:>16.1f} {a_points:>7.1f} {r_points:>6.2f} {p.pcp_body:>9.1%} "
                  f"{p.pcp_points:>10.1%} {a_pcp:>9.1%}")
        if result.missed:
            print(f"  true performers never tracked: {', '.join(result.missed)}")
    print(f"goals: identity switches 0: {switches} ({'met' if switches == 0 else 'NOT met'}); MPJPE within 20 % of "
          f"alone: worst ratio {worst_ratio:.2f} ({'met' if worst_ratio <= 1.2 else 'NOT met'}); PCP >= 97 %: "
          f"lowest {worst_pcp:.1%} ({'met' if worst_pcp >= 0.97 else 'NOT met'})")


def bench_real() -> None:
    from mocap.calibration.formats import read_calibration
    from mocap.io.tomlio import write_toml
    from mocap.pipeline import RunConfig, overlay_take, take_stages
    from mocap.session import Session
    from mocap.triangulation.points import Points3D

    data = shared_data() / "pose2sim_multiperson"
    if not data.is_dir():
        print(f"\nreal footage: skipped, {data} not found")
        return
    folder = BENCH_CACHE / "pose2sim_multiperson"
    folder.mkdir(parents=True, exist_ok=True)
    write_toml(folder / "session.toml", {
        "schema_version": 1, "name": "pose2sim_multiperson", "board": "charuco_7x5_a1", "output_dir": "output",
        "cameras": [f"cam0{k}" for k in range(1, 5)],
        "takes": [{"name": "two", "videos": str(data / "videos" / "{camera}.mp4")}]})
    session = Session.load(folder)
    read_calibration(data / "calibration" / "Calib.qca.txt", "qualisys").save(session.layout.calibration.rig)
    t0 = time.perf_counter()
    runs = []
    take_stages(session, "two", RunConfig.load(session, overrides={"until": "triangulate"}), None, runs)
    print(f"\nreal footage {data} (auto: people counted in the videos; {time.perf_counter() - t0:.0f} s)")
    for r in runs:
        print(f"  {r.stage:12s} {r.take:12s} {r.status:7s} {r.seconds:6.1f} s")
    from mocap.people.roster import read_roster

    files = session.layout.take("two")
    roster = read_roster(files.people)
    centres = []
    for p in roster.people:
        pts = Points3D.load(files.person(p.name).points3d_raw)
        hips = [pts.joint_names.index(n) for n in ("left_hip", "right_hip")]
        centre = pts.xyz[:, hips, :2].mean(axis=1)  # mid-hip on the floor
        centres.append(np.nanmedian(centre, axis=0))
        step = np.linalg.norm(np.diff(centre, axis=0), axis=-1)
        print(f"  {p.name}: frames {p.first_frame}-{p.last_frame} of {roster.frames}, seen by 2+ cameras in "
              f"{p.frames_seen}; mid-hip on the floor moves at most {np.nanmax(step) * 1000:.0f} mm between two "
              f"frames (raw triangulation)")
    gap = np.linalg.norm(np.subtract(*centres[:2])) if len(centres) >= 2 else float("nan")
    print(f"  the performers are {gap:.2f} m apart (median mid-hips): a switch would show as a step that large")
    paths = overlay_take(session, "two")
    print(f"  overlay videos: {paths[0].parent}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120, help="synthetic frames per tracking run")
    parser.add_argument("--video-frames", type=int, default=60, help="real frames per camera for detection")
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--skip-tracking", action="store_true")
    parser.add_argument("--rendered", action="store_true", help="also section 3 (renders once: slow)")
    parser.add_argument("--real", action="store_true", help="also section 4 (the real two-person footage)")
    args = parser.parse_args()
    if args.rendered or args.real:  # the pipeline's sections use every core; run them first, unpinned
        if args.real:
            bench_real()
        if args.rendered:
            bench_rendered()
    print(pin_one_core())
    if not args.skip_tracking:
        bench_tracking(args.frames)
    if not args.skip_detection:
        bench_detection(args.video_frames)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
