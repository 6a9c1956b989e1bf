"""Frame alignment with ground truth: our 2D keypoints are in step with the true projections of a rendered take
(tracking and static-image detection alike), and a camera whose frames are late is found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ring

from mocap.evaluation.alignment import camera_lags, frame_lag
from mocap.keypoints2d.keypoints import Keypoints2D

STUDIO4 = Path(__file__).resolve().parents[1] / "sample_sessions" / "studio4"


def moving_points(n_frames: int = 90, n_joints: int = 12, seed: int = 0, shift: float = 0.0) -> np.ndarray:
    """``(F, J, 3)`` points swinging smoothly (a few cm per frame), sampled ``shift`` frames late."""
    rng = np.random.default_rng(seed)
    base = rng.normal([0, 0, 1.0], 0.25, (n_joints, 3))
    phase = rng.uniform(0, 2 * np.pi, (n_joints, 3))
    t = (np.arange(n_frames) - shift)[:, None, None] / 30.0
    return base + 0.3 * np.sin(2 * np.pi * 0.7 * t + phase)


def test_frame_lag_finds_a_sub_frame_shift():
    rig = ring(4)
    truth = rig[0].project(moving_points())
    for shift in (0.0, 0.3, -1.0, 2.4):
        late = rig[0].project(moving_points(shift=shift))
        noisy = late + np.random.default_rng(1).normal(0, 1.0, late.shape)
        noisy[10:14, :4] += 80.0  # wrong detections say nothing about timing
        lag, stderr = frame_lag(noisy, truth)
        assert abs(lag - shift) < 0.05 + 0.03 * abs(shift) and stderr < 0.05, (shift, lag, stderr)
    still = np.repeat(truth[:1], len(truth), axis=0)
    lag, _ = frame_lag(still + np.random.default_rng(2).normal(0, 1.0, still.shape), still)
    assert np.isnan(lag)  # nothing moves: no timing to tell
    assert np.isnan(frame_lag(np.full_like(truth, np.nan), truth)[0])


def test_a_late_camera_is_found_against_the_others():
    rig = ring(4)
    xyz = moving_points()
    px = rig.project(xyz) + np.random.default_rng(3).normal(0, 1.0, (4, len(xyz), 12, 2))
    px[2] = rig[2].project(moving_points(shift=1.0))  # camera 2's frames are one frame late
    kp = Keypoints2D(px.astype(np.float32), np.ones(px.shape[:3], np.float32), "test", tuple("abcdefghijkl"),
                     tuple(rig.names), np.arange(len(xyz)) / 30.0, 30.0)
    lags, stderr = camera_lags(rig, kp)
    assert abs(lags[2] - 1.0) < 0.15 and stderr[2] < 0.1, lags
    assert np.all(np.abs(np.delete(lags, 2)) < 0.15), lags  # the others, measured without camera 2: in step


@pytest.fixture(scope="module")
def studio4_detections():
    """BlazePose on the rendered take, in tracking (video) mode and in static-image mode, as `mocap detect` runs it."""
    from mocap.keypoints2d.stage import DetectionConfig, detect_views

    videos = sorted((STUDIO4 / "takes" / "demo").glob("cam*.mp4"))
    names = [v.stem for v in videos]
    return {tracking: detect_views(videos, names, DetectionConfig(tracking=tracking)) for tracking in (True, False)}


@pytest.mark.slow
@pytest.mark.parametrize("tracking", [True, False], ids=["tracking", "static"])
def test_detections_in_step_with_the_true_projections(studio4_detections, tracking):
    """Every camera's best shift against the projected true landmarks is 0 to within 0.1 frame: decoding,
    frame numbering and the detector add no delay (the video is read from its first frame)."""
    from mocap.evaluation.ground_truth import load_ground_truth

    kp = studio4_detections[tracking]
    truth = load_ground_truth(STUDIO4, "demo").blazepose_2d()
    assert kp.n_frames == truth.shape[1]
    for c in range(kp.n_cameras):
        observed = np.where((kp.conf[c] >= 0.5)[..., None], kp.xy[c], np.nan)
        lag, stderr = frame_lag(observed, truth[c])
        print(f"{'tracking' if tracking else 'static'} {kp.camera_names[c]}: lag {lag:+.3f} ± {stderr:.3f} frames")
        assert abs(lag) < 0.1 and stderr < 0.1
