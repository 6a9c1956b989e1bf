"""People section (a take with several performers): who was tracked when, how many cameras saw each one,
the detections given to nobody, and, in a synthetic session, who each one really is."""

from __future__ import annotations

import numpy as np

from mocap.report.context import ReportContext
from mocap.report.page import Section, figure_image, new_figure, paragraph, table

LOOK_FOR = ("One bar per performer: a gap is a stretch in which fewer than two cameras saw them (they left, or "
            "were hidden); pale means few cameras. Grey ticks below are people seen but given to nobody: more "
            "people than max_people, or a passer-by. Against the truth, identity switches must be 0.")

#: Matplotlib colours of performers 0, 1, 2, ... (the overlay videos use the same hues).
COLOURS = ("#ffc83c", "#28a0ff", "#50dc50", "#e65ac8", "#f05028", "#3ce6e6")


def timeline_figure(tracks: dict, names: list[str], fps: float):
    """Performers' rows over time, shaded by the share of cameras that see them; unassigned groups below."""
    from matplotlib.colors import to_rgb

    used = tracks["candidate"] >= 0  # (N, C, F)
    n, c, f = used.shape
    share = used.sum(axis=1) / max(c, 1)  # (N, F)
    rgba = np.ones((n, f, 4))
    for k in range(n):
        rgba[k, :, :3] = to_rgb(COLOURS[k % len(COLOURS)])
        rgba[k, :, 3] = np.where(share[k] > 0, 0.25 + 0.75 * share[k], 0.0)
    fig = new_figure(11, 1.3 + 0.42 * n + 0.8, left=1.2, right=0.3, top=0.35)
    grid = fig.add_gridspec(2, 1, height_ratios=[max(n, 1), 1.2], hspace=0.15)
    ax = fig.add_subplot(grid[0])
    ax.imshow(rgba, aspect="auto", interpolation="nearest", extent=(0, f / fps, n - 0.5, -0.5))
    ax.set_yticks(range(n), names, fontsize=8)
    ax.tick_params(labelbottom=False)
    ax.set_title("Identity timeline: who is tracked when (shade: share of cameras that see them)", fontsize=10)
    low = fig.add_subplot(grid[1], sharex=ax)
    low.bar(np.arange(f) / fps, tracks["n_unassigned"], width=1 / fps, color="0.55")
    low.set_ylabel("to nobody", fontsize=8)
    low.set_xlabel("time (s)")
    low.set_xlim(0, f / fps)
    low.set_ylim(0, max(1, int(tracks["n_unassigned"].max())))
    return fig


def build(ctx: ReportContext) -> Section | None:
    i = ctx.inputs
    if i.roster is None:
        return None
    parts: list = []
    if i.tracks is not None:
        parts.append(figure_image(timeline_figure(i.tracks, i.roster.names, i.roster.fps), "people_timeline.png",
                                  f"{len(i.roster.people)} performers over {i.roster.frames} frames."))
    external = ctx.truth.external if ctx.truth is not None and ctx.truth.external else {}
    rows = []
    for p, inp in zip(i.roster.people, i.performers):
        cams = ""
        if i.tracks is not None:
            seen = (i.tracks["candidate"][p.id] >= 0).sum(axis=0)
            cams = f"{np.median(seen[seen >= 2]):.0f}" if (seen >= 2).any() else "-"
        fit = (f"{np.nanmean(inp.body_motion.fit_error_mm):.1f}" if inp.body_motion is not None else "-")
        truth = [f"{external.get(f'{p.name}.{k}', np.nan):{spec}}" for k, spec in
                 (("body_mpjpe_mm", ".1f"), ("pcp_body", ".1%"))] if external else []
        rows.append([p.id, p.name, p.first_frame, p.last_frame, p.frames_seen, cams, fit, *truth])
    head = ["id", "name", "first frame", "last frame", "frames seen", "cameras (median)", "fit error mm"]
    head += ["MPJPE vs truth mm (body)", "PCP (body)"] if external else []
    parts.append(table(head, rows))
    if i.tracks is not None and i.tracks["n_unassigned"].any():
        n_un = i.tracks["n_unassigned"]
        parts.append(paragraph(f"{int(n_un.sum())} multi-camera groups in {int((n_un > 0).sum())} frames were given "
                               f"to nobody (max_people {i.roster.max_people or 'not set'})."))
    if external:
        parts.append(paragraph(f"Against the truth: {external['identity_switches']:.0f} identity switches, "
                               f"{external['performers_missed']:.0f} true performers never tracked."))
    return Section("people", "Performers", LOOK_FOR, tuple(parts))
