"""Export a `BodyMotion` for animators: BVH, AMASS ``.npz``, TRC, FBX and glTF (GLB), optionally on a rig.

``export_motion`` is what ``mocap export`` and the export stage call; the formats are a registry
(``FORMATS``); ``export_path`` names the output ``<take folder>/export/<take>_<rig>.<ext>``.
"""
from __future__ import annotations

import logging
from pathlib import Path

from mocap.body.animation import SkeletonAnimation, from_body_motion
from mocap.body.motion import BodyMotion
from mocap.errors import InputError
from mocap.layout import TakeLayout
from mocap.registry import Entry, Registry
from mocap.units import units_per_metre

log = logging.getLogger(__name__)

_M = "mocap.export.export:"
FORMATS = Registry("export format", [
    Entry("bvh", "BVH: the skeleton and its animation (plain text, ZXY Euler channels)",
          {"write": _M + "_write_bvh"}, suffixes=(".bvh",)),
    Entry("fbx", "FBX through Blender's exporter, with the skinned body mesh on the SMPL-X skeleton",
          {"write": _M + "_write_blender"}, suffixes=(".fbx",)),
    Entry("glb", "binary glTF through Blender's exporter, with the skinned body mesh on the SMPL-X skeleton",
          {"write": _M + "_write_blender"}, suffixes=(".glb",)),
    Entry("amass", "AMASS-style SMPL-X parameters (.npz)", {"write": _M + "_write_amass"}, suffixes=(".npz",)),
    Entry("trc", "TRC: the skeleton's joint positions (OpenSim marker file)", {"write": _M + "_write_trc"},
          suffixes=(".trc",)),
])

BODY_MOTION_FILE = "body_motion.npz"

#: Formats that hold several armatures in one file: a take with several performers gets one file with an
#: armature per performer; the other formats get one file per performer (``<take>_<performer>_<rig>.<ext>``).
SCENE_FORMATS = ("fbx", "glb")


def resolve_input(path: str | Path) -> tuple[Path, TakeLayout]:
    """A take folder or a body-motion ``.npz`` -> ``(npz path, the take's layout)``."""
    path = Path(path)
    npz = path / BODY_MOTION_FILE if path.is_dir() else path
    if not npz.is_file():
        raise InputError(f"no body motion at {npz}", path=path,
                         fix=f"give a take folder holding {BODY_MOTION_FILE} (run `mocap fit` first) or an .npz file")
    take = npz.parent.name if npz.name == BODY_MOTION_FILE else npz.stem
    return npz, TakeLayout(npz.parent, take)


def rig_label(rig: str | Path | None) -> str:
    """The name a rig gives export files: the preset name, a rig file's stem, or ``smplx``."""
    return Path(rig).stem if rig else "smplx"


def export_path(take: TakeLayout, fmt: str, rig: str | Path | None = None, performer: str | None = None) -> Path:
    """``<take folder>/export/<take>_<rig>.<ext>`` (rig ``smplx`` when none is given); one performer's file of a
    take with several: ``<take>_<performer>_<rig>.<ext>``."""
    return take.export_file(rig_label(rig), FORMATS.get(fmt, "write").suffixes[0], performer)


def motion_animation(motion: BodyMotion, rig: str | Path | None = None, *, foot_locking: bool = True
                     ) -> tuple[SkeletonAnimation, dict]:
    """The motion as a `SkeletonAnimation`: the SMPL-X skeleton, or retargeted onto a rig preset (name or
    ``.toml`` path). Also returns ``{leaf bone: (3,) tip vector}`` from the preset's bone tails, for BVH
    end sites."""
    from mocap.export.retarget import check_finite

    anim = from_body_motion(motion)
    check_finite(anim, "body motion")
    if rig in (None, "smplx"):
        return anim, {}
    from mocap.export.retarget import retarget
    from mocap.export.rigs import load_rig

    preset = load_rig(rig)
    tips = {n: t - h for n, h, t in zip(preset.names, preset.heads, preset.tails)}
    return retarget(anim, preset, foot_locking=foot_locking), tips


def export_motion(motion: BodyMotion, path: str | Path, fmt: str | None = None, rig: str | Path | None = None, *,
                  up: str = "Y", units: str = "m", foot_locking: bool = True, mesh=None) -> Path:
    """Write ``motion`` as ``fmt`` to ``path`` and return the path.

    Args:
        motion: the fitted body motion.
        path: output file.
        fmt: a ``FORMATS`` name: ``bvh``, ``amass`` (`BodyMotion.save`, SMPL-X parameters), ``trc`` (joint
            positions; the rig's bone heads when ``rig`` is given), ``fbx`` or ``glb`` (through Blender,
            `mocap.export.blender_export`); None picks it from the file suffix.
        rig: rig preset name or ``.toml`` path to retarget onto (None or ``smplx``: the SMPL-X skeleton).
        up: ``"Y"`` or ``"Z"`` up axis of BVH and TRC files (TRC's Y-up is OpenSim's, see `mocap.io.trc`).
        units: ``m``, ``cm`` or ``mm`` for BVH; ``m`` or ``mm`` for TRC.
        foot_locking: pin planted feet when retargeting.
        mesh: a `mocap.export.blender_scene.SkinnedMesh` for FBX/GLB (see `mocap.export.mesh.export_mesh`).
    """
    path = Path(path)
    entry = FORMATS.for_path(path, fmt, "write")
    if up not in ("Y", "Z"):
        raise InputError(f"unknown up axis {up!r}", fix="use Y or Z")
    units_per_metre(units)  # a clear error for unknown units
    rig = None if rig in (None, "smplx") else rig
    return entry.function("write")(motion, path, entry.name, rig=rig, up=up, units=units,
                                   foot_locking=foot_locking, mesh=mesh)


def export_performers(motions: dict[str, BodyMotion], path: str | Path, fmt: str | None = None,
                      rig: str | Path | None = None, *, foot_locking: bool = True, meshes: dict | None = None,
                      **_) -> Path:
    """Write several performers' motions into one FBX or GLB file: one armature per performer, named after
    them (each retargeted onto ``rig`` when given), each with its own skinned body from ``meshes``
    (name -> `SkinnedMesh`, optional). BVH, AMASS and TRC hold one skeleton: use `export_motion` per performer.
    """
    from mocap.export.blender_export import export_blender_scene

    path = Path(path)
    entry = FORMATS.for_path(path, fmt, "write")
    if entry.name not in SCENE_FORMATS:
        raise InputError(f"{entry.name} files hold one skeleton; several performers need one file each",
                         path=path, fix=f"export {', '.join(SCENE_FORMATS)} for one file, or one {entry.name} "
                                        "per performer")
    if not motions:
        raise InputError("no performer to export", path=path, fix="run the fit stage first")
    rig = None if rig in (None, "smplx") else rig
    actors = [(name, motion_animation(m, rig, foot_locking=foot_locking)[0], (meshes or {}).get(name))
              for name, m in motions.items()]
    return export_blender_scene(actors, path, entry.name)


def _write_amass(motion: BodyMotion, path: Path, fmt: str, *, rig, **_) -> Path:
    if rig is not None:
        raise InputError("AMASS files hold SMPL-X parameters; --rig does not apply",
                         fix="drop --rig, or export bvh/fbx/glb for a rig")
    return motion.save(path)


def _write_bvh(motion: BodyMotion, path: Path, fmt: str, *, rig, up, units, foot_locking, **_) -> Path:
    from mocap.export.bvh import write_bvh

    anim, tips = motion_animation(motion, rig, foot_locking=foot_locking)
    return write_bvh(path, anim, up=up, scale=units_per_metre(units), end_sites=tips)


def _write_trc(motion: BodyMotion, path: Path, fmt: str, *, rig, up, units, foot_locking, **_) -> Path:
    from mocap.io.trc import write_trc

    if units == "cm":
        raise InputError("TRC files are written in m or mm", fix="use --units m or --units mm")
    anim, _ = motion_animation(motion, rig, foot_locking=foot_locking)
    return write_trc(path, anim.world_transforms()[0], anim.names, anim.fps, units=units, up_axis=up)


def _write_blender(motion: BodyMotion, path: Path, fmt: str, *, rig, foot_locking, mesh, **_) -> Path:
    from mocap.export.blender_export import export_blender
    from mocap.export.rigs import load_rig

    anim, _ = motion_animation(motion, rig, foot_locking=foot_locking)
    preset = load_rig(rig).fbx_preset if rig is not None else "default"
    result = export_blender(anim, path, fmt, mesh=mesh, preset_axes=preset)
    return Path(result) if result is not None else path
