"""Bundle adjustment recovers cameras and board poses from perturbed starting values."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ring

from mocap.calibration.board import load_board
from mocap.calibration.bundle import BundleState, Observations, bundle_adjust
from mocap.geometry import axis_angle_to_matrix, rotation_angle_deg


@pytest.mark.slow
def test_bundle_adjustment_known_answer():
    rng = np.random.default_rng(0)
    board = load_board("charuco_7x5_a1")
    rig = ring(4, fisheye=(3,))
    n_boards = 60
    bR = axis_angle_to_matrix(rng.normal(0, 0.4, (n_boards, 3)) + [np.pi / 2, 0, 0])
    bt = rng.normal([0, 0, 1], 0.3, (n_boards, 3))
    X = np.einsum("bij,nj->bni", bR, board.corners_3d) + bt[:, None]
    cams, frames, corners, xy = [], [], [], []
    for c, cam in enumerate(rig):
        px = cam.project(X)
        ok = np.isfinite(px).all(-1) & (px[..., 0] > 0) & (px[..., 0] < 640) & (px[..., 1] > 0) & (px[..., 1] < 480)
        b_idx, n_idx = np.nonzero(ok)
        cams.append(np.full(len(b_idx), c))
        frames.append(b_idx)
        corners.append(n_idx)
        xy.append(px[b_idx, n_idx] + rng.normal(0, 0.2, (len(b_idx), 2)))
    obs = Observations(np.concatenate(cams), np.concatenate(frames), np.concatenate(corners), np.concatenate(xy))
    xy_bad = obs.xy.copy()
    xy_bad[:20] += 25.0  # a few gross outliers
    obs = Observations(obs.cam, obs.frame, obs.corner, xy_bad)

    def perturb_K(K):
        K = K.copy()
        K[[0, 1], [0, 1]] *= 1.03
        K[:2, 2] += 5
        return K

    init = BundleState(
        K=np.stack([perturb_K(c.K) for c in rig]),
        dist=[c.dist * 0.5 for c in rig],
        R=np.stack([c.R @ axis_angle_to_matrix(rng.normal(0, 0.02, 3)) if k else c.R for k, c in enumerate(rig)]),
        t=np.stack([c.t + (rng.normal(0, 0.05, 3) if k else 0) for k, c in enumerate(rig)]),
        board_R=bR @ axis_angle_to_matrix(rng.normal(0, 0.03, (n_boards, 3))),
        board_t=bt + rng.normal(0, 0.03, (n_boards, 3)),
        models=tuple(c.model for c in rig),
    )
    res = bundle_adjust(init, obs, board.corners_3d, fixed_camera=0)
    assert res.cost_after < 0.01 * res.cost_before
    assert (~res.inliers[:20]).all() and res.inliers[20:].mean() > 0.99
    err = np.linalg.norm(res.residuals[res.inliers], axis=1)
    assert np.sqrt(np.mean(err**2)) < 0.35  # the 0.2 px noise level (RMS of a 2D error: 0.28)
    for k, cam in enumerate(rig):
        assert abs(res.state.K[k, 0, 0] / cam.K[0, 0] - 1) < 0.005
        assert rotation_angle_deg(res.state.R[k], cam.R) < 0.3  # noise-limited: 0.2 px, 60 board poses
        center = -res.state.R[k].T @ res.state.t[k]
        assert np.linalg.norm(center - cam.center) < 0.015
