"""Calibration section: camera layout (top view and 3D), the capture volume, per-camera errors."""

from __future__ import annotations

import numpy as np

from mocap.camera import Camera, CameraRig
from mocap.report.context import ReportContext
from mocap.report.page import Section, esc, figure_image, new_figure, paragraph, table

LOOK_FOR = ("Every camera should point at the performer's area, which should lie inside the region seen by "
            "three or more cameras (darker green); per-camera reprojection errors well under the 1.5 px gate, "
            "with no single camera standing out.")


def pinhole_visible(cam: Camera, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """``(N,)`` whether world ``points (N, 3)`` lie in front of ``cam`` and inside its image (ignoring
    lens distortion, which folds far-off points back into the image)."""
    Xc = cam.world_to_camera(points)
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (Xc[:, :2] / Xc[:, 2:]) @ cam.K[:2, :2].T + cam.K[:2, 2]
    w, h = cam.size
    return (Xc[:, 2] > 0.05) & (uv[:, 0] >= -margin) & (uv[:, 0] <= w + margin) & (uv[:, 1] >= -margin) \
        & (uv[:, 1] <= h + margin)


def floor_coverage(rig: CameraRig, lo: np.ndarray, hi: np.ndarray, step: float = 0.1,
                   heights: tuple[float, ...] = (0.05, 1.8)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cameras that see a standing person's whole height at each floor cell: ``xs (nx,)``, ``ys (ny,)``,
    ``counts (ny, nx)`` (the minimum over ``heights`` of the cameras seeing that point)."""
    xs = np.arange(lo[0], hi[0] + 1e-9, step)
    ys = np.arange(lo[1], hi[1] + 1e-9, step)
    gx, gy = np.meshgrid(xs, ys)
    counts = None
    for z in heights:
        pts = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, z)], axis=1)
        n = sum(pinhole_visible(cam, pts).astype(int) for cam in rig.cameras).reshape(gx.shape)
        counts = n if counts is None else np.minimum(counts, n)
    return xs, ys, counts


def frustum(cam: Camera, depth: float) -> np.ndarray:
    """``(5, 3)`` world points: the camera centre and its image corners at ``depth`` metres."""
    w, h = cam.size
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], float) @ np.linalg.inv(cam.K).T
    return np.vstack([cam.center, (corners * depth - cam.t) @ cam.R])


def _footprint(ctx: ReportContext) -> np.ndarray | None:
    """``(K, 2)`` convex hull of the performer's floor positions (every triangulated joint, XY)."""
    import cv2

    pts = ctx.inputs.points
    if pts is None:
        return None
    xy = pts.xyz[..., :2].reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) < 3:
        return None
    hull = cv2.convexHull((xy * 1000).astype(np.float32))
    return hull.reshape(-1, 2) / 1000.0


def _extent(rig: CameraRig, footprint: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    xy = np.array([c.center[:2] for c in rig.cameras])
    if footprint is not None:
        xy = np.vstack([xy, footprint])
    return xy.min(axis=0) - 0.5, xy.max(axis=0) + 0.5


def layout_figure(rig: CameraRig, footprint: np.ndarray | None, pelvis: np.ndarray | None):
    """Top view (XY) with the capture volume, and a 3D view with the camera frusta."""
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm

    lo, hi = _extent(rig, footprint)
    xs, ys, counts = floor_coverage(rig, lo, hi)
    fig = new_figure(12, 5.6, left=0.7, bottom=0.6, right=0.1, top=0.4, wspace=0.05)
    ax = fig.add_subplot(1, 2, 1)
    n = len(rig)
    greens = colormaps["Greens"].resampled(n + 1)
    im = ax.imshow(counts, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]), cmap=greens,
                   norm=BoundaryNorm(np.arange(-0.5, n + 1), greens.N), interpolation="nearest")
    fig.colorbar(im, ax=ax, ticks=range(n + 1), fraction=0.046, label="cameras seeing a standing person")
    for cam in rig.cameras:
        c = cam.center
        fr = frustum(cam, 1.2)
        for corner in (fr[1] + fr[4], fr[2] + fr[3]):  # left and right edges at mid-height
            ax.plot([c[0], corner[0] / 2], [c[1], corner[1] / 2], color="tab:blue", lw=0.8)
        ax.plot(*c[:2], "o", color="tab:blue")
        ax.annotate(cam.name, c[:2], textcoords="offset points", xytext=(4, 4), fontsize=8)
    if footprint is not None:
        ring = np.vstack([footprint, footprint[:1]])
        ax.plot(ring[:, 0], ring[:, 1], color="tab:purple", lw=1.5, label="performer footprint")
    if pelvis is not None:
        ax.plot(pelvis[:, 0], pelvis[:, 1], color="tab:purple", lw=0.8, alpha=0.6, label="pelvis path")
    ax.plot([0, 0.5], [0, 0], color="r", lw=2)
    ax.plot([0, 0], [0, 0.5], color="g", lw=2)
    ax.set_aspect("equal")
    ax.set_xlabel("X (m)")
    ax.set_ylabel("Y (m)")
    ax.set_title("Top view: capture volume (floor cells seen head to toe)", fontsize=10)
    if footprint is not None or pelvis is not None:
        ax.legend(fontsize=8, loc="upper right")

    ax = fig.add_subplot(1, 2, 2, projection="3d")
    grid = [((gx, lo[1], 0), (gx, hi[1], 0)) for gx in np.arange(np.floor(lo[0]), np.ceil(hi[0]) + 1e-9)]
    grid += [((lo[0], gy, 0), (hi[0], gy, 0)) for gy in np.arange(np.floor(lo[1]), np.ceil(hi[1]) + 1e-9)]
    ax.plot(*_polyline(grid).T, color="0.55", lw=0.6)
    frusta = []
    for cam in rig.cameras:
        fr = frustum(cam, 0.6)
        frusta += [(fr[0], fr[k]) for k in range(1, 5)] + [tuple(fr[[1, 2, 3, 4, 1]])]
        ax.text(*cam.center, f" {cam.name}", fontsize=8)
    ax.plot(*_polyline(frusta).T, color="tab:blue", lw=0.8)  # one artist: drawing 3D lines is slow
    if footprint is not None:
        ring = np.vstack([footprint, footprint[:1]])
        ax.plot(ring[:, 0], ring[:, 1], np.zeros(len(ring)), color="tab:purple", lw=1.5)
    if pelvis is not None:
        ax.plot(*pelvis.T, color="tab:purple", lw=0.8)
    top = max(c.center[2] for c in rig.cameras) + 0.3
    ax.set_box_aspect((hi[0] - lo[0], hi[1] - lo[1], top))
    ax.set_zlim(0, top)
    ax.set_zticks(np.arange(0, top, 1.0))
    ax.set_xlabel("X")
    ax.set_ylabel("Y")
    ax.set_zlabel("Z")
    ax.set_title("Cameras (frusta), floor grid (1 m) and performer", fontsize=10)
    return fig


def errors_figure(quality: dict, limit_mean: float):
    cams = quality["cameras"]
    fig = new_figure(max(4.0, 1.0 + 0.9 * len(cams)), 3.2, bottom=0.5)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(cams))
    ax.bar(x - 0.2, [c["reprojection_mean_px"] for c in cams], 0.4, label="mean")
    ax.bar(x + 0.2, [c["reprojection_p95_px"] for c in cams], 0.4, label="95th percentile")
    ax.axhline(limit_mean, color="tab:red", ls="--", lw=1, label=f"mean limit {limit_mean:g} px")
    ax.set_xticks(x, [c["name"] for c in cams], fontsize=8)
    ax.set_ylabel("reprojection error (px)")
    ax.set_title("Calibration: reprojection error per camera", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def _polyline(lines) -> np.ndarray:
    """Several polylines as one ``(N, 3)`` array, separated by NaN rows (to draw them as one artist)."""
    rows = []
    for line in lines:
        rows += [np.asarray(p, float) for p in line] + [np.full(3, np.nan)]
    return np.array(rows)


def build(ctx: ReportContext) -> Section | None:
    from mocap.report.joints import joint_track

    rig = ctx.inputs.rig
    if rig is None:
        return None
    pts = ctx.inputs.points
    pelvis = None
    if pts is not None:
        pelvis = joint_track(pts.xyz, pts.joint_names, "pelvis", ctx.inputs.keypoint_set)
    parts: list = [figure_image(layout_figure(rig, _footprint(ctx), pelvis), "calibration_layout.png",
                                "Left: floor cells where a standing person (feet to 1.8 m) is inside each camera's "
                                "image; lines: horizontal field of view. Right: camera frusta in 3D.")]
    q = ctx.inputs.calibration_quality
    by_name = {c["name"]: c for c in (q or {}).get("cameras", [])}
    source = ctx.inputs.rig_source
    if source is not None:  # imported rig: its figures on this take's own 2D keypoints
        q = None
        by_name = take_reprojection(rig, ctx.inputs.keypoints, ctx.inputs.points_raw)
        pairs = ", ".join(f"{c['file']} -> {c['session']}" for c in source.get("cameras", [])
                          if c.get("file") != c.get("session"))
        parts.append(paragraph(
            f"Rig imported from {source.get('file', '?')} ({source.get('format', '?')} format, sha256 "
            f"{str(source.get('sha256', '?'))[:12]}, imported {source.get('imported', '?')})"
            + (f"; cameras paired in file order: {pairs}" if pairs else "")
            + ". No board take: the reprojection errors below are of this take's triangulated keypoints in each "
              "camera's own 2D keypoints (median and 95th percentile over every keypoint the camera saw). A camera "
              "far above the others sees another person, or its calibration does not fit the footage."))
    if q and by_name:
        parts.append(figure_image(errors_figure(q, ctx.thresholds.max_calibration_px), "calibration_errors.png"))
    rows = []
    central = "reprojection_mean_px" if source is None else "reprojection_median_px"
    for cam in rig.cameras:
        c = by_name.get(cam.name, {})
        rows.append([cam.name, cam.model, f"{cam.K[0, 0]:.0f}", f"{cam.size[0]}x{cam.size[1]}",
                     f"{cam.center[2]:.2f}", _num(c.get(central), 2),
                     _num(c.get("reprojection_p95_px"), 2),
                     f"{c['coverage']:.0%}" if "coverage" in c else "-", c.get("views", "-")])
    limit = ctx.thresholds.max_calibration_px if source is None else ctx.thresholds.max_reprojection_px
    flags = [not float(by_name.get(cam.name, {}).get(central, 0.0)) <= limit for cam in rig.cameras]
    parts.append(table(["camera", "model", "focal px", "image", "height m",
                        "mean px" if source is None else "median px", "p95 px", "board coverage",
                        "board views" if source is None else "keypoints"], rows, flags=flags))
    if q:
        verdict = "passed" if q.get("passed") else "FAILED"
        parts.append(paragraph(f"Calibration gate {verdict}; board square length error "
                               f"{q.get('square_error_mean_mm', float('nan')):+.2f} ± "
                               f"{q.get('square_error_std_mm', float('nan')):.2f} mm; world frame from "
                               f"{q.get('world', {}).get('source', '?')}."))
        for msg in list(q.get("failures", [])) + list(q.get("warnings", [])):
            parts.append(f'<p class="note">⚠ {esc(msg)}</p>')
    return Section("calibration", "Calibration", LOOK_FOR, tuple(parts))


def take_reprojection(rig: CameraRig, keypoints, points) -> dict[str, dict]:
    """Per camera, ``{"name", "reprojection_mean_px", "reprojection_median_px", "reprojection_p95_px", "views"}``
    (pixels; views: observations compared) of the take's raw 3D
    points projected into each camera against its own 2D keypoints (where both exist); empty without them."""
    if keypoints is None or points is None or points.xyz.shape[:2] != keypoints.xy.shape[1:3]:
        return {}
    out = {}
    for c, name in enumerate(keypoints.camera_names):
        if name not in rig.names:
            continue
        cam = rig[name]
        err = np.linalg.norm(cam.to_video_pixels(cam.project(points.xyz)) - keypoints.xy[c], axis=-1)
        err = err[np.isfinite(err) & (keypoints.conf[c] > 0)]
        if err.size:
            out[name] = {"name": name, "reprojection_mean_px": float(err.mean()),
                         "reprojection_median_px": float(np.median(err)),
                         "reprojection_p95_px": float(np.percentile(err, 95)), "views": int(err.size)}
    return out


def _num(value, digits: int) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"
