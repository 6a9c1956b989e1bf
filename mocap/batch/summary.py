"""One view of a finished batch: ``batch.toml`` (every take, in order) and ``batch_index.html``.

``batch.toml``::

    schema_version = 1
    backend = "local"            # or "ray"
    slots = 2                    # tasks run at a time (cores, or the cluster's CPUs)
    seconds = 61.3               # wall time of the batch
    [counts]                     # takes: done, reused, failed
    [[sessions]]                 # path, name, status, calibrate_seconds, index (the session's index.html), error
    [[takes]]                    # in session order, then take order:
    session = "/data/day1/studio_a"
    take = "walk"
    status = "done"              # "done" (something ran), "reused" (nothing to do) or "failed"
    verdict = "pass"             # from the take's report: "pass", "warn" or "" (no report)
    verdict_detail = "all 5 figures within limits"
    report = "/data/day1/studio_a/output/takes/walk/report.html"
    failed_stage = ""            # the stage that failed ("session" for a broken session.toml)
    error = ""
    [takes.seconds]              # per stage that ran (detection: all cameras together)
    detect = 21.0
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mocap.batch.plan import Node, SessionPlan
from mocap.io.atomic import write_text
from mocap.io.tomlio import write_toml
from mocap.layout import BatchLayout
from mocap.report.page import STATUS_COLOURS, esc, page

BATCH_SCHEMA_VERSION = 1
INTERRUPTED = "not finished: the batch was interrupted"


@dataclass
class TakeRecord:
    session: str
    take: str
    status: str
    seconds: dict[str, float] = field(default_factory=dict)
    verdict: str = ""
    verdict_detail: str = ""
    report: str = ""
    failed_stage: str = ""
    error: str = ""


@dataclass
class SessionRecord:
    path: str
    name: str
    status: str
    calibrate_seconds: float = 0.0
    index: str = ""
    error: str = ""


def _stage(kind: str) -> str:
    return "detect" if kind == "detect_camera" else kind


def _take_record(session: str, name: str, calibrate: Node, nodes: list[Node]) -> TakeRecord:
    record = TakeRecord(session, name, "done")
    for node in nodes:
        if node.state in ("ran", "reused"):
            stage = _stage(node.task.kind)
            record.seconds[stage] = round(record.seconds.get(stage, 0.0) + node.result.seconds, 2)
        if node.task.kind == "report" and node.result is not None and node.state != "failed":
            record.verdict, record.verdict_detail = node.result.verdict, node.result.verdict_line
            record.report = node.result.report
    bad = next((n for n in [calibrate, *nodes] if n.state == "failed"), None)
    unfinished = next((n for n in [calibrate, *nodes] if n.state not in ("ran", "reused", "failed", "skipped")), None)
    if bad is not None:
        record.status, record.failed_stage, record.error = "failed", _stage(bad.task.kind), bad.result.error
    elif unfinished is not None:
        record.status, record.failed_stage, record.error = "failed", _stage(unfinished.task.kind), INTERRUPTED
    elif all(n.state == "reused" for n in nodes):
        record.status = "reused"
    return record


def records(plans: list[SessionPlan], nodes: list[Node], takes: dict[tuple[str, str], list[int]]
            ) -> tuple[list[SessionRecord], list[TakeRecord]]:
    """What happened to every session and take, in the batch's order (``takes``: the tasks of each
    ``(session file, take)``)."""
    special = {(n.task.session, n.task.kind): n for n in nodes if n.task.kind in ("calibrate", "index")}
    sessions, out = [], []
    for plan in plans:
        folder, key = str(plan.file.parent), str(plan.file)
        if plan.session is None:
            sessions.append(SessionRecord(folder, plan.file.parent.name, "failed", error=plan.error))
            out.append(TakeRecord(folder, "", "failed", failed_stage="session", error=plan.error))
            continue
        calibrate = special[(key, "calibrate")]
        for name in plan.takes:
            if name in plan.take_errors:
                out.append(TakeRecord(folder, name, "failed", failed_stage="detect", error=plan.take_errors[name]))
            elif (key, name) in takes:
                out.append(_take_record(folder, name, calibrate, [nodes[j] for j in takes[(key, name)]]))
        index = special.get((key, "index"))
        status = {"ran": "done", "reused": "reused", "failed": "failed"}.get(calibrate.state, "failed")
        error = calibrate.result.error if calibrate.result is not None else INTERRUPTED if status == "failed" else ""
        sessions.append(SessionRecord(folder, plan.session.name, status,
                                      round(calibrate.result.seconds, 2) if calibrate.result else 0.0,
                                      index.result.report if index is not None and index.state == "ran" else "",
                                      error))
    return sessions, out


def write_summary(layout: BatchLayout, sessions: list[SessionRecord], takes: list[TakeRecord], *, backend: str,
                  slots: int, seconds: float) -> tuple[Path, Path]:
    """Write ``batch.toml`` and ``batch_index.html`` into ``layout.root``."""
    counts = {s: sum(t.status == s for t in takes) for s in ("done", "reused", "failed")}
    data = {"schema_version": BATCH_SCHEMA_VERSION, "backend": backend, "slots": slots,
            "seconds": round(seconds, 2), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "counts": counts,
            "sessions": [asdict(s) for s in sessions], "takes": [asdict(t) for t in takes]}
    layout.root.mkdir(parents=True, exist_ok=True)
    write_toml(layout.summary, data)
    write_text(layout.index, _index_html(layout, sessions, takes, counts, backend, seconds))
    return layout.summary, layout.index


def _link(target: str, text: str, base: Path) -> str:
    if not target:
        return esc(text)
    try:
        href = Path(os.path.relpath(target, base)).as_posix()
    except ValueError:  # another drive (Windows)
        href = Path(target).as_uri()
    return f'<a href="{esc(href)}">{esc(text)}</a>'


_BADGE = {"done": "pass", "reused": "none", "failed": "fail"}


def _index_html(layout: BatchLayout, sessions: list[SessionRecord], takes: list[TakeRecord], counts: dict[str, int],
                backend: str, seconds: float) -> str:
    base = layout.root.resolve()
    indexes = {s.path: s.index for s in sessions}
    rows = []
    for t in takes:
        verdict = (f'<span style="color:{STATUS_COLOURS.get(t.verdict, "#202124")}">{esc(t.verdict_detail)}</span>'
                   if t.verdict else "")
        problem = f"{t.failed_stage}: {t.error.splitlines()[0]}" if t.error else ""
        rows.append(f'<tr><td class="name">{_link(indexes.get(t.session, ""), Path(t.session).name, base)}</td>'
                    f'<td class="name">{_link(t.report, t.take or "-", base)}</td>'
                    f'<td class="name"><span class="badge {_BADGE[t.status]}">{esc(t.status.upper())}</span></td>'
                    f'<td class="name">{verdict}</td><td>{sum(t.seconds.values()):.1f}</td>'
                    f'<td class="name">{esc(problem)}</td></tr>')
    body = ('<section id="takes"><h2>Takes</h2><p class="look"><b>What to look for:</b> red rows failed (the '
            "stage and the error are given; batch.toml has the whole message); amber verdicts name the figures "
            "outside their limits: open the take's report.</p>"
            '<table><tr><th class="name">session</th><th class="name">take</th><th class="name">status</th>'
            f'<th class="name">verdict</th><th>seconds</th><th class="name">problem</th></tr>{"".join(rows)}'
            "</table></section>")
    header = (f"<h1>mocap batch: {len(takes)} takes</h1><div class=\"meta\">{counts['done']} done · "
              f"{counts['reused']} reused · {counts['failed']} failed · {backend} backend · {seconds:.0f} s · "
              f"generated {time.strftime('%Y-%m-%d %H:%M')}</div>")
    return page("mocap batch", header, body)
