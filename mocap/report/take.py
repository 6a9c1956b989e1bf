"""``build_take_report``: one take's self-contained HTML report (``<take_dir>/report.html``)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from mocap.io.atomic import atomic_open, write_text
from mocap.report.context import ReportContext
from mocap.report.figures import KeyFigure, ReportThresholds, key_figures
from mocap.report.inputs import load_take_inputs, sample_long_take
from mocap.report.page import Section, esc, page
from mocap.report.sections import calibration, detection, fit, ground_truth, motion3d, people, summary, sync
from mocap.report.truth import compare_with_truth
from mocap.session import Session

log = logging.getLogger(__name__)

SECTION_BUILDERS = (summary.build, calibration.build, detection.build, sync.build, motion3d.build, fit.build,
                    ground_truth.build)
"""Section builders in page order; each returns ``None`` when its inputs do not exist."""
PEOPLE_BUILDERS = (summary.build, calibration.build, people.build, ground_truth.build)
"""A take with several performers: the take's sections, then :data:`PERFORMER_BUILDERS` per performer."""
PERFORMER_BUILDERS = (detection.build, motion3d.build, fit.build, ground_truth.build)


@dataclass(frozen=True, eq=False)
class TakeReport:
    """A written take report.

    Attributes:
        path: the HTML file.
        images: the PNG/GIF files written beside it.
        figures: the key figures shown in its summary.
        sections: anchors of the sections it has, in order.
    """

    path: Path
    images: tuple[Path, ...]
    figures: dict[str, KeyFigure]
    sections: tuple[str, ...]


def verdict(figures: dict[str, KeyFigure]) -> tuple[str, str]:
    """``(status, one line)`` for a take: ``"pass"`` when every key figure is within its limit."""
    if not figures:
        return "none", "no figures"
    bad = [f for f in figures.values() if not f.ok]
    if not bad:
        return "pass", f"all {len(figures)} figures within limits"
    return "warn", "check " + "; ".join(f"{f.label.lower()} {f.text} (limit {f.limit})" for f in bad)


def write_take_report(session: Session | str | Path, take: str, *, out_path: str | Path | None = None,
                      thresholds: ReportThresholds = ReportThresholds()) -> TakeReport:
    """Build the report of ``take`` and return what was written (see :func:`build_take_report`)."""
    session = Session.of(session)
    inputs = sample_long_take(load_take_inputs(session, take))
    truth = compare_with_truth(inputs)
    ctx = ReportContext(inputs, truth, key_figures(inputs, truth, thresholds), thresholds)
    if inputs.performers:
        sections = [s for s in (build(ctx) for build in PEOPLE_BUILDERS) if s is not None]
        sections += performer_sections(inputs, thresholds)
    else:
        sections = [s for s in (build(ctx) for build in SECTION_BUILDERS) if s is not None]
    out = Path(out_path) if out_path is not None else session.layout.take(take).report
    images = _write_images(sections, out.with_suffix(""))
    back = (' · <a style="color:#8ab4f8" href="../../index.html">all takes</a>'
            if out_path is None and out.parent == session.layout.take(take).folder else "")
    status, line = verdict(ctx.figures)
    header = (f"<h1>{esc(session.name)} / {esc(take)}</h1><div class=\"meta\">"
              f"<span class=\"badge {status}\">{esc(status.upper())}</span> {esc(line)}<br>"
              f"report generated {time.strftime('%Y-%m-%d %H:%M')}{back}</div>")
    html = page(f"{take} – mocap report", header, "\n".join(s.html() for s in sections),
                nav=[(s.anchor, s.title) for s in sections])
    write_text(out, html)
    log.info("take report %s (%d sections)", out, len(sections))
    return TakeReport(out, images, ctx.figures, tuple(s.anchor for s in sections))


def performer_sections(inputs, thresholds: ReportThresholds) -> list[Section]:
    """Each performer's detection, 3D, fit and ground-truth sections, their anchors, titles and pictures
    prefixed with the performer's name."""
    from dataclasses import replace

    from mocap.report.page import Image

    out = []
    for p in inputs.performers:
        truth = compare_with_truth(p)
        ctx = ReportContext(p, truth, key_figures(p, truth, thresholds), thresholds)
        for section in (build(ctx) for build in PERFORMER_BUILDERS):
            if section is None:
                continue
            parts = tuple(replace(x, name=f"{p.performer}_{x.name}") if isinstance(x, Image) else x
                          for x in section.parts)
            out.append(replace(section, anchor=f"{p.performer}-{section.anchor}",
                               title=f"{p.performer}: {section.title}", parts=parts))
    return out


def build_take_report(session: Session | str | Path, take: str, *, out_path: str | Path | None = None,
                      thresholds: ReportThresholds = ReportThresholds()) -> Path:
    """Write ``<take_dir>/report.html`` (or ``out_path``): one self-contained page (images embedded,
    CSS inline, no scripts, no external links) with a section per stage whose outputs exist, and the
    same images as files in ``<take_dir>/report/``.

    Raises ``InputError`` for an unknown take or a take with no outputs yet.
    """
    return write_take_report(session, take, out_path=out_path, thresholds=thresholds).path


def _write_images(sections: list[Section], folder: Path) -> tuple[Path, ...]:
    """Write every section's images into ``folder`` atomically; remove pictures left from older reports."""
    written = []
    for section in sections:
        for image in section.images:
            with atomic_open(folder / image.name, "wb") as fh:
                fh.write(image.data)
            written.append(folder / image.name)
    for old in list(folder.glob("*.png")) + list(folder.glob("*.gif")):
        if old not in written:
            old.unlink()
    return tuple(written)
