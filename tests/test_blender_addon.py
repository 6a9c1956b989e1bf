"""The Blender add-on, built as an extension zip and installed the way Blender does, in headless bpy.

Install: the zip goes through ``bpy.ops.extensions.package_install_files`` into a temporary *user* extension
repository added for the test session (``preferences.extensions.repos.new(..., custom_directory=tmp)``), so
the user's own Blender configuration is not touched (preferences are not saved). The add-on is then the
package ``bl_ext.mocap_test.mocap``. Tests elsewhere may reset Blender to factory settings, which drops the
repository and disables the add-on; the ``addon`` fixture restores both.
"""
from __future__ import annotations

import re
import shutil
import stat
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from blender_samples import sample_motion
from conftest import REPO, ring

from mocap.body import skeleton
from mocap.body.motion import BodyMotion

bpy = pytest.importorskip("bpy")
import addon_utils  # noqa: E402  (ships with bpy)

REPO_MODULE = "mocap_test"
ADDON_MODULE = f"bl_ext.{REPO_MODULE}.mocap"


@pytest.fixture(scope="module")
def addon_zip(tmp_path_factory) -> Path:
    from mocap.addon import build_addon

    return build_addon(tmp_path_factory.mktemp("addon") / "mocap_blender_addon.zip")


@pytest.fixture(scope="module")
def extensions_dir(tmp_path_factory, addon_zip) -> Path:
    folder = tmp_path_factory.mktemp("extensions")
    bpy.context.preferences.use_preferences_save = False
    _ensure_repo(folder)
    result = bpy.ops.extensions.package_install_files(filepath=str(addon_zip), repo=REPO_MODULE,
                                                      enable_on_install=True)
    assert result == {"FINISHED"}
    assert (folder / "mocap" / "blender_manifest.toml").is_file()
    yield folder
    if ADDON_MODULE in bpy.context.preferences.addons:
        addon_utils.disable(ADDON_MODULE)


def _ensure_repo(folder: Path):
    repos = bpy.context.preferences.extensions.repos
    for r in repos:
        if r.module == REPO_MODULE:
            return r
    return repos.new(name=REPO_MODULE, module=REPO_MODULE, custom_directory=str(folder), source="USER")


@pytest.fixture
def addon(extensions_dir):
    """The enabled add-on's module, with an empty scene."""
    _ensure_repo(extensions_dir)
    if ADDON_MODULE not in bpy.context.preferences.addons:
        addon_utils.enable(ADDON_MODULE, default_set=True)
    bpy.ops.wm.read_homefile(use_empty=True)  # clears the scene, keeps preferences and add-ons
    return sys.modules[ADDON_MODULE]


@pytest.fixture(scope="module")
def take_file(tmp_path_factory) -> tuple[Path, BodyMotion]:
    folder = tmp_path_factory.mktemp("session") / "output"
    motion = sample_motion(40, fps=25.0, seed=4)
    path = motion.save(folder / "takes" / "walk" / "body_motion.npz")
    rig = ring(4)
    rig.save(folder / "calibration" / "camera_rig.toml")
    return path, motion


def _armature(name="mocap_body"):
    return bpy.data.objects[name]


def _joint_error(arm, motion: BodyMotion, names) -> float:
    from mocap.export.blender_scene import pose_heads

    X = motion.joint_positions()[:, [skeleton.joint_index(n) for n in names]]
    scene = bpy.context.scene
    err = 0.0
    for f in range(motion.n_frames):
        scene.frame_set(scene.frame_start + f)
        err = max(err, float(np.linalg.norm(pose_heads(arm, names) - X[f], axis=1).max()))
    return err


# -- build ---------------------------------------------------------------------------------------------------

def test_zip_is_an_extension_with_vendored_pure_modules(addon_zip):
    with zipfile.ZipFile(addon_zip) as zf:
        names = set(zf.namelist())
        manifest = zf.read("blender_manifest.toml").decode()
        vendored = {n: zf.read(n).decode() for n in names if n.startswith("_vendor/") and n.endswith(".py")}
    import tomllib

    m = tomllib.loads(manifest)
    assert (m["schema_version"], m["id"], m["type"], m["blender_version_min"]) == ("1.0.0", "mocap", "add-on", "4.2.0")
    for need in ("__init__.py", "_vendor/mocap/body/motion.py", "_vendor/mocap/export/retarget.py",
                 "_vendor/mocap/export/rigs.py", "_vendor/mocap/export/bvh.py", "_vendor/mocap/data/rigs/mixamo.toml"):
        assert need in names
    for name, src in vendored.items():
        assert not re.search(r"^\s*(from|import) mocap\b", src, re.M), name
    assert not any("__pycache__" in n for n in names)


def test_build_fails_clearly_for_a_heavy_import(monkeypatch, tmp_path):
    import mocap.addon as build

    monkeypatch.setattr(build, "SEED_MODULES", build.SEED_MODULES + ("mocap.keypoints2d.stage",))
    with pytest.raises(build.AddonBuildError, match=r"mocap/keypoints2d/stage.py:\d+ imports"):
        build.build_addon(tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_rewrite_imports_makes_them_relative():
    from mocap.addon import rewrite_imports

    src = "from mocap.errors import InputError\nimport mocap.body.skeleton as sk\n\ndef f():\n    from mocap.io import atomic\n"
    out = rewrite_imports(src, "mocap.export.thing")
    assert out == "from ..errors import InputError\nfrom ..body import skeleton as sk\n\ndef f():\n    from ..io import atomic\n"


# -- operators ----------------------------------------------------------------------------------------------

def test_import_take_matches_body_motion_on_every_frame(addon, take_file):
    path, motion = take_file
    assert bpy.ops.mocap.import_take(filepath=str(path), cameras=True, points=False) == {"FINISHED"}
    scene = bpy.context.scene
    arm = _armature()
    assert len(arm.data.bones) == 55
    assert (scene.frame_start, scene.frame_end) == (1, motion.n_frames)
    assert scene.render.fps / scene.render.fps_base == pytest.approx(25.0)
    assert scene.mocap.source == arm
    assert _joint_error(arm, motion, skeleton.JOINT_NAMES) < 1e-3
    cams = [o for o in scene.objects if o.type == "CAMERA"]
    assert sorted(c.name for c in cams) == ["cam0", "cam1", "cam2", "cam3"]
    centre = ring(4)["cam1"].center
    assert np.allclose(np.array(bpy.data.objects["cam1"].matrix_world.translation), centre, atol=1e-5)
    mesh = next(o for o in scene.objects if o.type == "MESH")
    assert mesh.parent == arm and mesh.modifiers[0].object == arm


def test_render_of_imported_take_shows_an_upright_body(addon, take_file, tmp_path):
    path, _ = take_file
    bpy.ops.mocap.import_take(filepath=str(path), cameras=True)
    scene = bpy.context.scene
    scene.camera = bpy.data.objects["cam0"]
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 640, 480, 50
    scene.render.film_transparent = True
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.frame_set(1)
    out = tmp_path / "take_frame1.png"
    scene.render.filepath = str(out)
    bpy.ops.render.render(write_still=True)
    assert out.is_file()
    artifacts = REPO / "out" / "test_artifacts"
    try:
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, artifacts / out.name)
    except OSError:
        pass
    img = bpy.data.images.load(str(out))
    w, h = img.size
    rgba = np.array(img.pixels[:]).reshape(h, w, 4)
    ys, xs = np.nonzero(rgba[..., 3] > 0.5)
    assert (w, h) == (320, 240) and len(xs) > 200
    height, width = ys.max() - ys.min(), xs.max() - xs.min()
    assert height > 1.3 * width, (height, width)  # upright, arms half down
    assert abs(xs.mean() - w / 2) < w / 4 and abs(ys.mean() - h / 2) < h / 3


def test_retarget_onto_mixamo_rig_follows_the_motion(addon, take_file):
    from mocap.export.blender_scene import build_armature, pose_heads
    from mocap.export.rigs import load_rig, rig_rest_animation

    path, motion = take_file
    bpy.ops.mocap.import_take(filepath=str(path), cameras=False)
    rig = load_rig(REPO / "rigs" / "mixamo.toml")
    target = build_armature(rig_rest_animation(rig), "mixamo", bone_display="keep", set_scene=False)
    target.animation_data_clear()
    bpy.context.view_layer.objects.active = target
    scene = bpy.context.scene
    scene.mocap.rig_preset = "mixamo"
    assert bpy.ops.mocap.retarget() == {"FINISHED"}
    X = motion.joint_positions()
    idx = skeleton.joint_index
    pairs = [("mixamorig:LeftUpLeg", "mixamorig:LeftFoot", "left_hip", "left_ankle"),
             ("mixamorig:RightUpLeg", "mixamorig:RightFoot", "right_hip", "right_ankle"),
             ("mixamorig:LeftArm", "mixamorig:LeftHand", "left_shoulder", "left_wrist"),
             ("mixamorig:RightForeArm", "mixamorig:RightHand", "right_elbow", "right_wrist"),
             ("mixamorig:Hips", "mixamorig:Head", "pelvis", "head")]
    worst = 1.0
    for f in range(0, motion.n_frames, 3):
        scene.frame_set(scene.frame_start + f)
        for a, b, sa, sb in pairs:
            pa, pb = pose_heads(target, [a, b])
            d_t = (pb - pa) / np.linalg.norm(pb - pa)
            d_s = (X[f, idx(sb)] - X[f, idx(sa)]) / np.linalg.norm(X[f, idx(sb)] - X[f, idx(sa)])
            worst = min(worst, float(d_t @ d_s))
    assert worst > np.cos(np.radians(15)), f"worst limb direction cosine {worst:.3f}"
    # the auto mapping by bone names finds the same rig
    target.animation_data_clear()
    scene.mocap.rig_preset = "AUTO"
    assert bpy.ops.mocap.retarget() == {"FINISHED"}


def test_export_fbx_and_bvh_reimport(addon, take_file, tmp_path):
    from mocap.export.blender_scene import pose_heads

    path, motion = take_file
    bpy.ops.mocap.import_take(filepath=str(path), cameras=False)
    bpy.context.view_layer.objects.active = _armature()
    fbx, bvh = tmp_path / "take.fbx", tmp_path / "take.bvh"
    assert bpy.ops.mocap.export(filepath=str(fbx), format="FBX", preset="unreal") == {"FINISHED"}
    assert bpy.ops.mocap.export(filepath=str(bvh), format="BVH", preset="default") == {"FINISHED"}
    X = motion.joint_positions()
    for file in (fbx, bvh):
        bpy.ops.wm.read_homefile(use_empty=True)
        scene = bpy.context.scene
        scene.render.fps = 25
        if file.suffix == ".fbx":
            bpy.ops.import_scene.fbx(filepath=str(file))
        else:
            bpy.ops.import_anim.bvh(filepath=str(file), update_scene_fps=True, update_scene_duration=True)
        arm = next(o for o in scene.objects if o.type == "ARMATURE")
        start = int(round(arm.animation_data.action.frame_range[0]))
        err = 0.0
        for f in range(0, motion.n_frames, 3):
            scene.frame_set(start + f)
            err = max(err, float(np.linalg.norm(pose_heads(arm, skeleton.JOINT_NAMES) - X[f], axis=1).max()))
        assert err < 1e-3, f"{file.name}: {err * 1000:.2f} mm"


def test_nan_frames_and_missing_hands_import(addon, tmp_path):
    motion = sample_motion(20, seed=5)
    pose = motion.full_pose()
    pose[5:8] = np.nan  # frames the fit could not solve
    pose[:, skeleton.LEFT_HAND] = np.nan  # a hand never seen
    transl = motion.transl.copy()
    transl[6] = np.nan
    bad = BodyMotion.from_full_pose(pose, transl, motion.betas, motion.rest_joints, motion.fps, has_hands=False)
    path = bad.save(tmp_path / "body_motion.npz")
    assert bpy.ops.mocap.import_take(filepath=str(path)) == {"FINISHED"}
    from bpy_extras.anim_utils import action_get_channelbag_for_slot

    ad = _armature().animation_data
    curves = action_get_channelbag_for_slot(ad.action, ad.action_slot).fcurves
    values = np.concatenate([[k.co[1] for k in fc.keyframe_points] for fc in curves])
    assert np.isfinite(values).all() and len(curves[0].keyframe_points) == 20


def test_import_every_performer_of_a_take(addon, tmp_path):
    """A take with several performers: picking its people.toml imports one armature per performer, named after
    them, each on its own motion; the cameras once."""
    from mocap.io.tomlio import write_toml
    from mocap.layout import OutputLayout
    from mocap.people.roster import Performer, Roster

    out = OutputLayout(tmp_path / "output")
    ring(4).save(out.calibration.rig)
    take = out.take("duet")
    motions = {"ana": sample_motion(30, fps=25.0, seed=5), "ben": sample_motion(30, fps=25.0, seed=6)}
    people = []
    for k, (name, m) in enumerate(motions.items()):
        path = m.save(take.person(name).body_motion)
        people.append(Performer(k, name, 0, 29, 30, f"people/{name}",
                                {"body_motion": path.relative_to(take.folder).as_posix()}))
    write_toml(take.people, Roster("duet", tuple(people), 30, 25.0, tuple(f"cam{k}" for k in range(4))).to_dict())
    assert bpy.ops.mocap.import_take(filepath=str(take.people), cameras=True) == {"FINISHED"}
    names = list(skeleton.JOINT_NAMES[:22])
    for name, m in motions.items():
        assert _joint_error(_armature(name), m, names) < 1e-4
    assert len([o for o in bpy.data.objects if o.type == "CAMERA"]) == 4
    assert bpy.context.scene.mocap.source.name == "ana"
    (take.person("ben").body_motion).unlink()
    with pytest.raises(RuntimeError, match="no fitted body for ben"):
        bpy.ops.mocap.import_take(filepath=str(take.people))


@pytest.mark.parametrize("content", [b"not a motion", b"PK\x03\x04 broken zip"])
def test_wrong_file_gives_an_operator_error_not_a_traceback(addon, tmp_path, content):
    bad = tmp_path / "body_motion.npz"
    bad.write_bytes(content)
    with pytest.raises(RuntimeError) as info:
        bpy.ops.mocap.import_take(filepath=str(bad))
    assert str(info.value).startswith("Error:") and "Traceback" not in str(info.value)
    np.savez(tmp_path / "other.npz", something=np.zeros(3))
    with pytest.raises(RuntimeError, match="missing keys"):
        bpy.ops.mocap.import_take(filepath=str(tmp_path / "other.npz"))
    bpy.context.view_layer.objects.active = None
    with pytest.raises(RuntimeError, match="select an armature"):
        bpy.ops.mocap.export(filepath=str(tmp_path / "x.fbx"), format="FBX")


def test_register_unregister_twice_leaves_no_residue(addon):
    n_funcs = len(bpy.types.TOPBAR_MT_file_import._dyn_ui_initialize())
    for _ in range(2):
        classes = sys.modules[ADDON_MODULE].classes
        assert all(c.is_registered for c in classes)
        addon_utils.disable(ADDON_MODULE)
        assert not any(c.is_registered for c in classes)
        assert not any(hasattr(bpy.types, c.__name__) for c in classes)
        assert not hasattr(bpy.types.Scene, "mocap") and "mocap" not in bpy.types.Scene.bl_rna.properties
        assert not set(dir(bpy.ops.mocap)) & {"import_take", "retarget", "export", "run_pipeline"}
        assert len(bpy.types.TOPBAR_MT_file_import._dyn_ui_initialize()) == n_funcs - 1
        addon_utils.enable(ADDON_MODULE, default_set=True)
        assert all(c.is_registered for c in sys.modules[ADDON_MODULE].classes)
        assert hasattr(bpy.types.Scene, "mocap")
        assert len(bpy.types.TOPBAR_MT_file_import._dyn_ui_initialize()) == n_funcs


def test_run_pipeline_in_background_then_import(addon, take_file, tmp_path):
    path, motion = take_file
    session = tmp_path / "session"
    session.mkdir()
    fake = tmp_path / "mocap"
    fake.write_text(f"#!{sys.executable}\n"
                    "import shutil, sys, time, pathlib\n"
                    "assert sys.argv[1] == 'run'\n"
                    "out = pathlib.Path(sys.argv[2]) / 'output' / 'takes' / 'walk'\n"
                    "out.mkdir(parents=True)\n"
                    "for stage in ('calibrate', 'detect', 'triangulate', 'fit'):\n"
                    "    print(stage, 'done', flush=True); time.sleep(0.05)\n"
                    f"shutil.copy({str(path)!r}, out / 'body_motion.npz')\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    s = bpy.context.scene.mocap
    s.session, s.executable = str(session), str(fake)
    assert bpy.ops.mocap.run_pipeline() == {"FINISHED"}
    import time

    deadline = time.monotonic() + 60
    while addon.poll_pipeline() is not None:  # what the timer does, without an event loop
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert s.status.startswith("imported"), s.status
    assert _joint_error(_armature(), motion, ["pelvis", "left_wrist"]) < 1e-3
    s.executable = str(tmp_path / "no_such_mocap")
    with pytest.raises(RuntimeError, match="not found"):
        bpy.ops.mocap.run_pipeline()
