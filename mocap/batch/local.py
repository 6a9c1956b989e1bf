"""The local backend: a pool of long-lived worker processes on this machine (one per core by default).

Each worker is a fresh interpreter (:mod:`mocap.batch.worker`), fed one task at a time over a
pipe, so a worker never imports the user's script and keeps its heavy imports (MediaPipe, torch) warm
from one task to the next. A worker that dies (killed, out of memory) is replaced, and its task runs
again on the new worker, up to :data:`~mocap.batch.backend.MAX_RETRIES` times.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from mocap.batch.backend import MAX_RETRIES, Event
from mocap.batch.plan import Task, TaskResult
from mocap.errors import MocapError

log = logging.getLogger(__name__)

#: The folder that holds the ``mocap`` package the driver runs: first on the workers' path (before the
#: current folder, which may hold another mocap checkout).
CODE_ROOT = Path(__file__).resolve().parents[2]
WORKER_MAIN = "import sys; sys.path.insert(0, sys.argv.pop(1)); from mocap.batch.worker import main; main()"


@dataclass
class _Worker:
    id: int
    process: subprocess.Popen
    task: Task | None = None
    finished: bool = False
    """It has finished a task."""


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class LocalExecutor:
    """Worker processes on this machine; ``workers`` 0 means one per core."""

    name = "local"

    def __init__(self, workers: int = 0, *, log_file: Path | None = None, max_retries: int = MAX_RETRIES):
        self.n_workers = workers or os.cpu_count() or 1
        self.max_retries = max_retries
        if log_file is not None:
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_file, "ab") if log_file is not None else None  # noqa: SIM115 - closed in close()
        self._events: queue.Queue = queue.Queue()
        self._workers: dict[int, _Worker] = {}
        self._attempts: dict[int, int] = {}
        self._next_id = 0
        self._closing = False
        self._early_deaths = 0
        """Workers that ended idle before finishing any task: too many means they cannot start."""
        self._log_file = log_file
        for _ in range(self.n_workers):
            self._spawn()

    @property
    def slots(self) -> int:
        return self.n_workers

    @property
    def running(self) -> dict[int, Task]:
        """The task each busy worker runs, by process id."""
        return {w.process.pid: w.task for w in self._workers.values() if w.task is not None}

    @property
    def pids(self) -> list[int]:
        """Process ids of the current workers."""
        return [w.process.pid for w in self._workers.values()]

    def _spawn(self) -> _Worker:
        read_fd, write_fd = os.pipe()
        sink = self._log if self._log is not None else subprocess.DEVNULL
        try:
            process = subprocess.Popen([sys.executable, "-c", WORKER_MAIN, str(CODE_ROOT), str(write_fd)],
                                       stdin=subprocess.PIPE, stdout=sink, stderr=sink, pass_fds=(write_fd,),
                                       text=True)
        finally:
            os.close(write_fd)
        worker = _Worker(self._next_id, process)
        self._next_id += 1
        self._workers[worker.id] = worker
        threading.Thread(target=self._read, args=(worker.id, read_fd), name=f"mocap-worker-{worker.id}",
                         daemon=True).start()
        return worker

    def _read(self, worker_id: int, fd: int) -> None:
        with open(fd, encoding="utf-8") as pipe:
            for line in pipe:
                try:
                    self._events.put((worker_id, json.loads(line)))
                except json.JSONDecodeError:
                    log.warning("worker %d wrote an unreadable message: %r", worker_id, line[:200])
        self._events.put((worker_id, None))  # the pipe closed: the worker has exited

    def submit(self, task: Task) -> None:
        worker = next((w for w in self._workers.values() if w.task is None), None)
        if worker is None:
            raise RuntimeError("no idle worker (the scheduler submits at most `slots` tasks)")
        worker.task = task
        self._attempts[task.id] = self._attempts.get(task.id, 0) + 1
        try:
            worker.process.stdin.write(task.to_json() + "\n")
            worker.process.stdin.flush()
        except OSError:
            pass  # the worker has just died: its end-of-pipe event reruns the task

    def poll(self, timeout: float) -> list[Event]:
        try:
            items = [self._events.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                items.append(self._events.get_nowait())
            except queue.Empty:
                break
        events: list[Event] = []
        for worker_id, message in items:
            worker = self._workers.get(worker_id)
            if worker is None:
                continue
            if message is None:
                events += self._lost(worker)
            elif "progress" in message:
                done, total = message["progress"]
                events.append(Event(message["id"], "progress", done=done, total=total))
            elif "result" in message:
                worker.task, worker.finished = None, True
                events.append(Event(message["id"], "done", TaskResult.from_dict(message["result"])))
        return events

    def _lost(self, worker: _Worker) -> list[Event]:
        """A worker exited: replace it and run its task again (or give the task up after the retries)."""
        code = worker.process.wait()
        del self._workers[worker.id]
        if self._closing:
            return []
        self._spawn()
        task = worker.task
        if task is None and not worker.finished:  # it could not even start
            self._early_deaths += 1
            if self._early_deaths > 2 * self.n_workers:
                raise MocapError(f"batch workers end as soon as they start ({describe_exit(code)})",
                                 path=self._log_file, fix="see the batch log for the reason (a broken install?)")
        if task is None:
            log.warning("an idle batch worker (pid %d) ended (%s); started another", worker.process.pid,
                        describe_exit(code))
            return []
        why = f"worker pid {worker.process.pid} {describe_exit(code)} during {task.label}"
        if self._attempts[task.id] > self.max_retries:
            return [Event(task.id, "done", TaskResult("failed", error=f"{why}, {self._attempts[task.id]} times"))]
        log.warning("%s; running it again", why)
        self.submit(task)
        return [Event(task.id, "retry", message=why)]

    def close(self) -> None:
        """Stop every worker (they finish nothing more) and wait for them."""
        self._closing = True
        for worker in list(self._workers.values()):
            try:
                worker.process.stdin.close()
            except OSError:
                pass
            if worker.task is not None:
                worker.process.kill()
        for worker in list(self._workers.values()):
            try:
                worker.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
        if self._log is not None:
            self._log.close()
