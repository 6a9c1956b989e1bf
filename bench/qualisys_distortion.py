"""Which scale are a Qualisys ``.qca.txt``'s lens distortion values on? Evidence from real footage.

No Qualisys document states the units of ``radialDistortion1..3`` / ``tangentalDistortion1..2``. mocap reads
them as OpenCV's k1, k2, k3, p1, p2 (dimensionless, on normalized image coordinates); Pose2Sim divides them by
64 like the focal length and principal point (which are in 1/64 pixel). This script measures which fits the
Pose2Sim demo footage in ../shared/data/pose2sim_multiperson (4 Miqus video cameras, Qualisys calibration):

1. BlazePose keypoints of the 100-frame take (detected here) are triangulated with the rig whose distortion is
   the file's values times ``s`` for ``s`` from -1 to 3 (``s = 1``: as read; ``s = 1/64``, practically 0:
   Pose2Sim), and the reprojection error of the shoulder-to-toe keypoints is summed over the observations that
   are inliers (< 15 px) for every ``s``; a block bootstrap over frames (10-frame blocks) gives an interval
   for the best ``s``.
2. Plumb lines: straight scene edges (Hough segments of the median background, image borders excluded) should
   be straight after undistortion; the ``s`` that straightens them best, with a bootstrap over edges.

Run from the repository root (``MOCAP_SHARED_DATA`` points at the shared data when it is not ../shared/data)::

    .venv/bin/python bench/qualisys_distortion.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.calibration.formats import read_calibration  # noqa: E402
from mocap.camera import CameraRig  # noqa: E402

DATA = Path(os.environ.get("MOCAP_SHARED_DATA", REPO.parent / "shared" / "data")) / "pose2sim_multiperson"
SCALES = np.round(np.arange(-1.0, 3.01, 0.25), 2)


def scaled(rig: CameraRig, s: float) -> CameraRig:
    return CameraRig(tuple(c.replace(dist=c.dist * s) for c in rig.cameras))


def keypoint_evidence(rig: CameraRig, rng) -> tuple[np.ndarray, float, tuple[float, float]]:
    from mocap.keypoints2d.stage import detect_views
    from mocap.triangulation.stage import triangulate

    kp = detect_views([DATA / "videos" / f"{n}.mp4" for n in rig.names], rig.names)
    errors = {}
    for s in SCALES:
        r = scaled(rig, s)
        xyz = triangulate(r, kp).xyz
        errors[s] = np.stack([np.linalg.norm(c.project(xyz) - kp.xy[i], axis=-1) for i, c in enumerate(r.cameras)])
    mask = kp.conf > 0.5
    for e in errors.values():
        mask &= np.isfinite(e) & (e < 15)
    mask[:, :, :11] = False  # BlazePose face points: keep shoulders to toes
    cost = np.array([[np.sum(errors[s][:, f][mask[:, f]] ** 2) for f in range(kp.n_frames)] for s in SCALES])
    rms = np.sqrt(cost.sum(1) / mask.sum())
    blocks = np.arange(kp.n_frames - kp.n_frames % 10).reshape(-1, 10)
    boot = [SCALES[np.argmin(cost[:, blocks[rng.integers(0, len(blocks), len(blocks))].ravel()].sum(1))]
            for _ in range(2000)]
    return rms, int(mask.sum()), (float(np.percentile(boot, 5)), float(np.percentile(boot, 95)))


def plumb_evidence(rig: CameraRig, rng) -> tuple[int, float, tuple[float, float]]:
    import cv2

    costs = []
    for cam in rig.cameras:
        cap = cv2.VideoCapture(str(DATA / "videos" / f"{cam.name}.mp4"))
        frames = []
        while True:
            ok, img = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
        background = np.median(np.stack(frames[::5]), axis=0).astype(np.uint8)
        edges = cv2.Canny(background, 40, 120)
        edges[:12], edges[-12:], edges[:, :12], edges[:, -20:] = 0, 0, 0, 0
        ys, xs = np.nonzero(edges)
        pts = np.column_stack([xs, ys]).astype(float)
        lines = cv2.HoughLinesP(edges, 1, np.pi / 720, threshold=120, minLineLength=300, maxLineGap=20)
        kept = []
        for seg in sorted((l[0] for l in lines), key=lambda s: -np.hypot(s[2] - s[0], s[3] - s[1])):
            p0, p1 = np.array(seg[:2], float), np.array(seg[2:], float)
            d = (p1 - p0) / np.linalg.norm(p1 - p0)
            n = np.array([-d[1], d[0]])
            if any(abs((q0 - p0) @ n) < 8 and abs((q1 - p0) @ n) < 8 for q0, q1 in kept):
                continue
            kept.append((p0, p1))
            along, off = (pts - p0) @ d, (pts - p0) @ n
            edge = pts[(np.abs(off) < 6) & (along > 0) & (along < np.linalg.norm(p1 - p0))]
            if len(edge) < 250:
                continue
            cost = []
            for s in SCALES:
                c = cam.replace(dist=cam.dist * s)
                u = c.undistort_points(edge) * c.K[0, 0]
                o = (u - u.mean(0)) @ np.linalg.svd(u - u.mean(0))[2][1]
                cost.append(np.mean(np.minimum((o - np.median(o)) ** 2, 4.0)))
            costs.append(cost)
    C = np.array(costs)
    boot = [SCALES[np.argmin(C[rng.integers(0, len(C), len(C))].sum(0))] for _ in range(2000)]
    return len(C), float(SCALES[np.argmin(C.sum(0))]), (float(np.percentile(boot, 5)), float(np.percentile(boot, 95)))


def main() -> None:
    if not DATA.is_dir():
        sys.exit(f"the real data is not here: {DATA}")
    t0 = time.perf_counter()
    rig = read_calibration(DATA / "calibration" / "Calib.qca.txt")
    rng = np.random.default_rng(0)
    rms, n, interval = keypoint_evidence(rig, rng)
    print("### Qualisys distortion scale on the Pose2Sim demo footage\n")
    print(f"1. BlazePose keypoints, shoulders to toes, {n} camera observations (inliers for every scale):\n")
    print("| distortion = file value x s | reprojection RMS (px) |\n|---|---|")
    for s, r in zip(SCALES, rms):
        label = " (as read: OpenCV k1, k2)" if s == 1 else " (~ Pose2Sim's / 64)" if s == 0 else ""
        print(f"| {s:+.2f}{label} | {r:.4f} |")
    best = SCALES[np.argmin(rms)]
    print(f"\nbest s = {best:g}; 90 % block-bootstrap interval {interval[0]:g} .. {interval[1]:g} "
          f"(excludes 1/64: {not interval[0] <= 1 / 64 <= interval[1]})")
    edges, best_plumb, plumb_interval = plumb_evidence(rig, rng)
    print(f"\n2. Plumb lines: {edges} straight edges; best s = {best_plumb:g}, 90 % bootstrap interval "
          f"{plumb_interval[0]:g} .. {plumb_interval[1]:g} (this lens bends lines by under a pixel or two: "
          "inconclusive alone)")
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
