"""Running one task where it lands (a local worker process or a Ray worker on any node).

:func:`run_task` never raises for a task's own failure: a take whose data is bad (no person, a corrupt
video) comes back as a ``failed`` result with its message, so the batch records it and goes on, and a
retrying backend (Ray) does not retry it. Only a dead worker process is retried.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mocap.config import from_dict
from mocap.errors import MocapError
from mocap.pipeline import TAKE_STAGES, RunConfig, StageRun, calibrate_stage, detect_camera_stage, merge_detect_stage
from mocap.session import Session

from mocap.batch.plan import Task, TaskResult

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parents[1]


@functools.cache
def code_fingerprint() -> str:
    """``<version>+<hash>``: the mocap version and a hash of its code and package data, the same on
    every node that runs the same mocap."""
    from mocap._version import __version__

    h = hashlib.sha256()
    for path in sorted(p for p in PACKAGE.rglob("*") if p.suffix in (".py", ".toml") and p.is_file()):
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


def where() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_task(task: Task | dict[str, Any], progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run one task; returns its :class:`TaskResult` as a dict (plain data for any transport)."""
    if isinstance(task, dict):
        task = Task(**task)
    t0 = time.perf_counter()
    try:
        result = _run(task, progress)
    except MocapError as exc:
        result = TaskResult("failed", time.perf_counter() - t0, str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug fails this task (logged with its traceback), not the batch
        log.exception("%s failed", task.label)
        result = TaskResult("failed", time.perf_counter() - t0, f"internal error ({type(exc).__name__}: {exc})")
    return dataclasses.asdict(dataclasses.replace(result, worker=where()))


def _run(task: Task, progress: Callable[[int, int], None] | None) -> TaskResult:
    if task.code and task.code != code_fingerprint():
        raise MocapError(f"this worker ({where()}) runs mocap {code_fingerprint()}, the batch was started with "
                         f"mocap {task.code}", fix="install the same mocap on every node of the cluster")
    session = Session.load(task.session)
    config = from_dict(RunConfig, task.config, source=task.session)
    if task.kind == "report":
        return _report(session, task.take, rebuild=task.rebuild)
    if task.kind == "index":
        from mocap.report import build_session_report

        t0 = time.perf_counter()
        path = build_session_report(session, build_takes=False)
        return TaskResult("ran", time.perf_counter() - t0, report=str(path))
    return _from_run(_stage(task, session, config, progress))


def _stage(task: Task, session: Session, config: RunConfig,
           progress: Callable[[int, int], None] | None) -> StageRun:
    stage_progress = (lambda stage, camera, done, total: progress(done, total)) if progress else None
    if task.kind == "calibrate":
        return calibrate_stage(session, config, accept=task.accept)
    if task.kind == "detect_camera":
        return detect_camera_stage(session, task.take, task.camera, config, progress=progress)
    if task.kind == "detect":
        return combined_run("detect", task.take, merge_detect_stage(session, task.take, config))
    stages = dict(TAKE_STAGES)
    if task.kind not in stages:
        raise MocapError(f"unknown task kind {task.kind!r}", fix="use the same mocap on the driver and the workers")
    return combined_run(task.kind, task.take, stages[task.kind](session, task.take, config, stage_progress))


def combined_run(stage: str, take: str | None, runs: list[StageRun]) -> StageRun:
    """One task's stage runs (one per performer, or none where the stage does not apply to the take) as one:
    "ran" when any ran, else "reused"."""
    if len(runs) == 1:
        return runs[0]
    status = "ran" if any(r.status == "ran" for r in runs) else "reused"
    return StageRun(stage, take, status, sum(r.seconds for r in runs), tuple(p for r in runs for p in r.outputs),
                    "; ".join(r.message for r in runs if r.message))


def _from_run(run: StageRun) -> TaskResult:
    return TaskResult(run.status, run.seconds, run.message)


def _report(session: Session, take: str, *, rebuild: bool) -> TaskResult:
    """The take's report and its verdict; kept as it is when nothing before it ran and it exists."""
    from mocap.report import report_figures, write_take_report
    from mocap.report.take import verdict

    path = session.layout.take(take).report
    t0 = time.perf_counter()
    if not rebuild and path.is_file():
        status, figures = "reused", report_figures(session, take)
    else:
        status, figures = "ran", write_take_report(session, take).figures
    seconds = time.perf_counter() - t0 if status == "ran" else 0.0
    level, line = verdict(figures)
    return TaskResult(status, seconds, verdict=level, verdict_line=line, report=str(path))


def node_report(paths: list[str]) -> dict[str, Any]:
    """What a cluster node runs and sees: its mocap code fingerprint and which of ``paths`` it misses."""
    return {"code": code_fingerprint(), "host": where(), "missing": [p for p in paths if not os.path.exists(p)]}
