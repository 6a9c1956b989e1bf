"""What the command line shows people: logging, progress bars and result tables (rich)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

LOG_ENV = "MOCAP_LOG_FILE"


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def default_log_file() -> Path:
    """``$MOCAP_CACHE/mocap.log`` (default ``~/.cache/mocap``): the log of commands without a session."""
    return Path(os.environ.get("MOCAP_CACHE", Path.home() / ".cache" / "mocap")) / "mocap.log"


def setup_logging(verbose: bool = False, log_file: Path | None = None) -> Path | None:
    """Messages at INFO (DEBUG with ``verbose``) on the terminal, everything in ``log_file``.

    The log file's path is also put in ``$MOCAP_LOG_FILE``, where worker processes send the native
    libraries' own chatter (MediaPipe, TensorFlow Lite, absl) instead of the terminal."""
    from rich.logging import RichHandler

    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    root.setLevel(logging.DEBUG)
    terminal = RichHandler(console=console(True), show_path=False, show_time=False)
    terminal.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.addHandler(terminal)
    for noisy in ("matplotlib", "PIL", "absl", "numba", "h5py"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if log_file is None:
        return None
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    except OSError:
        return None
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    os.environ[LOG_ENV] = str(log_file)
    return log_file


def current_log_file() -> Path | None:
    value = os.environ.get(LOG_ENV)
    return Path(value) if value else None


def progress_bars():
    """A rich progress display with one bar per step and camera; returns ``(progress, callback)`` where
    ``callback(step, camera_index, done, total, camera_names=None)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=console(True), transient=False)
    tasks: dict[tuple[str, int], int] = {}

    def callback(step: str, cam: int, done: int, total: int, names=None):
        key = (step, cam)
        if key not in tasks:
            label = step if step == "fit" else f"{step} {names[cam] if names else cam}"
            tasks[key] = progress.add_task(label, total=total)
        progress.update(tasks[key], completed=done, total=total)

    return progress, callback


def print_calibration(result) -> None:
    from rich.table import Table

    q = result.quality
    table = Table(title="Calibration quality")
    for col in ("camera", "mean px", "p95 px", "views", "shared", "coverage", "height m"):
        table.add_column(col, justify="right" if col != "camera" else "left")
    for cq, cam in zip(q.cameras, result.rig.cameras):
        table.add_row(cq.name, f"{cq.reprojection_mean_px:.2f}", f"{cq.reprojection_p95_px:.2f}", str(cq.views),
                      str(cq.shared_frames), f"{cq.coverage:.0%}", f"{cam.center[2]:.2f}")
    con = console()
    con.print(table)
    con.print(f"board square length error: {q.square_error_mean_mm:+.2f} ± {q.square_error_std_mm:.2f} mm "
              f"({q.square_pairs} corner pairs); world frame from: {q.world.get('source')}")
    for w in q.warnings:
        con.print(f"[yellow]warning:[/] {w}", markup=True)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    con.print(f"timings: {timings}")
    for kind, path in result.files.items():
        con.print(f"  {kind:12s} {path}", soft_wrap=True)


def _quality(r, session) -> str:
    """One line of figures for a stage that ran or was reused."""
    from mocap.io.tomlio import read_toml
    from mocap.keypoints2d.keypoints import Keypoints2D
    from mocap.triangulation.points import Points3D

    if r.status == "failed":
        return r.message.splitlines()[0]
    if r.stage == "calibrate" and session.rig is not None:
        src = read_toml(session.layout.calibration.source)
        return f"imported from {src['file']} ({src['format']})"
    if r.stage == "calibrate":
        q = read_toml(session.layout.calibration.quality)
        worst = max(c["reprojection_mean_px"] for c in q["cameras"])
        return (f"reprojection <= {worst:.2f} px, square {q['square_error_mean_mm']:+.2f} ± "
                f"{q['square_error_std_mm']:.2f} mm, world: {q['world']['source']}")
    if r.stage == "detect" and r.outputs[0].name == session.layout.take(r.take).candidates2d.name:
        from mocap.keypoints2d.candidates import Candidates2D

        cand = Candidates2D.load(r.outputs[0])
        most = cand.people_found().max(axis=1)
        return "most people found: " + ", ".join(f"{n} {k}" for n, k in zip(cand.camera_names, most))
    if r.stage == "detect":
        kp = Keypoints2D.load(r.outputs[0])
        return "person found: " + ", ".join(f"{n} {v:.0%}" for n, v in zip(kp.camera_names, kp.detection_rate()))
    if r.stage == "sync":
        from mocap.sync.clock import TakeSync

        return sync_summary(TakeSync.load(r.outputs[0]))
    if r.stage == "people":
        from mocap.people.roster import read_roster

        people = read_roster(r.outputs[0]).people
        return f"{len(people)} performers: " + ", ".join(
            f"{p.name} frames {p.first_frame}-{p.last_frame} ({p.frames_seen} seen)" for p in people)
    if r.stage == "triangulate":
        raw = Points3D.load(r.outputs[1])
        ok = np.isfinite(raw.xyz[..., 0])
        err = f", median reprojection {np.nanmedian(raw.reprojection_error):.1f} px" if ok.any() else ""
        return f"{ok.mean():.0%} of joints triangulated{err}"
    if r.stage == "fit":
        q = read_toml(r.outputs[1])
        return (f"fit error median {q['fit_error_mm']['median']:.1f} mm, p95 {q['fit_error_mm']['p95']:.1f} mm"
                + (f", {len(q['sparse_frames'])} frames interpolated" if q["sparse_frames"] else ""))
    if r.stage == "export":
        return ", ".join(p.name for p in r.outputs)
    if r.stage == "report":
        return str(r.outputs[0]) if r.outputs else ""
    return ""


def sync_summary(sync) -> str:
    """One line: each camera's offset (ms), drift and method."""
    parts = []
    for c in list(sync)[1:]:
        drift = f" {c.drift_ppm:+.0f} ppm" if c.drift_ppm else ""
        parts.append(f"{c.name} {c.time_offset * 1000:+.1f} ms{drift} ({c.method})")
    return ", ".join(parts) or "one camera"


def print_sync(take: str, sync, path: Path) -> None:
    """A table of a take's clocks: offset (s and frames), frame rate, drift, confidence, method."""
    from rich.table import Table

    table = Table(title=f"sync of take {take}")
    for col in ("camera", "offset (s)", "offset (frames)", "fps", "drift (ppm)", "confidence", "method"):
        table.add_column(col)
    for c in sync:
        table.add_row(c.name, f"{c.time_offset:+.4f}", f"{c.time_offset * c.fps:+.2f}", f"{c.fps:g}",
                      f"{c.drift_ppm:+.1f}", f"{c.confidence:.2f}", c.method)
    console().print(table)
    console().print(f"  {path}", soft_wrap=True)


def print_runs(runs, session) -> None:
    """What ran, what was reused, the main quality figures, and where the files are."""
    from rich.table import Table

    table = Table(title="mocap run")
    for col in ("stage", "take", "status", "seconds", "quality"):
        table.add_column(col)
    for r in runs:
        table.add_row(r.stage, r.take or "-", r.status, f"{r.seconds:.1f}" if r.status == "ran" else "",
                      _quality(r, session))
    console().print(table)
    console().print(f"outputs in {session.output_dir}", soft_wrap=True)
