"""Known answer on real human motion: CMU clips projected into 4 virtual cameras.

2D observations get 3 px Gaussian noise, 5 % dropouts and left/right swaps in one camera; the
triangulated motion is compared with the truth, and with the Cramér-Rao bound of per-frame
triangulation for that noise and camera geometry (no per-frame method can do better on average);
after smoothing the error must be below that bound.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED_DATA, ring

from mocap.keypoints2d.keypoints import Keypoints2D, left_right_pairs
from mocap.smoothing.stage import triangulate_and_smooth
from mocap.triangulation.bounds import triangulation_error_bound
from mocap.triangulation.robust import triangulate_keypoints

pytestmark = pytest.mark.shared_data


def cmu_take(name: str, n_frames: int = 150, fps: float = 30.0, seed: int = 0):
    from mocap.synth.cmu import cmu_files, load_cmu_clip

    files = [f for f in cmu_files(SHARED_DATA) if name in f.name]
    if not files:
        pytest.skip(f"CMU clip {name} not available in {SHARED_DATA / 'bvh'}")
    xyz, names, clip_fps = load_cmu_clip(files[0], fps=fps, center=True)
    xyz = xyz[1 : n_frames + 1].copy()  # frame 0 of some clips is a T-pose
    xyz[..., :2] -= xyz[len(xyz) // 2, 0, :2]  # the capture volume's centre mid-take
    rig = ring(4, size=(1280, 720), focal=1150.0)
    rng = np.random.default_rng(seed)
    px = rig.project(xyz)
    outside = ~((px[..., 0] >= 0) & (px[..., 0] < 1280) & (px[..., 1] >= 0) & (px[..., 1] < 720))
    px = px + rng.normal(0, 3.0, px.shape)
    px[outside] = np.nan  # out of the picture
    px[rng.random(px.shape[:3]) < 0.05] = np.nan
    pairs = left_right_pairs(names)
    swapped = np.zeros((4, len(xyz)), bool)
    for start in rng.choice(len(xyz) - 10, 6, replace=False):
        swapped[1, start : start + 5] = True  # camera 1's detector swaps sides now and then
    c, f = np.nonzero(swapped)
    for a, b in pairs:
        px[c, f, a], px[c, f, b] = px[c, f, b].copy(), px[c, f, a].copy()
    kp = Keypoints2D(px.astype(np.float32), np.ones(px.shape[:3], np.float32), "cmu", tuple(names),
                     tuple(rig.names), np.arange(len(xyz)) / fps, fps)
    return rig, xyz, kp, pairs, swapped


@pytest.mark.parametrize("clip", ["12_01_walk", "05_20_moderndance", "131_03_hop", "01_01_jumps"])
def test_triangulated_cmu_motion(clip):
    rig, truth, kp, pairs, swapped = cmu_take(clip)
    pts = triangulate_keypoints(rig, kp, swap_pairs=pairs)
    err = np.linalg.norm(pts.xyz - truth, axis=-1) * 1000
    visible = np.isfinite(kp.xy[..., 0])
    bound = np.nanmean(triangulation_error_bound(rig, truth, 3.0, visible)) * 1000
    mpjpe = np.nanmean(err)
    print(f"\n{clip}: MPJPE {mpjpe:.1f} mm (median {np.nanmedian(err):.1f}), per-frame bound {bound:.1f} mm, "
          f"swaps found {int((pts.swaps & swapped).sum())}/{int(swapped.sum())}, false {int((pts.swaps & ~swapped).sum())}")
    seen_twice = visible.sum(axis=0) >= 2
    assert np.isfinite(err[seen_twice]).mean() > 0.97  # the rest: rejected (e.g. 2 views disagreeing)
    assert (pts.swaps & swapped).sum() >= 0.8 * swapped.sum() and not (pts.swaps & ~swapped).any()
    assert mpjpe < 1.3 * bound  # close to the best any per-frame triangulation can do

    # With the default smoothing (gap filling + zero-phase 6 Hz Butterworth), the take beats the
    # per-frame bound: smoothing pools neighbouring frames.
    _, smoothed = triangulate_and_smooth(rig, kp)
    smooth_err = np.nanmean(np.linalg.norm(smoothed.xyz - truth, axis=-1)) * 1000
    print(f"{clip}: after smoothing {smooth_err:.1f} mm")
    assert smooth_err < bound
    assert smooth_err < 15.0
