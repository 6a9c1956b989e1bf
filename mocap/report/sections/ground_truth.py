"""Ground-truth section (synthetic sessions): position and joint-angle errors, calibration vs the true rig."""

from __future__ import annotations

import numpy as np

from mocap.report.context import ReportContext
from mocap.report.page import Section, figure_image, new_figure, paragraph, table
from mocap.report.truth import PointComparison

LOOK_FOR = ("Which joints and which moments are worst: a single joint far above the others usually means a "
            "keypoint-to-joint offset; a rise over time that PA-MPJPE does not share is a global offset "
            "(calibration or scale), not a pose error.")


def per_joint_figure(cmp: PointComparison, title: str):
    J = len(cmp.joint_names)
    fig = new_figure(max(6.0, 1.2 + 0.28 * J), 3.6, bottom=1.3)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(range(J), cmp.errors.per_joint, color="tab:blue")
    ax.axhline(cmp.errors.mpjpe, color="tab:red", ls="--", lw=1, label=f"MPJPE {cmp.errors.mpjpe:.1f} mm")
    ax.set_xticks(range(J), cmp.joint_names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("error (mm)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def over_time_figure(series: dict[str, np.ndarray], fps: float, ylabel: str, title: str):
    fig = new_figure(11, 2.8)
    ax = fig.add_subplot(1, 1, 1)
    for label, y in series.items():
        ax.plot(np.arange(len(y)) / fps, y, lw=1, label=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def angle_figure(per_joint: np.ndarray):
    from mocap.body.skeleton import JOINT_NAMES

    names = JOINT_NAMES[:len(per_joint)]
    fig = new_figure(8, 3.6, bottom=1.3)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(range(len(names)), per_joint, color="tab:orange")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("angle error (deg)")
    ax.set_title("Joint-angle error per joint (parent-relative rotation)", fontsize=10)
    return fig


def _points_parts(cmp: PointComparison, what: str, key: str, fps: float) -> list:
    e = cmp.errors
    return [
        paragraph(f"{what}: MPJPE {e.mpjpe:.1f} mm, PA-MPJPE {e.pa_mpjpe:.1f} mm, median {e.median:.1f} mm, "
                  f"coverage {e.coverage:.0%} ({len(cmp.joint_names)} joints matched)."),
        figure_image(per_joint_figure(cmp, f"{what}: error per joint"), f"truth_{key}_per_joint.png"),
        figure_image(over_time_figure({"MPJPE": cmp.per_frame_mm, "PA-MPJPE": cmp.pa_per_frame_mm}, fps, "error (mm)",
                                      f"{what}: error over time"), f"truth_{key}_over_time.png"),
    ]


def build(ctx: ReportContext) -> Section | None:
    truth = ctx.truth
    if truth is None:
        return None
    fps = ctx.inputs.fps or 30.0
    parts: list = []
    if truth.points is not None:
        parts += _points_parts(truth.points, "3D keypoints vs true joints", "points", fps)
    if truth.fit is not None:
        parts += _points_parts(truth.fit, "Fitted body joints vs true body", "fit", fps)
    if truth.angle_per_joint_deg is not None:
        parts.append(paragraph(f"Joint-angle error: mean {np.nanmean(truth.angle_per_joint_deg):.1f} deg over "
                               f"{len(truth.angle_per_joint_deg)} body joints."))
        parts.append(figure_image(angle_figure(truth.angle_per_joint_deg), "truth_angles_per_joint.png"))
        parts.append(figure_image(over_time_figure({"mean over joints": truth.angle_per_frame_deg}, fps,
                                                   "angle error (deg)", "Joint-angle error over time"),
                                  "truth_angles_over_time.png"))
    if truth.calibration is not None:
        cams = truth.calibration["cameras"]
        rows = [[n, f"{c['focal_error_pct']:.2f}", f"{c['principal_point_error_px']:.1f}",
                 f"{c['center_error_mm']:.1f}", f"{c['rotation_error_deg']:.2f}"] for n, c in cams.items()]
        parts.append(paragraph("Calibration against the true rig:"))
        parts.append(table(["camera", "focal %", "principal point px", "centre mm", "rotation deg"], rows))
    if truth.external:
        parts.append(paragraph("Figures from the synthetic session's own evaluation (evaluate_take):"))
        parts.append(table(["figure", "value"], [[k, f"{v:.4g}"] for k, v in truth.external.items()]))
    if not parts:
        parts.append(paragraph("The session has ground truth, but none that matches this take's outputs yet."))
    return Section("ground-truth", "Ground truth", LOOK_FOR, tuple(parts))
