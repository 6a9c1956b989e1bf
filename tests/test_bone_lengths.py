"""Bone-length stabilisation in the triangulation stage, on a keypoint set's skeleton."""

from __future__ import annotations

import numpy as np
from conftest import ring

from mocap.geometry import axis_angle_to_matrix
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.keypoints2d.sets import get_keypoint_set
from mocap.smoothing.filters import SmoothConfig, bone_lengths, tree_edges
from mocap.smoothing.stage import triangulate_and_smooth


def test_tree_edges_from_a_graph_with_a_loop():
    edges = np.array([[1, 0], [1, 2], [2, 0], [3, 2], [5, 4]])  # a triangle, a tail, a separate pair
    tree = tree_edges(edges, 6)
    assert len(tree) == 4  # 6 joints in 2 components
    seen = {0}
    for parent, child in tree:
        assert parent in seen or parent == 4  # parents come before their children
        seen.update((parent, child))
    assert seen == set(range(6))


def test_stabilized_bones_constant_and_closer_to_truth():
    ks = get_keypoint_set("coco17")
    rng = np.random.default_rng(0)
    body = rng.normal([0, 0, 1.0], 0.3, (len(ks.joint_names), 3))
    n = 90
    t = np.arange(n) / 30.0
    R = axis_angle_to_matrix(np.stack([np.zeros(n), np.zeros(n), 0.8 * np.sin(t)], axis=1))
    truth = np.einsum("fij,nj->fni", R, body - body.mean(0)) + body.mean(0) + np.stack(
        [0.3 * np.sin(0.7 * t), 0.2 * np.cos(0.5 * t), np.zeros(n)], axis=1)[:, None]
    rig = ring(4, size=(1280, 720), focal=1000.0)
    px = rig.project(truth) + rng.normal(0, 3.0, (4, n, len(ks.joint_names), 2))
    kp = Keypoints2D(px.astype(np.float32), np.ones(px.shape[:3], np.float32), "coco17", ks.joint_names,
                     tuple(rig.names), t, 30.0)
    _, plain = triangulate_and_smooth(rig, kp)
    _, stable = triangulate_and_smooth(rig, kp, smoothing=SmoothConfig(stabilize_bones=True))
    tree = tree_edges(ks.edges, len(ks.joint_names))
    assert bone_lengths(stable.xyz, tree).std(axis=0).max() < 1e-9
    assert bone_lengths(plain.xyz, tree).std(axis=0).max() > 1e-4
    err = lambda x: np.nanmean(np.linalg.norm(x - truth, axis=-1))  # noqa: E731
    assert err(stable.xyz) < 1.2 * err(plain.xyz) and err(stable.xyz) < 0.01
