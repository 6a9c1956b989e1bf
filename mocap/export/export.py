"""Export a `BodyMotion` for animators: BVH, AMASS ``.npz``, TRC, FBX and glTF (GLB), optionally on a rig.

``export_motion`` is what ``mocap export`` calls; ``default_export_path`` names the output
``<take_dir>/export/<take>_<rig>.<ext>``.
"""
from __future__ import annotations

import logging
from pathlib import Path

from mocap.body.motion import BodyMotion
from mocap.errors import InputError
from mocap.export.animation import SkeletonAnimation, from_body_motion

log = logging.getLogger(__name__)

#: Export format -> file suffix.
FORMATS = {"bvh": ".bvh", "amass": ".npz", "trc": ".trc", "fbx": ".fbx", "glb": ".glb"}
#: ``--units`` -> file units per metre.
UNITS = {"m": 1.0, "cm": 100.0, "mm": 1000.0}
BODY_MOTION_FILE = "body_motion.npz"


def resolve_input(path: str | Path) -> tuple[Path, str]:
    """A take folder or a body-motion ``.npz`` -> ``(npz path, take name)``."""
    path = Path(path)
    npz = path / BODY_MOTION_FILE if path.is_dir() else path
    if not npz.is_file():
        raise InputError(f"no body motion at {npz}", path=path,
                         fix=f"give a take folder holding {BODY_MOTION_FILE} (run `mocap fit` first) or an .npz file")
    take = npz.parent.name if npz.name == BODY_MOTION_FILE else npz.stem
    return npz, take


def default_export_path(npz: Path, take: str, fmt: str, rig: str | None) -> Path:
    """``<take_dir>/export/<take>_<rig>.<ext>`` (rig ``smplx`` when none is given)."""
    rig_label = Path(rig).stem if rig else "smplx"
    return npz.parent / "export" / f"{take}_{rig_label}{FORMATS[_check_format(fmt)]}"


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    return fmt


def motion_animation(motion: BodyMotion, rig: str | Path | None = None, *, foot_locking: bool = True
                     ) -> tuple[SkeletonAnimation, dict]:
    """The motion as a `SkeletonAnimation`: the SMPL-X skeleton, or retargeted onto a rig preset (name or
    ``.toml`` path). Also returns ``{leaf bone: (3,) tip vector}`` from the preset's bone tails, for BVH
    end sites."""
    from mocap.export.retarget import check_finite

    anim = from_body_motion(motion)
    check_finite(anim, "body motion")
    if rig is None:
        return anim, {}
    from mocap.export.retarget import retarget
    from mocap.export.rigs import load_rig

    preset = load_rig(rig)
    tips = {n: t - h for n, h, t in zip(preset.names, preset.heads, preset.tails)}
    return retarget(anim, preset, foot_locking=foot_locking), tips


def export_motion(motion: BodyMotion, path: str | Path, fmt: str, rig: str | Path | None = None, *,
                  up: str = "Y", units: str = "m", foot_locking: bool = True, mesh=None) -> Path:
    """Write ``motion`` as ``fmt`` to ``path`` and return the path.

    Args:
        motion: the fitted body motion.
        path: output file.
        fmt: ``bvh``, ``amass`` (`BodyMotion.save`, SMPL-X parameters), ``trc`` (joint positions; the rig's
            bone heads when ``rig`` is given), ``fbx`` or ``glb`` (through Blender, `mocap.export.blender_export`).
        rig: rig preset name or ``.toml`` path to retarget onto (None: the SMPL-X skeleton).
        up: ``"Y"`` or ``"Z"`` up axis of BVH and TRC files (TRC's Y-up is OpenSim's, see `mocap.io.trc`).
        units: ``m``, ``cm`` or ``mm`` for BVH; ``m`` or ``mm`` for TRC.
        foot_locking: pin planted feet when retargeting.
        mesh: passed to the FBX/GLB exporter.
    """
    _check_format(fmt)
    if up not in ("Y", "Z"):
        raise InputError(f"unknown up axis {up!r}", fix="use Y or Z")
    if units not in UNITS:
        raise InputError(f"unknown units {units!r}", fix=f"use one of {', '.join(UNITS)}")
    path = Path(path)
    if fmt == "amass":
        if rig not in (None, "smplx"):
            raise InputError("AMASS files hold SMPL-X parameters; --rig does not apply",
                             fix="drop --rig, or export bvh/fbx/glb for a rig")
        return motion.save(path)
    anim, tips = motion_animation(motion, rig, foot_locking=foot_locking)
    if fmt == "bvh":
        from mocap.io.bvh import write_bvh

        return write_bvh(path, anim, up=up, scale=UNITS[units], end_sites=tips)
    if fmt == "trc":
        return _write_trc(path, anim, up, units)
    return _export_blender(anim, path, fmt, mesh)


def _write_trc(path: Path, anim: SkeletonAnimation, up: str, units: str) -> Path:
    from mocap.io.trc import write_trc

    if units == "cm":
        raise InputError("TRC files are written in m or mm", fix="use --units m or --units mm")
    return write_trc(path, anim.world_transforms()[0], anim.names, anim.fps, units=units, up_axis=up)


def _export_blender(anim: SkeletonAnimation, path: Path, fmt: str, mesh) -> Path:
    try:
        from mocap.export.blender_export import export_blender
    except ImportError as exc:
        raise InputError(f"{fmt.upper()} export is not available in this installation ({exc})",
                         fix="export bvh instead, or install the version of mocap with mocap.export.blender_export "
                             "(needs bpy)") from exc
    result = export_blender(anim, path, fmt, mesh=mesh)
    return Path(result) if result is not None else path
