"""What the batch scheduler needs from a backend (:func:`mocap.batch.scheduler.open_backend` picks one).

A backend runs :class:`~mocap.batch.plan.Task` objects somewhere and reports :class:`Event` objects back:
progress, a finished task, or a retry after its worker died. Two exist: ``local`` (worker processes on
this machine, :mod:`mocap.batch.local`) and ``ray`` (a Ray cluster, :mod:`mocap.batch.ray_backend`, the
only module that imports Ray).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from mocap.batch.plan import Task, TaskResult

Backend = Literal["local", "ray"]
BACKENDS = ("local", "ray")

#: A task whose worker process dies is run again this many times (Ray's default for tasks too).
MAX_RETRIES = 3


@dataclass(frozen=True)
class Event:
    """``kind``: "progress" (``done``/``total``), "done" (``result``) or "retry" (``message`` says why)."""

    task: int
    kind: str
    result: TaskResult | None = None
    done: int = 0
    total: int = 0
    message: str = ""


class Executor(Protocol):
    """Runs tasks; the scheduler keeps at most ``slots`` of them submitted at a time."""

    name: str

    @property
    def slots(self) -> int: ...

    def submit(self, task: Task) -> None: ...

    def poll(self, timeout: float) -> list[Event]: ...

    def close(self) -> None: ...
