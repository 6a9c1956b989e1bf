"""The sync stage from the front door: `mocap sync` on a small unsynchronized session (keypoints made from a
known 3D motion, tiny videos with each camera's sound), triangulation on the common timeline, the report's
sync section, and bad input (a camera without sound, nothing moving, a video shorter than its offset,
bad session.toml values): one clear line, a non-zero exit, nothing half-written."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.session import Session
from mocap.sync.clock import TakeSync
from mocap.synth.unsynced import make_take, procedural_motion, ring_rig

FPS = [30.0, 60.0, 25.0, 29.97]
OFFSETS = [0.0, 0.37 / 60, 1.234, -0.8]
SECONDS = 8.0


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mocap.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def keypoints(take, names) -> Keypoints2D:
    """The take's tracks as detection would save them: padded to the longest, each camera's count and rate."""
    n = max(len(x) for x in take.xy)
    xy = np.full((len(take.xy), n) + take.xy[0].shape[1:], np.nan, np.float32)
    conf = np.zeros((len(take.xy), n, take.xy[0].shape[1]), np.float32)
    for c, (x, k) in enumerate(zip(take.xy, take.conf)):
        xy[c, : len(x)], conf[c, : len(x)] = x, k
    joints = tuple(f"j{j}" for j in range(xy.shape[2]))
    return Keypoints2D(xy, conf, "test", joints, tuple(names), np.arange(n) / FPS[0], FPS[0],
                       np.array([len(x) for x in take.xy]), np.array(FPS))


def make_session(folder, *, sound=(0, 1, 2, 3), motion=None, extra_take="", offsets=OFFSETS, seconds=SECONDS):
    """A session folder: session.toml, tiny take videos (sound for the cameras in ``sound``), the calibrated
    rig and the take's 2D keypoints already in the output folder (as calibrate and detect leave them)."""
    pytest.importorskip("av")
    from mocap.synth.audio import synth_take_audio, write_test_video

    rig = ring_rig(4)
    take = make_take(motion or procedural_motion(3), rig, offsets, FPS, seconds, noise_px=1.0, seed=2)
    folder.mkdir(parents=True)
    videos = [write_test_video(folder / "takes" / "t" / f"{n}.mp4", seconds, f, size=(32, 32))
              for n, f in zip(rig.names, FPS)]
    heard = [c for c in range(4) if c in sound]
    if heard:
        synth_take_audio([videos[c] for c in heard], [take.truth[c] for c in heard], claps=[2.0, 5.5],
                         footsteps=[2.6, 3.3, 4.1, 6.2], rate=16000, seed=3)
    cams = "".join(f'[[cameras]]\nname = "{n}"\n' for n in rig.names)
    (folder / "session.toml").write_text(f'board = "charuco_7x5_a1"\n{cams}[[takes]]\nname = "t"\n{extra_take}')
    session = Session.load(folder)
    rig.save(session.layout.calibration.rig)
    keypoints(take, rig.names).save(session.layout.take("t").keypoints2d)
    return session, take


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A session synchronized by `mocap sync` (cam3 has no microphone: timed by motion)."""
    session, take = make_session(tmp_path_factory.mktemp("sync") / "s", sound=(0, 1, 2))
    proc = run_cli("sync", session.root, "--take", "t")
    return session, take, proc


def frame_errors(sync: TakeSync, truth: TakeSync) -> np.ndarray:
    return np.array([(a.time_offset - b.time_offset) * b.fps for a, b in zip(sync, truth)])


@pytest.mark.slow  # about 45 s for the three, with the fixture
def test_sync_command_finds_the_clocks(synced):
    session, take, proc = synced
    assert proc.returncode == 0, proc.stderr
    assert "sync of take t" in proc.stdout and "cam3" in proc.stdout
    sync = TakeSync.load(session.layout.take("t").sync)
    err = frame_errors(sync, take.truth)
    print(f"\noffset errors {np.round(err, 4)} frames; methods {[c.method for c in sync]}")
    assert [c.method for c in sync] == ["audio", "audio", "audio", "motion"]  # no sound from cam3: motion
    assert np.all(np.abs(err) < 0.1)
    assert [c.fps for c in sync] == FPS
    assert session.layout.take("t").sync_curves.is_file()


@pytest.mark.slow  # about 45 s for the three, with the fixture
def test_triangulation_follows_sync_toml(synced, tmp_path):
    session, take, _ = synced
    proc = run_cli("triangulate", session.root, "--take", "t")
    assert proc.returncode == 0, proc.stderr
    from mocap.triangulation.points import Points3D

    pts = Points3D.load(session.layout.take("t").points3d_raw)
    assert pts.fps == 60.0  # the fastest camera's rate
    proc = run_cli("overlay", session.root, "--take", "t")  # 3D drawn at each camera's own frames
    assert proc.returncode == 0 and session.layout.take("t").overlay_video("cam3").is_file(), proc.stderr
    truth = take.motion(pts.timestamps)
    err = np.linalg.norm(pts.xyz - truth, axis=-1) * 1000
    assert np.nanmean(err) < 5.0, np.nanmean(err)  # mm; the noise floor of 1 px keypoints
    # the same keypoints taken as synchronized (frame i of every camera at once) are far off
    unsynced = session.layout.take("t").sync
    saved = unsynced.read_bytes()
    try:
        unsynced.unlink()
        assert run_cli("triangulate", session.root, "--take", "t").returncode == 0
        naive = Points3D.load(session.layout.take("t").points3d_raw)
        bad = np.linalg.norm(naive.xyz - take.motion(naive.timestamps), axis=-1) * 1000
        assert np.nanmean(bad) > 10 * np.nanmean(err)
    finally:
        unsynced.write_bytes(saved)


@pytest.mark.slow  # about 45 s for the three, with the fixture
def test_report_shows_the_sync(synced):
    session, _, _ = synced
    from mocap.report import build_take_report

    path = build_take_report(session, "t")
    html = path.read_text()
    assert 'id="sync"' in html and "Camera sync" in html and "sync_correlation.png" in html


def test_hand_given_offsets_win(tmp_path):
    session, take = make_session(tmp_path / "s", sound=(), extra_take="time_offsets = { cam2 = 1.25 }\n", seconds=4.0)
    proc = run_cli("sync", session.root, "--method", "motion")
    assert proc.returncode == 0, proc.stderr
    sync = TakeSync.load(session.layout.take("t").sync)
    assert sync["cam2"].time_offset == 1.25 and sync["cam2"].method == "manual"
    assert abs(sync["cam1"].time_offset - take.truth["cam1"].time_offset) * 60 < 0.1


def assert_failed_cleanly(proc, *fragments):
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out and "fix:" in proc.stderr
    for f in fragments:
        assert f in proc.stderr, proc.stderr


def test_nothing_moves_and_no_sound(tmp_path):
    still = lambda t: np.broadcast_to(procedural_motion(3)(np.zeros(1)), (len(t),) + (17, 3))  # noqa: E731
    session, _ = make_session(tmp_path / "s", sound=(), motion=still, seconds=2.0)
    proc = run_cli("sync", session.root, "--take", "t")
    assert_failed_cleanly(proc, "no camera sees enough motion", "clap", "time_offsets = { cam0 =")
    assert not session.layout.take("t").sync.exists()


def test_a_video_shorter_than_its_offset(tmp_path):
    # cam2 is said to start 30 s after the others stopped (the other cameras taken as synchronized)
    session, _ = make_session(tmp_path / "s", sound=(), extra_take="time_offsets = { cam2 = 30.0 }\n", seconds=2.0)
    proc = run_cli("sync", session.root, "--take", "t", "--method", "none")
    assert_failed_cleanly(proc, "camera 'cam2'", "overlaps no other camera", "session.toml")
    assert not session.layout.take("t").sync.exists()


@pytest.mark.parametrize("extra, words", [
    ('time_offsets = { cam1 = "late" }\n', "take t: time_offsets.cam1 must be a number"),
    ("time_offsets = { camX = 0.5 }\n", "unknown camera 'camX'"),
    ("time_offsets = 0.5\n", "time_offsets must be a table"),
])
def test_bad_hand_given_values(tmp_path, extra, words):
    session, _ = make_session(tmp_path / "s", sound=(), seconds=2.0)
    with open(session.file, "a") as fh:  # the [[takes]] entry is the last table
        fh.write(extra)
    assert_failed_cleanly(run_cli("sync", session.root), words, "session.toml")
    assert not session.layout.take("t").sync.exists()


@pytest.mark.parametrize("args, words", [
    (["--camera-fps", "30,60"], "--camera-fps needs one value per camera (4), got 2"),
    (["--time-offsets", "0,-0.5,0,0"], "give values >= 0"),
    (["--camera-fps", "30,0,30,30"], "frame rates must be positive"),
    (["--drift-ppm", "a,b,c,d"], "bad --size, --time-offsets, --camera-fps, --drift-ppm or --betas"),
])
def test_synth_session_checks_its_clocks_before_rendering(tmp_path, args, words):
    proc = run_cli("synth", "session", tmp_path / "s", "--seconds", "1", *args)
    assert_failed_cleanly(proc, words)
    assert not (tmp_path / "s").exists()
