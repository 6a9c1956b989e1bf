"""Audio sync with known answers: one synthetic room sound (claps, footsteps, hum, speech-like
babble, noise) heard by each camera on its own clock, muxed into small videos with PyAV; the
offsets must come back within 0.5 ms, drift within 20 ppm."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.errors import MocapError
from mocap.sync.audio import AudioSyncConfig, audio_sync, onsets_from_samples, read_onsets, video_fps
from mocap.sync.clock import CameraClock

av = pytest.importorskip("av", reason="PyAV (av==18.1.0) is needed for audio sync")

from mocap.synth.audio import camera_audio, mux_audio, room_sound, synth_take_audio, write_test_video  # noqa: E402

FPS = [30.0, 60.0, 25.0, 29.97]
OFFSETS = [0.0, 0.37 / 60, 1.2345, -0.8123]


def events(seconds: float, seed: int = 0) -> tuple[list[float], list[float]]:
    """A clap near the start, a few more at irregular times, and walking footsteps."""
    rng = np.random.default_rng(seed)
    claps = [1.5] + [t for t in np.cumsum(rng.uniform(4, 12, 40)) + 1.5 if t < seconds - 1]
    steps = [t for t in 2.2 + np.cumsum(rng.uniform(0.5, 0.7, 1000)) if t < seconds - 0.5]
    return claps, steps


@pytest.fixture(scope="module")
def take_videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio_take")
    clocks = [CameraClock(f"cam{k}", OFFSETS[k], FPS[k]) for k in range(4)]
    videos = [write_test_video(folder / f"cam{k}.mp4", 6.0, FPS[k], size=(32, 32)) for k in range(4)]
    claps, steps = events(6.0)
    synth_take_audio(videos, clocks, claps=claps, footsteps=steps, rate=48000, seed=3)
    return videos, clocks


def test_offsets_from_muxed_audio_within_half_a_millisecond(take_videos):
    videos, truth = take_videos
    res = audio_sync(videos)
    assert res.sync.names == ["cam0", "cam1", "cam2", "cam3"] and not res.unsynced
    err_ms = np.array([(a.time_offset - b.time_offset) * 1000 for a, b in zip(res.sync, truth)])
    print(f"\naudio offset errors {np.round(err_ms, 3)} ms, confidences {[round(c.confidence, 2) for c in res.sync]}")
    assert np.all(np.abs(err_ms) < 0.5), err_ms
    assert [c.fps for c in res.sync] == pytest.approx(FPS, abs=1e-3)  # 29.97 read as 30000/1001
    assert all(c.method == "audio" and c.confidence > 0.3 for c in res.sync)


def test_pcm_audio_in_a_mov_file(tmp_path):
    clocks = [CameraClock("a", 0.0, 30.0), CameraClock("b", 0.4321, 30.0)]
    room = room_sound(6.0, 16000, claps=[1.0, 3.7], footsteps=[2.0, 2.6, 3.1], seed=1)
    videos = []
    for k, clock in enumerate(clocks):
        v = write_test_video(tmp_path / f"{clock.name}.mov", 4.0, 30.0, size=(32, 32))
        videos.append(mux_audio(v, camera_audio(room, 16000, clock, 4.0, seed=k), 16000, codec="pcm_s16le"))
    res = audio_sync(videos)
    assert res.sync["b"].time_offset == pytest.approx(0.4321, abs=5e-4)


def test_audio_that_starts_after_the_first_frame(tmp_path):
    # camera b writes its sound 0.25 s after its first frame: the offset is still b's frame 0
    clocks = [CameraClock("a", 0.0, 30.0), CameraClock("b", 0.61, 30.0)]
    room = room_sound(8.0, 16000, claps=[1.4, 3.9], footsteps=[2.0, 2.6, 3.1, 4.4], seed=2)
    videos = []
    for k, (clock, delay) in enumerate(zip(clocks, (0.0, 0.25))):
        v = write_test_video(tmp_path / f"{clock.name}.mp4", 5.0, 30.0, size=(32, 32))
        heard = camera_audio(room, 16000, clock.replace(time_offset=clock.time_offset + delay), 4.5, seed=k)
        videos.append(mux_audio(v, heard, 16000, delay=delay))
    assert 0.18 < read_onsets(videos[1]).start <= 0.25  # AAC may decode its 1024 priming samples first
    res = audio_sync(videos)
    assert res.sync["b"].time_offset == pytest.approx(0.61, abs=5e-4)


def test_drift_over_two_minutes():
    # no files: the onset envelopes of each camera's samples (the muxing is tested above)
    rate, seconds = 16000, 120.0
    claps, steps = events(seconds + 5, seed=2)
    clocks = [CameraClock("a", 0.0, 30.0), CameraClock("b", 0.8, 30.0, 100.0), CameraClock("c", -1.1, 60.0, -40.0)]
    room = room_sound(seconds + 5, rate, claps=[t + 2 for t in claps], footsteps=[t + 2 for t in steps], seed=2)
    envs = [onsets_from_samples(camera_audio(room, rate, c.replace(time_offset=c.time_offset + 2), seconds, seed=k), rate)
            for k, c in enumerate(clocks)]
    res = audio_sync([f"{c.name}.mp4" for c in clocks], [c.name for c in clocks], fps=[30.0, 30.0, 60.0], envelopes=envs)
    for got, want in zip(res.sync, clocks):
        assert got.drift_ppm == pytest.approx(want.drift_ppm, abs=20)
        assert got.time_offset == pytest.approx(want.time_offset, abs=5e-4)
    assert len(res.window_times[1]) >= 2


def test_onsets_ignore_hum_and_favour_claps():
    rate = 16000
    quiet = room_sound(4.0, rate, hum_level=0.3, babble_level=0.0, seed=0)
    clap = room_sound(4.0, rate, claps=[2.0], hum_level=0.3, babble_level=0.0, seed=0)
    e_quiet, e_clap = onsets_from_samples(quiet, rate), onsets_from_samples(clap, rate)
    assert e_clap.rate == 2000
    peak = int(np.argmax(e_clap.values))
    assert abs(peak / e_clap.rate - 2.0) < 0.005  # the clap's onset
    assert e_clap.values.max() > 5 * np.percentile(e_quiet.values, 99)


def test_a_camera_without_audio_is_reported_not_guessed(take_videos, tmp_path):
    videos, truth = take_videos
    silent = write_test_video(tmp_path / "silent.mp4", 3.0, 30.0, size=(32, 32))
    assert read_onsets(silent) is None
    res = audio_sync([videos[0], silent, videos[2]], ["cam0", "silent", "cam2"])
    assert res.unsynced == {"silent": "no audio track"}
    assert res.sync["silent"].method == "none" and res.sync["silent"].confidence == 0.0
    assert res.sync["cam2"].time_offset == pytest.approx(OFFSETS[2], abs=5e-4)


def test_no_sound_to_sync_on_is_a_clear_error(tmp_path):
    # mains hum and each microphone's own noise, nothing the cameras hear in common but the hum:
    # the camera is left unsynced, and asking for audio sync of this take says which and what to do
    from mocap.sync.stage import synchronize

    clocks = [CameraClock("a", 0.0, 30.0), CameraClock("b", 0.3, 30.0)]
    videos = [write_test_video(tmp_path / f"{c.name}.mp4", 3.0, 30.0, size=(32, 32)) for c in clocks]
    synth_take_audio(videos, clocks, claps=(), footsteps=(), rate=16000, babble_level=0.0, noise_level=0.0, seed=1)
    with pytest.raises(MocapError) as err:
        synchronize(["a", "b"], method="audio", videos=videos)
    assert "camera 'b'" in str(err.value) and "clap" in err.value.fix


def test_a_video_shorter_than_the_offset_is_a_clear_error(tmp_path):
    # b starts 3 s after a, but a records only 2 s: no common sound at all
    from mocap.sync.stage import synchronize

    clocks = [CameraClock("a", 0.0, 30.0), CameraClock("b", 3.0, 30.0)]
    videos = [write_test_video(tmp_path / f"{c.name}.mp4", 2.0, 30.0, size=(32, 32)) for c in clocks]
    synth_take_audio(videos, clocks, claps=[0.5, 1.2, 3.4, 4.1], footsteps=[0.8, 3.8], rate=16000, seed=1)
    with pytest.raises(MocapError) as err:
        synchronize(["a", "b"], method="audio", videos=videos)
    assert "camera 'b'" in str(err.value) and "time_offset" in err.value.fix


def test_frame_rate_of_an_ntsc_video(take_videos):
    videos, _ = take_videos
    assert video_fps(videos[3]) == pytest.approx(30000 / 1001)


def test_config_band_limits_are_used():
    cfg = AudioSyncConfig(band=(1000.0, 3000.0), hop=16)
    env = onsets_from_samples(np.zeros(16000), 16000, config=cfg)
    assert env.rate == 1000 and not env.values.any()
