"""Exports of a take with several performers: one FBX / GLB holding an armature per performer (named after
them, each moving as its own motion when re-imported), one BVH per performer, and the formats that hold one
skeleton refused for several."""

from __future__ import annotations

import numpy as np
import pytest
from blender_samples import sample_motion

from mocap.body.animation import from_body_motion
from mocap.errors import InputError
from mocap.export.config import ExportConfig
from mocap.export.export import export_performers
from mocap.layout import OutputLayout

pytestmark = pytest.mark.slow  # Blender's exporters and importers


@pytest.fixture(scope="module")
def bpy():
    return pytest.importorskip("bpy")


def _shifted(motion, dx: float):
    import dataclasses

    transl = motion.transl.copy()
    transl[:, 0] += dx
    return dataclasses.replace(motion, transl=transl)


@pytest.mark.parametrize("fmt", ["fbx", "glb"])
def test_one_file_with_an_armature_per_performer(bpy, tmp_path, fmt):
    from mocap.export.blender_scene import pose_heads

    motions = {"ana": sample_motion(20, fps=30.0, seed=1), "ben": _shifted(sample_motion(20, fps=30.0, seed=2), 1.5)}
    path = export_performers(motions, tmp_path / f"duet.{fmt}")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    if fmt == "fbx":
        bpy.ops.import_scene.fbx(filepath=str(path))
    else:
        bpy.ops.import_scene.gltf(filepath=str(path))
    arms = {o.name: o for o in scene.objects if o.type == "ARMATURE"}
    assert set(arms) == {"ana", "ben"}
    for name, motion in motions.items():
        arm = arms[name]
        anim = from_body_motion(motion)
        P, _ = anim.world_transforms()
        start = int(round(arm.animation_data.action.frame_range[0]))
        err = 0.0
        for f in range(anim.n_frames):
            scene.frame_set(start + f)
            err = max(err, float(np.linalg.norm(pose_heads(arm, anim.names) - P[f], axis=1).max()))
        assert err < 1e-3, f"{fmt} {name}: {err * 1000:.2f} mm"


def test_retargeted_per_performer(bpy, tmp_path):
    """Each performer is retargeted onto the rig on their own (their own leg length, their own root motion)."""
    from mocap.export.rigs import load_rig

    motions = {"ana": sample_motion(12, fps=30.0, seed=3), "ben": _shifted(sample_motion(12, fps=30.0, seed=4), 2.0)}
    path = export_performers(motions, tmp_path / "duet_mixamo.fbx", rig="mixamo")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(path))
    arms = {o.name: o for o in bpy.context.scene.objects if o.type == "ARMATURE"}
    assert set(arms) == {"ana", "ben"}
    names = set(load_rig("mixamo").names)
    for arm in arms.values():
        assert {b.name for b in arm.data.bones} == names
    bpy.context.scene.frame_set(int(arms["ana"].animation_data.action.frame_range[0]))
    hips = {n: np.array(a.matrix_world @ a.pose.bones["mixamorig:Hips"].head) for n, a in arms.items()}
    assert 1.5 < hips["ben"][0] - hips["ana"][0] < 2.5  # each keeps its own place


def test_bvh_per_performer_and_one_skeleton_formats_refused(tmp_path):
    from mocap.pipeline import RunConfig, export_people, people_export_plan

    take = OutputLayout(tmp_path).take("duet")
    for name, seed in (("ana", 1), ("ben", 2)):
        sample_motion(10, fps=30.0, seed=seed).save(take.person(name).body_motion)
    run = RunConfig()
    plan = people_export_plan(take, ExportConfig(formats=("bvh", "amass")), ["ana", "ben"])
    assert [(f, p.name, who) for f, _, p, who in plan] == [
        ("bvh", "duet_ana_smplx.bvh", ("ana",)), ("bvh", "duet_ben_smplx.bvh", ("ben",)),
        ("amass", "duet_ana_smplx.npz", ("ana",)), ("amass", "duet_ben_smplx.npz", ("ben",))]
    export_people(take, plan, run)
    assert all(p.is_file() for _, _, p, _ in plan)
    scene = people_export_plan(take, run.export, ["ana", "ben"])
    assert [(f, p.name, who) for f, _, p, who in scene if f != "bvh"] == [
        ("fbx", "duet_smplx.fbx", ("ana", "ben")), ("glb", "duet_smplx.glb", ("ana", "ben"))]
    with pytest.raises(InputError, match="hold one skeleton"):
        export_performers({"ana": sample_motion(5)}, tmp_path / "x.bvh")
