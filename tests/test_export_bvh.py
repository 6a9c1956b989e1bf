"""BVH export: round trips through our reader and Blender's importer (Y/Z up, m/cm, Euler orders), the file
layout, `mocap export` (bvh, amass, trc, missing fbx exporter), bad input; CMU clips on every preset when
../shared/data is there."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA
from scipy.spatial.transform import Rotation
from test_retarget import random_motion

from mocap.body.animation import from_body_motion
from mocap.body.motion import BodyMotion
from mocap.errors import InputError, MocapError
from mocap.export.bvh import (
    ROTATION_ORDERS,
    bvh_to_animation,
    matrix_to_euler,
    read_bvh,
    write_bvh,
)
from mocap.export.export import export_motion, export_path, resolve_input
from mocap.export.retarget import retarget
from mocap.export.rigs import list_rigs, load_rig
from mocap.io.trc import read_trc

TOL_M = 1e-4  # 0.1 mm
BVH_DIR = SHARED_DATA / "bvh"


def _positions(anim, names=None) -> np.ndarray:
    P = anim.world_transforms()[0]
    return P if names is None else P[:, [anim.names.index(n) for n in names]]


@pytest.mark.parametrize("up, scale, order", [("Y", 1.0, "ZXY"), ("Z", 100.0, "ZXY"), ("Y", 100.0, "XYZ"),
                                              ("Z", 1.0, "YZX")])
def test_written_bvh_reads_back_to_the_same_joints(tmp_path, up, scale, order):
    anim = from_body_motion(random_motion())
    path = write_bvh(tmp_path / "take.bvh", anim, up=up, scale=scale, rotation_order=order)
    back = bvh_to_animation(read_bvh(path), up=up, metres_per_unit=1.0 / scale)
    assert back.fps == anim.fps and back.n_frames == anim.n_frames
    assert np.abs(_positions(back, anim.names) - _positions(anim)).max() < TOL_M  # measured < 0.001 mm


def test_file_layout(tmp_path):
    anim = from_body_motion(random_motion(F=7))
    text = write_bvh(tmp_path / "take.bvh", anim).read_text()
    lines = text.splitlines()
    assert lines[:5] == ["HIERARCHY", "ROOT pelvis", "{", "\tOFFSET 0.000000 0.000000 0.000000",
                         "\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"]
    assert text.count("CHANNELS 3 Zrotation Xrotation Yrotation") == 54
    leaves = sum(1 for j in range(55) if j not in anim.parents)
    assert text.count("End Site") == leaves
    assert "Frames: 7\nFrame Time: 0.03333333\n" in text
    assert len(lines[lines.index("Frames: 7") + 2].split()) == 6 + 3 * 54
    # Y up: a left hip (world +X, slightly below the pelvis) has a positive X and a negative Y offset
    offset = np.array(lines[lines.index("\tJOINT left_hip") + 2].split()[1:], float)
    assert offset[0] > 0 and offset[1] < 0


def test_euler_decomposition_matches_scipy():
    R = Rotation.random(200, random_state=3)
    for order in ROTATION_ORDERS:
        ours = matrix_to_euler(R.as_matrix(), order)
        assert np.allclose(Rotation.from_euler(order, ours, degrees=True).as_matrix(), R.as_matrix(), atol=1e-12)


def test_angles_are_continuous(tmp_path):
    F = 50
    pose = np.zeros((F, 55, 3))
    pose[:, 0] = [np.pi / 2, 0, 0]
    pose[:, 16, 1] = np.linspace(0, 4 * np.pi, F)  # two full turns of the left shoulder
    motion = BodyMotion.from_full_pose(pose, np.zeros((F, 3)), np.zeros(10), random_motion().rest_joints, 30.0)
    mo = read_bvh(write_bvh(tmp_path / "spin.bvh", from_body_motion(motion)))
    assert np.abs(np.diff(mo.motion[:, 3:], axis=0)).max() < 20  # no 360-degree jumps


def test_retargeted_rig_with_end_sites_round_trips(tmp_path):
    rig = load_rig("mixamo")
    anim = retarget(from_body_motion(random_motion()), rig)
    tips = {n: t - h for n, h, t in zip(rig.names, rig.heads, rig.tails)}
    mo = read_bvh(write_bvh(tmp_path / "mixamo.bvh", anim, scale=100.0, end_sites=tips))
    assert mo.joint_names[0] == "mixamorig:Hips"
    back = bvh_to_animation(mo, metres_per_unit=0.01)
    assert np.abs(_positions(back, anim.names) - _positions(anim)).max() < TOL_M
    end = mo.joint_index("mixamorig:HeadTop_End_end")
    assert np.allclose(mo.offsets[end], [0, 5, 0], atol=1e-4)  # the preset's tail, 5 cm up, in cm (Y up)


def test_non_finite_animation_is_refused(tmp_path):
    anim = from_body_motion(random_motion(F=5))
    L = anim.local_rotations.copy()
    L[2, 3] = np.nan
    bad = type(anim)(**{**anim.__dict__, "local_rotations": L})
    with pytest.raises(InputError, match="non-finite values in 1 frame"):
        write_bvh(tmp_path / "bad.bvh", bad)
    assert not (tmp_path / "bad.bvh").exists()


def _blender_positions(path: Path, names, n_frames: int, **import_args) -> np.ndarray:
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_anim.bvh(filepath=str(path), rotate_mode="QUATERNION", update_scene_fps=True,
                            update_scene_duration=True, **import_args)
    obj, scene = bpy.context.view_layer.objects.active, bpy.context.scene
    out = np.zeros((n_frames, len(names), 3))
    for f in range(n_frames):
        scene.frame_set(f + 1)
        M = np.array(obj.matrix_world)
        out[f] = [M[:3, :3] @ np.array(obj.pose.bones[n].head) + M[:3, 3] for n in names]
    return out


@pytest.mark.parametrize("up, scale", [("Y", 1.0), ("Z", 100.0)])
def test_blender_imports_the_same_joint_positions(tmp_path, up, scale):
    anim = from_body_motion(random_motion(F=12))
    path = write_bvh(tmp_path / "take.bvh", anim, up=up, scale=scale)
    axes = dict(axis_forward="-Z", axis_up="Y") if up == "Y" else dict(axis_forward="Y", axis_up="Z")
    got = _blender_positions(path, anim.names, anim.n_frames, global_scale=1.0 / scale, **axes)
    assert np.abs(got - _positions(anim)).max() < TOL_M  # measured 0.045 mm (Y up), 0.002 mm (Z up)


# ----------------------------------------------------------------------------------------------
# export_motion and the CLI


@pytest.fixture
def take_dir(tmp_path) -> Path:
    take = tmp_path / "walk1"
    random_motion(F=10).save(take / "body_motion.npz")
    return take


def test_export_formats(take_dir):
    npz, take = resolve_input(take_dir)
    assert take.name == "walk1"
    motion = BodyMotion.load(npz)
    bvh = export_motion(motion, export_path(take, "bvh", "ue5_mannequin"), "bvh", "ue5_mannequin", units="cm")
    assert bvh == take_dir / "export" / "walk1_ue5_mannequin.bvh"
    assert read_bvh(bvh).joint_names[0] == "root"
    amass = export_motion(motion, export_path(take, "amass"), "amass")
    assert amass.name == "walk1_smplx.npz" and np.allclose(BodyMotion.load(amass).full_pose(), motion.full_pose(),
                                                           atol=1e-6)
    trc = export_motion(motion, take_dir / "export" / "walk1.trc", "trc", up="Z")
    points = read_trc(trc, up_axis="Z")
    assert np.abs(points.xyz - motion.joint_positions()).max() < 1e-6


def test_export_errors(take_dir, monkeypatch):
    motion = BodyMotion.load(take_dir / "body_motion.npz")
    with pytest.raises(InputError, match="unknown rig preset 'nope'; known presets: mixamo"):
        export_motion(motion, take_dir / "x.bvh", "bvh", "nope")
    with pytest.raises(MocapError, match="unknown export format 'abc'"):
        export_motion(motion, take_dir / "x.abc", "abc")
    with pytest.raises(InputError, match="--rig does not apply"):
        export_motion(motion, take_dir / "x.npz", "amass", "mixamo")
    with pytest.raises(InputError, match="no body motion"):
        resolve_input(take_dir / "missing")
    monkeypatch.setitem(sys.modules, "bpy", None)  # as if Blender's module were not installed
    with pytest.raises(MocapError, match="FBX export needs Blender's Python module bpy"):
        export_motion(motion, take_dir / "x.fbx", "fbx")
    assert not (take_dir / "x.fbx").exists()


def test_cli_export(take_dir):
    from click.testing import CliRunner

    from mocap.cli import cli

    result = CliRunner().invoke(cli, ["export", str(take_dir), "--format", "bvh", "--rig", "mixamo", "--up", "Z"])
    assert result.exit_code == 0, result.output
    assert (take_dir / "export" / "walk1_mixamo.bvh").is_file()
    out = take_dir / "mine.bvh"
    result = CliRunner().invoke(cli, ["export", str(take_dir / "body_motion.npz"), "-f", "bvh", "-o", str(out)])
    assert result.exit_code == 0 and out.is_file()


# ----------------------------------------------------------------------------------------------
# CMU clips (real data)


@pytest.mark.shared_data
def test_cmu_clip_on_every_preset(tmp_path):
    from mocap.synth.cmu import CMU_UNIT_M

    path = BVH_DIR / "cmu_01_01_jumps__fairmotion.bvh"
    if not path.is_file():
        pytest.skip(f"real data not available: {path}")
    clip = bvh_to_animation(read_bvh(path), metres_per_unit=CMU_UNIT_M)
    clip = type(clip)(**{**clip.__dict__, "local_rotations": clip.local_rotations[:240:4],
                         "root_positions": clip.root_positions[:240:4], "fps": clip.fps / 4})
    # our reader and bvh_to_animation agree with the CMU loader's positions
    from mocap.synth.cmu import load_cmu_clip

    xyz = load_cmu_clip(path).xyz[:240:4]
    assert np.abs(_positions(clip) - xyz).max() < 1e-9
    for name in list_rigs():
        anim = retarget(clip, load_rig(name))
        back = bvh_to_animation(read_bvh(write_bvh(tmp_path / f"{name}.bvh", anim, scale=100.0)),
                                metres_per_unit=0.01)
        assert np.abs(_positions(back, anim.names) - _positions(anim)).max() < TOL_M
