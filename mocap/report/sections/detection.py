"""Detection section: how often each camera found the person over time, and how sure it was per joint."""

from __future__ import annotations

import numpy as np

from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.report.context import ReportContext
from mocap.report.page import Section, figure_image, new_figure, table
from mocap.triangulation.robust import TriangulateConfig

LOOK_FOR = ("Long pale stretches in one camera's row (the person left its view or was occluded), and joints with "
            "low confidence in every camera (those will be noisy or missing in 3D). A camera that is pale "
            "throughout is probably out of sync, mirrored or badly placed.")

MIN_CONFIDENCE = TriangulateConfig().min_confidence
"""Keypoints below the triangulation's default confidence count as not usable."""


def usable(kp: Keypoints2D, min_confidence: float = MIN_CONFIDENCE) -> np.ndarray:
    """``(C, F, J)`` keypoints detected with at least ``min_confidence``."""
    conf = np.nan_to_num(kp.conf, nan=0.0)
    return np.isfinite(kp.xy[..., 0]) & (conf >= min_confidence)


def time_bins(n_frames: int, max_bins: int = 200) -> np.ndarray:
    """``(B + 1,)`` frame edges of at most ``max_bins`` equal time bins."""
    return np.unique(np.linspace(0, n_frames, min(n_frames, max_bins) + 1).round().astype(int))


def longest_gap_s(found: np.ndarray, fps: float) -> float:
    """Longest run of ``False`` in ``found (F,)``, in seconds."""
    best = run = 0
    for f in found:
        run = 0 if f else run + 1
        best = max(best, run)
    return best / fps


def rate_figure(kp: Keypoints2D):
    ok = usable(kp).mean(axis=-1)  # (C, F) share of joints usable
    edges = time_bins(kp.n_frames)
    binned = np.stack([ok[:, a:b].mean(axis=1) for a, b in zip(edges[:-1], edges[1:])], axis=1)
    duration = kp.n_frames / kp.fps
    fig = new_figure(11, 0.9 + 0.42 * kp.n_cameras, right=1.0, top=0.3)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(binned, aspect="auto", cmap="Greens", vmin=0, vmax=1, interpolation="nearest",
                   extent=(0, duration, kp.n_cameras - 0.5, -0.5))
    ax.set_yticks(range(kp.n_cameras), kp.camera_names, fontsize=8)
    ax.set_xlabel("time (s)")
    ax.set_title(f"Share of joints detected (confidence ≥ {MIN_CONFIDENCE:g}) per camera over time", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01)
    return fig


def confidence_figure(kp: Keypoints2D):
    conf = np.nan_to_num(kp.conf, nan=0.0).mean(axis=1)  # (C, J): undetected counts as 0
    J = len(kp.joint_names)
    fig = new_figure(3.3 + 0.75 * kp.n_cameras, min(2.0 + 0.16 * J, 24), left=1.5, bottom=0.7, right=0.2,
                     top=0.55)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(conf.T, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(J), kp.joint_names, fontsize=7 if J <= 40 else 5)
    ax.set_xticks(range(kp.n_cameras), kp.camera_names, fontsize=8, rotation=30)
    ax.set_title("Mean confidence per joint\n(undetected = 0)", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.08)
    return fig


def build(ctx: ReportContext) -> Section | None:
    kp = ctx.inputs.keypoints
    if kp is None:
        return None
    found = np.isfinite(kp.xy[..., 0]).any(axis=-1)  # (C, F)
    ok = usable(kp)
    conf = np.nan_to_num(kp.conf, nan=0.0)
    rows, flags = [], []
    for c, name in enumerate(kp.camera_names):
        n = int(kp.frame_counts[c])  # the frames this camera recorded (the rest is padding)
        seen = conf[c][np.isfinite(kp.xy[c, ..., 0])]
        rate = found[c, :n].mean()
        rows.append([name, f"{rate:.1%}", f"{ok[c, :n].mean():.1%}", f"{seen.mean():.2f}" if seen.size else "-",
                     f"{longest_gap_s(found[c, :n], kp.camera_fps[c]):.2f}"])
        flags.append(rate < ctx.thresholds.min_detection_rate)
    parts = (
        figure_image(rate_figure(kp), "detection_rate.png", "Dark green: all joints found; white: nothing found."),
        figure_image(confidence_figure(kp), "detection_confidence.png",
                     f"Keypoint set {kp.keypoint_set}, {len(kp.joint_names)} joints."),
        table(["camera", "person found", "joints usable", "mean confidence", "longest gap (s)"], rows, flags=flags),
    )
    return Section("detection", "Detection (2D keypoints)", LOOK_FOR, parts)
