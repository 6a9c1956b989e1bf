"""BVH reading and forward kinematics: a hand-written file with exact answers, the six real CMU
clips (skipped when ../shared/data/bvh is absent), the CMU -> metric Z-up conversion, bad files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA
from scipy.spatial.transform import Rotation

from mocap.errors import InputError
from mocap.export.bvh import (
    axis_rotation,
    bvh_local_rotations,
    forward_kinematics,
    read_bvh,
)
from mocap.synth.cmu import (
    BVH_TO_WORLD,
    CMU_UNIT_M,
    cmu_files,
    load_cmu_clip,
    resample_linear,
)

BVH_DIR = SHARED_DATA / "bvh"

# Hips -> Knee -> Ankle -> end site; root Z X Y order, the others Z X Y too.
TINY_LINES = [
    "HIERARCHY",
    "ROOT Hips",
    "{",
    "  OFFSET 0 0 0",
    "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
    "  JOINT Knee",
    "  {",
    "    OFFSET 0 -2 0",
    "    CHANNELS 3 Zrotation Xrotation Yrotation",
    "    JOINT Ankle",
    "    {",
    "      OFFSET 0 -3 0",
    "      CHANNELS 3 Zrotation Xrotation Yrotation",
    "      End Site",
    "      {",
    "        OFFSET 0 0 1",
    "      }",
    "    }",
    "  }",
    "}",
    "MOTION",
    "Frames: 4",
    "Frame Time: 0.0333333",
    "0 0 0 0 0 0 0 0 0 0 0 0",  # line 24: rest pose
    "1 2 3 90 0 0 0 0 0 0 0 0",  # root moved and turned 90 deg about Z
    "0 0 0 0 0 0 90 90 0 0 0 0",  # knee: Zrotation 90 then Xrotation 90 (order matters)
    "0 0 0 0 0 0 0 0 0 0 0 90",  # ankle: Yrotation 90
]
TINY = "\n".join(TINY_LINES) + "\n"
FIRST_ROW = 24

# Hips, Knee, Ankle, Ankle_end for each frame, worked out by hand.
TINY_FK = np.array([
    [[0, 0, 0], [0, -2, 0], [0, -5, 0], [0, -5, 1]],
    [[1, 2, 3], [3, 2, 3], [6, 2, 3], [6, 2, 4]],  # Rz(90): (0,-1,0) -> (1,0,0)
    [[0, 0, 0], [0, -2, 0], [0, -2, -3], [1, -2, -3]],  # Rz(90) @ Rx(90)
    [[0, 0, 0], [0, -2, 0], [0, -5, 0], [1, -5, 0]],  # Ry(90): (0,0,1) -> (1,0,0)
], dtype=float)

# name, Frames: header value
CMU_CLIPS = [
    ("cmu_01_01_jumps__fairmotion.bvh", 2752),
    ("cmu_05_20_moderndance__BVH-Examples.bvh", 1096),
    ("cmu_12_01_walk__pybvh.bvh", 524),
    ("cmu_94_01_indiandance__BVH-Examples.bvh", 3602),
    ("cmu_131_01_walk__bvh11.bvh", 994),
    ("cmu_131_03_hop__bvh11.bvh", 1102),
]
WALKS = ["cmu_12_01_walk__pybvh.bvh", "cmu_131_01_walk__bvh11.bvh"]


def write(tmp_path: Path, text: str, name: str = "tiny.bvh", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def cmu_clip(name: str) -> Path:
    path = BVH_DIR / name
    if not path.exists():
        pytest.skip(f"real data not available: {path} (../shared/data/bvh is absent on this machine)")
    return path


# ------------------------------------------------------------------------------------------------
# Hand-written file, exact answers


def test_tiny_skeleton_parses(tmp_path):
    m = read_bvh(write(tmp_path, TINY))
    assert m.joint_names == ("Hips", "Knee", "Ankle", "Ankle_end")
    assert m.parents.tolist() == [-1, 0, 1, 2]
    assert m.end_site.tolist() == [False, False, False, True]
    np.testing.assert_array_equal(m.offsets, [[0, 0, 0], [0, -2, 0], [0, -3, 0], [0, 0, 1]])
    assert m.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    assert m.channels[1] == ("Zrotation", "Xrotation", "Yrotation") and m.channels[3] == ()
    assert m.channel_start.tolist() == [0, 6, 9, 12]
    assert m.motion.shape == (4, 12) and m.n_frames == 4 and m.n_joints == 4
    assert m.frame_time == pytest.approx(0.0333333) and m.fps == 30.0


def test_tiny_forward_kinematics_exact(tmp_path):
    m = read_bvh(write(tmp_path, TINY))
    np.testing.assert_allclose(forward_kinematics(m), TINY_FK, atol=1e-12)


def test_local_rotation_order_is_channel_order(tmp_path):
    rot = bvh_local_rotations(read_bvh(write(tmp_path, TINY)))
    assert rot.shape == (4, 4, 3, 3)
    rz, rx = axis_rotation("Z", 90.0), axis_rotation("X", 90.0)
    np.testing.assert_allclose(rot[2, 1], rz @ rx, atol=1e-12)  # Zrotation Xrotation -> Rz @ Rx
    assert not np.allclose(rz @ rx, rx @ rz)
    np.testing.assert_allclose(rot[:, 3], np.broadcast_to(np.eye(3), (4, 3, 3)))  # end site: identity
    np.testing.assert_allclose(axis_rotation("Z", 90.0) @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_whitespace_variants_parse_the_same(tmp_path):
    messy = "\n".join("\t" * (i % 3) + ln.replace(" ", " \t ") + "  " for i, ln in enumerate(TINY_LINES))
    messy = messy.replace("End Site", "End   Site").replace("MOTION\n", "MOTION\n\n") + "\n\n"
    base = read_bvh(write(tmp_path, TINY))
    for newline in ("\n", "\r\n"):
        m = read_bvh(write(tmp_path, messy, f"messy{len(newline)}.bvh", newline))
        assert m.joint_names == base.joint_names and m.channels == base.channels
        np.testing.assert_array_equal(m.motion, base.motion)
    braces = TINY.replace("ROOT Hips\n{", "ROOT Hips {").replace("End Site\n      {", "End Site {")
    np.testing.assert_array_equal(read_bvh(write(tmp_path, braces, "braces.bvh")).offsets, base.offsets)


def test_tiny_clip_conversion(tmp_path):
    path = write(tmp_path, TINY)
    clip = load_cmu_clip(path)
    xyz, names, fps = clip  # unpacks like a tuple
    assert names == ("Hips", "Knee", "Ankle", "Ankle_end") and fps == 30.0
    # BVH (x, y, z) -> world (x, -z, y), in metres
    np.testing.assert_allclose(xyz, TINY_FK[..., [0, 2, 1]] * [1, -1, 1] * CMU_UNIT_M, atol=1e-12)
    assert np.linalg.det(BVH_TO_WORLD) == pytest.approx(1.0)
    assert CMU_UNIT_M == pytest.approx(0.05644, abs=1e-5)

    centered = load_cmu_clip(path, center=True).xyz
    np.testing.assert_allclose(centered[0, 0, :2], 0, atol=1e-12)
    assert centered[:, 2:, 2].min() == pytest.approx(0.0)  # Ankle/Ankle_end are the feet
    np.testing.assert_allclose(centered - centered[0, 0], xyz - xyz[0, 0], atol=1e-12)  # a pure shift


def test_resampling(tmp_path):
    path = write(tmp_path, TINY)
    xyz = load_cmu_clip(path).xyz
    half = load_cmu_clip(path, fps=15)
    assert half.fps == 15.0
    np.testing.assert_array_equal(half.xyz, xyz[::2])  # exact frames, no blending
    double = load_cmu_clip(path, fps=60).xyz
    assert double.shape == (7, 4, 3)
    np.testing.assert_allclose(double[::2], xyz, atol=1e-15)
    np.testing.assert_allclose(double[1], (xyz[0] + xyz[1]) / 2, atol=1e-15)
    assert resample_linear(np.arange(10.0), 120, 30).tolist() == [0.0, 4.0, 8.0]
    with pytest.raises(ValueError, match="fps"):
        load_cmu_clip(path, fps=0)


def test_cmu_files_empty_when_absent(tmp_path):
    assert cmu_files(tmp_path / "nowhere") == []
    (tmp_path / "bvh").mkdir()
    for name in ("cmu_131_01.bvh", "cmu_94_01.bvh", "notes.txt"):
        (tmp_path / "bvh" / name).write_text("")
    assert [p.name for p in cmu_files(tmp_path)] == ["cmu_94_01.bvh", "cmu_131_01.bvh"]


# ------------------------------------------------------------------------------------------------
# Malformed files: InputError naming the file, the line and a fix


def tiny_with(replace: dict[int, str | None]) -> str:
    """TINY with 1-based lines replaced (None deletes the line)."""
    lines = [replace.get(i + 1, ln) for i, ln in enumerate(TINY_LINES)]
    return "\n".join(ln for ln in lines if ln is not None) + "\n"


@pytest.mark.parametrize("text, fragments", [
    pytest.param(tiny_with({FIRST_ROW + 3: None}), ["line 22", "Frames: 4", "3 rows", "truncated"],
                 id="missing-frame"),
    pytest.param(tiny_with({FIRST_ROW + 3: "0 0 0 0 0 0 0"}), [f"line {FIRST_ROW + 3}", "expected 12 values",
                                                               "found 7", "truncated"], id="cut-row"),
    pytest.param(tiny_with({FIRST_ROW + 1: "1 2 3 90 0 0 0 0 0 0 0 0 5"}), [f"line {FIRST_ROW + 1}", "found 13"],
                 id="extra-value"),
    pytest.param(tiny_with({FIRST_ROW + 2: "0 0 0 0 0 0 90 abc 0 0 0 0"}), [f"line {FIRST_ROW + 2}", "'abc'",
                                                                            "not a finite number"], id="non-numeric"),
    pytest.param(tiny_with({FIRST_ROW + 2: "0 0 0 0 0 0 90 nan 0 0 0 0"}), [f"line {FIRST_ROW + 2}", "'nan'"],
                 id="nan"),
    pytest.param(tiny_with({9: "    CHANNELS 3 Zrotation Xrotation"}),
                 ["line 9", "says 3 channels", "'JOINT' (line 10)"], id="channels-too-few"),
    pytest.param(tiny_with({9: "    CHANNELS 2 Zrotation Xrotation Yrotation"}), ["line 9", "more channels"],
                 id="channels-too-many"),
    pytest.param(tiny_with({9: "    CHANNELS 3 Zrotation Wrotation Yrotation"}), ["line 9", "'Wrotation'"],
                 id="bad-channel-name"),
    pytest.param(tiny_with({8: "    OFFSET 0 -2 x"}), ["line 8", "OFFSET of 'Knee'", "'x'"], id="bad-offset"),
    pytest.param("\n".join(TINY_LINES[:20]) + "\n", ["line 20", "'MOTION'", "truncated"], id="no-motion"),
    pytest.param("\n".join(TINY_LINES[:12]) + "\n", ["line 12", "truncated"], id="cut-hierarchy"),
    pytest.param(tiny_with({22: "Frames: four"}), ["Frames: four", "whole number"], id="bad-frames"),
    pytest.param(tiny_with({23: None}), ["line 23", "Frame Time:"], id="no-frame-time"),
    pytest.param(tiny_with({10: "    JOINT Knee"}), ["line 10", "'Knee' is used twice"], id="duplicate-name"),
    pytest.param("hello\n", ["line 1", "HIERARCHY"], id="not-bvh"),
    pytest.param("", ["empty"], id="empty"),
])
def test_malformed_file_raises_input_error(tmp_path, text, fragments):
    path = write(tmp_path, text, "broken.bvh")
    with pytest.raises(InputError) as info:
        read_bvh(path)
    message = str(info.value)
    assert info.value.path == path and "broken.bvh" in message and "fix:" in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read") as info:
        read_bvh(tmp_path / "absent.bvh")
    assert "absent.bvh" in str(info.value) and info.value.fix


@pytest.mark.shared_data
def test_truncated_real_clip(tmp_path):
    src = cmu_clip("cmu_12_01_walk__pybvh.bvh").read_bytes()
    path = tmp_path / "cut.bvh"
    path.write_bytes(src[: len(src) * 2 // 3])  # cut mid-row, as an interrupted copy would
    with pytest.raises(InputError, match=r"line \d+: expected 96 values") as info:
        read_bvh(path)
    assert "cut.bvh" in str(info.value)


# ------------------------------------------------------------------------------------------------
# The six real CMU clips


@pytest.mark.shared_data
@pytest.mark.parametrize("name, n_frames", CMU_CLIPS)
def test_cmu_clip_parses(name, n_frames):
    path = cmu_clip(name)
    header = int(re.search(r"Frames:\s*(\d+)", path.read_text()).group(1))
    m = read_bvh(path)
    assert header == n_frames == m.n_frames
    assert m.motion.shape == (n_frames, 96) and np.all(np.isfinite(m.motion))
    assert m.n_joints == 31 + 7 and (~m.end_site).sum() == 31
    assert sum(len(c) for c in m.channels) == 96
    assert m.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation")
    for chans, is_end in zip(m.channels[1:], m.end_site[1:]):  # ZYX legs and spine, ZXY arms in some
        assert sorted(chans) == ([] if is_end else ["Xrotation", "Yrotation", "Zrotation"])
    assert m.parents[0] == -1 and np.all(m.parents[1:] >= 0) and m.fps == 120.0
    assert "Head_end" in m.joint_names


@pytest.mark.shared_data
@pytest.mark.parametrize("name", [c[0] for c in CMU_CLIPS])
def test_cmu_bone_lengths_constant(name):
    m = read_bvh(cmu_clip(name))
    xyz = forward_kinematics(m)
    lengths = np.linalg.norm(xyz[:, 1:] - xyz[:, m.parents[1:]], axis=-1)  # (F, J-1)
    rest = np.linalg.norm(m.offsets[1:], axis=-1)
    assert np.all(np.std(lengths, axis=0) <= 1e-9 * np.maximum(rest, 1.0))
    np.testing.assert_allclose(lengths.mean(axis=0), rest, rtol=1e-9, atol=1e-9)


@pytest.mark.shared_data
def test_cmu_euler_matches_scipy():
    m = read_bvh(cmu_clip("cmu_131_01_walk__bvh11.bvh"))  # legs Zrotation Yrotation Xrotation, arms Z X Y
    rot = bvh_local_rotations(m)
    orders = set()
    for j, chans in enumerate(m.channels):
        angles = [k for k, c in enumerate(chans) if c.endswith("rotation")]
        if not angles:
            continue
        order = "".join(chans[k][0] for k in angles)  # uppercase = intrinsic in scipy
        cols = m.channel_start[j] + np.array(angles)
        expected = Rotation.from_euler(order, m.motion[:, cols], degrees=True).as_matrix()
        np.testing.assert_allclose(rot[:, j], expected, atol=1e-12)
        orders.add(order)
    assert orders == {"ZYX", "ZXY"}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", WALKS)
def test_walking_clip_is_metric_and_upright(name):
    xyz, names, fps = load_cmu_clip(cmu_clip(name), center=True)
    assert fps == 120.0 and xyz.shape[1:] == (38, 3)
    feet = [i for i, n in enumerate(names) if re.search("foot|toe|ankle", n, re.I)]
    head, hips = names.index("Head_end"), names.index("Hips")
    lowest_foot = xyz[:, feet, 2].min(axis=1)

    np.testing.assert_allclose(xyz[0, hips, :2], 0, atol=1e-12)
    assert lowest_foot.min() == pytest.approx(0.0, abs=1e-12)
    assert np.percentile(lowest_foot, 10) < 0.05 and np.median(lowest_foot) < 0.1  # feet on the floor
    # Z is up: head over hips over feet in every frame, hips at hip height, walking is horizontal.
    assert np.all(xyz[:, head, 2] > xyz[:, hips, 2]) and np.all(xyz[:, hips, 2] > xyz[:, feet, 2].max(axis=1))
    assert 0.8 < np.median(xyz[:, hips, 2]) < 1.05
    assert np.ptp(xyz[:, hips, :2], axis=0).max() > 2.0  # walks across the floor
    # The Head end site is the top of CMU's short head bone, about 10-15 cm below the crown, so
    # head-end-to-floor is about 1.35-1.4 m for these 1.5-1.7 m subjects (inches would give 0.6 m).
    assert 1.25 < np.median(xyz[:, head, 2] - lowest_foot) < 1.6


@pytest.mark.shared_data
def test_cmu_clip_resampled_to_30_fps():
    path = cmu_clip("cmu_12_01_walk__pybvh.bvh")
    full = load_cmu_clip(path).xyz
    xyz, _, fps = load_cmu_clip(path, fps=30)
    assert fps == 30.0 and xyz.shape == (131, 38, 3)
    np.testing.assert_array_equal(xyz, full[::4])
    assert load_cmu_clip(path, fps=50).xyz.shape[0] == (524 - 1) * 50 // 120 + 1


@pytest.mark.shared_data
def test_cmu_files_lists_the_shared_clips():
    if not BVH_DIR.is_dir():
        pytest.skip(f"real data not available: {BVH_DIR}")
    assert [p.name for p in cmu_files(BVH_DIR.parent)] == [c[0] for c in CMU_CLIPS]
