"""Sync section: when each camera recorded (offsets, frame rates, drift), how sure each estimate is, and
the correlation curves and drift windows they came from."""

from __future__ import annotations

import numpy as np

from mocap.report.context import ReportContext
from mocap.report.page import Section, figure_image, new_figure, paragraph, table
from mocap.sync.curves import SyncCurves

LOOK_FOR = ("Each curve should have one sharp peak standing well above the rest (a flat or many-peaked curve: "
            "the camera's offset is a guess; clap once where every camera hears it). Drift windows should lie "
            "on a line. A camera with method none or low confidence was not synchronized: check the 3D "
            "reprojection errors, or set its offset by hand in session.toml.")

LOW_CONFIDENCE = 0.15
"""Estimates below this confidence are flagged."""

MAX_POINTS = 4000
"""Curves are thinned to about this many points for drawing."""


def curves_figure(curves: SyncCurves):
    """One panel per correlation curve: score against offset, the picked offset marked."""
    n = len(curves.correlations)
    fig = new_figure(11, 0.6 + 1.5 * n, left=0.8, bottom=0.5, top=0.3, hspace=0.8)
    for k, c in enumerate(curves.correlations):
        ax = fig.add_subplot(n, 1, k + 1)
        step = max(1, len(c.offsets) // MAX_POINTS)
        ax.plot(c.offsets[::step], c.scores[::step], lw=0.8, color="#1f6fb2")
        ax.axvline(c.peak, color="#d62728", lw=0.8, ls="--")
        ax.set_title(f"{c.camera} against {c.against} ({c.method}): picked {c.peak:+.4f} s", fontsize=9)
        ax.set_ylabel("correlation", fontsize=8)
        ax.tick_params(labelsize=7)
        if k == n - 1:
            ax.set_xlabel("offset (s)", fontsize=8)
    return fig


def drift_figure(curves: SyncCurves):
    """Offsets found in windows along the take (a sloped line is clock drift), per camera."""
    fig = new_figure(11, 2.6, left=0.9, bottom=0.55)
    ax = fig.add_subplot(1, 1, 1)
    for w in curves.windows:
        rel = (np.asarray(w.offsets) - np.mean(w.offsets)) * 1000
        ax.plot(w.times, rel, "o-", ms=3, lw=0.8, label=f"{w.camera} ({w.method})")
    ax.set_xlabel("take time (s)", fontsize=8)
    ax.set_ylabel("offset - mean (ms)", fontsize=8)
    ax.set_title("Offsets measured along the take (a slope is clock drift)", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def build(ctx: ReportContext) -> Section | None:
    sync = ctx.inputs.sync
    if sync is None:
        return None
    std = dict(sync.metadata.get("offset_std_s", {}))
    rows, flags = [], []
    for c in sync:
        se = std.get(c.name)
        rows.append([c.name, f"{c.time_offset:+.4f}", f"{c.time_offset * c.fps:+.2f}",
                     f"{se * 1000:.2f}" if isinstance(se, (int, float)) else "-", f"{c.fps:g}",
                     f"{c.drift_ppm:+.1f}", f"{c.confidence:.2f}", c.method])
        flags.append(c is not sync[0] and (c.method == "none" or c.confidence < LOW_CONFIDENCE))
    parts: list = [table(["camera", "offset (s)", "offset (frames)", "std. error (ms)", "fps", "drift (ppm)",
                          "confidence", "method"], rows, flags=flags)]
    kp = ctx.inputs.keypoints
    if kp is not None:
        counts = ", ".join(f"{n} {int(k)} frames at {f:g} fps" for n, k, f in
                           zip(kp.camera_names, kp.frame_counts, kp.camera_fps))
        parts.append(paragraph(f"Recorded: {counts}. Offsets: when each camera's frame 0 happened, seconds after "
                               f"the first camera's; the take is triangulated on one timeline at "
                               f"{ctx.inputs.points.fps:g} fps." if ctx.inputs.points is not None else
                               f"Recorded: {counts}."))
    unsynced = sync.metadata.get("unsynced")
    if isinstance(unsynced, dict) and unsynced:
        parts.append(paragraph("Audio could not time: " + "; ".join(f"{k} ({v})" for k, v in unsynced.items())))
    curves = ctx.inputs.sync_curves
    if curves is not None and curves.correlations:
        parts.append(figure_image(curves_figure(curves), "sync_correlation.png",
                                  "Correlation of each camera's signal (sound onsets or keypoint speeds) with the "
                                  "camera it was timed against, over offsets; dashed: the offset picked before "
                                  "sub-frame refinement."))
    if curves is not None and curves.windows:
        parts.append(figure_image(drift_figure(curves), "sync_drift.png", "Offsets measured in windows along "
                                                                            "the take."))
    return Section("sync", "Camera sync", LOOK_FOR, tuple(parts))
