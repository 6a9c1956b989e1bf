"""Summary section: what the take is, how long each stage took, and the key figures as pass/warn cards."""

from __future__ import annotations

from mocap.report.context import ReportContext
from mocap.report.figures import KeyFigure
from mocap.report.page import Section, esc, paragraph, table

LOOK_FOR = ("Green cards are within their limits; an amber card names the stage to check first, in the section "
            "below with the same name.")


def cards(figures: dict[str, KeyFigure]) -> str:
    """The key figures as coloured cards."""
    items = [f'<div class="card {f.status}"><div class="v">{esc(f.text)}</div><div class="l">{esc(f.label)}</div>'
             f'<div class="lim">{esc(f.status)}: limit {esc(f.limit)}</div></div>' for f in figures.values()]
    return f'<div class="cards">{"".join(items)}</div>'


def facts(ctx: ReportContext) -> list[tuple[str, str]]:
    """``(label, value)`` lines describing the take."""
    i = ctx.inputs
    out = [("Session", i.session.name), ("Take", i.take), ("Cameras", f"{len(i.camera_names)}: "
                                                                      f"{', '.join(i.camera_names)}")]
    if i.n_frames is not None and i.fps:
        fps, frames = i.fps * i.stride, i.take_frames or i.n_frames
        out += [("Frames", f"{frames} ({frames / fps:.1f} s)"), ("Frame rate", f"{fps:g} fps")]
        if i.stride > 1:
            out.append(("Long take", f"this report is drawn from one frame in {i.stride} ({i.n_frames} frames)"))
    if i.roster is not None:
        out.append(("Performers", ", ".join(i.roster.names)))
    if i.keypoint_set:
        out.append(("Keypoints", i.keypoint_set))
    if i.created:
        out.append(("Outputs written", i.created))
    return out


def build(ctx: ReportContext) -> Section:
    parts = [cards(ctx.figures) if ctx.figures else paragraph("No key figure could be computed.")]
    rows = [[label, value] for label, value in facts(ctx)]
    parts.append(table(None, rows))
    if ctx.inputs.timings:
        timings = ctx.inputs.timings
        parts.append(table(["stage", "seconds"], [[k, f"{v:.1f}"] for k, v in timings.items()]
                           + [["total", f"{sum(timings.values()):.1f}"]]))
    return Section("summary", "Summary", LOOK_FOR, tuple(parts))
