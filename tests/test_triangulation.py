"""Batched DLT triangulation with known answers."""

from __future__ import annotations

import numpy as np
from conftest import ring

from mocap.multiview import triangulate_dlt


def test_exact_points_recovered_and_missing_views_handled():
    rig = ring(4, fisheye=(1,))
    X = np.random.default_rng(0).normal([0, 0, 1], 0.4, (30, 5, 3))
    xy = rig.project(X)
    xy[0, :10] = np.nan  # camera 0 misses the first ten frames
    xy[1:, 0, 0] = np.nan  # point (0, 0) is seen by camera 0 only
    out = triangulate_dlt(rig, xy)
    assert out.shape == X.shape
    assert np.isnan(out[0, 0]).all()
    ok = np.isfinite(out[..., 0])
    assert ok.sum() == X.shape[0] * X.shape[1] - 1
    np.testing.assert_allclose(out[ok], X[ok], atol=1e-9)


def test_noise_gives_millimetre_error():
    rig = ring(4, size=(1280, 720), focal=1000.0)
    rng = np.random.default_rng(1)
    X = rng.normal([0, 0, 1], 0.4, (500, 3))
    xy = rig.project(X) + rng.normal(0, 0.5, (4, 500, 2))
    err = np.linalg.norm(triangulate_dlt(rig, xy) - X, axis=-1)
    # 0.5 px at 3 m with f = 1000 px is 1.5 mm per view; four views average it down.
    assert np.median(err) < 0.002


def test_weights_zero_drop_a_view():
    rig = ring(3)
    X = np.array([[0.1, 0.2, 1.1]])
    xy = rig.project(X)
    xy[2] += 50.0  # a wrong view...
    w = np.ones((3, 1))
    w[2] = 0.0  # ...that the weights exclude
    np.testing.assert_allclose(triangulate_dlt(rig, xy, w), X, atol=1e-9)
