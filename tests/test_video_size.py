"""Take videos against their calibrated cameras: a small crop or pad is reported and placed with the camera's
``video_offset``; anything else is a clear error naming the camera, the file and both sizes."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import ring
from test_front_door import assert_clean_error, mocap

from mocap.camera import Camera, CameraRig
from mocap.errors import InputError
from mocap.keypoints2d.video_size import check_video_size, check_video_sizes
from mocap.session import Session

STUDIO4 = Path(__file__).resolve().parents[1] / "sample_sessions" / "studio4"


def test_video_offset_converts_video_pixels_both_ways(tmp_path):
    cam = ring(1, size=(1088, 1920))[0]
    xy = np.array([[10.0, 20.0], [500.5, 1000.0]])
    for mirrored in (False, True):
        placed = cam.replace(mirrored=mirrored, video_offset=(4, -2))
        model = placed.from_video_pixels(xy)
        np.testing.assert_allclose(placed.to_video_pixels(model), xy)
        expected = xy + [4, -2]
        if mirrored:
            expected[:, 0] = 1088 - 1 - expected[:, 0]
        np.testing.assert_allclose(model, expected)
    rig = CameraRig((cam.replace(video_offset=(4, 0)), ring(2)[1]))
    back = CameraRig.load(rig.save(tmp_path / "rig.toml"))
    assert back[0].video_offset == (4.0, 0.0) and back[1].video_offset == (0.0, 0.0)
    assert "video_offset" not in (tmp_path / "rig.toml").read_text().split("[[cameras]]")[2]  # not written when 0
    with pytest.raises(ValueError, match="video_offset"):
        cam.replace(video_offset=(1.0, float("nan")))


def test_small_crop_is_reported_and_large_differences_are_errors(caplog):
    cam = Camera("cam01", (1088, 1920), [[1600, 0, 544], [0, 1600, 960], [0, 0, 1]], [])
    assert check_video_size(cam, (1088, 1920), "cam01.mp4") is None
    message = check_video_size(cam, (1080, 1920), "videos/cam01.mp4")
    assert "cam01.mp4 is 1080x1920" in message and "1088x1920" in message and "video_offset = [4, 0]" in message
    assert check_video_size(cam.replace(video_offset=(4, 0)), (1080, 1920), "cam01.mp4", offset_set=True) is None
    with pytest.raises(InputError) as err:
        check_video_size(cam, (1920, 1088), "cam01.mp4")
    assert "1920x1088" in str(err.value) and "1088x1920" in str(err.value) and "'cam01'" in str(err.value)
    assert "rotated" in str(err.value) and err.value.path == Path("cam01.mp4")
    with pytest.raises(InputError, match="1280x720"):
        check_video_size(cam, (1280, 720), "cam01.mp4")
    with pytest.raises(InputError, match="outside the calibrated image"):
        check_video_size(cam.replace(video_offset=(20, 0)), (1080, 1920), "cam01.mp4", offset_set=True)


def _session(folder: Path, rig: CameraRig, offsets: dict[str, list[float]] | None = None) -> Session:
    """A session on studio4's take videos (640x480) with ``rig`` as its existing calibration."""
    takes = folder / "takes" / "demo"
    takes.mkdir(parents=True)
    for name in rig.names:
        shutil.copy(STUDIO4 / "takes" / "demo" / f"{name}.mp4", takes / f"{name}.mp4")
    rig.save(folder / "rig.toml")
    cams = "".join(f'[[cameras]]\nname = "{n}"\n' + (f"video_offset = {offsets[n]}\n" if n in (offsets or {}) else "")
                   for n in rig.names)
    (folder / "session.toml").write_text(f'{cams}[calibration]\nrig = "rig.toml"\n[[takes]]\nname = "demo"\n')
    return Session.load(folder)


def test_session_video_offset_reaches_the_rig(tmp_path, caplog):
    from mocap.calibration.imported import import_session_rig

    true = CameraRig.load(STUDIO4 / "ground_truth" / "camera_rig.toml").subset(["cam0", "cam1"])
    padded = CameraRig((true[0].replace(size=(648, 480)), true[1]))  # cam0's calibration says 648 wide
    s = _session(tmp_path / "s", padded, {"cam0": [4, 0]})
    assert s.cameras[0].video_offset == (4.0, 0.0) and s.cameras[1].video_offset is None
    rig = import_session_rig(s).rig
    assert rig["cam0"].video_offset == (4.0, 0.0) and rig["cam1"].video_offset == (0.0, 0.0)
    with caplog.at_level(logging.INFO):
        assert check_video_sizes(s, "demo", rig) == []  # placed explicitly: no warning
    assert "placed at video_offset [4, 0]" in caplog.text
    s2 = _session(tmp_path / "s2", padded)
    warnings = check_video_sizes(s2, "demo", import_session_rig(s2).rig)
    assert len(warnings) == 1 and "cam0.mp4 is 640x480" in warnings[0] and "648x480" in warnings[0]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "session.toml").write_text('[[cameras]]\nname = "a"\nvideo_offset = [4]\n[calibration]\nrig = "r.toml"\n')
    with pytest.raises(InputError, match="video_offset must be two numbers"):
        Session.load(bad)


def test_front_door_video_that_does_not_fit_its_camera(tmp_path):
    """`mocap detect` stops before detecting, with one error line naming the camera, the file and both sizes (and
    `mocap run` reports the take as failed with the same words); nothing is written for the take."""
    true = CameraRig.load(STUDIO4 / "ground_truth" / "camera_rig.toml").subset(["cam0", "cam1"])
    s = _session(tmp_path / "s", CameraRig((true[0], true[1].replace(size=(1280, 720)))))
    needles = ("'cam1'", "cam1.mp4 is 640x480", "1280x720", "video_offset = [x, y]", "[[cameras]]")
    proc = mocap("run", s.root, "--until", "detect", timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert all(n in proc.stdout + proc.stderr for n in needles), proc.stdout + proc.stderr
    assert_clean_error(mocap("detect", s.root, timeout=300), *needles)
    assert not s.layout.take("demo").keypoints2d.exists()
