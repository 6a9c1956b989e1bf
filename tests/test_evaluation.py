"""Ground-truth metrics with known answers."""

from __future__ import annotations

import numpy as np

from mocap.evaluation.metrics import (
    evaluate_points,
    joint_angle_errors_deg,
    keypoint_errors_px,
)
from mocap.geometry import axis_angle_to_matrix, similarity_align


def test_mpjpe_and_pa_mpjpe():
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 0.3, (10, 8, 3))
    shifted = truth + [0.01, 0, 0]  # 10 mm everywhere
    e = evaluate_points(shifted, truth)
    assert abs(e.mpjpe - 10.0) < 1e-9 and e.pa_mpjpe < 1e-6 and e.coverage == 1.0
    R = axis_angle_to_matrix(np.array([0.2, -0.4, 0.1]))
    moved = 1.1 * truth @ R.T + [0.5, 1, 2]  # a similarity transform: PA-MPJPE removes it all
    np.testing.assert_allclose(similarity_align(moved, truth), truth, atol=1e-9)
    missing = shifted.copy()
    missing[:, 0] = np.nan
    e = evaluate_points(missing, truth)
    assert np.isnan(e.per_joint[0]) and abs(e.coverage - 7 / 8) < 1e-12 and abs(e.mpjpe - 10.0) < 1e-9


def test_keypoint_and_angle_errors():
    true_xy = np.zeros((2, 3, 4, 2))
    pred = true_xy + [3.0, 4.0]
    pred[0, 0, 0] = np.nan
    k = keypoint_errors_px(pred, true_xy)
    assert abs(k["median_px"] - 5.0) < 1e-12 and abs(k["detected"] - 23 / 24) < 1e-12
    R = axis_angle_to_matrix(np.array([[0, 0, np.radians(30)]]))
    np.testing.assert_allclose(joint_angle_errors_deg(R, np.eye(3)[None]), [30.0], atol=1e-6)


def test_bone_direction_errors_ignore_twist_and_length():
    from mocap.evaluation.metrics import bone_direction_errors_deg

    truth = np.array([[[0.0, 0, 0], [0, 0, 1], [0, 1, 1]]])          # two bones: up, then along +y
    pred = np.array([[[0.0, 0, 0], [0, 0, 2], [0, 1, 2 + 1]]])       # longer; the second bone tilted 45 degrees
    err = bone_direction_errors_deg(pred, truth, np.array([[0, 1], [1, 2]]))
    assert np.allclose(err, [[0.0, 45.0]])
