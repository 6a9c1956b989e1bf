"""Robust triangulation with known answers: noise, dropouts, gross outliers, left/right swaps."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ring

from mocap.errors import MocapError
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.triangulation.points import Points3D
from mocap.triangulation.robust import (
    TriangulateConfig,
    triangulate_keypoints,
    triangulate_views,
)


def scene(n_frames=200, n_joints=12, noise=2.0, seed=0):
    rig = ring(4, size=(1280, 720), focal=1000.0, fisheye=(3,))
    rng = np.random.default_rng(seed)
    X = rng.normal([0, 0, 1], 0.3, (n_frames, n_joints, 3))
    px = rig.project(X) + rng.normal(0, noise, (4, n_frames, n_joints, 2))
    return rig, X, px, rng


def test_exact_and_noisy_points():
    rig, X, px, _ = scene(noise=0.0)
    Y, err, used = triangulate_views(rig, px)
    np.testing.assert_allclose(Y, X, atol=1e-6)
    assert np.nanmax(err) < 1e-3 and used.all()
    rig, X, px, _ = scene(noise=2.0)
    for refine in (False, True):
        Y, err, _ = triangulate_views(rig, px, config=TriangulateConfig(refine=refine))
        mpjpe = np.linalg.norm(Y - X, axis=-1).mean()
        # 2 px at 3 m with f = 1000 is 6 mm per view across the ray; 4 views: about 6 mm in 3D.
        assert mpjpe < 0.008
        assert 1.0 < np.nanmedian(err) < 3.0  # the residual of 2 px noise with 4 views


def test_outliers_rejected_and_dropouts_handled():
    rig, X, px, rng = scene(noise=1.0)
    bad = rng.random(px.shape[:3]) < 0.05
    px[bad] += rng.choice([-1, 1], (bad.sum(), 2)) * rng.uniform(40, 200, (bad.sum(), 2))
    drop = rng.random(px.shape[:3]) < 0.15
    px[drop] = np.nan
    naive, _, _ = triangulate_views(rig, px, config=TriangulateConfig(rejection="none"))
    Y, err, used = triangulate_views(rig, px)
    e_robust = np.nanmedian(np.linalg.norm(Y - X, axis=-1))
    e_naive = np.nanmedian(np.linalg.norm(naive - X, axis=-1))
    assert e_robust < 0.005 and np.nanpercentile(np.linalg.norm(Y - X, axis=-1), 99) < 0.02
    assert np.nanpercentile(np.linalg.norm(naive - X, axis=-1), 99) > 0.05 > e_naive
    # Gross errors are rejected, except where two of a point's few remaining views are both wrong.
    assert used[bad & ~drop].mean() < 0.05
    # fewer than two views -> NaN, never a silent zero
    px[1:, 0, 0] = np.nan
    Y, err, used = triangulate_views(rig, px)
    assert np.isnan(Y[0, 0]).all() and np.isnan(err[0, 0]) and not used[:, 0, 0].any()


def test_left_right_swaps_fixed():
    rig, X, px, rng = scene(n_frames=100, n_joints=6, noise=1.0)
    pairs = np.array([[0, 1], [2, 3], [4, 5]])
    X[:, 1] = X[:, 0] + [0.3, 0, 0]  # left/right counterparts 30 cm apart
    X[:, 3] = X[:, 2] + [0, 0.3, 0]
    X[:, 5] = X[:, 4] + [0.2, 0.2, 0]
    px = rig.project(X) + rng.normal(0, 1.0, (4, 100, 6, 2))
    swapped = np.zeros((4, 100), bool)
    swapped[2, 10:40] = True  # camera 2 swaps left and right for 30 frames
    swapped[0, 70:75] = True
    c, f = np.nonzero(swapped)
    for a, b in pairs:
        px[c, f, a], px[c, f, b] = px[c, f, b].copy(), px[c, f, a].copy()
    kp = Keypoints2D(px.astype(np.float32), np.ones((4, 100, 6), np.float32), "test", tuple("abcdef"),
                     tuple(rig.names), np.arange(100) / 30.0, 30.0)
    pts = triangulate_keypoints(rig, kp, swap_pairs=pairs)
    # Every flagged view was swapped; swaps that are missed are those where left and right project
    # within a few pixels of each other in that camera (harmless), and the 3D stays right.
    assert not (pts.swaps & ~swapped).any()
    assert (pts.swaps & swapped).sum() >= 0.6 * swapped.sum()
    assert np.nanmax(np.linalg.norm(pts.xyz - X, axis=-1)) < 0.02
    assert (pts.n_views == 4).mean() > 0.97


def test_keypoints_and_points_files(tmp_path):
    rig, X, px, _ = scene(n_frames=20, n_joints=3)
    mirrored = rig.cameras[1].replace(mirrored=True)
    rig = type(rig)((rig[0], mirrored, rig[2], rig[3]))
    video_px = px.copy()
    video_px[1] = mirrored.to_video_pixels(px[1])  # what a detector sees on the flipped video
    kp = Keypoints2D(video_px.astype(np.float32), np.ones(px.shape[:3], np.float32), "test", ("a", "b", "c"),
                     tuple(rig.names), np.arange(20) / 30.0, 30.0)
    kp2 = Keypoints2D.load(kp.save(tmp_path / "kp.npz"))
    pts = triangulate_keypoints(rig, kp2)
    unmirrored = type(rig)((rig[0], rig[1].replace(mirrored=False), rig[2], rig[3]))
    plain = triangulate_keypoints(unmirrored, Keypoints2D(px.astype(np.float32), kp.conf, "test", ("a", "b", "c"),
                                                          tuple(rig.names), kp.timestamps, 30.0))
    np.testing.assert_allclose(pts.xyz, plain.xyz, atol=1e-4)  # the mirrored camera's pixels are converted exactly
    assert np.nanmedian(np.linalg.norm(pts.xyz - X, axis=-1)) < 0.01
    back = Points3D.load(pts.save(tmp_path / "p.npz"))
    np.testing.assert_array_equal(back.xyz, pts.xyz)
    assert back.joint_names == ("a", "b", "c")


def test_bad_inputs():
    rig, X, px, _ = scene(n_frames=5, n_joints=2)
    kp = Keypoints2D(px[:1].astype(np.float32), np.ones((1, 5, 2), np.float32), "t", ("a", "b"), ("cam0",),
                     np.arange(5.0), 30.0)
    with pytest.raises(MocapError, match="at least two cameras"):
        triangulate_keypoints(rig, kp)
    kp = Keypoints2D(px[:2].astype(np.float32), np.ones((2, 5, 2), np.float32), "t", ("a", "b"), ("cam0", "camX"),
                     np.arange(5.0), 30.0)
    with pytest.raises(MocapError, match="camX"):
        triangulate_keypoints(rig, kp)
    allnan = np.full_like(px, np.nan)
    Y, err, used = triangulate_views(rig, allnan)
    assert np.isnan(Y).all() and not used.any()
