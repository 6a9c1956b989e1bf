"""End-to-end benchmark: a fresh ``mocap run`` of a sample session, timed per stage against detection.

It also prints the errors against ground truth.

Run from the repository root::

    .venv/bin/python bench/end_to_end.py [--session studio4] [--output FOLDER]

Every stage runs fresh (``--output`` must be a new or empty folder; default: a temporary folder).
Detection is the physical bound of the pipeline (every frame of every camera goes through the pose
network), so the goal is that all the processing of a take (detect + triangulate + fit + export +
report) takes at most 1.3x the detection time. The ratio is printed with and without the one-off
calibration of the session. For a synthetic session (one with ``ground_truth/``) it also prints
MPJPE of the triangulated landmarks and of the fitted body joints against the truth.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.errors import InputError  # noqa: E402
from mocap.evaluation.ground_truth import evaluate_take  # noqa: E402
from mocap.pipeline import STAGES, run_session  # noqa: E402
from mocap.session import Session  # noqa: E402

GOAL = 1.3
"""Target: processing time of a take at most this many times its detection time."""


def session_folder(name: str) -> Path:
    """A sample session by name (``sample_sessions/<name>``) or a session folder path."""
    path = Path(name)
    return path if path.is_dir() else REPO / "sample_sessions" / name


def stage_seconds(runs) -> dict[str, float]:
    """Wall seconds per stage, summed over takes (the session report counts as ``report``)."""
    seconds = dict.fromkeys(STAGES, 0.0)
    for r in runs:
        seconds[r.stage] += r.seconds
    return seconds


def print_times(seconds: dict[str, float], total: float) -> None:
    print("stage         seconds")
    for stage in STAGES:
        print(f"{stage:<12} {seconds[stage]:8.1f}")
    print(f"{'stages':<12} {sum(seconds.values()):8.1f}")
    print(f"{'total wall':<12} {total:8.1f}  (incl. hashing, loading, config)")
    detect = seconds["detect"]
    per_take = sum(seconds[s] for s in STAGES if s != "calibrate")
    print()
    print(f"goal: processing <= {GOAL:.1f}x detection (detection is the physical bound)")
    for label, value in (("with calibration", total), ("per take, without the one-off calibration", per_take)):
        ratio = value / detect if detect else float("nan")
        verdict = "meets the goal" if ratio <= GOAL else "misses the goal"
        print(f"{label}: {value:.1f} s / detection {detect:.1f} s = {ratio:.2f}x  ({verdict})")


def print_errors(folder: Path, session: Session) -> None:
    print()
    for take in session.takes:
        try:
            ev = evaluate_take(folder, take.name, session.output_dir)
        except InputError:
            print(f"{take.name}: no ground truth")
            continue
        print(f"{take.name} against ground truth")
        if ev.points3d is not None:
            print(f"  triangulated points: MPJPE {ev.points3d.mpjpe:.1f} mm, PA-MPJPE {ev.points3d.pa_mpjpe:.1f} mm "
                  f"({len(ev.points3d_names)} BlazePose landmarks)")
        if ev.body_joints is not None:
            bj = ev.body_joints
            print(f"  fitted body joints:  MPJPE {bj.mpjpe:.1f} mm, PA-MPJPE {bj.pa_mpjpe:.1f} mm "
                  f"(22 SMPL-X body joints), joint angles {ev.joint_angle_mean_deg:.1f} deg (mean)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--session", default="studio4", help="sample session name or session folder")
    parser.add_argument("--output", type=Path, default=None, help="new or empty output folder (default: temporary)")
    args = parser.parse_args()

    folder = session_folder(args.session)
    output = args.output or Path(tempfile.mkdtemp(prefix="mocap_end_to_end_"))
    if output.exists() and any(output.iterdir()):
        parser.error(f"{output} is not empty: the benchmark needs a fresh run (give a new --output)")
    session = dataclasses.replace(Session.load(folder), output_dir=output.resolve())
    takes = ", ".join(t.name for t in session.takes)
    print(f"## mocap run on {folder.name}: {len(session.cameras)} cameras, takes: {takes}; output {output}\n",
          flush=True)

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # Blender's exporters print progress
        runs = run_session(session)
    total = time.perf_counter() - t0
    print_times(stage_seconds(runs), total)
    print_errors(folder, session)
    return 0


if __name__ == "__main__":
    sys.exit(main())
