"""Triangulation benchmark: our robust batched triangulation vs aniposelib on the same arrays.

Run from the repository root::

    .venv/bin/python bench/triangulate.py [--quick]

A 3D motion (a real CMU clip from ../shared/data/bvh when present, else a synthetic random walk) is
projected into 4 virtual 1280x720 cameras with lens distortion; 2D observations get 3 px Gaussian
noise, 5 % dropouts and 2 % gross errors (30-150 px); points outside a camera's image are missing.
The same arrays go to:

* ours: ``triangulate_views`` (weighted linear solve, leave-one-out rejection), with Gauss-Newton
  refinement, and followed by the default smoothing (what ``mocap triangulate`` does);
* aniposelib 0.7.2: ``CameraGroup.triangulate`` (per-point SVD loop), ``triangulate(fast=True)``,
  and ``triangulate_optim`` (1000-frame case only: it takes minutes beyond that).

It prints time, speed-up, MPJPE (mean and median, mm), the share of points returned, and the peak
memory of our triangulation (tracemalloc) at 1000 and 10,000 frames (chunked: flat in frame count).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.camera import Camera, CameraRig, look_at  # noqa: E402
from mocap.keypoints2d.keypoints import Keypoints2D  # noqa: E402
from mocap.smoothing.filters import SmoothConfig, smooth  # noqa: E402
from mocap.triangulation.robust import TriangulateConfig, triangulate_keypoints, triangulate_views  # noqa: E402

BVH_DIR = REPO.parent / "shared" / "data" / "bvh"
N_JOINTS = 33


def rig4() -> CameraRig:
    cams = []
    for k in range(4):
        a = np.pi / 2 * k + np.pi / 4
        R, t = look_at(np.array([3.5 * np.cos(a), 3.5 * np.sin(a), 1.8 + 0.2 * (k % 2)]), np.array([0, 0, 1.0]))
        cams.append(Camera(f"cam{k}", (1280, 720), [[1000 + 20 * k, 0, 640], [0, 1000 + 20 * k, 360], [0, 0, 1]],
                           [-0.15, 0.04, 0.0005, -0.0003, 0.0], R, t))
    return CameraRig(tuple(cams))


def motion(n_frames: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """``(F, 33, 3)`` metres: a CMU clip (looped, its joints padded/trimmed to 33) or a random walk."""
    try:
        from mocap.synth.cmu import cmu_files, load_cmu_clip

        files = cmu_files(REPO.parent / "shared" / "data")
    except ImportError:
        files = []
    if files:
        xyz, names, fps = load_cmu_clip(files[0], fps=60, center=True)
        xyz = xyz[1:] - np.r_[xyz[len(xyz) // 2, 0, :2], 0.0]  # drop the T-pose; centre the path in the volume
        reps = int(np.ceil(n_frames / len(xyz)))
        xyz = np.concatenate([xyz] * reps)[:n_frames]
        idx = np.arange(N_JOINTS) % xyz.shape[1]
        return xyz[:, idx], f"CMU clip {files[0].name} at 60 fps, looped"
    rng = np.random.default_rng(seed)
    base = rng.normal([0, 0, 1], 0.35, (N_JOINTS, 3))
    drift = np.cumsum(rng.normal(0, 0.002, (n_frames, 1, 3)), axis=0)
    return base + drift, "synthetic random walk (no ../shared/data/bvh)"


def observations(rig: CameraRig, xyz: np.ndarray, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    px = rig.project(xyz)
    w, h = rig[0].size
    outside = ~((px[..., 0] >= 0) & (px[..., 0] < w) & (px[..., 1] >= 0) & (px[..., 1] < h))
    px = px + rng.normal(0, 3.0, px.shape)
    px[outside] = np.nan  # out of the picture
    drop = rng.random(px.shape[:3]) < 0.05
    gross = rng.random(px.shape[:3]) < 0.02
    px[gross] += rng.choice([-1, 1], (gross.sum(), 2)) * rng.uniform(30, 150, (gross.sum(), 2))
    px[drop] = np.nan
    return px


def anipose_group(rig: CameraRig):
    from aniposelib.cameras import Camera as ACam
    from aniposelib.cameras import CameraGroup

    return CameraGroup([ACam(matrix=c.K, dist=c.dist, size=c.size, rvec=c.rvec, tvec=c.t, name=c.name)
                        for c in rig.cameras])


def score(name, t, est, truth, ref_time=None):
    e = np.linalg.norm(est - truth, axis=-1) * 1000
    ok = np.isfinite(e)
    speed = f"{ref_time / t:.1f}x" if ref_time else ""
    return [name, f"{t:.3f}", speed, f"{np.nanmean(e):.2f}", f"{np.nanmedian(e):.2f}", f"{ok.mean():.1%}"]


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def run_case(rig, n_frames, with_optim):
    xyz, source = motion(n_frames)
    px = observations(rig, xyz)
    flat = px.reshape(len(rig), -1, 2)
    rows = []
    group = anipose_group(rig) if _has_aniposelib() else None
    t_ref = None
    if group is not None:
        t0 = time.perf_counter()
        ref = group.triangulate(flat, undistort=True, progress=False).reshape(xyz.shape)
        t_ref = time.perf_counter() - t0
        rows.append(score("aniposelib triangulate", t_ref, ref, xyz))
        t0 = time.perf_counter()
        ref_fast = group.triangulate(flat, undistort=True, progress=False, fast=True).reshape(xyz.shape)
        rows.append(score("aniposelib triangulate(fast=True)", time.perf_counter() - t0, ref_fast, xyz, t_ref))
    for name, cfg in (("mocap triangulate_views", TriangulateConfig()),
                      ("mocap triangulate_views (refine)", TriangulateConfig(refine=True))):
        t0 = time.perf_counter()
        est, _, _ = triangulate_views(rig, px, config=cfg)
        rows.append(score(name, time.perf_counter() - t0, est, xyz, t_ref))
    t0 = time.perf_counter()
    est, _, _ = triangulate_views(rig, px)
    est = smooth(est, 60.0, SmoothConfig())
    rows.append(score("mocap triangulate_views + smooth (gap fill, 6 Hz Butterworth)", time.perf_counter() - t0, est,
                      xyz, t_ref))
    if group is not None and with_optim:
        t0 = time.perf_counter()
        opt = group.triangulate_optim(px, init_progress=False)
        rows.append(score("aniposelib triangulate_optim", time.perf_counter() - t0, opt, xyz, t_ref))
    print(f"### {n_frames} frames x {N_JOINTS} joints x {len(rig)} cameras ({source})\n")
    print(table(["method", "time (s)", "speed-up vs triangulate", "MPJPE mean (mm)", "MPJPE median (mm)",
                 "points returned"], rows))
    print()


def peak_memory(rig, n_frames):
    xyz, _ = motion(n_frames)
    px = observations(rig, xyz).astype(np.float32)
    kp = Keypoints2D(px, np.ones(px.shape[:3], np.float32), "bench", tuple(f"j{j}" for j in range(N_JOINTS)),
                     tuple(rig.names), np.arange(n_frames) / 60.0, 60.0)
    tracemalloc.start()
    triangulate_keypoints(rig, kp)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _has_aniposelib() -> bool:
    try:
        import aniposelib  # noqa: F401
        return True
    except ImportError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip triangulate_optim and the 10,000-frame case")
    args = parser.parse_args()
    rig = rig4()
    print("## Triangulation: mocap vs aniposelib (same arrays, one process)\n")
    print("3 px noise, 5 % dropouts, 2 % gross errors; MPJPE over the points each method returns.\n")
    run_case(rig, 1000, with_optim=not args.quick)
    if not args.quick:
        run_case(rig, 10_000, with_optim=False)
    sizes = (1000, 10_000) if not args.quick else (1000, 3000)
    mem = {n: peak_memory(rig, n) for n in sizes}
    print("Peak memory of `triangulate_keypoints` (beyond its input, chunks of 2000 frames): "
          + ", ".join(f"{n} frames {m:.0f} MiB" for n, m in mem.items()) + ".\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
