"""The windowed fit of long takes: window planning, the cross-fade, and the seam test on a known motion."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mocap.body import lbs
from mocap.body.motion import BodyMotion
from mocap.fitting.fit import FitConfig, solve
from mocap.fitting.markers import keypoint_markers
from mocap.fitting.model import marker_model
from mocap.fitting.stage import fit_points, keypoint_weights
from mocap.fitting.windows import WindowJoiner, blend_weights, plan_windows
from mocap.geometry import axis_angle_to_matrix, rotation_angle_deg
from mocap.keypoints2d.sets import get_keypoint_set
from mocap.synth.motions import make_motion

BLAZE = get_keypoint_set("blazepose33").joint_names
BETAS = np.array([0.8, -0.5, 0.3, 0, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("n, window, overlap", [(301, 120, 30), (1000, 300, 60), (18000, 1000, 60), (121, 120, 30)])
def test_windows_cover_the_take_and_weights_sum_to_one(n, window, overlap):
    spans = plan_windows(n, window, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(b - a == window for a, b in spans)
    assert all(b0 - a1 >= overlap for (_, b0), (a1, _) in zip(spans, spans[1:]))
    total = np.zeros(n)
    for (a, b), w in zip(spans, blend_weights(spans)):
        total[a:b] += w
        assert w[:overlap // 4].max() <= (0 if a > 0 else 1) and w[-(overlap // 4):].max() <= (0 if b < n else 1)
    assert np.allclose(total, 1.0)


def test_short_take_is_one_window():
    assert plan_windows(500, 1000, 60) == [(0, 500)]


def test_joiner_hides_disagreeing_window_edges():
    """Windows whose edges are wrong (as a fit's edges may be) join into the true signal, rotations included."""
    n = 400
    t = np.arange(n) / 30.0
    truth = np.stack([np.sin(t), np.cos(2 * t), 0.1 * t], axis=1)
    spans = plan_windows(n, 150, 40)
    joiner = WindowJoiner(n, rotations=("rotations",))
    for (a, b), w in zip(spans, blend_weights(spans)):
        edge = np.zeros(b - a)
        edge[:10] = a > 0                                 # 10 frames at a border with another window are off
        edge[-10:] = b < n
        joiner.add((a, b), w, x=truth[a:b] + edge[:, None], rotations=axis_angle_to_matrix(truth[a:b] + edge[:, None]))
    out = joiner.finish()
    assert np.abs(out["x"] - truth).max() < 1e-9
    assert rotation_angle_deg(out["rotations"], axis_angle_to_matrix(truth)).max() < 1e-5


def test_uncovered_window_holds_nearest_frame():
    joiner = WindowJoiner(10)
    joiner.add((0, 6), np.ones(6), x=np.arange(6.0))
    assert list(joiner.finish()["x"]) == [0, 1, 2, 3, 4, 5, 5, 5, 5, 5]


@pytest.mark.slow
def test_windowed_fit_has_no_seam():
    """A known motion (180 frames, noisy landmarks) fitted in windows of 60 frames equals a fit of the whole
    take with the same shape: no jump and no velocity change at window borders, and as close to the truth."""
    model = lbs.load_model()
    clip = make_motion("demo", model, BETAS, fps=30, seconds=6.0)
    verts, joints = lbs.pose_vertices(model, BETAS, clip.pose, clip.transl)
    lm = lbs.regress(model, verts) + np.random.default_rng(0).normal(size=(len(verts), 33, 3)) * 0.005
    config = FitConfig(window_frames=60, window_overlap_s=0.6, detector_offsets=False)  # the model's own landmarks
    windowed = fit_points(lm, BLAZE, 30.0, config).motion
    spans = plan_windows(len(lm), 60, 18)
    assert len(spans) >= 4

    # the whole take at once, with the windowed fit's shape
    specs = keypoint_markers(tuple(BLAZE), model)
    mm = marker_model(model, specs)
    targets = lm[:, [list(BLAZE).index(n) for n in specs]]
    w = np.broadcast_to(keypoint_weights(tuple(specs)), targets.shape[:2])
    pose, transl, _, betas = solve(mm, targets, w, 30.0, config, betas=windowed.betas)
    whole = BodyMotion.from_full_pose(pose, transl, betas, mm.rest_joints(betas), 30.0)

    Xw, Xa = windowed.joint_positions()[:, :22], whole.joint_positions()[:, :22]
    assert np.linalg.norm(Xw - Xa, axis=-1).max() * 1000 < 0.5                       # mm
    assert rotation_angle_deg(windowed.global_rotations()[:, :22], whole.global_rotations()[:, :22]).max() < 0.1
    # velocity continuity: the change of velocity at the borders is the whole-take fit's own
    accel = lambda X: np.linalg.norm(X[2:] - 2 * X[1:-1] + X[:-2], axis=-1).max(-1) * 1000  # noqa: E731
    borders = np.concatenate([np.arange(a - 1, b0 - 1) for (_, b0), (a, _) in zip(spans, spans[1:])])
    assert np.abs(accel(Xw)[borders] - accel(Xa)[borders]).max() < 0.2               # mm / frame^2
    # and the truth: windows fit as well as the whole take does
    err = lambda X: np.linalg.norm(X - joints[:, :22], axis=-1).mean() * 1000  # noqa: E731
    assert err(Xw) < 15.0 and abs(err(Xw) - err(Xa)) < 0.5
    default = fit_points(lm, BLAZE, 30.0, replace(config, window_frames=0)).motion  # its own shape, all frames at once
    assert abs(err(Xw) - err(default.joint_positions()[:, :22])) < 2.0
