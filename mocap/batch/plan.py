"""What a batch is made of: the sessions found under the given folders, and the task graph of their takes.

The unit of work is a stage of a take (:class:`Task`); detection is split per camera. Per session::

    calibrate ──> detect_camera (one per camera) ──> detect (merge) ──> sync ──> people ──> triangulate ──> fit
              ──> export ──> report;  └─> ... the same for every take ...  ──> index

(sync does nothing for a take with several performers, people nothing for one; a take of imported keypoints
has one detect task.)

A task names its session file, take and camera and carries the run settings as a plain dict: every
task reads its inputs from files and writes its outputs as files (no arrays travel between tasks).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mocap.config import to_dict
from mocap.errors import InputError, MocapError
from mocap.layout import SESSION_FILE
from mocap.pipeline import STAGES, TAKE_STAGES, RunConfig, check_take_videos
from mocap.session import Session

#: Every kind of task, in pipeline order ("detect_camera" is one camera's detection, "detect" their merge,
#: "index" the session's index page).
KINDS = ("calibrate", "detect_camera", "detect", *(s for s, _ in TAKE_STAGES[1:]), "report", "index")


@dataclass(frozen=True)
class Task:
    """One unit of work: a stage of a take (or the session's calibration or index page)."""

    id: int
    kind: str
    session: str
    """The session's ``session.toml`` (an absolute path every worker can read)."""
    config: dict[str, Any] = field(default_factory=dict)
    """The session's :class:`~mocap.pipeline.RunConfig` as a plain dict."""
    take: str = ""
    camera: str = ""
    accept: bool = False
    """Calibration: write the rig even if it fails the quality gate."""
    rebuild: bool = True
    """Report: rebuild it (an earlier stage ran); otherwise an existing report is kept."""
    code: str = ""
    """The driver's :func:`~mocap.batch.tasks.code_fingerprint`; a worker with other code refuses the task."""

    @property
    def label(self) -> str:
        where = "/".join(p for p in (Path(self.session).parent.name, self.take) if p)
        return f"{where} {self.kind if self.kind != 'detect_camera' else 'detect ' + self.camera}"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Task:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class TaskResult:
    """What a task did: ``status`` "ran", "reused" or "failed" (with ``error``); a report's verdict."""

    status: str
    seconds: float = 0.0
    error: str = ""
    verdict: str = ""
    """Report tasks: "pass" (every key figure within its limit), "warn" or "none"."""
    verdict_line: str = ""
    report: str = ""
    """Report tasks: the take's ``report.html``."""
    worker: str = ""
    """Where it ran: ``host:pid``."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


@dataclass
class Node:
    """A task in the graph, with what it waits for."""

    task: Task
    needs: list[int]
    """Tasks that must have succeeded before this one runs (a failure upstream skips it)."""
    after: list[int] = field(default_factory=list)
    """Tasks that must have finished, whatever their outcome (the index waits for every report)."""
    order: tuple = ()
    """Priority (smaller first): earlier takes first, and within the ready tasks, later stages first, so
    that one take's fit/export/report overlaps the next take's detection."""
    state: str = "waiting"
    """waiting, ready, running, ran, reused, failed or skipped."""
    result: TaskResult | None = None
    started: float = 0.0


@dataclass
class SessionPlan:
    """A session of the batch: loaded (``session``, ``config``) or broken (``error``)."""

    file: Path
    session: Session | None = None
    config: RunConfig | None = None
    error: str = ""
    take_errors: dict[str, str] = field(default_factory=dict)
    """Takes that cannot start (missing videos), with the message."""

    @property
    def takes(self) -> list[str]:
        return [t.name for t in self.session.takes] if self.session else []


def find_sessions(roots: Iterable[str | Path]) -> list[Path]:
    """Every ``session.toml`` under ``roots`` (folders searched recursively, or session files), in a stable
    order, each once. Hidden folders and sessions' output folders are not searched."""
    found: dict[Path, None] = {}
    for root in roots:
        root = Path(root)
        if root.is_file():
            found[root.resolve()] = None
            continue
        if not root.is_dir():
            raise InputError("no such folder", path=root, fix="give folders that contain sessions (session.toml)")
        for path in sorted(root.rglob(SESSION_FILE)):
            if not any(part.startswith(".") for part in path.relative_to(root).parts[:-1]):
                found[path.resolve()] = None
    if not found:
        raise InputError(f"no {SESSION_FILE} found", path=Path(next(iter(roots), ".")),
                         fix="give the folders that hold your sessions (each with a session.toml)")
    return list(found)


def check_config(config_file: Path | None, overrides: dict[str, Any] | None) -> None:
    """A clear error for a bad ``--config`` file or ``--set`` value before any session is touched."""
    RunConfig.load(None, config_file, overrides)


def plan_session(file: Path, config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> SessionPlan:
    """Load one session and its run settings; a broken session.toml is recorded, not raised."""
    plan = SessionPlan(file)
    try:
        plan.session = Session.load(file)
        plan.config = RunConfig.load(plan.session, config_file, overrides)
        if plan.config.until != "calibrate":
            for name in plan.takes:
                try:
                    check_take_videos(plan.session, name)
                except MocapError as exc:
                    plan.take_errors[name] = str(exc)
    except MocapError as exc:
        plan.session, plan.error = None, str(exc)
    except Exception as exc:  # noqa: BLE001 - a session.toml the parser did not expect fails that session only
        plan.session, plan.error = None, f"{file}: cannot read the session ({type(exc).__name__}: {exc})"
    return plan


def take_kinds(config: RunConfig) -> list[str]:
    """The task kinds of one take, up to ``config.until`` (detection split per camera)."""
    last = STAGES.index(config.until)
    kinds = [s for s, _ in TAKE_STAGES if STAGES.index(s) <= last]
    if config.until == "report" and config.report.enabled:
        kinds.append("report")
    return kinds


def build_graph(plans: Sequence[SessionPlan], code: str, accept: bool = False) -> list[Node]:
    """The task graph of every take of every loaded session (see the module docstring)."""
    nodes: list[Node] = []
    order = 0

    def add(kind: str, needs: list[int], rank: int, **task) -> int:
        nodes.append(Node(Task(len(nodes), kind, str(plan.file), config, code=code, **task), needs,
                          order=(order, -rank, len(nodes))))
        return len(nodes) - 1

    for plan in plans:
        if plan.session is None:
            continue
        config = to_dict(plan.config)
        calibrate = add("calibrate", [], 0, accept=accept)
        reports = []
        for take in plan.takes:
            order += 1
            if take in plan.take_errors:
                continue
            last = calibrate
            for rank, kind in enumerate(take_kinds(plan.config), start=1):
                if kind == "detect" and plan.session.take(take).keypoints is None:  # imported keypoints: one task
                    cameras = [add("detect_camera", [last], rank, take=take, camera=c)
                               for c in plan.session.camera_names]
                    last = add("detect", cameras, rank, take=take)
                else:
                    last = add(kind, [last], rank, take=take)
            if nodes[last].task.kind == "report":
                reports.append(last)
        if plan.config.until == "report" and plan.config.report.enabled:
            index = add("index", [calibrate], len(KINDS))
            nodes[index].after = reports
    return nodes
