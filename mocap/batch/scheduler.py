"""``mocap batch``: every take of every session found, through the stages, on a local or Ray backend.

:meth:`Batch.plan` finds and reads the sessions (nothing is written); :meth:`Batch.run` drives the task
graph on a backend, keeping its slots busy with the most urgent ready tasks (earlier takes first, later
stages first), and writes ``batch.toml`` and ``batch_index.html``. A task checks its own stage stamp
first, so a rerun does only what changed, and outputs are the same as ``mocap run``'s.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mocap.batch.backend import BACKENDS, Backend, Executor
from mocap.batch.plan import (Node, SessionPlan, TaskResult, build_graph, check_config, find_sessions,
                              plan_session)
from mocap.batch.summary import SessionRecord, TakeRecord, records, write_summary
from mocap.config import to_dict
from mocap.errors import InputError, MocapError
from mocap.io.tomlio import write_toml
from mocap.layout import BatchLayout

log = logging.getLogger(__name__)

#: Guesses of seconds per task kind for the ETA until the batch has measured its own.
_PRIOR_SECONDS = {"calibrate": 10.0, "detect_camera": 5.0, "fit": 3.0, "report": 3.0}
_DONE = ("ran", "reused")
_FINAL = ("ran", "reused", "failed", "skipped")


@dataclass(frozen=True)
class BatchStatus:
    """A snapshot for the live display."""

    takes: int
    done: int
    reused: int
    failed: int
    running: int
    elapsed_s: float
    eta_s: float | None
    active: tuple[str, ...] = ()
    """The running tasks, e.g. ``studio_a/walk detect cam2 40/106``."""


@dataclass
class BatchResult:
    takes: list[TakeRecord]
    sessions: list[SessionRecord]
    seconds: float
    layout: BatchLayout

    @property
    def failed(self) -> list[TakeRecord]:
        return [t for t in self.takes if t.status == "failed"]


class Batch:
    """The sessions of a batch and their task graph (see the module docstring)."""

    def __init__(self, plans: list[SessionPlan], *, accept: bool = False):
        self.plans = plans
        self.accept = accept

    @classmethod
    def plan(cls, roots: Iterable[str | Path], *, config_file: Path | None = None,
             overrides: dict[str, Any] | None = None, accept: bool = False) -> Batch:
        """Find and read every session under ``roots`` (a broken session.toml is recorded, not raised)."""
        check_config(config_file, overrides)
        files = find_sessions(list(roots))
        return cls([plan_session(f, config_file, overrides) for f in files], accept=accept)

    @property
    def shared_paths(self) -> list[Path]:
        """The files every node of a cluster must see: each session's session.toml."""
        return [p.file for p in self.plans if p.session is not None]

    def run(self, executor: Executor, *, output: Path, progress: Callable[[BatchStatus], None] | None = None,
            code: str = "") -> BatchResult:
        """Run every take on ``executor``; write ``batch.toml`` and ``batch_index.html`` into ``output``
        (also when interrupted, with the unfinished takes marked as such)."""
        t0 = time.perf_counter()
        self._write_run_configs()
        nodes = build_graph(self.plans, code, accept=self.accept)
        takes = self._takes(nodes)
        try:
            failed_early = sum(len(p.take_errors) if p.session is not None else 1 for p in self.plans)
            _Scheduler(nodes, takes, executor, progress, failed_early).run()
        finally:
            sessions, take_records = records(self.plans, nodes, takes)
            layout = BatchLayout(Path(output))
            write_summary(layout, sessions, take_records, backend=executor.name, slots=executor.slots,
                          seconds=time.perf_counter() - t0)
        return BatchResult(take_records, sessions, time.perf_counter() - t0, layout)

    def _write_run_configs(self) -> None:
        for plan in self.plans:
            if plan.session is None:
                continue
            try:
                plan.session.output_dir.mkdir(parents=True, exist_ok=True)
                write_toml(plan.session.layout.run_config, to_dict(plan.config))
            except OSError as exc:
                plan.error = (f"{plan.session.output_dir}: cannot write to the output folder "
                              f"({exc.strerror or exc})\n  fix: set output_dir in session.toml to a folder you can "
                              "write to")
                plan.session = None

    @staticmethod
    def _takes(nodes: list[Node]) -> dict[tuple[str, str], list[int]]:
        """The tasks of each ``(session file, take)`` (the session's calibration not included)."""
        takes: dict[tuple[str, str], list[int]] = {}
        for i, node in enumerate(nodes):
            if node.task.take:
                takes.setdefault((node.task.session, node.task.take), []).append(i)
        return takes


class _Scheduler:
    """Keeps the backend's slots filled with the most urgent ready tasks until every task has finished."""

    def __init__(self, nodes: list[Node], takes: dict[tuple[str, str], list[int]], executor: Executor,
                 progress: Callable[[BatchStatus], None] | None, failed_early: int = 0):
        self.nodes, self.takes, self.executor, self.progress = nodes, takes, executor, progress
        self.failed_early = failed_early
        """Takes (and broken sessions) that failed before the graph: no task of theirs runs."""
        self.dependents: dict[int, list[int]] = defaultdict(list)
        self.waiting = {}
        self.ready: list[tuple[tuple, int]] = []
        self.running: dict[int, tuple[int, int]] = {}  # node -> (done, total)
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.t0 = time.perf_counter()
        for i, node in enumerate(nodes):
            self.waiting[i] = len(node.needs) + len(node.after)
            for dep in node.needs + node.after:
                self.dependents[dep].append(i)
            if not self.waiting[i]:
                self._make_ready(i)

    def run(self) -> None:
        left = len(self.nodes) - sum(n.state in _FINAL for n in self.nodes)
        last_report = 0.0
        while left:
            while self.ready and len(self.running) < self.executor.slots:
                self._submit(heapq.heappop(self.ready)[1])
            if not self.running:
                raise RuntimeError(f"{left} tasks wait for tasks that will never run")  # a bug in the graph
            for event in self.executor.poll(0.2):
                if event.task not in self.running:
                    continue
                if event.kind == "progress":
                    self.running[event.task] = (event.done, event.total)
                elif event.kind == "retry":
                    self.running[event.task] = (0, 0)
                elif event.kind == "done":
                    del self.running[event.task]
                    left -= self._finish(event.task, event.result)
            if self.progress and time.perf_counter() - last_report > 0.2:
                self.progress(self.status())
                last_report = time.perf_counter()
        if self.progress:
            self.progress(self.status())

    def _submit(self, i: int) -> None:
        node = self.nodes[i]
        task = node.task
        if task.kind == "report":  # rebuilt when anything before it ran, else the existing report is kept
            ran = any(self.nodes[j].state == "ran" for j in self.takes[(task.session, task.take)] if j != i)
            task = dataclasses.replace(task, rebuild=ran)
        node.state, node.started = "running", time.perf_counter()
        self.running[i] = (0, 0)
        self.executor.submit(task)

    def _make_ready(self, i: int) -> None:
        node = self.nodes[i]
        node.state = "ready"
        heapq.heappush(self.ready, (node.order, i))

    def _finish(self, i: int, result: TaskResult) -> int:
        """Record a finished task and release what waited for it; returns how many tasks became final."""
        node = self.nodes[i]
        node.result, node.state = result, result.status
        if result.status == "ran":
            self.seconds[node.task.kind].append(result.seconds)
        elif result.status == "failed":
            log.error("%s failed: %s", node.task.label, result.error.splitlines()[0] if result.error else "")
        final = 1
        for j in self.dependents[i]:
            self.waiting[j] -= 1
            if self.waiting[j] == 0:
                dep = self.nodes[j]
                if all(self.nodes[k].state in _DONE for k in dep.needs):
                    self._make_ready(j)
                else:
                    failed = next(self.nodes[k] for k in dep.needs if self.nodes[k].state not in _DONE)
                    final += self._finish(j, TaskResult("skipped", error=f"after {failed.task.kind}"))
        return final

    def status(self) -> BatchStatus:
        counts = defaultdict(int)
        running = {(self.nodes[i].task.session, self.nodes[i].task.take) for i in self.running}
        for key, members in self.takes.items():
            states = [self.nodes[j].state for j in members]
            if any(s == "failed" for s in states):
                counts["failed"] += 1
            elif all(s in _FINAL for s in states):
                counts["reused" if all(s == "reused" for s in states) else "done"] += 1
            elif key in running:
                counts["running"] += 1
        active = []
        for i, (done, total) in self.running.items():
            active.append(self.nodes[i].task.label + (f" {done}/{total}" if total else ""))
        return BatchStatus(len(self.takes) + self.failed_early, counts["done"], counts["reused"],
                           counts["failed"] + self.failed_early, counts["running"],
                           time.perf_counter() - self.t0, self._eta(), tuple(active))

    def _eta(self) -> float | None:
        """Seconds left: the tasks not finished, at the mean time of their kind so far, over the slots."""
        if not self.seconds:
            return None
        mean = {k: sum(v) / len(v) for k, v in self.seconds.items()}
        now = time.perf_counter()
        left = 0.0
        for i, node in enumerate(self.nodes):
            guess = mean.get(node.task.kind, _PRIOR_SECONDS.get(node.task.kind, 1.0))
            if node.state in ("waiting", "ready"):
                left += guess
            elif node.state == "running":
                left += max(guess - (now - node.started), 0.0)
        return left / max(self.executor.slots, 1)


def open_backend(backend: Backend = "local", *, address: str | None = None, workers: int = 0,
                 log_file: Path | None = None, check_paths: Sequence[Path] = (), code: str = "") -> Executor:
    """Start (local) or connect to (ray) the backend. ``check_paths``: files every Ray node must see;
    ``code``: the driver's code fingerprint every node must run. Nothing is started when this raises."""
    if backend == "local":
        if address:
            raise InputError("--address is for the Ray backend", fix="add --backend ray, or leave --address out")
        from mocap.batch.local import LocalExecutor

        return LocalExecutor(workers, log_file=log_file)
    if backend == "ray":
        from mocap.batch.ray_backend import RayExecutor

        return RayExecutor(address, workers=workers, check_paths=check_paths, code=code)
    raise InputError(f"unknown backend {backend!r}", fix=f"use one of: {', '.join(BACKENDS)}")


def check_output(folder: Path) -> Path:
    """``folder`` can be created or written to (nothing is created here); else a clear error."""
    folder = Path(folder).resolve()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise MocapError(f"cannot write the batch summary there ({existing} is not a folder you can write to)",
                         path=folder, fix="give --output a folder you can write to")
    return folder


def run_batch(roots: Iterable[str | Path], *, backend: Backend = "local", address: str | None = None,
              workers: int = 0, output: Path | None = None, config_file: Path | None = None,
              overrides: dict[str, Any] | None = None, accept: bool = False,
              progress: Callable[[BatchStatus], None] | None = None) -> BatchResult:
    """Plan, start the backend, run; see :class:`Batch`. ``output``: where batch.toml goes (default: here)."""
    from mocap.batch.tasks import code_fingerprint

    batch = Batch.plan(roots, config_file=config_file, overrides=overrides, accept=accept)
    output = check_output(Path(output) if output is not None else Path.cwd())
    code = code_fingerprint()
    executor = open_backend(backend, address=address, workers=workers, log_file=BatchLayout(output).log,
                            check_paths=batch.shared_paths, code=code)
    try:
        return batch.run(executor, output=output, progress=progress, code=code)
    finally:
        executor.close()


