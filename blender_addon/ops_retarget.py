"""Retarget an imported take onto another armature (Mixamo, UE5, Rigify, Unity, ...) and bake it to an action.

The target armature's own rest pose is the target (``mocap.export.blender_scene.armature_rest``); its bones
are mapped to SMPL-X joints either through a preset from ``rigs/`` (matched by bone name, ignoring
namespace prefixes such as ``mixamorig1:``) or, with ``"AUTO"``, by ``mocap.export.retarget``'s name
matching. ``mocap.export.retarget.retarget`` computes the motion, which is keyed on the target's bones.
"""
from __future__ import annotations

import re
from dataclasses import replace

AUTO = "AUTO"


def normalize_bone_name(name: str) -> str:
    """``"mixamorig1:LeftUpLeg"`` -> ``"leftupleg"``: no namespace prefix, case or punctuation."""
    return re.sub(r"[^a-z0-9]", "", name.rsplit(":", 1)[-1].lower())


def preset_bone_map(bone_names, preset) -> dict[str, str]:
    """``{armature bone: SMPL-X joint}`` from a rig preset's ``source`` fields, matching names loosely."""
    by_name = {normalize_bone_name(n): s for n, s in preset.bone_map.items()}
    return {n: by_name[normalize_bone_name(n)] for n in bone_names if normalize_bone_name(n) in by_name}


def retarget_to_armature(context, source_obj, target_obj, *, preset: str = AUTO, foot_locking: bool = True,
                         root_motion: bool = True, report=print):
    """Bake the take on ``source_obj`` onto ``target_obj`` over the scene's frame range; returns the action.

    Args:
        source_obj: the take's armature (SMPL-X bone names), e.g. from ``import_take``.
        target_obj: the armature to animate; its rest pose is kept.
        preset: a rig preset name from ``rigs/`` or ``"AUTO"`` (map bones by their names).
        foot_locking: pin the feet while they are planted (no sliding).
        root_motion: move the root through the scene; off keeps it over its rest position (in place).
    """
    from ._vendor.mocap.errors import MocapError
    from ._vendor.mocap.export import blender_scene
    from ._vendor.mocap.export.retarget import retarget
    from ._vendor.mocap.export.rigs import load_rig

    if source_obj is None or source_obj.type != "ARMATURE":
        raise MocapError("no source take", fix="import a take first (or pick its armature as the source)")
    if target_obj is None or target_obj.type != "ARMATURE" or target_obj == source_obj:
        raise MocapError("select the armature to retarget onto", fix="click the target rig, then retarget")
    scene = context.scene
    source = blender_scene.read_armature_animation(source_obj, scene.frame_start, scene.frame_end)
    target = blender_scene.armature_rest(target_obj, source.fps)
    if preset == AUTO:
        bone_map = None  # retarget guesses SMPL-X roles from the target's bone names
        label = "bone names"
    else:
        bone_map = preset_bone_map(target.names, load_rig(preset))
        if len(bone_map) < 5:
            raise MocapError(f"only {len(bone_map)} bones of {target_obj.name!r} are in preset {preset!r}",
                             fix="choose the preset that matches this rig, or Auto")
        label = f"preset {preset}"
    result = retarget(source, target, bone_map=bone_map, foot_locking=foot_locking)
    if not root_motion:
        root = result.root_positions.copy()
        root[:, :2] = target.rest_positions[0, :2]
        result = replace(result, root_positions=root)
    action = blender_scene.key_armature(target_obj, result, frame_start=scene.frame_start,
                                        action_name=f"{target_obj.name}_{source_obj.name}")
    report(f"retargeted {source.n_frames} frames onto {target_obj.name} ({label}, {len(result.names)} bones)")
    return action
