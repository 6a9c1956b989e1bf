"""3D section: joint trajectories, reprojection error and views over time, bone-length stability, and
raw vs smoothed points."""

from __future__ import annotations

import warnings

import numpy as np

from mocap.evaluation.alignment import camera_lags
from mocap.report.context import ReportContext
from mocap.report.joints import KEY_JOINTS, bone_stats, find_joint, joint_track
from mocap.report.page import Section, figure_image, new_figure, paragraph, table
from mocap.smoothing.stage import skeleton_tree
from mocap.triangulation.points import Points3D

LOOK_FOR = ("Smooth trajectories without jumps or flat (missing) stretches; reprojection error steady and low, "
            "spikes mark frames where views disagree; most points triangulated from every camera (a camera whose "
            "views are often dropped follows another person or is badly calibrated); every camera's timing lag "
            "near 0 frames; bones whose length varies by more than 10 % (red rows) point to a joint that is "
            "mislabelled or poorly seen.")

LAG_RANGE = 3
"""Lags searched: -3 .. +3 frames."""
MAX_LAG_FRAMES = 0.5
"""A camera whose 2D keypoints best match the others' 3D shifted by more than this (frames, and by more than three
standard errors) is flagged: its frames are early or late."""

MAX_BONE_ROWS = 20
"""Bones listed in the table (the least stable first; every flagged bone is listed)."""


def _times(n: int, fps: float) -> np.ndarray:
    return np.arange(n) / fps


def _nan_stat(fn, x, axis):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN
        return fn(x, axis=axis)


def row_percentile(x: np.ndarray, q: float) -> np.ndarray:
    """``np.nanpercentile(x, q, axis=1)`` for ``x (F, J)`` without its per-row Python loop; NaN for empty rows."""
    s = np.sort(x, axis=1)  # NaN sorts last
    n = np.isfinite(x).sum(axis=1)
    pos = np.maximum(n - 1, 0) * q / 100.0
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    rows = np.arange(len(x))
    out = s[rows, lo] + (pos - lo) * (s[rows, hi] - s[rows, lo])
    return np.where(n > 0, out, np.nan)


def trajectories_figure(pts: Points3D, keypoint_set: str | None):
    t = _times(len(pts.xyz), pts.fps)
    fig = new_figure(11, 6, top=0.3)
    axes = [fig.add_subplot(3, 1, k + 1) for k in range(3)]
    drawn = []
    for name in KEY_JOINTS:
        track = joint_track(pts.xyz, pts.joint_names, name, keypoint_set)
        if track is None:
            continue
        drawn.append(name)
        for k, ax in enumerate(axes):
            ax.plot(t, track[:, k], lw=1, label=name.replace("_", " "))
    for k, ax in enumerate(axes):
        ax.set_ylabel(f"{'xyz'[k]} (m)")
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("time (s)")
    axes[0].set_title("Key joint trajectories (smoothed)", fontsize=10)
    if drawn:
        axes[0].legend(fontsize=7, ncol=len(drawn), loc="upper right")
    return fig, drawn


def quality_figure(pts: Points3D, n_cameras: int | None):
    t = _times(len(pts.xyz), pts.fps)
    err = pts.reprojection_error
    fig = new_figure(11, 4.6, top=0.3)
    ax = fig.add_subplot(2, 1, 1)
    ax.plot(t, _nan_stat(np.nanmedian, err, 1), lw=1, label="median over joints")
    ax.plot(t, row_percentile(err, 90), lw=0.8, alpha=0.8,
            label="90th percentile")
    ax.set_ylabel("reprojection (px)")
    ax.set_title("Reprojection error and views used per frame", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(2, 1, 2)
    views = np.where(np.isfinite(pts.xyz[..., 0]), pts.n_views, 0)
    top = max(int(views.max()) if views.size else 0, n_cameras or 0, 2)
    shares = [(views == v).mean(axis=1) for v in range(top + 1)]
    labels = ["not triangulated"] + [f"{v} view{'s' if v > 1 else ''}" for v in range(1, top + 1)]
    colours = ["#d93025"] + [tuple(c) for c in
                             np.linspace([0.75, 0.85, 0.95], [0.1, 0.3, 0.6], top)]
    ax.stackplot(t, *shares, labels=labels, colors=colours)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of joints")
    ax.set_xlabel("time (s)")
    ax.legend(fontsize=7, loc="lower right", ncol=top + 1)
    return fig


def bones_figure(stats, limit: float):
    """Bars of every bone's length variation (least stable first), red beyond ``limit`` (a share)."""
    order = sorted(range(len(stats)), key=lambda i: -np.nan_to_num(stats[i][4], nan=-1))[:30]
    fig = new_figure(11, 1.2 + 0.2 * len(order), left=0.3 + 0.07 * max(len(stats[i][0]) for i in order))
    ax = fig.add_subplot(1, 1, 1)
    variation = [100 * stats[i][4] for i in order]
    ax.barh(range(len(order)), variation, color=["#d93025" if v > 100 * limit else "#1a73e8" for v in variation])
    ax.axvline(100 * limit, color="k", ls="--", lw=1, label=f"{100 * limit:g} %")
    ax.set_yticks(range(len(order)), [stats[i][0] for i in order], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("bone length standard deviation over the take, % of its length")
    ax.set_title("Bone-length stability (least stable first)", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def view_shares(pts: Points3D, n_cameras: int) -> list[tuple[str, float]]:
    """``(label, share of joints x frames)``: triangulated from every camera, from one fewer, ... down to two
    views, and not triangulated."""
    views = np.where(np.isfinite(pts.xyz[..., 0]), pts.n_views, 0)
    top = max(n_cameras, int(views.max()) if views.size else 0)
    rows = [(f"all {v} cameras" if v == top else f"{v} cameras", float((views == v).mean())) for v in
            range(top, 1, -1)]
    return rows + [("not triangulated", float((views < 2).mean()))]


def timing_rows(ctx: ReportContext):
    """Per camera: ``[camera, lag text]`` and whether it is flagged (its 2D against the other cameras' 3D)."""
    kp, rig = ctx.inputs.keypoints, ctx.inputs.rig
    if kp is None or rig is None or kp.n_cameras < 3 or not set(kp.camera_names) <= set(rig.names):
        return [], []
    lags, stderr = camera_lags(rig, kp, max_lag=LAG_RANGE)
    rows, flags = [], []
    for name, lag, se in zip(kp.camera_names, lags, stderr):
        beyond = abs(lag) >= LAG_RANGE
        rows.append([name, "n/a (the person hardly moves)" if not np.isfinite(lag) else
                     f"{'≥' if lag > 0 else '≤'} {lag:+.0f} (at the end of the range searched)" if beyond else
                     f"{lag:+.2f} ± {se:.2f}" if np.isfinite(se) else f"{lag:+.2f}"])
        flags.append(bool(beyond or (abs(lag) > MAX_LAG_FRAMES and not abs(lag) <= 3 * se)))
    return rows, flags


def raw_vs_smooth_figure(raw: Points3D, smooth: Points3D, joint: int):
    t = _times(len(raw.xyz), raw.fps)
    fig = new_figure(11, 4.2, top=0.3)
    for k in range(3):
        ax = fig.add_subplot(3, 1, k + 1)
        ax.plot(t, raw.xyz[:, joint, k], ".", ms=2, color="0.55", label="raw (triangulated)")
        ax.plot(t, smooth.xyz[:, joint, k], lw=1.2, color="tab:blue", label="smoothed")
        ax.set_ylabel(f"{'xyz'[k]} (m)")
        ax.grid(alpha=0.3)
        if k == 0:
            ax.set_title(f"Raw vs smoothed: {raw.joint_names[joint]}", fontsize=10)
            ax.legend(fontsize=7, loc="upper right")
    ax.set_xlabel("time (s)")
    return fig


def _comparison_joint(pts: Points3D, keypoint_set: str | None) -> int:
    for name in ("right_wrist", "left_wrist", "right_ankle", "pelvis"):
        j = find_joint(pts.joint_names, name, keypoint_set)
        if j is not None:
            return j
    return int(np.argmax(np.isfinite(pts.xyz[..., 0]).sum(axis=0)))


def build(ctx: ReportContext) -> Section | None:
    from mocap.report.preview import points_preview

    pts, raw, ks = ctx.inputs.points, ctx.inputs.points_raw, ctx.inputs.keypoint_set
    if pts is None:
        return None
    parts: list = []
    fig, drawn = trajectories_figure(pts, ks)
    if drawn:
        parts.append(figure_image(fig, "trajectories.png", "x, y, z of the pelvis (or mid-hip), wrists and ankles."))
    quality = raw if raw is not None else pts
    parts.append(figure_image(quality_figure(quality, len(ctx.inputs.camera_names)), "reprojection_views.png",
                              "Top: pixel error of the triangulated points. Bottom: how many cameras each joint "
                              "was triangulated from (red: missing)."))
    n_cams = len(ctx.inputs.camera_names)
    parts.append(table(["views used", "share of joints x frames"],
                       [[label, f"{share:.1%}"] for label, share in view_shares(quality, n_cams)]))
    rows, flags = timing_rows(ctx)
    if rows:
        parts.append(paragraph("Timing: the shift (frames) that best matches each camera's 2D keypoints with the 3D "
                               "of the other cameras projected into it; 0 when its frames are in step (red: "
                               f"beyond {MAX_LAG_FRAMES:g} frame)."))
        parts.append(table(["camera", "lag (frames)"], rows, flags=flags))
    edges = skeleton_tree(pts.joint_names, ks)
    if len(edges):
        th = ctx.thresholds
        stats = bone_stats(pts.xyz, pts.joint_names, edges, th.min_bone_length_mm)
        limit = th.max_bone_cv
        parts.append(figure_image(bones_figure(stats, limit), "bone_lengths.png"))
        order = sorted(range(len(stats)), key=lambda i: -np.nan_to_num(stats[i][4], nan=-1))
        n_flag = sum(s[4] > limit for s in stats)
        shown = order[:max(MAX_BONE_ROWS, n_flag)]  # least stable first, so every flagged bone is listed
        rows = [[stats[i][0], f"{stats[i][1]:.1f}", f"{stats[i][2]:.1f}", f"{stats[i][3]:.1%}"] for i in shown]
        parts.append(paragraph(f"{n_flag} of {len(stats)} bones vary by more than {100 * limit:g} % of their length "
                               f"(standard deviation; bones shorter than {th.min_bone_length_mm:g} mm judged as if "
                               "that long)."))
        parts.append(table(["bone", "mean mm", "std mm", "CV"], rows, flags=[stats[i][4] > limit for i in shown]))
    else:
        parts.append(paragraph("No skeleton is known for these keypoints, so bone lengths are not checked."))
    if raw is not None and raw.xyz.shape == pts.xyz.shape:
        parts.append(figure_image(raw_vs_smooth_figure(raw, pts, _comparison_joint(pts, ks)), "raw_vs_smoothed.png",
                                  "Grey dots: raw triangulation; blue: after gap filling and smoothing."))
    if ctx.inputs.body_motion is None:
        preview = points_preview(pts.xyz, pts.joint_names, ks)
        if preview is not None:
            parts.append(preview)
    return Section("points3d", "3D keypoints", LOOK_FOR, tuple(parts))
