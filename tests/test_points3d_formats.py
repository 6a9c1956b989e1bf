"""3D points export/import (TRC, C3D, CSV): round trips, axes, a Pose2Sim-style reference file,
malformed files and atomic writes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mocap.errors import InputError, MocapError
from mocap.io import c3d_io, csv_points, trc
from mocap.io.points3d_formats import PointTrajectories, read_points, write_points

DATA = Path(__file__).parent / "data"
NAMES = ["nose", "left eye", "r,wrist", "Hip"]


def motion(n_frames: int = 25, n_joints: int = 4, seed: int = 3) -> np.ndarray:
    """A smooth (F, J, 3) motion in metres around a standing person, Z up, with missing points."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)[:, None, None] / 30.0
    base = rng.uniform([-1.0, -1.0, 0.0], [1.0, 1.0, 1.8], size=(1, n_joints, 3))
    xyz = base + 0.3 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6, size=(1, n_joints, 3)))
    xyz[3, 1] = np.nan  # one point missing
    xyz[10:13, 2] = np.nan  # a gap
    xyz[:, 3] += 1234.5678901  # far from the origin: precision must not depend on magnitude
    return xyz


def assert_same(result: PointTrajectories, xyz: np.ndarray, names, fps: float, atol: float) -> None:
    assert result.xyz.shape == xyz.shape
    np.testing.assert_array_equal(np.isnan(result.xyz), np.isnan(xyz))
    np.testing.assert_allclose(result.xyz, xyz, atol=atol, rtol=0)
    assert result.joint_names == tuple(names)
    assert result.fps == pytest.approx(fps, rel=1e-12)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("units", ["m", "mm"])
@pytest.mark.parametrize("up_axis", ["Y", "Z"])
@pytest.mark.parametrize("missing", ["empty", "nan"])
def test_trc_round_trip(tmp_path, units, up_axis, missing):
    xyz = motion()
    path = trc.write_trc(tmp_path / "take.trc", xyz, NAMES, 30.0, units=units, up_axis=up_axis, missing=missing)
    result = trc.read_trc(path, up_axis=up_axis)
    assert_same(result, xyz, NAMES, 30.0, atol=1e-6)
    np.testing.assert_allclose(result.frame_times, np.arange(len(xyz)) / 30.0, atol=1e-12)


def test_csv_round_trip(tmp_path):
    xyz = motion()
    times = 5.0 + np.arange(len(xyz)) / 30.0
    path = csv_points.write_points_csv(tmp_path / "take.csv", xyz, NAMES, 30.0, frame_times=times)
    result = csv_points.read_points_csv(path)
    assert_same(result, xyz, NAMES, 30.0, atol=1e-6)
    np.testing.assert_allclose(result.frame_times, times, atol=1e-12)
    assert path.read_text().splitlines()[0] == (
        'frame,time,nose_x,nose_y,nose_z,left eye_x,left eye_y,left eye_z,"r,wrist_x","r,wrist_y","r,wrist_z",'
        "Hip_x,Hip_y,Hip_z"
    )


def test_c3d_round_trip(tmp_path):
    ezc3d = pytest.importorskip("ezc3d")
    xyz = motion()
    path = c3d_io.write_c3d(tmp_path / "take.c3d", xyz, NAMES, 60.0)
    result = c3d_io.read_c3d(path)
    assert_same(result, xyz, NAMES, 60.0, atol=1e-4)  # float32 millimetres
    np.testing.assert_allclose(result.frame_times, np.arange(len(xyz)) / 60.0, atol=1e-12)
    # the file itself follows the C3D conventions: mm, residual -1 for missing points
    raw = ezc3d.c3d(str(path))
    assert [u.strip() for u in raw["parameters"]["POINT"]["UNITS"]["value"]] == ["mm"]
    residuals = raw["data"]["meta_points"]["residuals"][0].T  # (F, J)
    np.testing.assert_array_equal(residuals < 0, np.isnan(xyz[..., 0]))
    np.testing.assert_allclose(raw["data"]["points"][:3, 0, 0], xyz[0, 0] * 1000, atol=0.05)


def test_c3d_keeps_an_upper_case_suffix(tmp_path):
    pytest.importorskip("ezc3d")
    path = write_points(tmp_path / "TAKE.C3D", motion(), NAMES, 30.0)
    assert listing(tmp_path) == ["TAKE.C3D"]
    assert read_points(path).joint_names == tuple(NAMES)


@pytest.mark.parametrize("suffix", [".trc", ".csv", ".c3d"])
def test_registry_picks_the_format_from_the_suffix(tmp_path, suffix):
    if suffix == ".c3d":
        pytest.importorskip("ezc3d")
    xyz = motion()
    path = write_points(tmp_path / f"take{suffix.upper()}", xyz, NAMES, 25.0)
    result = read_points(path)
    assert isinstance(result, PointTrajectories)
    assert_same(result, xyz, NAMES, 25.0, atol=1e-4 if suffix == ".c3d" else 1e-6)


def test_registry_options_and_errors(tmp_path):
    xyz = motion()
    path = write_points(tmp_path / "take.txt", xyz, NAMES, 30.0, fmt="trc", units="mm", up_axis="Z")
    assert "\tmm\t" in path.read_text().splitlines()[2]
    assert_same(read_points(path, fmt="trc", up_axis="Z"), xyz, NAMES, 30.0, atol=1e-6)
    with pytest.raises(InputError, match="suffix"):
        read_points(path)
    with pytest.raises(MocapError, match="suffix"):
        write_points(tmp_path / "take.bvh", xyz, NAMES, 30.0)
    with pytest.raises(MocapError, match="unknown 3D points format"):
        write_points(tmp_path / "take.trc", xyz, NAMES, 30.0, fmt="fbx")
    with pytest.raises(MocapError, match="do not apply to the csv 3D points format"):
        write_points(tmp_path / "take.csv", xyz, NAMES, 30.0, units="mm")
    with pytest.raises(MocapError, match="do not apply to the trc 3D points format"):
        read_points(path, fmt="trc", fps=30)
    assert listing(tmp_path) == ["take.txt"]


def test_csv_fps_is_inferred_from_the_times(tmp_path):
    ntsc = 30000 / 1001
    path = write_points(tmp_path / "ntsc.csv", motion(), NAMES, ntsc)
    assert read_points(path).fps == pytest.approx(ntsc, rel=1e-12)
    assert read_points(path, fps=12.5).fps == 12.5
    one = write_points(tmp_path / "one.csv", motion()[:1], NAMES, 30.0)
    assert np.isnan(read_points(one).fps)
    assert read_points(one, fps=30).fps == 30.0


def test_a_point_with_any_missing_coordinate_is_missing(tmp_path):
    xyz = motion()
    xyz[5, 0, 1] = np.nan  # only y missing
    original = xyz.copy()
    result = read_points(write_points(tmp_path / "take.trc", xyz, NAMES, 30.0))
    assert np.isnan(result.xyz[5, 0]).all()
    np.testing.assert_array_equal(np.isnan(xyz), np.isnan(original))  # the caller's array is untouched


# --------------------------------------------------------------------------------------------------
# Axes
# --------------------------------------------------------------------------------------------------


def test_y_up_follows_pose2sim():
    """Pose2Sim's zup2yup: X->Y, Y->Z, Z->X, i.e. file (X, Y, Z) = world (y, z, x), a proper rotation."""
    p = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(trc.zup_to_yup(p), [2.0, 3.0, 1.0])
    np.testing.assert_array_equal(trc.ZUP_TO_YUP @ p, trc.zup_to_yup(p))
    assert np.linalg.det(trc.ZUP_TO_YUP) == pytest.approx(1.0)
    np.testing.assert_array_equal(trc.yup_to_zup(trc.zup_to_yup(p)), p)


def test_y_up_file_has_height_in_y(tmp_path):
    xyz = motion()
    path = trc.write_trc(tmp_path / "take.trc", xyz, NAMES, 30.0)  # default: Y up, metres
    as_stored = trc.read_trc(path, up_axis="Z").xyz
    np.testing.assert_allclose(as_stored[..., 1], xyz[..., 2], atol=1e-6)  # world height -> file Y
    np.testing.assert_allclose(as_stored, trc.zup_to_yup(xyz), atol=1e-6)
    assert_same(trc.read_trc(path), xyz, NAMES, 30.0, atol=1e-6)  # default read rotates back


def test_trc_is_readable_the_way_pose2sim_reads_it(tmp_path):
    """Pose2Sim's extract_trc_data: names = line 4 split on tabs [2::3]; data via genfromtxt."""
    xyz = motion()
    path = trc.write_trc(tmp_path / "take.trc", xyz, NAMES, 30.0)
    lines = path.read_text().splitlines()
    assert lines[0] == "PathFileType\t4\t(X/Y/Z)\ttake.trc"
    assert lines[1].split("\t") == list(trc.HEADER_KEYS)
    assert lines[3].strip().split("\t")[2::3] == NAMES
    data = np.genfromtxt(path, skip_header=5, delimiter="\t")
    assert data.shape == (len(xyz), 2 + 3 * len(NAMES))
    np.testing.assert_array_equal(data[:, 0], np.arange(1, len(xyz) + 1))
    np.testing.assert_allclose(data[:, 2:].reshape(xyz.shape), trc.zup_to_yup(xyz), atol=1e-6)


# --------------------------------------------------------------------------------------------------
# Reference files
# --------------------------------------------------------------------------------------------------


def test_reads_pose2sim_style_trc_in_mm():
    path = DATA / "pose2sim_style_mm.trc"
    stored = trc.read_trc(path, up_axis="Z")
    assert stored.joint_names == ("Hip", "Neck", "RWrist")
    assert stored.fps == 60.0
    np.testing.assert_allclose(stored.frame_times, [1 / 60, 2 / 60, 3 / 60, 4 / 60], atol=1e-12)
    np.testing.assert_allclose(stored.xyz[0], [[0.1, 0.9, -0.05], [0.1105, 1.45025, -0.04], [0.4, 1.0, 0.25]],
                               atol=1e-12)
    np.testing.assert_allclose(stored.xyz[3, 1], [0.1135, 1.45325, -0.043], atol=1e-12)
    assert np.isnan(stored.xyz[1, 2]).all() and not np.isnan(np.delete(stored.xyz, 1, axis=0)).any()
    world = read_points(path)  # default: the file is Y up -> world Z up
    np.testing.assert_allclose(world.xyz[0, 0], [-0.05, 0.1, 0.9], atol=1e-12)  # (Z, X, Y) of the file
    assert world.xyz[0, 1, 2] == pytest.approx(1.45025)  # the neck's height is world z


def test_reads_opensim_style_trc_with_crlf_blank_line_and_nan(tmp_path):
    """OpenSim's own writer: a blank line after the labels, a trailing tab, 'nan' cells; plus CRLF,
    spaces around cells and a cm unit."""
    text = (
        "PathFileType\t4\t(X/Y/Z)\twalk.trc\r\n"
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\r\n"
        "100.00\t100.00\t3\t2\tcm\t100.00\t1\t3  \r\n"
        "Frame#\tTime\tR.ASIS\t\t\tL ASIS\t\t\t\r\n"
        "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\t\r\n"
        "\r\n"
        "1\t0.00\t1.5\t90\t-2\t 3.0 \t91\t-1\t\r\n"
        "2\t0.01\tnan\tnan\tnan\t3.1\t92\t-1.5\t\r\n"
        "3\t0.02\t1.7\t92\t-2\tNaN\tNaN\tNaN\t\r\n"
    )
    path = tmp_path / "walk.trc"
    path.write_bytes(text.encode())
    result = read_points(path, up_axis="Z")
    assert result.joint_names == ("R.ASIS", "L ASIS")
    assert result.fps == 100.0
    np.testing.assert_allclose(result.frame_times, [0.0, 0.01, 0.02])
    np.testing.assert_allclose(result.xyz[0], [[0.015, 0.9, -0.02], [0.03, 0.91, -0.01]], atol=1e-12)
    np.testing.assert_array_equal(np.isnan(result.xyz[..., 0]), [[False, False], [True, False], [False, True]])


# --------------------------------------------------------------------------------------------------
# Malformed files
# --------------------------------------------------------------------------------------------------


def _good_trc(tmp_path: Path) -> list[str]:
    """Lines (with line ends) of a valid TRC: 5 header lines, then 6 rows of 4 markers (lines 6-11)."""
    path = trc.write_trc(tmp_path / "good.trc", motion(6), NAMES, 30.0)
    return path.read_text().splitlines(keepends=True)


def _set_cell(line: str, column: int, value: str) -> str:
    cells = line.rstrip("\n").split("\t")
    cells[column] = value
    return "\t".join(cells) + "\n"


def _set_line(lines: list[str], index: int, line: str) -> list[str]:
    return lines[:index] + [line] + lines[index + 1:]


MALFORMED_TRC = {
    "truncated-rows": (lambda ls: ls[:-2], "ends early: NumFrames is 6 but there are 4 data rows"),
    "truncated-line": (lambda ls: _set_line(ls, 10, ls[10][:40]), "line 11 has"),
    "extra-rows": (lambda ls: ls + [ls[-1]], "more rows than its header says"),
    "short-row": (lambda ls: _set_line(ls, 7, "3\t0.1\t1\t2\n"), "line 8 has 4 values; expected 14"),
    "long-row": (lambda ls: _set_line(ls, 6, ls[6].rstrip("\n") + "\t9.9\n"), "line 7 has 15 values"),
    "non-numeric": (lambda ls: _set_line(ls, 8, _set_cell(ls[8], 3, "abc")), "line 9, column 4: 'abc' is not a number"),
    "no-time": (lambda ls: _set_line(ls, 6, _set_cell(ls[6], 1, "")), "line 7: the time cell is empty"),
    "time-backwards": (lambda ls: _set_line(ls, 7, _set_cell(ls[7], 1, "0")), "line 8: the time 0 does not increase"),
    "infinite": (lambda ls: _set_line(ls, 8, _set_cell(ls[8], 3, "inf")), "line 9: a coordinate is infinite"),
    "huge": (lambda ls: _set_line(ls, 8, _set_cell(ls[8], 3, "1" * 400)), "line 9: a coordinate is infinite"),
    "not-trc": (lambda ls: _set_line(ls, 0, "Frame#\tTime\n"), "not a TRC file"),
    "short-header": (lambda ls: ls[:3], "header is incomplete"),
    "units": (lambda ls: _set_line(ls, 2, _set_cell(ls[2], 4, "inch")), "unknown TRC units 'inch'"),
    "rate": (lambda ls: _set_line(ls, 2, _set_cell(ls[2], 0, "fast")), "not numbers"),
    "header-keys": (lambda ls: _set_line(ls, 1, "DataRate\tCameraRate\n"), "lacks"),
    "names": (lambda ls: _set_line(ls, 3, ls[3].replace("\tHip", "")), "names 3 markers but NumMarkers is 4"),
    "no-xyz-row": (lambda ls: _set_line(ls, 4, "1\t0\t1\t2\t3\n"), "line 5 should hold the coordinate labels"),
    "no-data": (lambda ls: _set_line(ls, 2, _set_cell(ls[2], 2, "0"))[:5], "no data rows"),
}


@pytest.mark.parametrize("case", MALFORMED_TRC)
def test_malformed_trc(tmp_path, case):
    edit, message = MALFORMED_TRC[case]
    bad = tmp_path / "bad.trc"
    bad.write_text("".join(edit(_good_trc(tmp_path))))
    with pytest.raises(InputError, match=message) as info:
        trc.read_trc(bad)
    assert info.value.path == bad
    assert info.value.fix
    assert str(bad) in str(info.value)


def test_missing_files(tmp_path):
    for name in ("none.trc", "none.csv"):
        with pytest.raises(InputError, match="not found") as info:
            read_points(tmp_path / name)
        assert info.value.path == tmp_path / name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("frame,time,a_x,a_y\n0,0,1,2\n", "unexpected CSV header"),
        ("frame,time,a_x,a_y,b_z\n0,0,1,2,3\n", "columns 3-5"),
        ("frame,time,a_x,a_y,a_z\n0,0,1,2,3\n1,0.1,1,2\n", "line 3 has 4 cells; the header has 5"),
        ("frame,time,a_x,a_y,a_z\n0,0,1,2,3\n1,0.1,1,two,3\n", "line 3, column 4: 'two' is not a number"),
        ("frame,time,a_x,a_y,a_z\n0,,1,2,3\n", "line 2: the time cell is empty"),
        ("frame,time,a_x,a_y,a_z,a_x,a_y,a_z\n0,0,1,2,3,4,5,6\n", "repeat"),
        ("frame,time,a_x,a_y,a_z\n", "no data rows"),
    ],
)
def test_malformed_csv(tmp_path, text, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_points(bad)
    assert info.value.path == bad and info.value.fix


def test_malformed_c3d(tmp_path):
    pytest.importorskip("ezc3d")
    garbage = tmp_path / "garbage.c3d"
    garbage.write_bytes(b"this is not a c3d file" * 40)
    with pytest.raises(InputError, match="not a C3D file") as info:
        read_points(garbage)
    assert info.value.path == garbage
    good = write_points(tmp_path / "good.c3d", motion(200), NAMES, 30.0)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.c3d"
    truncated.write_bytes(data[: len(data) - 2048])
    with pytest.raises(InputError, match="ends early"):
        read_points(truncated)


def test_missing_ezc3d_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ezc3d", None)  # makes `import ezc3d` fail
    with pytest.raises(ImportError) as info:
        write_points(tmp_path / "take.c3d", motion(), NAMES, 30.0)
    assert isinstance(info.value, MocapError)
    assert "pip install ezc3d" in str(info.value)
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------------------------------
# Invalid arguments and atomic writes
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".trc", ".csv", ".c3d"])
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"joint_names": NAMES[:3]}, "joint_names has 3 names but xyz has 4 joints"),
        ({"joint_names": ["a", "a", "b", "c"]}, "unique"),
        ({"joint_names": ["a", "b\tc", "d", "e"]}, "invalid"),
        ({"joint_names": ["a", " b", "d", "e"]}, "invalid"),
        ({"xyz": np.zeros((5, 4, 2))}, r"\(F, J, 3\)"),
        ({"xyz": np.full((5, 4, 3), np.inf)}, "infinite"),
        ({"fps": 0.0}, "positive"),
        ({"frame_times": np.zeros(3)}, "frame_times"),
    ],
)
def test_invalid_arguments_write_nothing(tmp_path, suffix, change, message):
    args = {"xyz": motion(5), "joint_names": NAMES, "fps": 30.0} | change
    with pytest.raises(ValueError, match=message):
        write_points(tmp_path / f"take{suffix}", **args)
    assert listing(tmp_path) == []


@pytest.mark.parametrize(("option", "message"), [({"units": "km"}, "units"), ({"up_axis": "X"}, "up_axis"),
                                                 ({"missing": "zero"}, "missing")])
def test_invalid_trc_options_write_nothing(tmp_path, option, message):
    with pytest.raises(ValueError, match=message):
        write_points(tmp_path / "take.trc", motion(), NAMES, 30.0, **option)
    assert listing(tmp_path) == []


def test_failed_trc_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "take.trc"
    target.write_text("previous result")

    def rows_then_failure(*args):
        yield ["1.0"] * 3 * len(NAMES)
        raise RuntimeError("disk full")

    monkeypatch.setattr(trc, "_format_cells", rows_then_failure)
    with pytest.raises(RuntimeError, match="disk full"):
        trc.write_trc(target, motion(), NAMES, 30.0)
    assert listing(tmp_path) == ["take.trc"]
    assert target.read_text() == "previous result"


def test_failed_c3d_write_leaves_nothing(tmp_path, monkeypatch):
    pytest.importorskip("ezc3d")

    def half_written(c3d, target):
        Path(target).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(c3d_io, "_write_ezc3d", half_written)
    with pytest.raises(OSError, match="disk full"):
        write_points(tmp_path / "take.c3d", motion(), NAMES, 30.0)
    assert listing(tmp_path) == []
