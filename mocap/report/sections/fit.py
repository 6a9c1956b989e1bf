"""Fit section: how far the fitted body is from the 3D keypoints, frame by frame, and a preview."""

from __future__ import annotations

import numpy as np

from mocap.report.context import ReportContext
from mocap.report.page import Section, figure_image, new_figure, paragraph

LOOK_FOR = ("A flat, low fit error; peaks mark frames where the body could not follow the keypoints (fast moves, "
            "bad 3D points). In the preview, check for flipped limbs, sliding or floating feet, and jitter.")


def fit_error_figure(fit_error_mm: np.ndarray, fps: float, limit_mm: float):
    t = np.arange(len(fit_error_mm)) / fps
    fig = new_figure(11, 2.8)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(t, fit_error_mm, lw=1, color="tab:blue")
    ax.axhline(limit_mm, color="tab:red", ls="--", lw=1, label=f"{limit_mm:g} mm")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("fit error (mm)")
    ax.set_title("Mean distance of the fitted body's joints to the 3D keypoints per frame", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def build(ctx: ReportContext) -> Section | None:
    from mocap.report.preview import body_preview

    body = ctx.inputs.body_motion
    if body is None:
        return None
    err = body.fit_error_mm
    parts: list = []
    if np.isfinite(err).any():
        parts.append(figure_image(fit_error_figure(err, body.fps, ctx.thresholds.max_fit_error_mm), "fit_error.png"))
        parts.append(paragraph(f"Fit error: mean {np.nanmean(err):.1f} mm, median {np.nanmedian(err):.1f} mm, "
                               f"worst {np.nanmax(err):.1f} mm; {np.isfinite(err).mean():.0%} of frames fitted."))
    else:
        parts.append(paragraph("The body file records no fit error."))
    parts.append(paragraph(f"Body model {body.model} ({body.gender}), {len(body.betas)} shape coefficients, "
                           f"hands {'fitted' if body.has_hands else 'not fitted'}."))
    parts.append(body_preview(body))
    return Section("fit", "Body fit", LOOK_FOR, tuple(parts))
