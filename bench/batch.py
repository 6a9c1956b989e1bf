"""Batch throughput: ``mocap batch`` (local and Ray backends) against a sequential loop of ``mocap run``.

For 1, 2 and 4 takes (one session each, copies of ``sample_sessions/studio4``: 4 cameras, the 106-frame
take) it measures, in the same run and on the same fresh folders:

* ``mocap run`` loop -- ``mocap run <session>`` for one session after the other (what a studio scripts
  today); every run starts its own processes;
* ``batch local``    -- one ``mocap batch`` over all the sessions, local backend (one worker per core);
* ``batch ray``      -- the same on a Ray cluster started beforehand on this machine (one node with this
  machine's cores; its start-up time is printed on its own).

Each run goes through the whole pipeline (detect, triangulate, fit, BVH export, report); the sessions'
calibration is done once beforehand and copied in (it is reused by every mode alike). Printed: wall
seconds, takes per minute, camera-frames per second (cameras x frames / wall time), the speed-up over the
loop, and a projection for N machines from the per-task seconds the 4-take local batch measured.

Goals: batch local >= 1.8x the loop for 4 takes on 2 cores; Ray within 10 % of local on one machine.
Both take lengths are measured: the recorded 106-frame take, and 15-frame cuts (where fixed costs per
``mocap run`` weigh most).

Run from the repository root (the machine should be idle; the load average is printed)::

    .venv/bin/python bench/batch.py [--counts 1 2 4] [--frames 0 15] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.io.tomlio import read_toml, write_toml  # noqa: E402
from mocap.pipeline import RunConfig, calibrate_stage  # noqa: E402
from mocap.session import Session  # noqa: E402

STUDIO4 = REPO / "sample_sessions" / "studio4"
SETTINGS = ["--set", 'export.formats=["bvh"]']
GOAL_LOCAL = 1.8
GOAL_RAY = 0.10


def make_template(folder: Path, frames: int | None) -> tuple[Path, int, int]:
    """A calibrated one-take session; returns it, its cameras and its frames per take."""
    src = Session.load(STUDIO4)
    if frames:
        from mocap.synth.trimmed import trimmed_session

        trimmed_session(STUDIO4, folder, {"take": (0, frames)})
    else:
        data = read_toml(src.file)
        data.update(name=folder.name, board=src.board, output_dir="output",
                    calibration={"videos": [str(p) for p in src.calibration_videos]},
                    takes=[{"name": "take", "videos": [str(p) for p in src.takes[0].videos]}])
        write_toml(folder / "session.toml", data)
    session = Session.load(folder)
    calibrate_stage(session, RunConfig.load(session))
    import cv2

    n = int(cv2.VideoCapture(str(session.takes[0].videos[0])).get(cv2.CAP_PROP_FRAME_COUNT))
    return folder, len(session.cameras), n


def make_tree(template: Path, root: Path, n: int) -> list[Path]:
    sessions = []
    for k in range(n):
        target = root / f"s{k}"
        shutil.copytree(template, target)
        shutil.rmtree(target / "output" / "takes", ignore_errors=True)
        sessions.append(target)
    return sessions


def mocap(*args: str | Path, env: dict | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mocap.cli", *map(str, args)], capture_output=True, text=True,
                          env=env)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"mocap {' '.join(map(str, args))} failed:\n{proc.stderr[-3000:]}")
    return seconds


def start_ray(cores: int):
    from ray.cluster_utils import Cluster

    temp = tempfile.mkdtemp(prefix="mocap-ray-", dir="/tmp")
    t0 = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": cores, "include_dashboard": False,
                                                            "temp_dir": temp})
    cluster.wait_for_nodes()
    return cluster, temp, time.perf_counter() - t0


def projection(summary: dict, wall: float, slots: int, cameras: int, machines=(1, 2, 4, 8, 16),
               takes: int = 100) -> list[str]:
    """Takes per minute on N machines of ``slots`` cores each, from the measured per-task seconds (a model,
    not a measurement): ``T`` takes take ``T * W / (N * slots) + L`` seconds, ``W`` the task-seconds of a
    take (each stage at its fastest over the batch's takes: warm workers, no one-off imports) and ``L`` one
    take's critical path (one camera's detection, then the other stages one after the other)."""
    done = [t for t in summary["takes"] if t["status"] == "done"]
    warm = {stage: min(t["seconds"][stage] for t in done) for stage in done[0]["seconds"]}
    work = sum(warm.values())
    critical = warm["detect"] / cameras + work - warm["detect"]
    model = len(done) * work / slots + critical
    lines = [f"per take (warm): {work:.1f} task-seconds ({', '.join(f'{k} {v:.1f}' for k, v in warm.items())}); "
             f"critical path {critical:.1f} s",
             f"check: the model gives {model:.0f} s for the measured {len(done)}-take local batch, which took "
             f"{wall:.0f} s (start-up: imports, first tasks)",
             f"{'machines':>8} {'cores':>6} {'takes/min':>10} {f'{takes} takes (min)':>16}"]
    for m in machines:
        seconds = takes * work / (m * slots) + critical
        lines.append(f"{m:8d} {m * slots:6d} {60 * takes / seconds:10.1f} {seconds / 60:16.1f}")
    return lines


def measure(template: Path, tmp: Path, counts, cluster, env) -> list[tuple[int, str, float, dict]]:
    """``(takes, mode, wall seconds, batch.toml or {})`` for every count and mode, on fresh copies."""
    rows = []
    for n in counts:
        loop = make_tree(template, tmp / f"loop{n}", n)
        rows.append((n, "mocap run loop", sum(mocap("run", s, *SETTINGS, env=env) for s in loop), {}))
        modes = [("batch local", [])]
        if cluster is not None:
            modes.append(("batch ray", ["--backend", "ray", "--address", cluster.address]))
        for mode, extra in modes:
            root = tmp / f"{mode.split()[1]}{n}"
            make_tree(template, root, n)
            wall = mocap("batch", root, "-o", root.with_suffix(".out"), *extra, *SETTINGS, env=env)
            summary = read_toml(root.with_suffix(".out") / "batch.toml")
            assert summary["counts"]["done"] == n, summary["counts"]
            rows.append((n, mode, wall, summary))
    return rows


def report(rows, cameras: int, frames: int) -> None:
    print(f"\n{cameras} cameras x {frames} frames per take")
    print(f"{'takes':>5}  {'mode':<16} {'wall s':>7} {'takes/min':>9} {'cam-frames/s':>12} {'vs loop':>8}")
    loops = {n: w for n, mode, w, _ in rows if mode == "mocap run loop"}
    for n, mode, wall, _ in rows:
        print(f"{n:5d}  {mode:<16} {wall:7.1f} {60 * n / wall:9.2f} {n * cameras * frames / wall:12.1f} "
              f"{loops[n] / wall:7.2f}x")
    n = max(loops)
    walls = {mode: w for k, mode, w, _ in rows if k == n}
    ratio = loops[n] / walls["batch local"]
    print(f"goal: batch local >= {GOAL_LOCAL}x the loop for {n} takes: {ratio:.2f}x "
          f"({'met' if ratio >= GOAL_LOCAL else 'NOT met'})")
    if "batch ray" in walls:
        gap = walls["batch ray"] / walls["batch local"] - 1
        print(f"goal: Ray within {GOAL_RAY:.0%} of local for {n} takes: {gap:+.1%} "
              f"({'met' if gap <= GOAL_RAY else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--frames", type=int, nargs="+", default=[0, 15],
                        help="frames per take, one run each (0: the whole 106-frame take, as recorded)")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO)] + [os.environ.get("PYTHONPATH", "")]))
    load0 = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="mocap-bench-batch-") as tmp:
        tmp = Path(tmp)
        cluster = None
        if not args.no_ray:
            cluster, ray_temp, ray_start = start_ray(cores)
        try:
            for k, frames in enumerate(args.frames):
                template, cameras, n_frames = make_template(tmp / f"template{k}", frames or None)
                results.append((cameras, n_frames, measure(template, tmp / f"f{k}", args.counts, cluster, env)))
        finally:
            if cluster is not None:
                cluster.shutdown()
                shutil.rmtree(ray_temp, ignore_errors=True)
    load1 = os.getloadavg()

    print(f"\nmocap batch vs a loop of mocap run: whole pipeline (BVH export, report), {cores} cores, one "
          "session per take, calibration done once beforehand")
    print(f"load average before {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f}, after "
          f"{load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f} (1 / 5 / 15 min)")
    if cluster is not None:
        print(f"Ray cluster start (once, not in the times below): {ray_start:.1f} s")
    for cameras, frames, rows in results:
        report(rows, cameras, frames)
    cameras, frames, rows = results[0]
    n = max(args.counts)
    summary, wall = next((s, w) for k, mode, w, s in rows if k == n and mode == "batch local")
    print(f"\nPROJECTION (not measured): N machines like this one ({cores} cores), from the per-task seconds of "
          f"the {n}-take local batch ({frames}-frame takes); assumes storage every node reads fast enough and "
          "one driver")
    for line in projection(summary, wall, cores, cameras):
        print("  " + line)


if __name__ == "__main__":
    main()
