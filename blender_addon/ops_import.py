"""Import a capture take: ``body_motion.npz`` -> animated armature (+ skinned body, cameras, point empties);
a take with several performers (its ``people.toml``) -> one armature per performer, named after them.

Plain functions; the operators in ``__init__.py`` only collect options and report. The mocap modules come
from ``_vendor`` (copied in when the add-on zip is built), so nothing is installed into Blender.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: Custom property marking an armature built from a take (its value: the take file).
TAKE_PROPERTY = "mocap_take"
#: The body mesh is used only when the take's rest joints match the model's within this (metres).
MAX_SKELETON_MISMATCH = 0.01


def find_session_files(take_path: str | Path) -> dict[str, Path | None]:
    """The camera rig and 3D points belonging to a take in the session layout, where they exist.

    ``<output>/takes/<take>/body_motion.npz`` (or a performer's ``.../<take>/people/<name>/body_motion.npz``, or
    a take's ``people.toml``) has its points beside it and the rig in ``<output>/calibration/camera_rig.toml``.
    """
    from ._vendor.mocap.layout import CalibrationLayout, OutputLayout, TakeLayout

    take = Path(take_path)
    files = TakeLayout(take.parent, take.parent.name)
    beside = CalibrationLayout(take.parent).rig  # a rig copied next to the take
    above = [OutputLayout(folder).calibration.rig for folder in take.parents]  # the output folder holds it
    rig = next((p for p in (*above, beside) if p.is_file()), None)
    return {"rig": rig, "points": files.points3d if files.points3d.is_file() else None}


def is_people_file(path: str | Path) -> bool:
    """Whether ``path`` is a take's ``people.toml`` (a take with several performers)."""
    from ._vendor.mocap.layout import TakeLayout

    return Path(path).name == TakeLayout(Path("take"), "take").people.name


def import_people(context, people_path: str | Path, *, rig_path: str | Path | None = None, points: bool = False,
                  with_mesh: bool = True, bone_display: str = "to_child", report=print) -> list[dict]:
    """Import every performer of a take with several: one armature per performer, named after them (their
    ``body_motion.npz`` as listed in ``people.toml``); the cameras once; each one's 3D points when ``points``.

    Returns one :func:`import_take` result per performer, in ``people.toml`` order.
    """
    from ._vendor.mocap.errors import InputError
    from ._vendor.mocap.people.roster import read_roster

    people_path = Path(people_path)
    roster = read_roster(people_path)
    take_dir = people_path.parent
    missing = [p.name for p in roster.people if not (take_dir / p.files.get("body_motion", "")).is_file()]
    if missing or not roster.people:
        raise InputError(f"no fitted body for {', '.join(missing) or 'anyone'} in take {roster.take!r}",
                         path=people_path, fix="run the pipeline up to the fit stage (`mocap run`) first")
    out = []
    for k, p in enumerate(roster.people):
        own = take_dir / p.files["body_motion"]
        pts = take_dir / p.files.get("points3d", "")
        out.append(import_take(context, own, rig_path=rig_path if k == 0 else None,
                               points_path=pts if points and pts.is_file() else None, with_mesh=with_mesh,
                               bone_display=bone_display, report=report, name=p.name,
                               collection_name=f"{roster.take} {p.name}"))
    report(f"imported {len(out)} performers of {roster.take}: {', '.join(roster.names)}")
    return out


def import_take(context, filepath: str | Path, *, rig_path: str | Path | None = None,
                points_path: str | Path | None = None, with_mesh: bool = True, bone_display: str = "to_child",
                report=print, name: str = "mocap_body", collection_name: str | None = None) -> dict:
    """Build the take in the current scene: armature keyed on every frame at the take's frame rate.

    Args:
        context: Blender context (its scene gets the frame rate and range).
        filepath: a ``body_motion.npz`` written by ``mocap fit``.
        rig_path: a ``camera_rig.toml`` whose cameras to add, or None.
        points_path: a ``points3d.npz`` to add as animated empties, or None.
        with_mesh: add the skinned body (the open body model when the add-on ships it, else bone shapes).
        bone_display: ``"to_child"`` or ``"keep"`` (see ``mocap.export.blender_scene.build_armature``).
        report: called with one-line messages for the user.
        name: the armature object's name (a performer's name for a take with several).
        collection_name: the new collection's name after "mocap " (default: the take's).

    Returns:
        ``{"armature", "mesh", "cameras", "points"}`` (objects, None or lists).

    Raises:
        MocapError (vendored) for unreadable or wrong files.
    """
    from ._vendor.mocap.body.animation import from_body_motion
    from ._vendor.mocap.body.motion import BodyMotion
    from ._vendor.mocap.export import blender_scene

    filepath = Path(filepath)
    motion = BodyMotion.load(filepath)
    anim = from_body_motion(motion)
    bad = int((~np.isfinite(anim.local_rotations).all(axis=(1, 2, 3))).sum())
    default = filepath.parent.name if filepath.stem == "body_motion" else filepath.stem
    collection = _new_collection(context, collection_name or default)
    arm = blender_scene.build_armature(anim, name, bone_display=bone_display, collection=collection)
    arm[TAKE_PROPERTY] = str(filepath)
    out = {"armature": arm, "mesh": None, "cameras": [], "points": None}
    if with_mesh:
        out["mesh"] = blender_scene.add_body_mesh(arm, _body_mesh(motion, anim, report), collection=collection)
    if rig_path:
        from ._vendor.mocap.camera import CameraRig

        out["cameras"] = blender_scene.add_cameras(CameraRig.load(rig_path), collection=collection)
    if points_path:
        xyz, names = _read_points(points_path)
        out["points"] = blender_scene.add_points_empties(xyz, names, collection=collection)
    context.view_layer.objects.active = arm
    msg = f"imported {filepath.name}: {motion.n_frames} frames at {motion.fps:g} fps, {len(anim.names)} bones"
    if bad:
        msg += f"; {bad} frames with missing values held from their neighbours"
    if not motion.has_hands:
        msg += "; no hand motion (flat hands)"
    report(msg)
    return out


def _new_collection(context, name: str):
    import bpy

    coll = bpy.data.collections.new(f"mocap {name}")
    context.scene.collection.children.link(coll)
    return coll


def _body_mesh(motion, anim, report=print):
    """The open body model shaped by the take's betas when it is shipped, else a bone-shape stand-in."""
    from ._vendor.mocap.export import blender_scene, bone_frames
    from ._vendor.mocap.geometry import Y_UP_TO_Z_UP

    found = _open_model()
    if found is not None and motion.model == "open_smplx":
        lbs, model_path = found
        model = lbs.load_model(model_path)
        joints = lbs.rest_joints(model, motion.betas)
        off = float(np.abs(joints - motion.rest_joints).max())
        if off <= MAX_SKELETON_MISMATCH:
            verts = lbs.shaped_template(model, motion.betas) @ Y_UP_TO_Z_UP.T
            uv = np.asarray(model["vt"])[np.asarray(model["ft"])] if "vt" in model and "ft" in model else None
            texture = next((str(p) for p in sorted(model_path.parent.glob("texture.*"))), None)
            return blender_scene.SkinnedMesh(verts, model["f"], model["weights"], anim.names, uv=uv,
                                             texture=texture, name="mocap_mesh")
        report(f"the take's skeleton is {off * 1000:.0f} mm off the body model's; showing bone shapes instead")
    verts, faces, weights = bone_frames.octahedral_bone_mesh(anim)
    return blender_scene.SkinnedMesh(verts, faces, weights, anim.names, name="mocap_bones_mesh")


def _open_model():
    """``(lbs module, model path)`` when the add-on was built with the open body model, else None."""
    try:
        from ._vendor.mocap.body import lbs
        from ._vendor.mocap.bodymodels import OPEN_MODEL_PATH
    except ImportError:
        return None
    path = Path(OPEN_MODEL_PATH)
    return (lbs, path) if path.is_file() else None


def _read_points(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """``xyz (F, J, 3)`` and joint names of a ``points3d.npz`` (the triangulation stage's output)."""
    from ._vendor.mocap.errors import InputError

    try:
        with np.load(path, allow_pickle=False) as z:
            return np.asarray(z["xyz"], dtype=np.float64), [str(s) for s in z["joint_names"]]
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"not a points3d.npz ({exc})", path=path,
                         fix="pick the points3d.npz that `mocap triangulate` wrote") from None
