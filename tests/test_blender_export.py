"""FBX / GLB through Blender: files re-import with the same world joint positions on every frame; bone frames."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from blender_samples import max_joint_error, reimport, sample_motion
from conftest import ring

from mocap.body import skeleton
from mocap.body.animation import SkeletonAnimation, from_body_motion
from mocap.camera import CameraRig
from mocap.export import bone_frames
from mocap.geometry import (
    axis_angle_to_matrix,
    continuous_quaternions,
    matrix_to_quaternion,
)


def _random_rotations(rng, shape) -> np.ndarray:
    return axis_angle_to_matrix(rng.normal(0, 1.0, shape + (3,)))


def _world_deltas(anim: SkeletonAnimation) -> np.ndarray:
    _, W = anim.world_transforms()
    return np.einsum("fjab,jcb->fjac", W, anim.rest_orientations)


# -- pure numpy -----------------------------------------------------------------------------------------------

def test_reorient_preserves_world_positions_and_rotations():
    rng = np.random.default_rng(3)
    anim = from_body_motion(sample_motion(12))
    new = _random_rotations(rng, (len(anim.names),))
    out = bone_frames.reorient(anim, new)
    P0, _ = anim.world_transforms()
    P1, W1 = out.world_transforms()
    assert np.abs(P1 - P0).max() < 1e-12
    assert np.abs(_world_deltas(out) - _world_deltas(anim)).max() < 1e-12
    np.testing.assert_allclose(W1[:, :, :, :], np.einsum("fjab,jbc->fjac", _world_deltas(anim), new), atol=1e-12)
    back = bone_frames.reorient(out, anim.rest_orientations)
    assert np.abs(back.local_rotations - anim.local_rotations).max() < 1e-12


def test_child_pointing_bones_point_at_children_and_keep_roll():
    anim = from_body_motion(sample_motion(2))
    B = bone_frames.child_pointing_orientations(anim)
    r = anim.rest_positions
    idx = skeleton.joint_index
    for joint, child in (("left_knee", "left_ankle"), ("right_elbow", "right_wrist"), ("spine1", "spine2"),
                         ("pelvis", "spine1"), ("neck", "head"), ("left_wrist", "left_middle1")):
        d = r[idx(child)] - r[idx(joint)]
        assert B[idx(joint)][:, 1] @ d / np.linalg.norm(d) > 0.999, joint
    assert np.allclose(np.einsum("jab,jac->jbc", B, B), np.eye(3), atol=1e-12)  # orthonormal
    assert np.allclose(np.linalg.det(B), 1.0)
    # smallest turn from the model frame: a spine bone tilts about the body's left-right axis only
    assert np.allclose(B[idx("spine2")][:, 0], anim.rest_orientations[idx("spine2")][:, 0], atol=1e-3)


def test_matrix_to_quaternion_round_trip():
    rng = np.random.default_rng(0)
    R = _random_rotations(rng, (200,))
    R[:4] = [np.eye(3), np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]), np.diag([-1.0, -1, 1])]
    q = matrix_to_quaternion(R)
    w, x, y, z = q.T
    back = np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
                     2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                     2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=1).reshape(-1, 3, 3)
    assert np.abs(back - R).max() < 1e-12
    flipped = continuous_quaternions(np.stack([q[5], -q[5], q[5]]))
    assert np.allclose(flipped, q[5])


def test_fill_missing_frames_holds_nearest_valid():
    anim = from_body_motion(sample_motion(10))
    L = anim.local_rotations.copy()
    L[3:5, 20] = np.nan
    L[:, 30] = np.nan  # never valid: rest
    root = anim.root_positions.copy()
    root[0] = np.nan
    out = bone_frames.fill_missing_frames(replace(anim, local_rotations=L, root_positions=root))
    assert np.isfinite(out.local_rotations).all() and np.isfinite(out.root_positions).all()
    assert np.allclose(out.local_rotations[3, 20], L[2, 20]) and np.allclose(out.local_rotations[4, 20], L[5, 20])
    assert np.allclose(out.local_rotations[:, 30], np.eye(3))
    assert np.allclose(out.root_positions[0], root[1])


# -- Blender ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bpy():
    return pytest.importorskip("bpy")


@pytest.mark.parametrize("fmt,preset", [("fbx", None), ("fbx", "unity"), ("fbx", "unreal"), ("glb", None)])
def test_export_reimports_with_same_world_joints_on_every_frame(bpy, tmp_path, fmt, preset):
    from mocap.export.blender_export import export_blender

    anim = from_body_motion(sample_motion(60, fps=30.0, seed=1))
    path = export_blender(anim, tmp_path / f"take.{fmt}", preset_axes=preset)
    assert path.is_file() and not list(tmp_path.glob(".*part*"))  # atomic: no temporary left behind
    scene, arm = reimport(bpy, path, 30)
    assert len(arm.data.bones) == 55  # no leaf bones
    err, _ = max_joint_error(bpy, scene, arm, anim)
    frames = arm.animation_data.action.frame_range
    assert round(frames[1] - frames[0]) + 1 == anim.n_frames
    assert err < 1e-3, f"{fmt} {preset}: max joint error {err * 1000:.3f} mm"


def test_non_integer_frame_rate_and_kept_joint_frames(bpy):
    from mocap.export.blender_scene import (
        build_armature,
        pose_heads,
        rest_orientations_of,
        scene_frame_rate,
    )

    assert scene_frame_rate(29.97) == (30, pytest.approx(30 / 29.97))
    assert scene_frame_rate(24.0) == (24, 1.0)
    anim = from_body_motion(sample_motion(8, fps=29.97))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm = build_armature(anim, "kept", bone_display="keep")
    scene = bpy.context.scene
    assert scene.render.fps / scene.render.fps_base == pytest.approx(29.97)
    assert (scene.frame_start, scene.frame_end) == (1, 8)
    assert np.abs(rest_orientations_of(arm, anim.names) - anim.rest_orientations).max() < 1e-6
    P, _ = anim.world_transforms()
    scene.frame_set(5)
    assert np.abs(pose_heads(arm, anim.names) - P[4]).max() < 1e-5


@pytest.mark.parametrize("fmt", ["fbx", "glb"])
def test_skinned_mesh_follows_bones_after_round_trip(bpy, tmp_path, fmt):
    from mocap.export.blender_export import export_blender
    from mocap.export.blender_scene import SkinnedMesh

    anim = from_body_motion(sample_motion(10, seed=2))
    joints = [skeleton.joint_index(n) for n in ("pelvis", "left_knee", "right_wrist", "head")]
    tet = np.array([[0, 0, 0], [0.03, 0, 0], [0, 0.03, 0], [0, 0, 0.03]])
    verts = np.concatenate([anim.rest_positions[j] + 0.05 + tet for j in joints])
    faces = np.concatenate([k * 4 + np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]) for k in range(4)])
    weights = np.zeros((len(verts), 55))
    for k, j in enumerate(joints):
        weights[4 * k:4 * k + 4, j] = 1.0
    mesh = SkinnedMesh(verts, faces, weights, anim.names)
    path = export_blender(anim, tmp_path / f"skinned.{fmt}", mesh=mesh)
    if fmt == "glb":  # the animation written with numpy: one animation, every frame, beside Blender's skin
        from mocap.export.gltf_animation import read_glb

        doc, _ = read_glb(path)
        assert len(doc["skins"]) == 1 and len(doc["animations"]) == 1
        times = doc["accessors"][doc["animations"][0]["samplers"][0]["input"]]
        assert times["count"] == anim.n_frames and times["max"][0] == pytest.approx((anim.n_frames - 1) / anim.fps)
    scene, arm = reimport(bpy, path, 30)
    body = next(o for o in scene.objects if o.type == "MESH")
    P, W = anim.world_transforms()
    D = _world_deltas(anim)
    f = 7
    scene.frame_set(int(arm.animation_data.action.frame_range[0]) + f)
    ev = body.evaluated_get(bpy.context.evaluated_depsgraph_get())
    M = np.array(body.matrix_world)
    got = np.array([M[:3, :3] @ np.array(v.co) + M[:3, 3] for v in ev.to_mesh().vertices])
    want = np.concatenate([(verts[4 * k:4 * k + 4] - anim.rest_positions[j]) @ D[f, j].T + P[f, j]
                           for k, j in enumerate(joints)])
    assert np.abs(got - want).max() < 1e-3


def test_writing_a_user_scene_keeps_its_armature_modifiers_on(bpy, tmp_path):
    from mocap.export.blender_export import write_scene_file
    from mocap.export.blender_scene import build_armature

    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm = build_armature(from_body_motion(sample_motion(4)), "user")
    bpy.ops.mesh.primitive_cube_add(size=0.1)
    cube = bpy.context.active_object
    cube.modifiers.new("Armature", "ARMATURE").object = arm
    write_scene_file(tmp_path / "scene.fbx", objects=[arm, cube])
    assert cube.modifiers["Armature"].show_viewport


def test_cameras_project_like_the_rig(bpy):
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from mocap.export.blender_scene import add_cameras

    rig = ring(3)
    rig = CameraRig(tuple(c.replace(dist=np.zeros(5)) for c in rig.cameras))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    objs = add_cameras(rig)
    scene = bpy.context.scene
    pts = np.array([[0.1, 0.2, 1.0], [-0.3, 0.1, 0.5], [0.2, -0.2, 1.6]])
    for cam, obj in zip(rig.cameras, objs):
        w, h = cam.size
        scene.render.resolution_x, scene.render.resolution_y = w, h
        for p, uv in zip(pts, cam.project(pts)):
            ndc = world_to_camera_view(scene, obj, Vector(p.tolist()))
            got = np.array([ndc.x * w, (1 - ndc.y) * h])
            # Blender's pixel centres are half a pixel off OpenCV's; focal lengths differ by <2 % (fx != fy)
            assert np.abs(got - uv).max() < 4.0, (cam.name, got, uv)


def test_point_empties_follow_points_and_skip_nan(bpy):
    from mocap.export.blender_scene import add_points_empties

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(6, 2, 3))
    pts[2, 1] = np.nan
    parent = add_points_empties(pts, ["a", "b"])
    scene = bpy.context.scene
    kids = sorted(parent.children, key=lambda o: o.name)
    scene.frame_set(4)
    assert np.allclose(np.array(kids[0].matrix_world.translation), pts[3, 0], atol=1e-6)
    from bpy_extras.anim_utils import action_get_channelbag_for_slot

    ad = kids[1].animation_data
    fcurves = action_get_channelbag_for_slot(ad.action, ad.action_slot).fcurves
    assert len(fcurves[0].keyframe_points) == 5


def test_auto_bone_display_keeps_rig_frames_and_reorients_smplx():
    from conftest import REPO

    from mocap.export.rigs import load_rig, rig_rest_animation

    smplx_anim = from_body_motion(sample_motion(2))
    assert not bone_frames.bones_follow_children(smplx_anim)
    for name in ("mixamo", "ue5_mannequin", "rigify", "unity_humanoid"):
        rig_anim = rig_rest_animation(load_rig(REPO / "rigs" / f"{name}.toml"))
        assert bone_frames.bones_follow_children(rig_anim), name
