"""Long takes: minutes of 4-camera footage through ``mocap run``, time and peak memory per stage, and the
detection throughput with and without decoding.

Run from the repository root (it takes tens of minutes; on a shared machine run it with ``nice``)::

    .venv/bin/python bench/long_take.py                      # everything below
    .venv/bin/python bench/long_take.py --minutes 2          # one length only (640x480; --size 1280x720)
    .venv/bin/python bench/long_take.py --throughput         # detection throughput only

1. **Detection throughput**: BlazePose on one camera's H.264 clip at 640x480, 1280x720 and 1920x1080, decoding
   included (``detect_camera``, the code the pipeline runs: with one decoding thread, as each worker of a
   multi-camera run, and with OpenCV's default threads, as a one-camera run) side by side with MediaPipe alone
   on the same frames decoded beforehand, in the same run. Frames per second of wall time (one process) and
   per CPU-second (all the process's threads: what a fully busy core delivers). The gap is what decoding and
   conversion cost.
2. **Long takes**: 2 and 10 minutes at 640x480 (from ``sample_sessions/studio4``) and 2 minutes at 1280x720
   (from the same session rendered once at that size by ``mocap synth session ... --size 1280x720``, cached),
   4 cameras at 30 fps. Rendering minutes of footage takes hours, so a rendered take is looped forwards and
   backwards (ping-pong: the motion stays continuous) and re-encoded as H.264; its ground truth is looped the
   same way. Each run is a fresh ``mocap run`` in a subprocess, with the session's calibration done once
   beforehand (it is a one-off per session). Time and peak memory per stage (resident memory summed over the
   whole process tree: the CLI, the detection workers, Blender's exporters), and the end to end time of the
   take (the whole ``mocap run`` command, start-up and the reused calibration included) over its detection time.

Everything generated is cached in ``~/.cache/mocap/bench/long_take`` (``MOCAP_BENCH_CACHE``). The last line
printed is ``long take: M min, peak memory N MB, end to end R x detection`` (the last long take run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.io.tomlio import read_toml, write_toml  # noqa: E402

CACHE = Path(os.environ.get("MOCAP_BENCH_CACHE", Path.home() / ".cache" / "mocap" / "bench" / "long_take"))
SHARED_DATA = Path(os.environ.get("MOCAP_SHARED_DATA", REPO.parent / "shared" / "data"))
SOURCE_TAKE = "demo"
TAKE = "long"
SIZES = {"640x480": (640, 480), "1280x720": (1280, 720)}
THROUGHPUT_SIZES = ((640, 480), (1280, 720), (1920, 1080))
STAGES = ("calibrate", "detect", "triangulate", "fit", "export", "report")
GOAL_RATIO = 1.3
GOAL_MEMORY_MB = 4096
GOAL_FLAT = 0.25
GOAL_DETECTION_GAP = 0.10


# ---------------------------------------------------------------------------------------------- memory
class TreeMemory:
    """Samples the resident memory (RSS) of a process and all its descendants from ``/proc``."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []  # (time.time(), bytes)
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        return tree

    def _rss(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                return int(fh.read().split()[1]) * self._page
        except (OSError, ValueError, IndexError):
            return 0

    def _run(self):
        while not self._stop.is_set():
            self.samples.append((time.time(), sum(self._rss(p) for p in self._tree())))
            self._stop.wait(self.interval)

    def peak_mb(self, start: float = -np.inf, end: float = np.inf) -> float:
        values = [b for t, b in self.samples if start <= t <= end]
        return max(values) / 2**20 if values else float("nan")


def cpu_seconds() -> float:
    """CPU time of this process, all threads."""
    t = os.times()
    return t.user + t.system


# ---------------------------------------------------------------------------------------------- videos
def has_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


BITS_PER_PIXEL = 0.2
"""H.264 bitrate of the generated videos per pixel and frame: about what phones record (12 Mbit/s at 1080p30,
5.5 at 720p30); the content is easy to compress, and decoding costs more at a higher bitrate."""


def write_video(path: Path, frames, fps: float, size: tuple[int, int]) -> None:
    """Encode BGR frames as H.264 (PyAV's libx264 at `BITS_PER_PIXEL`), or MPEG-4 Part 2 through OpenCV when
    PyAV is not installed. Written to a temporary name, then renamed."""
    import cv2

    tmp = path.with_name(path.stem + ".part" + path.suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    if has_pyav():
        import av

        with av.open(str(tmp), "w") as out:
            stream = out.add_stream("libx264", rate=int(round(fps)))
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
            stream.bit_rate = int(BITS_PER_PIXEL * size[0] * size[1] * fps)
            stream.options = {"preset": "veryfast"}
            for img in frames:
                out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
            out.mux(stream.encode())
    else:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        for img in frames:
            writer.write(img)
        writer.release()
    tmp.replace(path)


def read_frames(path: Path) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return frames


def pingpong(n_source: int, n_frames: int) -> np.ndarray:
    """Frame indices 0, 1, ..., n-1, n-2, ..., 1, 0, 1, ... (forwards and backwards), ``n_frames`` of them."""
    period = np.r_[np.arange(n_source), np.arange(n_source - 2, 0, -1)]
    return period[np.arange(n_frames) % len(period)]


# ---------------------------------------------------------------------------------------------- sessions
def source_session(size: str) -> Path:
    """The rendered session a long take is looped from: studio4, or the same session rendered at 1280x720."""
    if size == "640x480":
        return REPO / "sample_sessions" / "studio4"
    folder = CACHE / f"studio4_{size}"
    if not (folder / "session.toml").is_file():
        from mocap.synth.human_take import HumanSessionConfig, write_human_session

        w, h = SIZES[size]
        command = f"mocap synth session {folder} --motion demo --cameras 4 --size {size} --fps 30 --seconds 3.5 --seed 0"
        print(f"rendering the source session once ({command}); this takes about 10 minutes", flush=True)
        write_human_session(folder, HumanSessionConfig(motion="demo", cameras=4, size=(w, h), fps=30.0, seconds=3.5,
                                                       seed=0, command=command))
    return folder


def loop_ground_truth(src: Path, dst: Path, order: np.ndarray) -> None:
    """The source take's ground truth, every per-frame array re-indexed by ``order``."""
    from mocap.io.atomic import write_npz

    for name in ("camera_rig.toml", "board_poses.npz"):
        if (src / "ground_truth" / name).is_file():
            shutil.copy2(src / "ground_truth" / name, dst / "ground_truth" / name)
    for name in ("joints.npz", "body_motion.npz"):
        with np.load(src / "ground_truth" / SOURCE_TAKE / name, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        n = len(arrays["timestamps"])
        fps = float(arrays.get("fps", arrays.get("mocap_framerate")))
        looped = {k: (v[order] if v.ndim and v.shape[0] == n else v) for k, v in arrays.items()}
        looped["timestamps"] = np.arange(len(order)) / fps
        write_npz(dst / "ground_truth" / TAKE / name, **looped)


def long_session(size: str, minutes: float) -> Path:
    """A session whose take ``long`` loops the source take for ``minutes`` (cached)."""
    from mocap.session import Session

    folder = CACHE / f"studio4_{size}_{minutes:g}min"
    if (folder / "session.toml").is_file():
        return folder
    src = source_session(size)
    session = Session.load(src)
    fps = 30.0
    n_frames = int(round(minutes * 60 * fps))
    print(f"making {folder.name}: {len(session.cameras)} cameras x {n_frames} frames "
          f"({'H.264' if has_pyav() else 'MPEG-4'})", flush=True)
    tmp = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "ground_truth" / TAKE).mkdir(parents=True)
    order = None
    for camera, video in zip(session.camera_names, session.take(SOURCE_TAKE).videos):
        frames = read_frames(video)
        order = pingpong(len(frames), n_frames)
        h, w = frames[0].shape[:2]
        write_video(tmp / "takes" / TAKE / f"{camera}.mp4", (frames[i] for i in order), fps, (w, h))
    loop_ground_truth(src, tmp, order)
    data = read_toml(src / "session.toml")
    board = Path(data["board"])
    data["board"] = str(board if board.is_absolute() or not (src / board).is_file() else (src / board).resolve())
    data["calibration"] = {**data.get("calibration", {}), "videos": str(src.resolve() / "calibration" / "{camera}.mp4")}
    data["takes"] = [{"name": TAKE, "videos": "takes/{take}/{camera}.mp4"}]
    data["output_dir"] = "output"
    write_toml(tmp / "session.toml", data)
    tmp.rename(folder)
    return folder


def calibration_output(size: str, session: Path) -> Path:
    """The session's calibration (``mocap run --until calibrate``), done once per size and cached."""
    out = CACHE / f"calibration_{size}"
    if not (out / "calibration" / "camera_rig.toml").is_file():
        print(f"calibrating the {size} session once", flush=True)
        subprocess.run([sys.executable, "-m", "mocap.cli", "run", str(session), "--until", "calibrate", "-o", str(out)],
                       check=True, env=child_env(), stdout=subprocess.DEVNULL)
    return out / "calibration"


def child_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


# ---------------------------------------------------------------------------------------------- long takes
def run_long_take(size: str, minutes: float) -> dict:
    """A fresh ``mocap run`` of the long take; seconds and peak memory per stage."""
    session = long_session(size, minutes)
    calibration = calibration_output(size, session)
    out = session / "output"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(calibration, out / "calibration")
    log = open(session / "mocap_run.log", "w")
    print(f"\n## {minutes:g} min at {size}: mocap run {session}", flush=True)
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "mocap.cli", "run", str(session), "--take", TAKE],
                            env=child_env(), stdout=log, stderr=subprocess.STDOUT)
    with TreeMemory(proc.pid) as memory:
        rc = proc.wait()
    t1 = time.time()
    log.close()
    if rc != 0:
        raise SystemExit(f"mocap run failed (exit {rc}); see {session / 'mocap_run.log'}")
    take = out / "takes" / TAKE
    spans = {}
    for stage in STAGES[1:-1]:
        stamp = take / f".{stage}.stamp.toml"
        end = stamp.stat().st_mtime
        spans[stage] = (end - float(read_toml(stamp)["seconds"]), end)
    spans["calibrate"] = (t0, spans["detect"][0])  # start-up, checks, the reused calibration
    spans["report"] = (spans["export"][1], t1)
    frames = int(round(minutes * 60 * 30))
    return {"size": size, "minutes": minutes, "frames": frames, "total": t1 - t0, "session": session,
            "seconds": {s: b - a for s, (a, b) in spans.items()},
            "peak": {s: memory.peak_mb(a, b) for s, (a, b) in spans.items()}, "peak_all": memory.peak_mb(),
            "load": os.getloadavg()}


def truth_errors(result: dict) -> str:
    from mocap.evaluation.ground_truth import evaluate_take

    ev = evaluate_take(result["session"], TAKE, result["session"] / "output")
    parts = []
    if ev.points3d is not None:
        parts.append(f"3D points MPJPE {ev.points3d.mpjpe:.1f} mm")
    if ev.body_joints is not None:
        parts.append(f"fitted body MPJPE {ev.body_joints.mpjpe:.1f} mm, joint angles {ev.joint_angle_mean_deg:.1f} deg")
    return "; ".join(parts)


def print_long_take(r: dict) -> None:
    detect = r["seconds"]["detect"]
    print(f"{r['minutes']:g} min at {r['size']}, 4 cameras x {r['frames']} frames; load average during the run "
          f"{r['load'][0]:.1f} (1 min) / {r['load'][1]:.1f} (5 min) on {os.cpu_count()} cores\n")
    print("| stage | seconds | x detection | peak memory (MB, all processes) |")
    print("|---|---|---|---|")
    for stage in STAGES:
        s = r["seconds"][stage]
        extra = f" ({4 * r['frames'] / s:.0f} camera-frames/s)" if stage == "detect" else (
            f" ({r['frames'] / s:.0f} frames/s)" if stage == "fit" else "")
        label = "start-up + calibration (reused)" if stage == "calibrate" else stage
        print(f"| {label} | {s:.1f}{extra} | {s / detect:.2f} | "
              f"{r['peak'][stage]:.0f} |")
    print(f"| **mocap run, end to end** | {r['total']:.1f} | **{r['total'] / detect:.2f}** | {r['peak_all']:.0f} |")
    print(f"\nagainst the looped ground truth: {truth_errors(r)}")


def summary_line(r: dict) -> str:
    return (f"long take: {r['minutes']:g} min, peak memory {r['peak_all']:.0f} MB, "
            f"end to end {r['total'] / r['seconds']['detect']:.2f} x detection")


# ---------------------------------------------------------------------------------------------- throughput
def throughput_clip(size: tuple[int, int], n_frames: int) -> Path:
    """An H.264 clip of real footage (the Pose2Sim demo's camera 1, cropped to landscape and scaled), or of
    the rendered studio4 take when the shared real data is absent; looped ping-pong to ``n_frames``."""
    import cv2

    w, h = size
    path = CACHE / f"throughput_{w}x{h}_{n_frames}.mp4"
    if path.is_file():
        return path
    real = SHARED_DATA / "pose2sim_multiperson" / "videos" / "cam01.mp4"
    src = read_frames(real if real.is_file() else REPO / "sample_sessions" / "studio4" / "takes" / SOURCE_TAKE / "cam0.mp4")

    def scaled(img):
        H, W = img.shape[:2]
        ch = min(H, int(W * h / w))
        y0 = (H - ch) // 2
        cw = int(ch * w / h)
        x0 = (W - cw) // 2
        crop = img[y0:y0 + ch, x0:x0 + cw]
        return cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA if cw > w else cv2.INTER_CUBIC)

    write_video(path, (scaled(src[i]) for i in pingpong(len(src), n_frames)), 30.0, size)
    return path


def measure(func) -> tuple[float, float]:
    """``(wall seconds, CPU seconds)`` of ``func()``."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    func()
    return time.perf_counter() - t0, cpu_seconds() - c0


def detection_throughput(n_frames: int, repeats: int) -> list[dict]:
    rows = []
    for size in THROUGHPUT_SIZES:
        rows.append(throughput_row(size, n_frames, repeats))
        print(f"  {size[0]}x{size[1]}: done", flush=True)
    return rows


VARIANTS = {"alone": "MediaPipe alone, frames decoded beforehand",
            "one_thread": "decoding included, 1 decoding thread (each worker of a multi-camera run)",
            "default": "decoding included, OpenCV's default decoding threads (a one-camera run)"}


def throughput_row(size: tuple[int, int], n_frames: int, repeats: int) -> dict:
    """MediaPipe alone on pre-decoded RGB frames vs `detect_camera` on the clip (decoding included)."""
    import cv2

    from mocap.keypoints2d.detectors import create_detector
    from mocap.keypoints2d.stage import DetectionConfig, detect_camera

    config = DetectionConfig()
    clip = throughput_clip(size, n_frames)
    rgb = [cv2.cvtColor(img, cv2.COLOR_BGR2RGB) for img in read_frames(clip)]

    def mediapipe_alone():
        detector = create_detector(config.detector, **config.detector_options())
        try:
            for img in rgb:
                detector.detect(img)
        finally:
            detector.close()

    funcs = {"alone": mediapipe_alone, "one_thread": lambda: detect_camera(clip, config, decode_threads=1),
             "default": lambda: detect_camera(clip, config)}
    best = dict.fromkeys(funcs, (np.inf, np.inf))
    for _ in range(repeats):  # alternate, keep the fastest of each (the machine is shared)
        for key, func in funcs.items():
            wall, cpu = measure(func)
            best[key] = (min(best[key][0], wall), min(best[key][1], cpu))
    return {"size": size, "frames": n_frames, **{k: (n_frames / wall, n_frames / cpu) for k, (wall, cpu) in best.items()}}


def print_throughput(rows: list[dict], repeats: int) -> None:
    print(f"\nBlazePose full, one camera, {rows[0]['frames']} frames of H.264 ({BITS_PER_PIXEL} bits per pixel) per "
          f"size, best of {repeats} alternating runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. "
          "Frames per second of wall time / per CPU-second (all threads of the process); in brackets the gap to "
          "MediaPipe alone. Every run includes creating the detector.\n")
    print("| size | " + " | ".join(VARIANTS.values()) + " |")
    print("|---|---|---|---|")
    for r in rows:
        aw, ac = r["alone"]
        cells = [f"{aw:.1f} / {ac:.1f}"] + [f"{w:.1f} / {c:.1f} ({1 - w / aw:+.0%} / {1 - c / ac:+.0%})"
                                            for w, c in (r["one_thread"], r["default"])]
        print(f"| {r['size'][0]}x{r['size'][1]} | " + " | ".join(cells) + " |")


# ---------------------------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, help="run one long take of this length only (e.g. 2, 10, 0.5)")
    parser.add_argument("--size", choices=sorted(SIZES), default="640x480", help="image size of --minutes")
    parser.add_argument("--throughput", action="store_true", help="detection throughput only")
    parser.add_argument("--throughput-frames", type=int, default=200, help="frames per throughput clip")
    parser.add_argument("--repeats", type=int, default=5, help="throughput runs per variant (the best is kept)")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.minutes is None:
        print("## Detection throughput (decoding included vs MediaPipe alone)", flush=True)
        print_throughput(detection_throughput(args.throughput_frames, args.repeats), args.repeats)
        if args.throughput:
            return 0
    plan = [(args.size, args.minutes)] if args.minutes else [("640x480", 2), ("640x480", 10), ("1280x720", 2)]
    results = []
    for size, minutes in plan:
        results.append(run_long_take(size, minutes))
        print_long_take(results[-1])
    if len(results) > 1:
        by = {(r["size"], r["minutes"]): r for r in results}
        short, long_ = by.get(("640x480", 2)), by.get(("640x480", 10))
        print("\n## Goals")
        if short and long_:
            growth = long_["peak_all"] / short["peak_all"] - 1
            print(f"peak memory 10 min {long_['peak_all']:.0f} MB (goal < {GOAL_MEMORY_MB} MB), 2 min "
                  f"{short['peak_all']:.0f} MB: {growth:+.0%} (goal within {GOAL_FLAT:.0%})")
        for r in results:
            ratio = r["total"] / r["seconds"]["detect"]
            print(f"{r['minutes']:g} min at {r['size']}: end to end {ratio:.2f} x detection (goal <= {GOAL_RATIO})")
    print(f"\nbenchmark wall time {time.perf_counter() - t0:.0f} s")
    for r in sorted(results, key=lambda r: (r["size"] != "640x480", r["minutes"])):
        print(summary_line(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
