"""The sync stage: audio where there is sound, motion for the rest, hand-set values last."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.errors import MocapError
from mocap.sync.clock import CameraClock, TakeSync
from mocap.sync.stage import compose, synchronize
from mocap.synth.unsynced import make_take, procedural_motion, ring_rig


def test_compose_carries_audio_clocks_onto_the_first_camera():
    # audio timed b and c against b (a has no audio); motion timed everything against a
    audio = TakeSync((CameraClock("a", 0.0, 30.0), CameraClock("b", 0.0, 30.0, 0.0, 1.0, "audio"),
                      CameraClock("c", 0.5, 60.0, 30.0, 0.9, "audio")), {"reference": "b"})
    motion = TakeSync((CameraClock("a", 0.0, 30.0, 0.0, 1.0, "motion"), CameraClock("b", 1.25, 30.0, 10.0, 0.5, "motion"),
                       CameraClock("c", 1.7, 60.0, 0.0, 0.5, "motion")))
    out = compose(audio, motion)
    assert out["a"].method == "motion" and out["a"].time_offset == 0.0
    assert out["b"].method == "audio" and out["b"].time_offset == pytest.approx(1.25)
    assert out["b"].drift_ppm == pytest.approx(10.0)
    # c's frame f is at b-time 0.5 + f/60 (1 + 30e-6), and b-time s is at a-time 1.25 + s (1 + 10e-6)
    f = np.array([0.0, 6000.0])
    expect = 1.25 + (0.5 + f / 60 * (1 + 30e-6)) * (1 + 10e-6)
    np.testing.assert_allclose(out["c"].time_of(f), expect, atol=1e-12)


@pytest.fixture(scope="module")
def take():
    rig = ring_rig(4)
    return make_take(procedural_motion(5), rig, [0.0, 0.37 / 30, 1.3, -0.9], [30.0, 30.0, 60.0, 25.0], 8.0,
                     noise_px=1.0, seed=4)


def test_motion_only(take):
    sync = synchronize(take.rig.names, method="motion", fps=[30.0, 30.0, 60.0, 25.0], rig=take.rig,
                       xy=take.xy, conf=take.conf)
    err = [(a.time_offset - b.time_offset) * b.fps for a, b in zip(sync, take.truth)]
    assert np.all(np.abs(err) < 0.1)


def test_audio_with_a_silent_camera_falls_back_to_motion(take, tmp_path):
    pytest.importorskip("av")
    from mocap.synth.audio import synth_take_audio, write_test_video

    fps = [30.0, 30.0, 60.0, 25.0]
    videos = [write_test_video(tmp_path / f"{n}.mp4", 8.0, f, size=(32, 32)) for n, f in zip(take.rig.names, fps)]
    # cam0 (the first camera) and cam3 have no microphone
    synth_take_audio(videos[1:3], list(take.truth)[1:3], claps=[2.0, 4.5], footsteps=[3.0, 3.6, 5.2], rate=16000)
    sync = synchronize(take.rig.names, videos=videos, rig=take.rig, xy=take.xy, conf=take.conf)
    assert [c.method for c in sync] == ["motion", "audio", "audio", "motion"]
    err = [(a.time_offset - b.time_offset) * b.fps for a, b in zip(sync, take.truth)]
    assert np.all(np.abs(err) < 0.1), err
    # without keypoints there is no way to time cam0 and cam3
    with pytest.raises(MocapError) as err:
        synchronize(take.rig.names, videos=videos)
    assert "cam0" in str(err.value) and "time_offsets = { cam0 =" in err.value.fix


def test_hand_set_values_win_and_are_checked(take):
    sync = synchronize(take.rig.names, method="none", fps=[30.0, 30.0, 60.0, 25.0], xy=take.xy,
                       overrides={"cam2": {"time_offset": 1.3}, "cam3": {"time_offset": -0.9, "fps": 25.0}})
    assert sync["cam2"].time_offset == 1.3 and sync["cam2"].method == "manual"
    assert sync["cam1"].method == "none"
    with pytest.raises(MocapError) as err:
        synchronize(take.rig.names, method="none", fps=[30.0, 30.0, 60.0, 25.0], xy=take.xy,
                    overrides={"cam3": {"time_offset": 60.0}}, source="session.toml")
    assert "camera 'cam3'" in str(err.value) and "session.toml" in str(err.value)
