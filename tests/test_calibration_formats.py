"""Calibration import/export: round trips, format detection, malformed files, real third-party files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from conftest import SHARED_DATA

from mocap.calibration.formats import (
    FORMATS,
    detect_format,
    read_calibration,
    write_calibration,
)
from mocap.calibration.formats._common import FORMAT_NAMES
from mocap.camera import Camera, CameraRig, look_at
from mocap.errors import InputError, MocapError

SHARED = SHARED_DATA

SUFFIX = {
    "mocap": "rig.toml",
    "anipose": "calibration.toml",
    "freemocap": "calibration.toml",
    "pose2sim": "Calib.toml",
    "caliscope": "camera_array.toml",
    "qualisys": "Calib.qca.txt",
}
FISHEYE_FORMATS = ("mocap", "anipose", "freemocap", "pose2sim")


# --------------------------------------------------------------------------------------------------
# Synthetic rigs
# --------------------------------------------------------------------------------------------------


def make_rig(names: list[str], fisheye: bool) -> CameraRig:
    """Cameras about 3 m from the origin looking at it, with distortion; the 3rd one fisheye."""
    rng = np.random.default_rng(7)
    centers = [[3.0, 0.2, 1.5], [-0.4, 3.1, 1.2], [-2.9, -0.8, 2.2], [0.5, -3.3, 0.9]]
    cams = []
    for i, (name, center) in enumerate(zip(names, centers)):
        R, t = look_at(np.array(center), np.array([0.1, -0.2, 1.0]))
        K = [[900.0 + 37.3 * i, 0.0, 640.25 - 3.1 * i], [0.0, 905.5 + 11.1 * i, 360.75 + 2.7 * i], [0, 0, 1]]
        if fisheye and i == 2:
            dist, model = rng.normal(0, 0.05, 4), "fisheye"
        else:
            dist, model = np.array([-0.31, 0.12, 0.001, -0.002, -0.03]) * (1 + 0.1 * i), "pinhole"
        cams.append(Camera(name, (1280 - 160 * (i % 2), 720 + 360 * (i % 2)), K, dist, R, t, model))
    return CameraRig(tuple(cams), {"tool": "test"})


def assert_same_rig(a: CameraRig, b: CameraRig, check_names: bool = True) -> None:
    assert len(a) == len(b)
    if check_names:
        assert a.names == b.names
    for ca, cb in zip(a, b):
        assert ca.size == cb.size
        assert ca.model == cb.model
        np.testing.assert_allclose(cb.K, ca.K, rtol=1e-9, atol=1e-9)
        n = max(ca.dist.size, cb.dist.size)
        da, db = (np.pad(c.dist, (0, n - c.dist.size)) for c in (ca, cb))
        np.testing.assert_allclose(db, da, atol=1e-12)
        np.testing.assert_allclose(cb.R, ca.R, atol=1e-9)
        np.testing.assert_allclose(cb.t, ca.t, atol=1e-6)


def test_registry_names():
    assert tuple(FORMATS.names()) == FORMAT_NAMES
    for entry in FORMATS:
        assert entry.description and callable(entry.function("read")) and callable(entry.function("write"))


# --------------------------------------------------------------------------------------------------
# Round trips and detection
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS.names())
def test_round_trip(tmp_path, fmt):
    fisheye = fmt in FISHEYE_FORMATS
    names = ["left", "right", "top cam", "back.2"]
    if fmt == "caliscope":  # caliscope names cameras cam_{cam_id}
        names = ["cam_0", "cam_1", "cam_2", "cam_5"]
    rig = make_rig(names, fisheye)
    path = write_calibration(rig, tmp_path / SUFFIX[fmt], fmt)
    assert path == tmp_path / SUFFIX[fmt]
    assert sorted(p.name for p in tmp_path.iterdir()) == [SUFFIX[fmt]]  # atomic: no temp files left
    back = read_calibration(path, fmt)
    assert_same_rig(rig, back)
    if fisheye:
        assert back[2].model == "fisheye" and back[2].dist.size == 4
    # auto-detection finds the same format (freemocap files are the anipose layout)
    assert detect_format(path) == ("anipose" if fmt == "freemocap" else fmt)
    assert_same_rig(rig, read_calibration(path))


def test_mocap_keeps_mirrored_and_metadata(tmp_path):
    rig = make_rig(["a", "b", "c", "d"], fisheye=True)
    rig = CameraRig((rig[0].replace(mirrored=True), *rig.cameras[1:]), {"tool": "test"})
    back = read_calibration(write_calibration(rig, tmp_path / "rig.toml", "mocap"))
    assert back[0].mirrored and not back[1].mirrored
    assert back.metadata == {"tool": "test"}


@pytest.mark.parametrize("units,scale", [("mm", 1000.0), ("m", 1.0), ("cm", 100.0)])
def test_anipose_units(tmp_path, units, scale):
    rig = make_rig(["a", "b", "c", "d"], fisheye=True)
    path = write_calibration(rig, tmp_path / "calibration.toml", "anipose", units=units)
    raw = tomllib.loads(path.read_text())
    np.testing.assert_allclose(raw["cam_1"]["translation"], rig[1].t * scale)
    assert raw["cam_2"]["fisheye"] is True and "fisheye" not in raw["cam_0"]
    assert_same_rig(rig, read_calibration(path, "anipose", units=units))
    # the wrong unit scales the rig
    wrong = read_calibration(path, "anipose", units="m" if units != "m" else "mm")
    assert not np.allclose(wrong[1].t, rig[1].t)


def test_pose2sim_layout(tmp_path):
    rig = make_rig(["cam01", "cam02", "cam03", "cam04"], fisheye=False)
    rig = CameraRig(tuple(c.replace(dist=c.dist[:4]) for c in rig), {})
    raw = tomllib.loads(write_calibration(rig, tmp_path / "Calib.toml", "pose2sim").read_text())
    assert list(raw) == ["cam01", "cam02", "cam03", "cam04", "metadata"]
    assert raw["metadata"] == {"adjusted": False, "error": 0.0}
    cam = raw["cam02"]
    assert set(cam) == {"name", "size", "matrix", "distortions", "rotation", "translation", "fisheye"}
    assert cam["name"] == "cam02" and cam["fisheye"] is False and len(cam["distortions"]) == 4
    assert len(cam["rotation"]) == 3  # Rodrigues
    np.testing.assert_allclose(cam["translation"], rig[1].t)  # metres


def test_caliscope_names_from_index_and_extras_kept(tmp_path):
    rig = make_rig(["a", "b", "c", "d"], fisheye=False)
    path = write_calibration(rig, tmp_path / "camera_array.toml", "caliscope")
    back = read_calibration(path)
    assert back.names == ["cam_0", "cam_1", "cam_2", "cam_3"]
    assert_same_rig(rig, back, check_names=False)
    # caliscope-only fields survive caliscope -> rig -> caliscope
    text = path.read_text().replace("rotation_count = 0", "rotation_count = 1", 1)
    path.write_text(text)
    again = read_calibration(write_calibration(read_calibration(path), tmp_path / "b.toml", "caliscope"))
    assert again.metadata["caliscope"]["cam_0"]["rotation_count"] == 1


@pytest.mark.parametrize("fmt", ["caliscope", "qualisys"])
def test_fisheye_refused_where_unsupported(tmp_path, fmt):
    rig = make_rig(["cam_0", "cam_1", "cam_2", "cam_3"], fisheye=True)
    with pytest.raises(MocapError, match="fisheye"):
        write_calibration(rig, tmp_path / SUFFIX[fmt], fmt)
    assert not list(tmp_path.iterdir())


def test_extra_distortion_refused_where_unsupported(tmp_path):
    rig = make_rig(["cam_0", "cam_1", "cam_2", "cam_3"], fisheye=False)
    cam = rig[0].replace(dist=np.r_[rig[0].dist, 0.01, 0.0, 0.0])  # rational model k4
    rig = CameraRig((cam, *rig.cameras[1:]))
    with pytest.raises(MocapError, match="distortion"):
        write_calibration(rig, tmp_path / "x.qca.txt", "qualisys")
    # formats that hold all coefficients keep them
    assert_same_rig(rig, read_calibration(write_calibration(rig, tmp_path / "p.toml", "pose2sim")))


def test_unknown_format_and_options(tmp_path):
    rig = make_rig(["a", "b", "c", "d"], fisheye=False)
    with pytest.raises(MocapError, match="unknown calibration format"):
        write_calibration(rig, tmp_path / "x.toml", "vicon")
    with pytest.raises(MocapError, match="units"):
        write_calibration(rig, tmp_path / "x.toml", "pose2sim", units="mm")
    with pytest.raises(MocapError, match="unknown length unit"):
        write_calibration(rig, tmp_path / "x.toml", "anipose", units="inch")


# --------------------------------------------------------------------------------------------------
# Malformed files
# --------------------------------------------------------------------------------------------------

MATRIX = "matrix = [[900.0, 0.0, 640.0], [0.0, 900.0, 360.0], [0.0, 0.0, 1.0]]\n"
ANIPOSE_CAM = f"""
[cam_0]
name = "a"
size = [1280, 720]
{MATRIX}distortions = [-0.1, 0.01, 0.0, 0.0, 0.0]
rotation = [0.1, 0.2, 0.3]
translation = [10.0, 20.0, 3000.0]

[metadata]
"""


def _expect_error(path: Path, *fragments: str, fmt: str | None = None) -> InputError:
    with pytest.raises(InputError) as info:
        read_calibration(path, fmt)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return info.value


@pytest.mark.parametrize(
    "old,new,fragments",
    [
        (MATRIX, "", ["[cam_0]", "'matrix'"]),
        ("[0.0, 0.0, 1.0]]", "]", ["matrix", "shape (3, 3)"]),
        ("rotation = [0.1, 0.2, 0.3]", "rotation = [0.1, 0.2]", ["rotation", "shape (3,)"]),
        ("size = [1280, 720]", "size = [1280.5, 720]", ["size"]),
        ("distortions = [-0.1, 0.01, 0.0, 0.0, 0.0]", 'distortions = "none"', ["distortions"]),
        ("translation = [10.0, 20.0, 3000.0]", "translation = [10.0, nan, 3000.0]", ["NaN"]),
    ],
)
def test_malformed_anipose(tmp_path, old, new, fragments):
    path = tmp_path / "calibration.toml"
    assert old in ANIPOSE_CAM
    path.write_text(ANIPOSE_CAM.replace(old, new))
    err = _expect_error(path, *fragments)
    assert "read as anipose" in str(err) and "--from" in str(err)


def test_valid_anipose_snippet_reads(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text(ANIPOSE_CAM)
    rig = read_calibration(path)
    np.testing.assert_allclose(rig["a"].t, [0.01, 0.02, 3.0])


def test_bad_toml_syntax(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text("[cam_0\nname = 'a'\n")
    _expect_error(path, "not valid TOML")
    _expect_error(path, "not valid TOML", fmt="pose2sim")


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.toml", "not found")
    _expect_error(tmp_path / "nope.qca.txt", "not found")


def test_undetectable_toml(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text("title = 'x'\n[owner]\nname = 'y'\n")
    _expect_error(path, "could not tell", "--from")


def test_duplicate_names_pose2sim(tmp_path):
    rig = make_rig(["a", "b", "c", "d"], fisheye=False)
    path = write_calibration(rig, tmp_path / "Calib.toml", "pose2sim")
    path.write_text(path.read_text().replace('name = "b"', 'name = "a"'))
    _expect_error(path, "unique")


def test_caliscope_bad_rotation_and_missing_id(tmp_path):
    rig = make_rig(["cam_0", "cam_1", "cam_2", "cam_3"], fisheye=False)
    path = write_calibration(rig, tmp_path / "camera_array.toml", "caliscope")
    good = tomllib.loads(path.read_text())

    data = tomllib.loads(path.read_text())
    data["cameras"]["0"]["rotation"][0][0] = 2.0
    path.write_text(tomli_w.dumps(data))
    _expect_error(path, "[cameras.0]", "not a proper rotation", "caliscope")

    data = dict(good)
    del data["cameras"]["1"]["cam_id"]
    path.write_text(tomli_w.dumps(data))
    _expect_error(path, "[cameras.1]", "cam_id", fmt="caliscope")


QCA = """<?xml version='1.0' encoding='ASCII'?>
<calibration>
  <cameras>
    <camera serial="c1">
      <fov_video bottom="1919" left="0" right="1087" top="0"/>
      <transform r11="1" r12="0" r13="0" r21="0" r22="1" r23="0" r31="0" r32="0" r33="1"
        x="0" y="0" z="3000"/>
      <intrinsic centerPointU="34816" centerPointV="61440" focalLengthU="64000" focalLengthV="64000"
        radialDistortion1="-0.05" radialDistortion2="0.1" radialDistortion3="0" skew="0"
        tangentalDistortion1="0.001" tangentalDistortion2="0.002"/>
    </camera>
  </cameras>
</calibration>
"""


def test_qualisys_snippet_and_malformed(tmp_path):
    path = tmp_path / "Calib.qca.txt"
    path.write_text(QCA)
    cam = read_calibration(path)["c1"]
    assert cam.size == (1088, 1920)
    np.testing.assert_allclose(cam.K, [[1000, 0, 544], [0, 1000, 960], [0, 0, 1]])
    np.testing.assert_allclose(cam.dist, [-0.05, 0.1, 0.001, 0.002, 0.0])
    np.testing.assert_allclose(cam.center, [0, 0, 3])
    np.testing.assert_allclose(cam.R, np.diag([1, -1, -1]))  # looks down the world -Z axis

    path.write_text(QCA.replace('focalLengthU="64000" ', ""))
    _expect_error(path, "focalLengthU", "serial='c1'", "Qualisys")
    path.write_text(QCA.replace('r11="1"', 'r11="abc"'))
    _expect_error(path, "r11", "not a number")
    path.write_text(QCA.replace("<fov_video", "<fov_other"))
    _expect_error(path, "fov_video")
    path.write_text(QCA.replace("</cameras>", ""))
    _expect_error(path, "not valid XML")
    path.write_text("<calibration/>")
    _expect_error(path, "no <cameras><camera>")


def test_xml_content_detected_without_suffix(tmp_path):
    path = tmp_path / "calib.txt"
    path.write_text(QCA)
    assert detect_format(path) == "qualisys"


# --------------------------------------------------------------------------------------------------
# Real third-party files
# --------------------------------------------------------------------------------------------------


def shared(relative: str) -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared test data not found at {SHARED}")
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.mark.shared_data
def test_real_caliscope_to_pose2sim_and_back(tmp_path):
    path = shared("caliscope/post_optimization/camera_array.toml")
    assert detect_format(path) == "caliscope"
    rig = read_calibration(path)
    assert rig.names == ["cam_0", "cam_1", "cam_2", "cam_3"]
    assert all(cam.size == (1280, 720) and cam.model == "pinhole" for cam in rig)
    K0 = [[903.550124089999, 0, 618.3086297620227], [0, 907.8788668762852, 394.213230569746], [0, 0, 1]]
    np.testing.assert_allclose(rig[0].K, K0)
    np.testing.assert_allclose(rig[1].K[0, 0], 760.3305587590094)
    np.testing.assert_allclose(rig[2].K[1, 2], 392.19105369229516)
    np.testing.assert_allclose(rig[3].K[:2, :2], [[639.8834321530571, 0], [0, 639.5401432267563]])
    np.testing.assert_allclose(rig[3].dist[4], 0.10610964089301607)
    np.testing.assert_allclose(rig[0].t, [0.17125994082321383, -0.03234536459937444, 1.208386461814154])
    assert rig.metadata["caliscope"]["cam_0"]["error"] == 0.541
    back = read_calibration(write_calibration(rig, tmp_path / "Calib.toml", "pose2sim"))
    assert_same_rig(rig, back)
    # all four cameras see the board region at the origin in front of them
    for cam in rig:
        assert cam.world_to_camera(np.zeros(3))[2] > 0


@pytest.mark.shared_data
@pytest.mark.parametrize("folder", ["4_cam_recording", "charuco_calibration"])
def test_real_caliscope_others_read(folder):
    rig = read_calibration(shared(f"caliscope/{folder}/camera_array.toml"))
    assert len(rig) == 4


@pytest.mark.shared_data
def test_real_qualisys(tmp_path):
    path = shared("pose2sim_multiperson/calibration/Calib.qca.txt")
    assert detect_format(path) == "qualisys"
    rig = read_calibration(path)
    assert rig.names == ["cam01", "cam02", "cam03", "cam04"]
    target = np.array([0.0, 0.0, 1.0])
    for cam in rig:
        assert cam.size == (1088, 1920)
        assert 1.0 < np.linalg.norm(cam.center) < 5.0
        assert cam.world_to_camera(target)[2] > 0  # the lab origin region is in front of the camera
        u, v = cam.project(target)
        assert 0 <= u < cam.size[0] and 0 <= v < cam.size[1]
    cam = rig["cam01"]
    np.testing.assert_allclose(cam.K[0, 0], 107599.671875 / 64)
    np.testing.assert_allclose(cam.K[0, 2], 34110.316406 / 64)
    np.testing.assert_allclose(cam.dist, [-0.046183, 0.139983, 0.000608, 0.00069, 0.0])
    np.testing.assert_allclose(cam.center, [1.4602323709212087, -1.9091590482454608, 1.8965058524092062])
    # written and read back identically
    assert_same_rig(rig, read_calibration(write_calibration(rig, tmp_path / "out.qca.txt", "qualisys")))


@pytest.mark.shared_data
def test_real_anipose_sleap_in_mm():
    path = shared("sleap_anipose/minimal_session/calibration.toml")
    assert detect_format(path) == "anipose"
    rig = read_calibration(path)
    assert rig.names == ["back", "mid", "side", "top"]
    assert all(cam.model == "pinhole" and cam.size == (1280, 1024) for cam in rig)
    norms = [np.linalg.norm(cam.t) for cam in rig]
    assert all(0.01 < n < 2.0 for n in norms), norms
    back_mm = [0.11101046010648573, -5.942766688873288, -122.27936818948484]
    np.testing.assert_allclose(rig["back"].t, np.array(back_mm) / 1000)


@pytest.mark.shared_data
def test_real_freemocap_fisheye(tmp_path):
    path = shared("freemocap/previous_calibration.toml")
    assert detect_format(path) == "anipose"
    rig = read_calibration(path, "freemocap")
    assert rig.names == ["1", "2", "3", "4", "5"]
    assert all(cam.model == "fisheye" and cam.dist.size == 4 and cam.size == (720, 1280) for cam in rig)
    assert all(np.linalg.norm(cam.center) < 5.0 for cam in rig)
    assert_same_rig(rig, read_calibration(write_calibration(rig, tmp_path / "Calib.toml", "pose2sim")))


@pytest.mark.shared_data
def test_real_freemocap_pinhole_with_metadata():
    rig = read_calibration(shared("freemocap/freemocap_test_data_camera_calibration.toml"))
    assert len(rig) == 3 and all(cam.model == "pinhole" for cam in rig)
    assert rig.metadata["charuco_square_size"] == 58.0
    np.testing.assert_allclose(rig[0].t, 0.0)
