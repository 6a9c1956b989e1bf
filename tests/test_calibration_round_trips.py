"""`mocap calib convert` round trips file -> mocap -> file, on files in each tool's own layout: the file written
back holds exactly what the original held (every table, every field, every number, bit for bit), and the
Qualisys distortion scale is the one formats/qualisys.py settles."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from mocap.calibration.formats import detect_format, read_calibration, write_calibration

PROJECTS = Path(__file__).parent / "data" / "projects"
FILES = [
    ("anipose", PROJECTS / "anipose" / "session1" / "calibration" / "calibration.toml"),
    ("freemocap", PROJECTS / "freemocap" / "recording_14_52_07" / "recording_14_52_07_camera_calibration.toml"),
    ("pose2sim", PROJECTS / "pose2sim" / "Walk_P2S" / "calibration" / "Calib_qualisys.toml"),
    ("qualisys", PROJECTS / "pose2sim" / "Walk_P2S" / "calibration" / "Calib.qca.txt"),
    ("anipose", SHARED_DATA / "sleap_anipose" / "minimal_session" / "calibration.toml"),
    ("freemocap", SHARED_DATA / "freemocap" / "previous_calibration.toml"),
    ("freemocap", SHARED_DATA / "freemocap" / "freemocap_test_data_camera_calibration.toml"),
    ("caliscope", SHARED_DATA / "caliscope" / "post_optimization" / "camera_array.toml"),
    ("caliscope", SHARED_DATA / "caliscope" / "4_cam_recording" / "camera_array.toml"),
    ("qualisys", SHARED_DATA / "pose2sim_multiperson" / "calibration" / "Calib.qca.txt"),
]


def qualisys_values(path: Path) -> list[dict[str, float]]:
    """Every camera's numbers a .qca.txt holds for the camera model: fov_video, transform, intrinsic."""
    out = []
    for cam in ET.fromstring(path.read_bytes()).findall("cameras/camera"):
        values = {"serial": cam.get("serial")}
        for tag in ("fov_video", "transform", "intrinsic"):
            for key, value in cam.find(tag).attrib.items():
                if not (tag == "intrinsic" and key in ("focallength", "sensorMinU", "sensorMaxU", "sensorMinV",
                                                       "sensorMaxV")):
                    values[f"{tag}.{key}"] = float(value)
        out.append(values)
    return out


def content(path: Path, fmt: str):
    return qualisys_values(path) if fmt == "qualisys" else tomllib.loads(path.read_text())


@pytest.mark.parametrize("fmt, path", FILES, ids=[f"{f}:{p.parent.name}/{p.name}" for f, p in FILES])
def test_file_to_mocap_to_file_is_lossless(tmp_path, fmt, path):
    if not path.is_file():
        pytest.skip(f"not on this machine: {path}")
    ours = write_calibration(read_calibration(path, fmt), tmp_path / "rig.toml", "mocap")
    assert detect_format(ours) == "mocap"
    back = write_calibration(read_calibration(ours), tmp_path / ("back.qca.txt" if fmt == "qualisys" else "back.toml"),
                             fmt)
    original, again = content(path, fmt), content(back, fmt)
    if fmt == "qualisys":  # our writer lays the XML out afresh: compare the numbers of the camera model
        assert [c["serial"] for c in again] == [c["serial"] for c in original]
        for a, b in zip(original, again):
            assert set(a) <= set(b)
            for key, value in a.items():
                if key != "serial":
                    assert b[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key
    else:
        assert again == original  # every table, field and number, exactly


def test_round_trip_from_the_command_line(tmp_path):
    source = FILES[2][1]
    ours, back = tmp_path / "rig.toml", tmp_path / "Calib.toml"
    for args in ((source, ours), (ours, back, "--to", "pose2sim")):
        proc = subprocess.run([sys.executable, "-m", "mocap.cli", "calib", "convert", *map(str, args)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    assert tomllib.loads(back.read_text()) == tomllib.loads(source.read_text())


def test_qualisys_distortion_is_taken_as_opencv_coefficients(tmp_path):
    """The .qca.txt radial and tangential terms are OpenCV's k1, k2, p1, p2 as they stand; Pose2Sim's conversion of
    the same file holds them divided by 64, so --to pose2sim writes 64 times Pose2Sim's values (on purpose: see
    mocap/calibration/formats/qualisys.py for the evidence)."""
    folder = PROJECTS / "pose2sim" / "Walk_P2S" / "calibration"
    rig = read_calibration(folder / "Calib.qca.txt")
    np.testing.assert_allclose(rig[0].dist, [-0.02, 0.01, 0.0, 0.0, 0.0])
    written = tomllib.loads(write_calibration(rig, tmp_path / "Calib.toml", "pose2sim").read_text())
    pose2sims = tomllib.loads((folder / "Calib_qualisys.toml").read_text())
    np.testing.assert_allclose(written["28519"]["distortions"], [-0.02, 0.01, 0.0, 0.0])
    np.testing.assert_allclose(np.array(written["28519"]["distortions"][:2]),
                               64 * np.array(pose2sims["28519"]["distortions"][:2]))
    # everything else agrees with Pose2Sim's conversion
    for key in ("matrix", "rotation", "translation", "size"):
        np.testing.assert_allclose(written["28519"][key], pose2sims["28519"][key], atol=1e-12)
