"""``build_session_report``: ``<output>/index.html``, every take's report linked with a one-line verdict."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from mocap.errors import InputError
from mocap.io.atomic import write_text
from mocap.io.tomlio import read_toml
from mocap.report.figures import KeyFigure, ReportThresholds, report_figures
from mocap.report.page import STATUS_COLOURS, esc, page
from mocap.report.take import verdict, write_take_report
from mocap.session import Session

log = logging.getLogger(__name__)

LOOK_FOR = ("Start with the amber rows: each names the figures outside their limits; open the take's report for "
            "the plots. Grey rows have not been processed yet.")


def _calibration_line(session: Session) -> str:
    path = session.layout.calibration.quality
    source = session.layout.calibration.source
    if session.rig is not None and source.is_file():
        src = read_toml(source)
        return (f'<span class="badge pass">IMPORTED</span> calibration: {esc(str(src.get("file", "?")))} '
                f'({esc(str(src.get("format", "?")))}); reprojection on each take\'s keypoints in its report')
    if not path.is_file():
        return '<span class="badge none">NOT CALIBRATED</span> run `mocap run` (or `mocap calibrate`) first'
    q = read_toml(path)
    worst = max((float(c.get("reprojection_mean_px", float("nan"))) for c in q.get("cameras", [])),
                default=float("nan"))
    status = "pass" if q.get("passed") else "fail"
    return (f'<span class="badge {status}">{"PASSED" if q.get("passed") else "FAILED"}</span> calibration: worst '
            f"camera {worst:.2f} px, board square {q.get('square_error_mean_mm', float('nan')):+.2f} mm")


def _row(take: str, figures: dict[str, KeyFigure] | None, columns: list[str], link: str | None,
         problem: str = "") -> str:
    """One table row: take, verdict, each key figure (coloured by status), link to the report."""
    blank = "".join("<td></td>" for _ in columns)
    if figures is None:
        return (f'<tr><td class="name">{esc(take)}</td><td class="name"><span class="badge none">NOT RUN</span> '
                f"{esc(problem)}</td>{blank}<td></td></tr>")
    status, line = verdict(figures)
    cells = "".join(f'<td style="color:{STATUS_COLOURS[figures[c].status]}">{esc(figures[c].text)}</td>'
                    if c in figures else "<td>-</td>" for c in columns)
    name = f'<a href="{esc(link)}">{esc(take)}</a>' if link else esc(take)
    report = f'<a href="{esc(link)}">report</a>' if link else ""
    return (f'<tr><td class="name">{name}</td><td class="name"><span class="badge {status}">'
            f'{"OK" if status == "pass" else "CHECK"}</span> {esc(line)}</td>{cells}<td>{report}</td></tr>')


def build_session_report(session: Session | str | Path, *, takes: Sequence[str] | None = None,
                         build_takes: bool = True, thresholds: ReportThresholds = ReportThresholds()) -> Path:
    """Write ``<output>/index.html`` linking each take's report with a one-line verdict.

    With ``build_takes`` every take's report is (re)built first; otherwise existing reports are linked
    and only the figures are computed. Takes without outputs are listed as not run.
    """
    if not isinstance(session, Session):
        session = Session.load(session)
    names = list(takes) if takes else [t.name for t in session.takes]
    results: dict[str, tuple[dict | None, str | None, str]] = {}
    for name in names:
        report = session.layout.take(name).report
        try:
            if build_takes:
                figures = write_take_report(session, name, thresholds=thresholds).figures
            else:
                figures = report_figures(session, name, thresholds)
        except InputError as exc:
            results[name] = (None, None, f"{exc.problem}; {exc.fix}" if exc.fix else exc.problem)
            continue
        link = report.relative_to(session.output_dir).as_posix() if report.is_file() else None
        results[name] = (figures, link, "")
    columns: list[str] = []
    labels: dict[str, str] = {}
    for figures, _, _ in results.values():
        for key, fig in (figures or {}).items():
            if key not in columns:
                columns.append(key)
                labels[key] = fig.label
    n_ok = sum(1 for f, _, _ in results.values() if f is not None and verdict(f)[0] == "pass")
    head = "".join(f"<th>{esc(labels[c])}</th>" for c in columns)
    rows = "".join(_row(name, results[name][0], columns, results[name][1], results[name][2]) for name in names)
    body = (f'<section id="takes"><h2>Takes</h2><p class="look"><b>What to look for:</b> {esc(LOOK_FOR)}</p>'
            f'<p>{_calibration_line(session)}</p><p class="note">{n_ok} of {len(names)} takes OK.</p>'
            f'<table><tr><th class="name">take</th><th class="name">verdict</th>{head}<th></th></tr>{rows}</table>'
            f"</section>")
    header = (f"<h1>{esc(session.name)}: {len(names)} takes</h1><div class=\"meta\">{esc(str(session.root))} · "
              f"generated {time.strftime('%Y-%m-%d %H:%M')}</div>")
    out = session.layout.index
    write_text(out, page(f"{session.name} – mocap takes", header, body))
    log.info("session report %s", out)
    return out
