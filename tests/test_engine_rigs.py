"""Game-engine rig conventions: UE5's root stays on the ground under the pelvis, its ik_* bones follow the feet
and hands, and both survive BVH and FBX round trips (the FBX with Epic's own export settings)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mocap.body import lbs
from mocap.body.animation import SkeletonAnimation, from_body_motion
from mocap.body.motion import BodyMotion
from mocap.export.bvh import bvh_to_animation, read_bvh, write_bvh
from mocap.export.retarget import engine_bones, retarget
from mocap.export.rigs import load_rig

FOLLOWS = {"ik_foot_l": "foot_l", "ik_foot_r": "foot_r", "ik_hand_gun": "hand_r", "ik_hand_r": "hand_r",
           "ik_hand_l": "hand_l"}


def squat_and_turn(F: int = 40) -> BodyMotion:
    """A squat (pelvis down 0.35 m) while walking 0.5 m and turning 90 degrees."""
    model = lbs.load_model()
    rest = lbs.rest_joints(model, np.zeros(10))
    t = np.linspace(0, 1, F)
    pose = np.zeros((F, 55, 3))
    depth = np.sin(np.pi * t)
    pose[:, 1, 0] = pose[:, 2, 0] = -1.6 * depth  # hips flex
    pose[:, 4, 0] = pose[:, 5, 0] = 2.4 * depth  # knees bend
    pose[:, 7, 0] = pose[:, 8, 0] = -0.8 * depth  # ankles
    yaw = 0.5 * np.pi * t
    from mocap.geometry import Y_UP_TO_Z_UP, axis_angle_to_matrix, matrix_to_axis_angle

    Rz = axis_angle_to_matrix(np.stack([0 * yaw, 0 * yaw, yaw], 1))
    pose[:, 0] = matrix_to_axis_angle(Rz @ Y_UP_TO_Z_UP)
    transl = np.stack([0.5 * t, 0 * t, -0.35 * depth], 1)
    return BodyMotion.from_full_pose(pose, transl, np.zeros(10), rest, 30.0)


@pytest.fixture(scope="module")
def ue5():
    source = from_body_motion(squat_and_turn())
    rig = load_rig("ue5_mannequin")
    out = retarget(source, rig, foot_locking=False)
    plain = retarget(source, replace(rig, root_motion="pelvis", follows=(None,) * len(rig.names)),
                     foot_locking=False)
    return rig, out, plain


def test_ue5_root_stays_on_the_ground_under_the_pelvis(ue5):
    rig, out, plain = ue5
    P, _ = out.world_transforms()
    root, pelvis = rig.index("root"), rig.index("pelvis")
    assert np.abs(P[:, root, 2]).max() < 1e-9  # on the floor in every frame, squat or not
    np.testing.assert_allclose(P[:, root, :2], P[:, pelvis, :2], atol=1e-9)  # right under the pelvis
    assert P[:, pelvis, 2].max() - P[:, pelvis, 2].min() > 0.25  # the pelvis itself goes down
    _, W = out.world_transforms()
    np.testing.assert_allclose(W[:, root], np.broadcast_to(out.rest_orientations[root], W[:, root].shape), atol=1e-9)


def test_ue5_body_moves_as_without_the_root_convention(ue5):
    rig, out, plain = ue5
    P, W = out.world_transforms()
    P0, W0 = plain.world_transforms()
    body = [j for j, n in enumerate(rig.names) if n != "root" and not n.startswith("ik_")]
    np.testing.assert_allclose(P[:, body], P0[:, body], atol=1e-7)
    np.testing.assert_allclose(W[:, body], W0[:, body], atol=1e-7)


def test_ue5_ik_bones_follow_feet_and_hands(ue5):
    rig, out, _ = ue5
    P, W = out.world_transforms()
    for ik, bone in FOLLOWS.items():
        a, b = rig.index(ik), rig.index(bone)
        np.testing.assert_allclose(P[:, a], P[:, b], atol=1e-7, err_msg=ik)
        np.testing.assert_allclose(W[:, a], W[:, b], atol=1e-7, err_msg=ik)


def test_engine_bones_fixed_root():
    source = from_body_motion(squat_and_turn(10))
    rig = load_rig("ue5_mannequin")
    out = retarget(source, replace(rig, root_motion="fixed"), foot_locking=False)
    P, _ = out.world_transforms()
    np.testing.assert_allclose(P[:, 0], np.broadcast_to(out.rest_positions[0], P[:, 0].shape), atol=1e-9)
    assert engine_bones(out, 1, "pelvis") is out


def test_translated_joints_survive_bvh(ue5, tmp_path):
    rig, out, _ = ue5
    assert out.local_translations is not None
    for up, scale in (("Y", 100.0), ("Z", 1.0)):
        path = write_bvh(tmp_path / f"ue5_{up}.bvh", out, up=up, scale=scale)
        text = path.read_text()
        assert "JOINT pelvis" in text and text.count("CHANNELS 6") >= 2  # root and pelvis carry positions
        back = bvh_to_animation(read_bvh(path), up=up, metres_per_unit=1 / scale)
        P, _ = out.world_transforms()
        Pb, _ = back.world_transforms()
        idx = [back.names.index(n) for n in out.names]
        np.testing.assert_allclose(Pb[:, idx], P, atol=2e-5)


def test_skeleton_animation_translations_shape():
    a = from_body_motion(squat_and_turn(3))
    with pytest.raises(ValueError, match="local_translations"):
        SkeletonAnimation(a.names, a.parents, a.rest_positions, a.rest_orientations, a.local_rotations,
                          a.root_positions, a.fps, local_translations=np.zeros((3, 2, 3)))


@pytest.mark.slow
def test_ue5_fbx_for_unreal_reimports_with_root_on_the_ground(tmp_path):
    """The CLI's UE5 export: Epic's settings (Z up, Y forward), the armature object named "Armature" (Unreal
    skips it, so 'root' stays the root bone), root on the ground, ik bones on the feet."""
    bpy = pytest.importorskip("bpy")
    from mocap.export.blender_scene import read_armature_animation
    from mocap.export.export import export_motion

    motion = squat_and_turn(12)
    path = export_motion(motion, tmp_path / "take_ue5.fbx", "fbx", "ue5_mannequin", foot_locking=False)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = 30
    bpy.ops.import_scene.fbx(filepath=str(path), automatic_bone_orientation=False)
    arms = [o for o in bpy.context.scene.objects if o.type == "ARMATURE"]
    assert [o.name for o in arms] == ["Armature"]
    bones = arms[0].data.bones
    assert bones[0].name == "root" and bones["pelvis"].parent.name == "root"
    assert not [b.name for b in bones if b.name.endswith("_end")]  # no leaf bones
    anim = read_armature_animation(arms[0], 1, 12, 30.0)
    P, _ = anim.world_transforms()
    names = list(anim.names)
    assert np.abs(P[:, names.index("root"), 2]).max() < 1e-3
    np.testing.assert_allclose(P[:, names.index("ik_foot_l")], P[:, names.index("foot_l")], atol=1e-3)
    expected, _ = retarget(from_body_motion(motion), load_rig("ue5_mannequin"), foot_locking=False).world_transforms()
    rig_names = list(load_rig("ue5_mannequin").names)
    np.testing.assert_allclose(P[:, names.index("pelvis")], expected[:, rig_names.index("pelvis")], atol=2e-3)


@pytest.mark.slow
def test_unreal_preset_renames_the_armature_and_changes_axes(tmp_path):
    bpy = pytest.importorskip("bpy")
    from mocap.export.blender_export import export_blender

    anim = from_body_motion(squat_and_turn(4))
    default = export_blender(anim, tmp_path / "default.fbx", name="Take")
    unreal = export_blender(anim, tmp_path / "unreal.fbx", preset_axes="unreal", name="Take")
    assert "Take" in bpy.data.objects and "Armature" not in bpy.data.objects  # the user's name is restored
    a, b = default.read_bytes(), unreal.read_bytes()
    assert sum(x != y for x, y in zip(a, b)) > 100  # not the same file with a few bytes changed
    for path, name in ((default, "Take"), (unreal, "Armature")):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.ops.import_scene.fbx(filepath=str(path))
        assert [o.name for o in bpy.context.scene.objects if o.type == "ARMATURE"] == [name]
