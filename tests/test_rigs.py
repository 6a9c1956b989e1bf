"""Rig presets: every shipped preset loads and looks like its rig (proportions, rest pose, fingers), bone frames
match Blender's, and broken custom rigs fail with errors that name the file and the bone."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.body.skeleton import JOINT_NAMES
from mocap.errors import InputError
from mocap.export.rigs import (
    RIGS_DIR_ENV,
    bone_matrices,
    list_rigs,
    load_rig,
    rig_rest_animation,
)

PRESETS = ("mixamo", "ue5_mannequin", "rigify", "unity_humanoid", "smplx")
BODY = ("pelvis", "spine1", "spine2", "spine3", "neck", "head") + tuple(
    f"{s}_{j}" for s in ("left", "right")
    for j in ("collar", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "foot"))
FINGERS = tuple(f"{s}_{f}{k}" for s in ("left", "right") for f in ("thumb", "index", "middle", "ring", "pinky")
                for k in (1, 2, 3))


def _arm_drop_deg(rig, side: str) -> float:
    """How far the upper arm points below horizontal at rest, degrees."""
    a, b = rig.heads[rig.sources.index(f"{side}_shoulder")], rig.heads[rig.sources.index(f"{side}_elbow")]
    return float(np.degrees(np.arcsin((a[2] - b[2]) / np.linalg.norm(b - a))))


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_and_is_a_plausible_adult(name):
    rig = load_rig(name)
    assert rig.name == name and rig.description and rig.path.name == f"{name}.toml"
    assert len(set(rig.names)) == len(rig.names) and rig.parents[0] == -1
    assert all(p < j for j, p in enumerate(rig.parents))
    sources = [s for s in rig.sources if s]
    assert len(set(sources)) == len(sources) and set(sources) <= set(JOINT_NAMES)
    assert set(BODY) <= set(sources)  # the whole body is mapped, legs included (foot locking)
    assert set(FINGERS) <= set(sources)  # 3 segments x 5 fingers per hand
    heads = rig.heads
    assert 1.55 < heads[:, 2].max() < 1.80 and heads[:, 2].min() >= 0.0  # head top, feet on the floor
    ankle = heads[rig.sources.index("left_ankle")]
    assert 0.05 < ankle[2] < 0.12 and ankle[0] > 0  # the left side is +X
    toe = heads[rig.sources.index("left_foot")]
    assert toe[1] < ankle[1]  # facing -Y
    anim = rig_rest_animation(rig)
    assert np.abs(anim.world_transforms()[0][0] - heads).max() < 1e-12


@pytest.mark.parametrize("name, low, high", [("mixamo", -1, 1), ("unity_humanoid", -1, 1), ("smplx", -1, 1),
                                             ("ue5_mannequin", 40, 50), ("rigify", 20, 30)])
def test_rest_pose_arms(name, low, high):
    rig = load_rig(name)
    for side in ("left", "right"):
        assert low < _arm_drop_deg(rig, side) < high


def test_preset_specific_bones():
    ue5 = load_rig("ue5_mannequin")
    assert ue5.names[0] == "root" and ue5.sources[0] is None
    assert {f"spine_0{k}" for k in range(1, 6)} | {"neck_01", "neck_02", "ik_foot_l", "lowerarm_twist_01_l"} \
        <= set(ue5.names)
    assert ue5.twist_sources[ue5.index("lowerarm_twist_01_l")] == "left_wrist"
    mixamo = load_rig("mixamo")
    assert mixamo.bone_map["mixamorig:LeftArm"] == "left_shoulder"
    assert mixamo.bone_map["mixamorig:LeftShoulder"] == "left_collar"
    assert "mixamorig:LeftHandIndex4" in mixamo.names and "mixamorig:LeftHandIndex4" not in mixamo.bone_map
    rigify = load_rig("rigify")
    assert all(n.startswith("DEF-") for n in rigify.names)
    assert rigify.bone_map["DEF-forearm.L"] == "left_elbow" and "DEF-forearm.L.001" not in rigify.bone_map
    smplx = load_rig("smplx")
    assert smplx.bone_map == {n: n for n in JOINT_NAMES}


def test_bone_frames_match_blender():
    bpy = pytest.importorskip("bpy")
    rig = load_rig("ue5_mannequin")  # rolls of 0 and +-90 degrees, a bone along -Y (root)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm = bpy.data.armatures.new("rig")
    obj = bpy.data.objects.new("rig", arm)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for n, h, t, r in zip(rig.names, rig.heads, rig.tails, rig.rolls):
        bone = arm.edit_bones.new(n)
        bone.head, bone.tail, bone.roll = h, t, np.radians(r)
    bpy.ops.object.mode_set(mode="OBJECT")
    blender = np.array([np.array(arm.bones[n].matrix_local.to_3x3()) for n in rig.names])
    assert np.abs(blender - rig.rest_orientations()).max() < 1e-4  # measured 1.4e-5 (float32, series near -Y)


def test_bone_matrices_are_rotations_with_y_along_the_bone():
    rng = np.random.default_rng(0)
    d = np.concatenate([rng.normal(size=(200, 3)), [[0, -1, 0], [1e-3, -1, 0], [0, 1, 0], [0.01, -1, 0.02]]])
    M = bone_matrices(d, rng.uniform(-np.pi, np.pi, len(d)))
    assert np.abs(np.swapaxes(M, -1, -2) @ M - np.eye(3)).max() < 1e-12
    assert np.allclose(np.linalg.det(M), 1.0)
    assert np.allclose(M[:, :, 1], d / np.linalg.norm(d, axis=1, keepdims=True), atol=1e-7)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(InputError, match="unknown rig preset 'blender'; known presets: mixamo, rigify, smplx"):
        load_rig("blender")
    assert set(PRESETS) <= set(list_rigs())


def test_missing_rigs_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(RIGS_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match=f"(?s)rig presets folder .*nowhere is missing.*{RIGS_DIR_ENV}"):
        load_rig("mixamo")
    monkeypatch.setenv(RIGS_DIR_ENV, str(tmp_path))
    (tmp_path / "tiny.toml").write_text(_rig(_bone("Hips", None, "pelvis")))
    assert list_rigs() == ["tiny"] and load_rig("tiny").names == ("Hips",)


def _bone(name, parent=None, source=None, head=(0, 0, 1), tail=(0, 0, 1.1)) -> str:
    lines = ["[[bones]]", f'name = "{name}"', f"head = {list(head)}", f"tail = {list(tail)}"]
    if parent:
        lines.append(f'parent = "{parent}"')
    if source:
        lines.append(f'source = "{source}"')
    return "\n".join(lines) + "\n"


def _rig(*bones: str, header: str = 'schema_version = 1\nname = "custom"\n') -> str:
    return header + "\n".join(bones)


@pytest.mark.parametrize("text, message", [
    (_rig(_bone("Hips"), _bone("Spine", "Chest")), r"bone 'Spine': parent 'Chest' is not a bone of this rig"),
    (_rig(_bone("Hips"), _bone("A", "B"), _bone("B", "A")), r"parents of these bones form a cycle: A, B"),
    (_rig(_bone("A", "B"), _bone("B", "A")), r"exactly one root bone .* none \(the parents form a cycle\)"),
    (_rig(_bone("Hips"), _bone("Other")), r"exactly one root bone .* found 2: Hips, Other"),
    (_rig(_bone("Hips", source="left_hips")), r"source 'left_hips' is not an SMPL-X joint \(did you mean left_hip"),
    (_rig(_bone("Hips"), _bone("Hips")), r"bone 'Hips' is listed twice"),
    (_rig(_bone("Hips", tail=(0, 0, 1))), r"bone 'Hips' has zero length"),
    (_rig(_bone("Hips", head=(0, 1))), r"bone 'Hips': head must be three numbers"),
    (_rig(_bone("Hips"), header="name = 'x'\n"), r"schema_version is None"),
    ("schema_version = 1\n", r"no \[\[bones\]\] entries"),
    ("schema_version = [", r"cannot read the rig file"),
])
def test_broken_custom_rigs_name_the_file_and_bone(tmp_path, text, message):
    path = tmp_path / "custom.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        load_rig(path)
    assert info.value.path == path


def test_custom_rig_in_any_order(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(_rig(_bone("Shin", "Thigh", "left_knee", head=(0.1, 0, 0.5), tail=(0.1, 0, 0.1)),
                         _bone("Thigh", "Hips", "left_hip", head=(0.1, 0, 0.9), tail=(0.1, 0, 0.5)),
                         _bone("Hips", None, "pelvis")))
    rig = load_rig(str(path))
    assert rig.names == ("Hips", "Thigh", "Shin") and rig.parents == (-1, 0, 1)
    assert rig.up == "Z" and rig.forward == "-Y"  # defaults


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such rig file"):
        load_rig(tmp_path / "absent.toml")
