"""Export an animated armature (a take or a retargeted rig) as FBX or BVH with presets per target application."""
from __future__ import annotations

from pathlib import Path

#: BVH settings per target application: file units per metre and Euler order.
BVH_PRESETS = {
    "default": {"scale": 1.0, "rotation_order": "ZXY"},
    "unreal": {"scale": 100.0, "rotation_order": "ZXY"},
    "unity": {"scale": 1.0, "rotation_order": "ZXY"},
    "mixamo": {"scale": 100.0, "rotation_order": "ZXY"},
}

PRESETS = ("default", "unreal", "unity", "mixamo")


def export_armature(context, obj, filepath: str | Path, *, fmt: str | None = None, preset: str = "default",
                    report=print) -> Path:
    """Write ``obj`` (an armature, with the meshes parented to it) and its animation over the scene's range.

    Args:
        obj: the armature object.
        filepath: ``.fbx`` or ``.bvh`` file.
        fmt: ``"fbx"`` or ``"bvh"``; default from the suffix.
        preset: ``"default"``, ``"unreal"``, ``"unity"`` or ``"mixamo"`` (axes and units each tool expects).
    """
    from ._vendor.mocap.errors import MocapError

    filepath = Path(filepath)
    fmt = (fmt or filepath.suffix.lstrip(".")).lower()
    if obj is None or obj.type != "ARMATURE":
        raise MocapError("select an armature to export", fix="click the armature (or the imported take) first")
    if preset not in PRESETS:
        raise MocapError(f"unknown preset {preset!r}", fix=f"use one of {', '.join(PRESETS)}")
    if fmt == "fbx":
        from ._vendor.mocap.export.blender_export import write_scene_file

        objects = [obj] + [c for c in obj.children if c.type == "MESH"]
        path = write_scene_file(filepath, "fbx", objects=objects, preset_axes=preset)
    elif fmt == "bvh":
        from ._vendor.mocap.export.blender_scene import read_armature_animation
        from ._vendor.mocap.export.bvh import write_bvh

        scene = context.scene
        anim = read_armature_animation(obj, scene.frame_start, scene.frame_end)
        path = write_bvh(filepath, anim, up="Y", **BVH_PRESETS[preset])
    else:
        raise MocapError(f"cannot export {fmt!r}", path=filepath, fix="use a .fbx or .bvh file name")
    report(f"wrote {path.name} ({preset} preset)")
    return path
