"""The calibration quality figure: per-camera errors, coverage heat maps, and the camera layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mocap.calibration.board import CharucoBoard
from mocap.calibration.quality import CalibrationQuality
from mocap.camera import CameraRig
from mocap.io.atomic import atomic_path


def write_quality_figure(rig: CameraRig, quality: CalibrationQuality, path: str | Path, *,
                         board: CharucoBoard | None = None) -> Path:
    """Write a PNG summarising the calibration (uses matplotlib's Agg canvas; no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(rig)
    cols = max(n, 2)
    fig = Figure(figsize=(3.2 * cols, 9.5), dpi=100)
    FigureCanvasAgg(fig)
    gs = fig.add_gridspec(3, cols, height_ratios=[1.0, 0.8, 1.3])
    verdict = "PASSED" if quality.passed else "FAILED"
    fig.suptitle(f"Calibration quality: {verdict}   (board square error {quality.square_error_mean_mm:+.2f} "
                 f"± {quality.square_error_std_mm:.2f} mm over {quality.square_pairs} pairs)",
                 color="green" if quality.passed else "red", fontsize=12)

    # Row 1: reprojection errors per camera.
    ax = fig.add_subplot(gs[0, : cols // 2 + cols % 2])
    x = np.arange(n)
    means = [c.reprojection_mean_px for c in quality.cameras]
    p95 = [c.reprojection_p95_px for c in quality.cameras]
    ax.bar(x - 0.2, means, 0.4, label="mean")
    ax.bar(x + 0.2, p95, 0.4, label="95th pct")
    ax.set_xticks(x, [c.name for c in quality.cameras], rotation=30, fontsize=8)
    ax.set_ylabel("reprojection error (px)")
    ax.legend(fontsize=8)
    ax.set_title("Reprojection error per camera", fontsize=10)

    # Row 1 right: shared views between cameras.
    ax = fig.add_subplot(gs[0, cols // 2 + cols % 2 :])
    im = ax.imshow(quality.shared, cmap="viridis")
    ax.set_xticks(x, rig.names, rotation=30, fontsize=8)
    ax.set_yticks(x, rig.names, fontsize=8)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(quality.shared[i, j])), ha="center", va="center", fontsize=7, color="w")
    ax.set_title("Frames seen by both cameras", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)

    # Row 2: coverage heat maps.
    for c, cam in enumerate(rig.cameras):
        ax = fig.add_subplot(gs[1, c])
        w, h = cam.size
        counts = quality.coverage_maps[c]
        ax.imshow(np.log1p(counts), cmap="Greens", vmin=0, vmax=max(1.0, np.log1p(counts).max()),
                  extent=(0, w, h, 0))  # corners detected per image cell (log scale); white = never
        ax.set_title(f"{cam.name}: coverage {quality.cameras[c].coverage:.0%}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])

    # Row 3: top-down layout and side view.
    for k, (a, b, title) in enumerate([(0, 1, "Top view (X, Y)"), (0, 2, "Side view (X, Z)")]):
        ax = fig.add_subplot(gs[2, k * (cols // 2) : (k + 1) * (cols // 2) if k == 0 else cols])
        centers = np.array([cam.center for cam in rig.cameras])
        for cam, ctr in zip(rig.cameras, centers):
            d = cam.R[2]  # viewing direction in world
            ax.plot(ctr[a], ctr[b], "o", color="tab:blue")
            ax.annotate("", xy=(ctr[a] + 0.5 * d[a], ctr[b] + 0.5 * d[b]), xytext=(ctr[a], ctr[b]),
                        arrowprops=dict(arrowstyle="->", color="tab:blue"))
            ax.text(ctr[a], ctr[b], f" {cam.name}", fontsize=8)
        ax.plot([0, 0.5], [0, 0], color="r")
        ax.plot([0, 0], [0, 0.5], color="g" if b == 1 else "b")
        if board is not None and b == 1:
            bw, bh = board.size_m
            # world x = board x, world y = -board y; the origin is ChArUco corner 0 at (sq, sq) on the board
            sq = board.square_length
            ax.add_patch(_rect(fig, -sq, -(bh - sq), bw, bh))
        if b == 2:
            ax.axhline(0, color="k", lw=0.8)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("XYZ"[a] + " (m)")
        ax.set_ylabel("XYZ"[b] + " (m)")
        ax.set_title(title + f"; world from {quality.world.get('source', '?')}", fontsize=10)
        ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def _rect(fig, x, y, w, h):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, fill=False, color="k", lw=1)
