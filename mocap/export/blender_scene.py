"""Build Blender scene content from our data: an animated armature, a skinned body mesh, cameras, point empties.

Runs inside Blender (the add-on) or with ``bpy`` as a module (the FBX/glTF exporters); ``bpy`` is imported
inside the functions so that importing this module costs nothing. The array math lives in `bone_frames`.

Frames: animation frame ``i`` is Blender frame ``frame_start + i`` (default 1, Blender's convention); the
scene's frame rate is set to the animation's (``fps / fps_base`` for rates like 29.97).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Sequence

import numpy as np

from mocap.body.animation import SkeletonAnimation
from mocap.export import bone_frames
from mocap.geometry import continuous_quaternions, matrix_to_quaternion

BoneDisplay = Literal["auto", "to_child", "keep"]

#: OpenCV camera axes (x right, y down, z forward) -> Blender camera axes (x right, y up, looks down -z).
OPENCV_TO_BLENDER_CAMERA = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class SkinnedMesh:
    """A body mesh in the armature's rest pose, ready to be skinned.

    Attributes:
        vertices: ``(V, 3)`` world rest-pose positions (metres, Z up), matching the armature's rest.
        faces: ``(T, 3)`` vertex indices.
        weights: ``(V, J)`` skinning weights, columns in ``joint_names`` order.
        joint_names: ``J`` bone names the weight columns belong to.
        uv: ``(T, 3, 2)`` per-corner texture coordinates, or None.
        texture: path of an image file for the base colour, or None.
        name: object name.
    """

    vertices: np.ndarray
    faces: np.ndarray
    weights: np.ndarray
    joint_names: tuple[str, ...]
    uv: np.ndarray | None = None
    texture: str | None = None
    name: str = "body"


def scene_frame_rate(fps: float) -> tuple[int, float]:
    """Blender's ``(render.fps, render.fps_base)`` for a frame rate: ``fps = render.fps / fps_base``."""
    if fps <= 0 or not np.isfinite(fps):
        raise ValueError(f"frame rate must be positive, got {fps}")
    whole = max(1, int(np.ceil(fps - 1e-6)))
    return whole, whole / fps


def set_scene_timing(scene, fps: float, n_frames: int, frame_start: int = 1) -> None:
    """Frame rate and frame range of ``scene`` for an animation of ``n_frames`` at ``fps``."""
    scene.render.fps, scene.render.fps_base = scene_frame_rate(fps)
    scene.frame_start = frame_start
    scene.frame_end = frame_start + max(n_frames, 1) - 1


def armature_animation(anim: SkeletonAnimation, bone_display: BoneDisplay = "auto") -> SkeletonAnimation:
    """The animation as the armature will carry it: gaps filled, bones re-oriented if ``"to_child"``.

    ``"auto"`` re-orients only a skeleton whose joint frames do not already run along its bones (SMPL-X's
    model-aligned frames); a rig preset's bone frames (and rolls) are kept as they are.
    """
    anim = bone_frames.fill_missing_frames(anim)
    if bone_display not in ("auto", "to_child", "keep"):
        raise ValueError(f"bone_display must be 'auto', 'to_child' or 'keep', got {bone_display!r}")
    if bone_display == "auto":
        bone_display = "keep" if bone_frames.bones_follow_children(anim) else "to_child"
    if bone_display == "to_child":
        return bone_frames.reorient(anim, bone_frames.child_pointing_orientations(anim))
    return anim


def build_armature(anim: SkeletonAnimation, name: str = "mocap", *, bone_display: BoneDisplay = "auto",
                   collection=None, frame_start: int = 1, set_scene: bool = True):
    """An armature object with one bone per joint, keyed on every frame of ``anim``.

    Args:
        anim: the animation (world: metres, Z up).
        name: object and armature data name.
        bone_display: ``"to_child"`` re-orients bones to point at their child joints (world motion is
            unchanged, see `bone_frames.reorient`); ``"keep"`` keeps the joint frames (SMPL-X bones then all
            point up); ``"auto"`` keeps frames that already run along the bones (rig presets), else re-orients.
        collection: where to link the object (default: the scene's collection).
        frame_start: Blender frame of the animation's first frame.
        set_scene: also set the scene's frame rate and frame range.

    Returns:
        The armature object (at the world origin, identity transform).
    """
    import bpy

    used = armature_animation(anim, bone_display)
    scene = bpy.context.scene
    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    (collection or scene.collection).objects.link(obj)
    _make_edit_bones(obj, used)
    obj.show_in_front = True
    if set_scene:
        set_scene_timing(scene, anim.fps, anim.n_frames, frame_start)
    key_armature(obj, used, frame_start=frame_start)
    return obj


def _make_edit_bones(obj, anim: SkeletonAnimation) -> None:
    import bpy
    from mathutils import Matrix

    view_layer = bpy.context.view_layer
    prev_active = view_layer.objects.active
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        tails = bone_frames.child_tails(anim.rest_positions, anim.parents)
        lengths = np.maximum(np.linalg.norm(tails - anim.rest_positions, axis=1), bone_frames.MIN_BONE_LENGTH)
        ebones = []
        for j, bone_name in enumerate(anim.names):
            eb = obj.data.edit_bones.new(bone_name)
            eb.head = (0.0, 0.0, 0.0)
            eb.tail = (0.0, float(lengths[j]), 0.0)
            M = np.eye(4)
            M[:3, :3] = anim.rest_orientations[j]
            M[:3, 3] = anim.rest_positions[j]
            eb.matrix = Matrix(M.tolist())  # keeps the length: tail = head + length * Y axis
            ebones.append(eb)
        for j, p in enumerate(anim.parents):
            if p >= 0:
                ebones[j].parent = ebones[p]
                ebones[j].use_connect = False
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = prev_active


def rest_orientations_of(obj, names: Sequence[str]) -> np.ndarray:
    """``(J, 3, 3)`` world rest orientation of the named bones of an armature object (``matrix_local``)."""
    world = np.array(obj.matrix_world)[:3, :3]
    world = world / np.cbrt(np.linalg.det(world))
    return np.stack([world @ np.array(obj.data.bones[n].matrix_local)[:3, :3] for n in names])


def armature_rest(obj, fps: float = 30.0) -> SkeletonAnimation:
    """An armature's rest pose (world, the object's transform folded in) as a one-frame `SkeletonAnimation`."""
    bones = list(obj.data.bones)
    index = {b.name: k for k, b in enumerate(bones)}
    parents = [index[b.parent.name] if b.parent else -1 for b in bones]
    order = _parents_first(parents)
    remap = {old: new for new, old in enumerate(order)}
    names = [bones[k].name for k in order]
    parents = [remap[parents[k]] if parents[k] >= 0 else -1 for k in order]
    if sum(p < 0 for p in parents) != 1:
        raise ValueError(f"armature {obj.name!r} has {sum(p < 0 for p in parents)} root bones; one is needed")
    M = np.array(obj.matrix_world)
    rest_pos = np.array([obj.data.bones[n].head_local for n in names]) @ M[:3, :3].T + M[:3, 3]
    return SkeletonAnimation(names=tuple(names), parents=tuple(parents), rest_positions=rest_pos,
                             rest_orientations=rest_orientations_of(obj, names),
                             local_rotations=np.broadcast_to(np.eye(3), (1, len(names), 3, 3)).copy(),
                             root_positions=rest_pos[:1].copy(), fps=fps)


def read_armature_animation(obj, frame_start: int, frame_end: int, fps: float | None = None) -> SkeletonAnimation:
    """Sample an armature's pose on frames ``frame_start..frame_end`` as a world-space `SkeletonAnimation`.

    Works for any armature (an imported take, a BVH or FBX import): local rotations are the pose bones'
    ``matrix_basis`` rotations, root positions the root bone's world head; the object's transform is folded
    into the rest pose. Sets the scene frame while sampling and restores it afterwards.
    """
    import bpy

    scene = bpy.context.scene
    rate = fps if fps is not None else scene.render.fps / scene.render.fps_base
    rest = armature_rest(obj, rate)
    frames = range(int(frame_start), int(frame_end) + 1)
    L = np.empty((len(frames), len(rest.names), 3, 3))
    T = np.zeros((len(frames), len(rest.names), 3))
    root_pos = np.empty((len(frames), 3))
    M3 = np.array(obj.matrix_world)[:3, :3]
    rest_rot = [np.array(obj.data.bones[n].matrix_local)[:3, :3] for n in rest.names]
    current = scene.frame_current
    try:
        for i, f in enumerate(frames):
            scene.frame_set(f)
            for j, n in enumerate(rest.names):
                basis = np.array(obj.pose.bones[n].matrix_basis)
                R = basis[:3, :3]
                L[i, j] = R / np.cbrt(np.linalg.det(R))
                if j:  # a bone moved off its rest offset: its location, in its rest frame (world units)
                    T[i, j] = rest.rest_orientations[j].T @ (M3 @ rest_rot[j] @ basis[:3, 3])
            root_pos[i] = pose_heads(obj, rest.names[:1])[0]
    finally:
        scene.frame_set(current)
    T[np.abs(T) < 1e-9] = 0.0
    return replace(rest, local_rotations=L, root_positions=root_pos, local_translations=T if T.any() else None)


def _parents_first(parents: Sequence[int]) -> list[int]:
    if all(p < j for j, p in enumerate(parents)):
        return list(range(len(parents)))
    depth = []
    for j in range(len(parents)):
        d, p = 0, parents[j]
        while p >= 0:
            d, p = d + 1, parents[p]
        depth.append(d)
    return sorted(range(len(parents)), key=lambda j: (depth[j], j))


def pose_heads(obj, names: Sequence[str]) -> np.ndarray:
    """``(J, 3)`` world positions of the named pose bones' heads at the current frame."""
    M = np.array(obj.matrix_world)
    heads = np.array([obj.pose.bones[n].head for n in names])
    return heads @ M[:3, :3].T + M[:3, 3]


def key_armature(obj, anim: SkeletonAnimation, *, frame_start: int = 1, action_name: str | None = None):
    """Key ``anim`` on the pose bones of ``obj`` (bones named as ``anim.names``).

    ``anim.rest_orientations`` must be the bones' world rest orientations (`rest_orientations_of`; use
    `bone_frames.reorient` first if they differ); ``root_positions`` are world positions, mapped through the
    object's transform (an imported rig may be rotated and scaled). Writes one keyframe per frame:
    ``rotation_quaternion`` for every bone and ``location`` for the root and for bones with local translations,
    into a new action assigned to ``obj``. Returns the action.
    """
    import bpy

    F = anim.n_frames
    action, bag = _new_action(obj, action_name or f"{obj.name}_take")
    frames = frame_start + np.arange(F, dtype=np.float64)
    quats = continuous_quaternions(matrix_to_quaternion(anim.local_rotations))
    for j, bone_name in enumerate(anim.names):
        pb = obj.pose.bones[bone_name]
        pb.rotation_mode = "QUATERNION"
        path = f'pose.bones["{bpy.utils.escape_identifier(bone_name)}"]'
        for i in range(4):
            _set_fcurve(bag, f"{path}.rotation_quaternion", i, bone_name, frames, quats[:, j, i])
        # pose location is in the bone's rest frame (armature space), relative to its rest head
        M = np.array(obj.matrix_world)
        rest = np.array(obj.data.bones[bone_name].matrix_local)
        if anim.parents[j] < 0:
            local = (anim.root_positions - M[:3, 3]) @ np.linalg.inv(M[:3, :3]).T
            loc = (local - rest[:3, 3]) @ rest[:3, :3]
        elif anim.local_translations is not None and np.abs(anim.local_translations[:, j]).max() > 1e-9:
            offset = anim.local_translations[:, j] @ anim.rest_orientations[j].T  # world vector
            loc = (offset @ np.linalg.inv(M[:3, :3]).T) @ rest[:3, :3]
        else:
            continue
        for i in range(3):
            _set_fcurve(bag, f"{path}.location", i, bone_name, frames, loc[:, i])
    return action


def _new_action(obj, name: str):
    """A new action assigned to ``obj`` and where its F-curves go: the slot's channelbag (Blender 4.4+
    slotted actions), or the action itself (Blender 4.2/4.3)."""
    import bpy

    action = bpy.data.actions.new(name)
    obj.animation_data_create()
    obj.animation_data.action = action
    if not hasattr(action, "slots"):
        return action, action
    from bpy_extras import anim_utils

    slot = obj.animation_data.action_slot or action.slots.new(id_type="OBJECT", name=obj.name)
    obj.animation_data.action_slot = slot
    return action, anim_utils.action_ensure_channelbag_for_slot(action, slot)


def _set_fcurve(channelbag, data_path: str, index: int, group: str, frames: np.ndarray, values: np.ndarray):
    import bpy

    if isinstance(channelbag, bpy.types.Action):  # a legacy action (Blender < 4.4)
        fc = channelbag.fcurves.new(data_path, index=index, action_group=group)
    else:
        fc = channelbag.fcurves.new(data_path, index=index, group_name=group)
    ok = np.isfinite(values)
    n = int(ok.sum())
    fc.keyframe_points.add(n)
    co = np.empty((n, 2), dtype=np.float32)
    co[:, 0] = frames[ok]
    co[:, 1] = values[ok]
    fc.keyframe_points.foreach_set("co", co.ravel())
    fc.keyframe_points.foreach_set("interpolation", [2] * n)  # LINEAR: no overshoot between samples
    fc.update()
    return fc


def add_body_mesh(armature, mesh: SkinnedMesh, *, collection=None):
    """A mesh object skinned to ``armature`` (vertex groups per joint + an Armature modifier).

    The mesh is parented to the armature; its vertices must be in the armature's rest pose (world).
    """
    import bpy

    V = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    W = np.asarray(mesh.weights, dtype=np.float64)
    if W.shape != (len(V), len(mesh.joint_names)):
        raise ValueError(f"weights: expected {(len(V), len(mesh.joint_names))}, got {W.shape}")
    data = bpy.data.meshes.new(mesh.name)
    data.from_pydata(V.tolist(), [], faces.tolist())
    if mesh.uv is not None:
        layer = data.uv_layers.new(name="UVMap")
        layer.data.foreach_set("uv", np.asarray(mesh.uv, dtype=np.float32).reshape(-1))
    data.shade_smooth()
    data.update()
    obj = bpy.data.objects.new(mesh.name, data)
    (collection or bpy.context.scene.collection).objects.link(obj)
    bones = set(armature.data.bones.keys())
    for j, bone_name in enumerate(mesh.joint_names):
        idx = np.flatnonzero(W[:, j] > 1e-6)
        if bone_name not in bones or len(idx) == 0:
            continue
        group = obj.vertex_groups.new(name=bone_name)
        values, which = np.unique(np.round(W[idx, j], 4), return_inverse=True)
        order = np.argsort(which, kind="stable")
        for w, sel in zip(values, np.split(idx[order], np.cumsum(np.bincount(which))[:-1])):
            group.add(sel.tolist(), float(w), "REPLACE")  # one add() per distinct weight keeps this fast
    obj.parent = armature
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = armature
    if mesh.texture:
        obj.data.materials.append(_textured_material(mesh.name, mesh.texture))
    return obj


def _textured_material(name: str, image_path: str):
    import bpy

    mat = bpy.data.materials.new(f"{name}_skin")
    if mat.node_tree is None:  # Blender < 5 starts materials without nodes
        mat.use_nodes = True
    nodes = mat.node_tree.nodes
    bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = bpy.data.images.load(str(image_path), check_existing=True)
    mat.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    return mat


def add_cameras(rig, *, collection=None, set_resolution: bool = True) -> list:
    """One Blender camera per camera of a `mocap.camera.CameraRig`, placed and aimed where it was.

    OpenCV axes (looks along +Z, image y down) become Blender's (looks along -Z, +Y up); the focal length
    and principal point become ``lens`` / ``shift`` on a 36 mm wide sensor. Lens distortion is not modelled.
    With ``set_resolution`` the scene's render size becomes the first camera's image size.
    """
    import bpy
    from mathutils import Matrix

    scene = bpy.context.scene
    objs = []
    for cam in rig.cameras:
        w, h = cam.size
        data = bpy.data.cameras.new(cam.name)
        data.sensor_fit = "HORIZONTAL"
        data.sensor_width = 36.0
        data.lens = float(cam.K[0, 0]) * data.sensor_width / w
        data.shift_x = -(float(cam.K[0, 2]) - w / 2) / max(w, h)
        data.shift_y = (float(cam.K[1, 2]) - h / 2) / max(w, h)
        data.clip_start, data.clip_end = 0.05, 200.0
        obj = bpy.data.objects.new(cam.name, data)
        M = np.eye(4)
        M[:3, :3] = cam.R.T @ OPENCV_TO_BLENDER_CAMERA
        M[:3, 3] = cam.center
        obj.matrix_world = Matrix(M.tolist())
        obj["mocap_image_size"] = [int(w), int(h)]
        (collection or scene.collection).objects.link(obj)
        objs.append(obj)
    if objs:
        if scene.camera is None:
            scene.camera = objs[0]
        if set_resolution:
            scene.render.resolution_x, scene.render.resolution_y = rig.cameras[0].size
            scene.render.pixel_aspect_x = 1.0
            scene.render.pixel_aspect_y = float(rig.cameras[0].K[0, 0] / rig.cameras[0].K[1, 1])
    return objs


def add_points_empties(points3d: np.ndarray, names: Sequence[str], *, name: str = "points3d",
                       frame_start: int = 1, size: float = 0.02, collection=None):
    """Animated empties, one per point, parented to one empty called ``name``; NaN frames get no key.

    Args:
        points3d: ``(F, J, 3)`` world positions (metres, Z up), NaN where missing.
        names: ``J`` point names.
    """
    import bpy

    P = np.asarray(points3d, dtype=np.float64)
    if P.ndim != 3 or P.shape[2] != 3 or P.shape[1] != len(names):
        raise ValueError(f"points3d: expected (F, {len(names)}, 3), got {P.shape}")
    coll = collection or bpy.context.scene.collection
    parent = bpy.data.objects.new(name, None)
    coll.objects.link(parent)
    frames = frame_start + np.arange(len(P), dtype=np.float64)
    out = []
    for j, point_name in enumerate(names):
        e = bpy.data.objects.new(f"{name}.{point_name}", None)
        e.empty_display_type = "SPHERE"
        e.empty_display_size = size
        e.parent = parent
        coll.objects.link(e)
        first = np.flatnonzero(np.isfinite(P[:, j]).all(axis=1))
        if len(first):
            e.location = P[first[0], j].tolist()
        _, bag = _new_action(e, e.name)
        for i in range(3):
            _set_fcurve(bag, "location", i, "location", frames, P[:, j, i])
        out.append(e)
    return parent
