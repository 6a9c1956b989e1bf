"""FBX and glTF (GLB) export through Blender's own exporters (``bpy`` as a module, or inside Blender).

`export_blender` builds a fresh, empty scene holding the animated armature (and optionally a skinned body
mesh) and writes it with ``bpy.ops.export_scene.fbx`` / ``bpy.ops.export_scene.gltf``. `write_scene_file`
writes objects of the current scene (the add-on uses it, so the user's scene is never reset).

Files appear atomically: the exporter writes a temporary file in the target folder, renamed when complete.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np

from mocap.body.animation import SkeletonAnimation
from mocap.errors import MocapError
from mocap.io.atomic import atomic_path
from mocap.io.output import native_output_to_log

log = logging.getLogger(__name__)

Format = Literal["fbx", "glb"]

#: FBX settings every preset shares: no leaf bones, every frame baked, Blender's Y-along-bone axes.
FBX_COMMON = {
    "object_types": {"ARMATURE", "MESH"},
    "add_leaf_bones": False,
    "bake_anim": True,
    "bake_anim_use_all_bones": True,
    "bake_anim_use_nla_strips": False,
    "bake_anim_use_all_actions": False,
    "bake_anim_force_startend_keying": True,
    "bake_anim_step": 1.0,
    "bake_anim_simplify_factor": 0.0,
    "primary_bone_axis": "Y",
    "secondary_bone_axis": "X",
    "armature_nodetype": "NULL",
    "use_armature_deform_only": False,
    "mesh_smooth_type": "FACE",
    "path_mode": "COPY",
    "embed_textures": True,
    "axis_forward": "-Z",
    "axis_up": "Y",
    "apply_unit_scale": True,
    "global_scale": 1.0,
}

#: Per target application. All use FBX's Y-up / -Z-forward axes, which each of them converts on import.
FBX_PRESETS: dict[str, dict] = {
    # Blender re-imports this 1:1 (the file is in centimetres with a unit scale of 100).
    "default": {"apply_scale_options": "FBX_SCALE_NONE"},
    # Unreal: the settings of Epic's own Blender exporter (Send to Unreal, BlenderTools send2ue default
    # template): Z up, Y forward, real size (scene unit scale 1, FBX_SCALE_NONE). The armature object is
    # written as "Armature", the name Unreal's FBX importer skips, so the rig's own root bone stays the root
    # (any other name becomes an extra root bone).
    "unreal": {"apply_scale_options": "FBX_SCALE_NONE", "axis_forward": "Y", "axis_up": "Z",
               "bake_space_transform": False},
    # Unity: bake the unit scale into the transforms so objects import with scale 1.
    "unity": {"apply_scale_options": "FBX_SCALE_ALL"},
    # Mixamo works in centimetres, like its own downloads.
    "mixamo": {"apply_scale_options": "FBX_SCALE_NONE"},
}

GLTF_OPTIONS = {
    "export_format": "GLB",
    "export_yup": True,
    "export_animations": True,
    "export_frame_range": True,
    "export_force_sampling": True,
    "export_def_bones": False,
    "export_optimize_animation_size": False,
    "export_skins": True,
    "export_apply": False,
    "export_cameras": False,
    "export_lights": False,
}


def require_bpy(what: str):
    """The ``bpy`` module (Blender as a Python module), or a clear error saying how to get it."""
    try:
        import bpy
    except ImportError as exc:
        raise MocapError(f"{what} needs Blender's Python module bpy, which is not installed ({exc})",
                         fix="pip install bpy==5.0.1 (Python 3.11), or export bvh, which needs no Blender") from exc
    return bpy


def export_blender(anim: SkeletonAnimation, path: str | Path, fmt: Format | None = None, *, mesh=None,
                   preset_axes: str | None = None, bone_display: str = "auto", name: str = "Armature") -> Path:
    """Write ``anim`` as an FBX or binary glTF file with Blender's exporters.

    Resets ``bpy`` to an empty scene first (``read_factory_settings(use_empty=True)``): call it from scripts
    and the CLI, not from an interactive Blender session (use `write_scene_file` there).

    Args:
        anim: the animation (metres, Z up).
        path: output file.
        fmt: ``"fbx"`` or ``"glb"``; default from the file suffix.
        mesh: an optional `mocap.export.blender_scene.SkinnedMesh` skinned to the armature.
        preset_axes: FBX target application, a key of `FBX_PRESETS` (``"unreal"``, ``"unity"``, ``"mixamo"``);
            None is ``"default"``. glTF is always Y up, metres.
        bone_display: ``"to_child"`` (bones point at their children), ``"keep"`` (joint frames as given) or
            ``"auto"`` (keep a rig's bone frames, re-orient SMPL-X's model-aligned ones).
        name: armature object name (``"Armature"``, Blender's own, is the name Unreal skips).

    Returns:
        The written path.
    """
    bpy = require_bpy(f"{str(fmt or Path(path).suffix).upper().lstrip('.')} export")

    from mocap.export import blender_scene

    fmt = _format(path, fmt)
    with native_output_to_log():  # Blender's exporters print progress ("FBX export starting...")
        bpy.ops.wm.read_factory_settings(use_empty=True)
        # GLB: Blender writes the armature in its rest pose (and the mesh); the animation goes in with numpy
        # (rotations and the root's translation; joints that move otherwise are left to Blender's sampling)
        numpy_glb = fmt == "glb" and anim.local_translations is None
        keyed = rest_pose(anim) if numpy_glb else anim
        # frame 0 = time 0 in the file; Blender's importers put it at frame 1 again
        arm = blender_scene.build_armature(keyed, name, bone_display=bone_display, frame_start=0)
        objects = [arm]
        if mesh is not None:
            objects.append(blender_scene.add_body_mesh(arm, mesh))
        return write_scene_file(path, fmt, objects=objects, preset_axes=preset_axes,
                                animation=anim if numpy_glb else None)


def export_blender_scene(actors, path: str | Path, fmt: Format | None = None, *, preset_axes: str | None = None,
                         bone_display: str = "auto") -> Path:
    """Write several animated armatures into one FBX or GLB file (a take with several performers).

    Args:
        actors: ``(name, SkeletonAnimation, SkinnedMesh or None)`` per performer; each armature is named
            ``name`` and its mesh ``<name>_body``. The animations share the frame rate and frame count.
        path, fmt, preset_axes, bone_display: as `export_blender`.
    """
    bpy = require_bpy(f"{str(fmt or Path(path).suffix).upper().lstrip('.')} export")

    from mocap.export import blender_scene

    fmt = _format(path, fmt)
    with native_output_to_log():  # Blender's exporters print progress
        bpy.ops.wm.read_factory_settings(use_empty=True)
        objects = []
        for name, anim, mesh in actors:
            arm = blender_scene.build_armature(anim, name, bone_display=bone_display, frame_start=0)
            objects.append(arm)
            if mesh is not None:
                objects.append(blender_scene.add_body_mesh(arm, replace(mesh, name=f"{name}_body")))
        # glTF: one animation moving every performer at once (players play one animation at a time)
        return write_scene_file(path, fmt, objects=objects, preset_axes=preset_axes,
                                gltf_options={"export_animation_mode": "ACTIVE_ACTIONS"})


def rest_pose(anim: SkeletonAnimation) -> SkeletonAnimation:
    """A one-frame animation of ``anim``'s skeleton standing in its rest pose."""
    J = len(anim.names)
    return replace(anim, local_rotations=np.broadcast_to(np.eye(3), (1, J, 3, 3)).copy(),
                   root_positions=anim.rest_positions[:1].copy())


def write_scene_file(path: str | Path, fmt: Format | None = None, *, objects=None,
                     preset_axes: str | None = None, gltf_options: dict | None = None,
                     animation: SkeletonAnimation | None = None) -> Path:
    """Write objects of the current Blender scene (all when ``objects`` is None) to FBX or GLB atomically
    (``gltf_options``: exporter settings over :data:`GLTF_OPTIONS`).

    ``animation`` (GLB only): written into the file by `mocap.export.gltf_animation.add_animation` instead of
    Blender's own sampling of the scene (which takes minutes and gigabytes for minutes of animation); the
    scene's armature must then stand in its rest pose."""
    import bpy

    path = Path(path)
    fmt = _format(path, fmt)
    preset = preset_axes or "default"
    if preset not in FBX_PRESETS:
        raise MocapError(f"unknown export preset {preset!r}", fix=f"use one of {', '.join(FBX_PRESETS)}")
    selection = objects is not None
    view_layer = bpy.context.view_layer
    before = ([o for o in bpy.context.scene.objects if o.select_get()], view_layer.objects.active)
    if selection:
        for obj in bpy.context.scene.objects:
            obj.select_set(obj in objects)
        view_layer.objects.active = objects[0] if objects else None
    renamed = _armatures_named_for_unreal(objects if selection else list(bpy.context.scene.objects)) \
        if fmt == "fbx" and preset == "unreal" else []
    try:
        with _deformation_muted(objects if selection else list(bpy.context.scene.objects)):
            _write(path, fmt, preset, selection, gltf_options or {}, animation)
    finally:  # give the user back their selection and names
        for obj, name in reversed(renamed):
            obj.name = name
        for obj in bpy.context.scene.objects:
            obj.select_set(obj in before[0])
        view_layer.objects.active = before[1]
    log.info("wrote %s", path)
    return path


def _armatures_named_for_unreal(objects) -> list[tuple[object, str]]:
    """Name the exported armature object "Armature" (one performer) for the export, as Epic's exporter does;
    returns ``(object, old name)`` pairs to restore, in the order they were changed."""
    import bpy

    armatures = [o for o in objects if o.type == "ARMATURE"]
    if len(armatures) != 1 or armatures[0].name == "Armature":  # several performers keep their names
        return []
    changed = []
    other = bpy.data.objects.get("Armature")
    if other is not None:  # free the name for the export
        changed.append((other, other.name))
        other.name = "Armature (renamed for the export)"
    changed.append((armatures[0], armatures[0].name))
    armatures[0].name = "Armature"
    return changed


@contextmanager
def _deformation_muted(objects):
    """Switch off the viewport evaluation of the objects' Armature modifiers while the exporters bake.

    Both exporters evaluate the scene at every frame to sample the bones; without this, Blender also deforms
    the 10k-vertex body on each of those frames for nothing (the exporters write the mesh in its rest pose and
    take the skin from the modifier itself, whether or not it is shown). FBX export takes about half the time."""
    muted = [m for o in objects if o.type == "MESH" for m in o.modifiers if m.type == "ARMATURE" and m.show_viewport]
    for m in muted:
        m.show_viewport = False
    try:
        yield
    finally:
        for m in muted:
            m.show_viewport = True


def _write(path: Path, fmt: str, preset: str, selection: bool, gltf_options: dict,
           animation: SkeletonAnimation | None = None) -> None:
    import bpy

    with atomic_path(path) as tmp:
        if fmt == "fbx":
            result = bpy.ops.export_scene.fbx(filepath=str(tmp), use_selection=selection,
                                              **{**FBX_COMMON, **FBX_PRESETS[preset]})
        else:
            options = {**GLTF_OPTIONS, **gltf_options}
            if animation is not None:
                options["export_animations"] = False
            result = bpy.ops.export_scene.gltf(filepath=str(tmp), use_selection=selection, **options)
        if "FINISHED" not in result or not tmp.is_file() or tmp.stat().st_size == 0:
            raise MocapError(f"Blender's {fmt.upper()} exporter failed ({result})", path=path,
                             fix="run with --verbose to see Blender's messages")
        if animation is not None and fmt == "glb":
            from mocap.export.gltf_animation import add_animation

            add_animation(tmp, animation)


def _format(path: str | Path, fmt: str | None) -> str:
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt == "gltf":
        raise MocapError("only binary glTF is written", path=path, fix="use a .glb file name (fmt='glb')")
    if fmt not in ("fbx", "glb"):
        raise MocapError(f"cannot export {fmt!r} through Blender", path=path, fix="use fmt 'fbx' or 'glb'")
    return fmt
