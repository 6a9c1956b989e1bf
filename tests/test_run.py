"""``mocap run``: stages reused when nothing changed, rerun when inputs or settings change, and an
interrupted run resumes to the same outputs as an uninterrupted one."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from conftest import SAMPLE_SESSION

import mocap.triangulation.stage as tri_stage
from mocap.calibration.config import CalibrationConfig
from mocap.pipeline import RunConfig, run_session
from mocap.session import Session, Take
from mocap.sync.stage import SyncConfig

pytestmark = pytest.mark.slow  # whole-pipeline runs: in `make test`, not in `make test-fast`


def short_take(folder, n_frames=12):
    """Take videos: the first frames of each calibration video (no person: keypoints come out missing)."""
    videos = []
    for video in Session.load(SAMPLE_SESSION).calibration_videos:
        cap = cv2.VideoCapture(str(video))
        frames = [cap.read()[1] for _ in range(n_frames)]
        out = folder / video.name.replace(".mp4", ".avi")
        out.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 30, frames[0].shape[1::-1])
        for f in frames:
            writer.write(f)
        writer.release()
        videos.append(out)
    return tuple(videos)


@pytest.fixture(scope="module")
def take_videos(tmp_path_factory):
    return short_take(tmp_path_factory.mktemp("take"))


def make_session(out, videos):
    return dataclasses.replace(Session.load(SAMPLE_SESSION), output_dir=out, takes=(Take("still", videos),))


#: These takes show the board, not a person: the stages after triangulation have nothing to fit, and nothing
#: moves to synchronize by (the cameras are synchronized: sync method none).
TRI = RunConfig(until="triangulate", sync=SyncConfig(method="none"))


def statuses(runs):
    return [(r.stage, r.status) for r in runs]


def test_reuse_and_rerun(tmp_path, take_videos):
    s = make_session(tmp_path / "out", take_videos)
    first = run_session(s, TRI)
    assert statuses(first) == [("calibrate", "ran"), ("detect", "ran"), ("sync", "ran"), ("triangulate", "ran")]
    rig_bytes = s.layout.calibration.rig.read_bytes()
    assert statuses(run_session(s, TRI)) == [("calibrate", "reused"), ("detect", "reused"), ("sync", "reused"),
                                             ("triangulate", "reused")]
    assert statuses(run_session(s, dataclasses.replace(TRI, until="sync"))) == [
        ("calibrate", "reused"), ("detect", "reused"), ("sync", "reused")]
    assert s.layout.calibration.rig.read_bytes() == rig_bytes
    # A changed smoothing setting reruns triangulation only.
    cfg = dataclasses.replace(TRI, smoothing=dataclasses.replace(RunConfig().smoothing, cutoff_hz=8.0))
    assert statuses(run_session(s, cfg)) == [("calibrate", "reused"), ("detect", "reused"), ("sync", "reused"),
                                             ("triangulate", "ran")]
    # A changed calibration setting reruns calibration; an identical rig leaves the rest reused.
    cfg = dataclasses.replace(cfg, calibration=CalibrationConfig(outlier_px=5.0))
    runs = run_session(s, cfg)
    assert runs[0].status == "ran"
    assert (s.output_dir / "run_config.toml").is_file()


def test_interrupted_run_resumes_to_identical_outputs(tmp_path, take_videos, monkeypatch):
    reference = make_session(tmp_path / "reference", take_videos)
    run_session(reference, TRI)
    s = make_session(tmp_path / "interrupted", take_videos)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(tri_stage, "triangulate_take", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_session(s, TRI)
    assert not (s.layout.take("still").folder / "points3d.npz").exists()
    runs = run_session(s, TRI)
    assert statuses(runs) == [("calibrate", "reused"), ("detect", "reused"), ("sync", "reused"), ("triangulate", "ran")]
    for name in ("keypoints2d.npz", "points3d.npz"):
        with np.load(reference.layout.take("still").folder / name) as a, np.load(s.layout.take("still").folder / name) as b:
            for key in a.files:
                np.testing.assert_array_equal(a[key], b[key])
    assert reference.layout.calibration.rig.read_text() .split("[[cameras]]")[1:] == s.layout.calibration.rig.read_text().split("[[cameras]]")[1:]


def test_cli_run_prints_summary(tmp_path, take_videos):
    import subprocess
    import sys

    base = Session.load(SAMPLE_SESSION)
    folder = tmp_path / "s"
    folder.mkdir()
    cams = "".join(f'[[cameras]]\nname = "{n}"\n' for n in base.camera_names)
    calib = ", ".join(f'"{v}"' for v in base.calibration_videos)
    take = ", ".join(f'"{v}"' for v in take_videos)
    (folder / "session.toml").write_text(f'board = "charuco_7x5_a1"\n{cams}[calibration]\nvideos = [{calib}]\n'
                                         f'[[takes]]\nname = "still"\nvideos = [{take}]\n')
    (folder / "run.toml").write_text('until = "triangulate"\n[sync]\nmethod = "none"\n')
    cmd = [sys.executable, "-m", "mocap.cli", "run", str(folder), "--config", str(folder / "run.toml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "reprojection" in proc.stdout and "person found" in proc.stdout and "triangulated" in proc.stdout
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.count("reused") == 4
    # Nothing moves in this take and the videos have no sound: sync (by default on) cannot tell when each
    # camera recorded, and says so, naming the way out.
    proc = subprocess.run(cmd[:-2], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert "sync failed" in proc.stdout + proc.stderr and "enough motion" in proc.stdout + proc.stderr
    # The whole pipeline on a take without a person: the fit fails with a clear message, the run exits
    # non-zero, and what was done before is kept (and reused next time).
    proc = subprocess.run(cmd[:-2] + ["--set", 'sync.method="none"'], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "still" in proc.stdout + proc.stderr and "nothing to fit" in proc.stdout + proc.stderr
    assert (folder / "output" / "takes" / "still" / "points3d.npz").is_file()
    assert not (folder / "output" / "takes" / "still" / "body_motion.npz").exists()
