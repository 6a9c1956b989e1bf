"""Rig presets: target skeletons for retargeting, stored as TOML data in the repository's ``rigs/`` folder.

A preset lists its bones with a rest pose in Blender's convention (metres, Z-up world, the character faces
-Y, floor at z = 0) and, per bone, the SMPL-X joint it follows (``source``). ``rigs/README.md`` documents the
file format for custom rigs. Only numpy and the standard library are used (the Blender add-on vendors this).

Shapes: ``J`` bones in parent-before-child order.
"""
from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.body.animation import SkeletonAnimation
from mocap.body.skeleton import JOINT_NAMES
from mocap.errors import InputError
from mocap.geometry import axis_angle_to_matrix

SCHEMA_VERSION = 1
#: Built-in presets ship inside the package (``mocap/data/rigs``, copied to the repository's ``rigs/`` for
#: people to read); ``MOCAP_RIGS_DIR`` overrides the folder.
RIGS_DIR = Path(__file__).resolve().parents[1] / "data" / "rigs"
RIGS_DIR_ENV = "MOCAP_RIGS_DIR"
_AXES = ("X", "Y", "Z", "-X", "-Y", "-Z")
ROOT_MOTIONS = ("pelvis", "ground", "ground_heading", "fixed")
FBX_PRESET_NAMES = ("default", "unreal", "unity", "mixamo")  # the keys of blender_export.FBX_PRESETS
_FIX_FORMAT = "see rigs/README.md for the preset format"


@dataclass(frozen=True, eq=False)  # arrays: compare fields explicitly
class RigPreset:
    """A target rig: bone hierarchy, rest pose and the SMPL-X joint each bone follows.

    Attributes:
        name: preset name (the file's ``name``).
        description: one line for listings.
        up, forward: axes of the rig's native export convention (e.g. Mixamo FBX: ``"Y"``, ``"Z"``);
            informative for exporters, the rest pose itself is always in the Z-up, facing -Y world.
        names: ``J`` bone names, parents before children.
        parents: ``J`` parent indices, -1 for the root.
        heads: ``(J, 3)`` rest positions of the bone heads (joints), metres.
        tails: ``(J, 3)`` rest positions of the bone tails (give each bone's direction).
        rolls: ``(J,)`` Blender bone roll, degrees.
        sources: ``J`` SMPL-X joint names the bones follow, None for unmapped bones (keep their rest).
        twist_sources: ``J`` SMPL-X joints whose twist an unmapped twist bone shares, or None.
        twist_weights: ``(J,)`` share of that twist (0 where no twist source).
        path: the file it was read from.
        follows: ``J`` names of bones of this rig whose world transform the bone copies (a UE5 rig's
            ``ik_foot_l`` follows ``foot_l``), or None.
        root_motion: how an unmapped root bone above the hips moves: ``"pelvis"`` (it carries the hips'
            motion, the usual for rigs whose root is the hips), ``"ground"`` (it stays on the floor right under
            the hips, as Unreal's root motion expects; the hips bone translates), ``"ground_heading"`` (the same,
            also turning with the hips' heading) or ``"fixed"`` (it stays at rest; the hips carry all motion).
        fbx_preset: the FBX export settings of the rig's engine (``mocap.export.blender_export.FBX_PRESETS``:
            ``default``, ``unreal``, ``unity``, ``mixamo``).
    """

    name: str
    description: str
    up: str
    forward: str
    names: tuple[str, ...]
    parents: tuple[int, ...]
    heads: np.ndarray
    tails: np.ndarray
    rolls: np.ndarray
    sources: tuple[str | None, ...]
    twist_sources: tuple[str | None, ...]
    twist_weights: np.ndarray
    path: Path | None = None
    follows: tuple[str | None, ...] = ()
    root_motion: str = "pelvis"
    fbx_preset: str = "default"

    @property
    def bone_map(self) -> dict[str, str]:
        """``{bone name: SMPL-X joint}`` for the mapped bones."""
        return {n: s for n, s in zip(self.names, self.sources) if s is not None}

    def index(self, bone: str) -> int:
        try:
            return self.names.index(bone)
        except ValueError:
            raise KeyError(f"rig {self.name!r} has no bone {bone!r}") from None

    def rest_orientations(self) -> np.ndarray:
        """``(J, 3, 3)`` Blender bone rest matrices (``bone.matrix_local`` rotation): Y along the bone."""
        return bone_matrices(self.tails - self.heads, np.radians(self.rolls))


def bone_matrices(directions: np.ndarray, rolls: np.ndarray) -> np.ndarray:
    """Blender's ``vec_roll_to_mat3``: bone directions ``(J, 3)`` and rolls ``(J,)`` (radians) -> ``(J, 3, 3)``.

    The columns are the bone's X, Y (along the bone) and Z axes in world: the shortest rotation taking +Y to
    the bone direction, then the roll about the bone.
    """
    d = np.asarray(directions, dtype=np.float64)
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    theta = 1.0 + y
    theta_alt = x * x + z * z
    # near -Y, 1 + y = (x^2 + z^2) / (1 - y) exactly; Blender uses a series there (float32), which leaves its
    # matrices up to 3e-5 from orthonormal; ours stay orthonormal and agree with Blender's within that
    theta = np.where(theta <= 6.1e-3, theta_alt / np.maximum(1.0 - y, 1.0), theta)
    flip = (theta_alt <= 6.25e-8) & (y < 0)  # along -Y (Blender's CRITICAL_THRESHOLD squared): half a turn about Z
    theta = np.where(flip, 1.0, theta)
    M = np.stack([np.stack([1 - x * x / theta, x, -x * z / theta], -1),
                  np.stack([-x, y, -z], -1),
                  np.stack([-x * z / theta, z, 1 - z * z / theta], -1)], -2)
    M = np.where(flip[..., None, None], np.diag([-1.0, -1.0, 1.0]), M)
    return axis_angle_to_matrix(d * np.asarray(rolls, dtype=np.float64)[..., None]) @ M


def rigs_dir() -> Path:
    """The folder of the built-in presets (``MOCAP_RIGS_DIR`` if set, else the package's ``data/rigs``)."""
    env = os.environ.get(RIGS_DIR_ENV)
    return Path(env) if env else RIGS_DIR


def list_rigs() -> list[str]:
    """Names of the built-in presets (sorted); empty when the ``rigs/`` folder is absent."""
    folder = rigs_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def load_rig(name_or_path: str | Path) -> RigPreset:
    """A built-in preset by name (``"mixamo"``) or a custom rig ``.toml`` file, validated.

    Raises ``InputError`` for an unknown preset (listing the known ones), or a file with missing fields,
    duplicate bones, missing parents, cycles, zero-length bones or a ``source`` that is not an SMPL-X joint.
    """
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith(".toml") or path.is_file()):
        folder = rigs_dir()
        if not folder.is_dir():
            raise InputError(f"the rig presets folder {folder} is missing",
                             fix=f"reinstall mocap (its package data is incomplete), set {RIGS_DIR_ENV} "
                                 "to a folder of preset .toml files, or pass a rig .toml path")
        path = folder / f"{text}.toml"
        if not path.is_file():
            known = ", ".join(list_rigs()) or "none"
            raise InputError(f"unknown rig preset {text!r}; known presets: {known}",
                             fix="use one of the known names or the path of a custom rig .toml (see rigs/README.md)")
    if not path.is_file():
        raise InputError("no such rig file", path=path, fix="check the path (or use a built-in preset name)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read the rig file ({exc})", path=path, fix=_FIX_FORMAT) from None
    return parse_rig(data, path)


def parse_rig(data: dict, path: Path | None = None) -> RigPreset:
    """Validate a rig's TOML table (see ``rigs/README.md``) and build the preset, bones sorted parents first."""
    where = path if path is not None else Path("<rig>")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"schema_version is {data.get('schema_version')!r}; this version reads {SCHEMA_VERSION}",
                         path=where, fix=f"set schema_version = {SCHEMA_VERSION} ({_FIX_FORMAT})")
    for key in ("up", "forward"):
        if data.get(key, "Z") not in _AXES:
            raise InputError(f"{key} = {data[key]!r} is not one of {', '.join(_AXES)}", path=where, fix=_FIX_FORMAT)
    root_motion = data.get("root_motion", "pelvis")
    if root_motion not in ROOT_MOTIONS:
        raise InputError(f"root_motion = {root_motion!r} is not one of {', '.join(ROOT_MOTIONS)}", path=where,
                         fix=_FIX_FORMAT)
    fbx_preset = data.get("fbx_preset", "default")
    if fbx_preset not in FBX_PRESET_NAMES:
        raise InputError(f"fbx_preset = {fbx_preset!r} is not one of {', '.join(FBX_PRESET_NAMES)}", path=where,
                         fix=_FIX_FORMAT)
    bones = data.get("bones")
    if not isinstance(bones, list) or not bones:
        raise InputError("no [[bones]] entries", path=where, fix=_FIX_FORMAT)
    parsed = [_parse_bone(b, k, where) for k, b in enumerate(bones)]
    names = {b["name"] for b in parsed}
    for b in parsed:
        if b["follow"] is not None and (b["follow"] not in names or b["follow"] == b["name"]):
            raise InputError(f"bone {b['name']!r}: follow {b['follow']!r} is not another bone of this rig",
                             path=where, fix="name the bone whose world transform it copies, e.g. follow = \"foot_l\"")
    order = _parents_first(parsed, where)
    bones = [parsed[k] for k in order]
    index = {b["name"]: k for k, b in enumerate(bones)}
    return RigPreset(
        name=str(data.get("name", where.stem)), description=str(data.get("description", "")),
        up=data.get("up", "Z"), forward=data.get("forward", "-Y"),
        names=tuple(b["name"] for b in bones),
        parents=tuple(index[b["parent"]] if b["parent"] is not None else -1 for b in bones),
        heads=np.array([b["head"] for b in bones]), tails=np.array([b["tail"] for b in bones]),
        rolls=np.array([b["roll"] for b in bones]), sources=tuple(b["source"] for b in bones),
        twist_sources=tuple(b["twist_source"] for b in bones),
        twist_weights=np.array([b["twist_weight"] for b in bones]), path=path,
        follows=tuple(b["follow"] for b in bones), root_motion=root_motion, fbx_preset=fbx_preset)


def _parse_bone(b: dict, k: int, where: Path) -> dict:
    name = b.get("name") if isinstance(b, dict) else None
    if not isinstance(name, str) or not name:
        raise InputError(f"bone #{k + 1} has no name", path=where, fix=_FIX_FORMAT)
    out = {"name": name, "parent": b.get("parent"), "roll": float(b.get("roll", 0.0))}
    for key in ("head", "tail"):
        v = np.asarray(b.get(key, []), dtype=np.float64) if isinstance(b.get(key), list) else np.array([])
        if v.shape != (3,) or not np.isfinite(v).all():
            raise InputError(f"bone {name!r}: {key} must be three numbers (metres, Z-up)", path=where, fix=_FIX_FORMAT)
        out[key] = v
    if np.linalg.norm(out["tail"] - out["head"]) < 1e-6:
        raise InputError(f"bone {name!r} has zero length (head == tail)", path=where,
                         fix="move its tail along the bone; the direction defines the bone's frame")
    for key in ("source", "twist_source"):
        s = b.get(key)
        if s is not None and s not in JOINT_NAMES:
            near = difflib.get_close_matches(str(s), JOINT_NAMES, n=3)
            raise InputError(f"bone {name!r}: {key} {s!r} is not an SMPL-X joint"
                             + (f" (did you mean {', '.join(near)}?)" if near else ""), path=where,
                             fix="use one of the 55 SMPL-X joint names (mocap.body.skeleton.JOINT_NAMES), "
                                 f"or omit {key} for an unmapped bone")
        out[key] = s
    out["twist_weight"] = float(b.get("twist_weight", 0.5 if out["twist_source"] else 0.0))
    follow = b.get("follow")
    if follow is not None and (not isinstance(follow, str) or out["source"] is not None):
        raise InputError(f"bone {name!r}: follow must be a bone name, and a bone cannot both follow a bone and "
                         "have a source", path=where, fix=_FIX_FORMAT)
    out["follow"] = follow
    return out


def _parents_first(bones: list[dict], where: Path) -> list[int]:
    """Indices of ``bones`` in parent-before-child order (stable); errors for duplicates, missing parents,
    cycles and more than one root."""
    index: dict[str, int] = {}
    for k, b in enumerate(bones):
        if b["name"] in index:
            raise InputError(f"bone {b['name']!r} is listed twice", path=where, fix="give every bone a unique name")
        index[b["name"]] = k
    roots = [b["name"] for b in bones if b["parent"] is None]
    for b in bones:
        if b["parent"] is not None and b["parent"] not in index:
            raise InputError(f"bone {b['name']!r}: parent {b['parent']!r} is not a bone of this rig", path=where,
                             fix="add the parent bone, fix the name, or omit parent for the root")
    if len(roots) != 1:
        raise InputError(f"a rig needs exactly one root bone (without parent); found {len(roots)}: "
                         f"{', '.join(roots) or 'none (the parents form a cycle)'}", path=where, fix=_FIX_FORMAT)
    order, placed = [], set()
    pending = list(range(len(bones)))
    while pending:  # passes in file order: a file already listing parents first keeps its order
        left = []
        for k in pending:
            if bones[k]["parent"] is None or bones[k]["parent"] in placed:
                order.append(k)
                placed.add(bones[k]["name"])
            else:
                left.append(k)
        if len(left) == len(pending):
            cycle = ", ".join(bones[k]["name"] for k in left)
            raise InputError(f"the parents of these bones form a cycle: {cycle}", path=where,
                             fix="every bone's parent chain must end at the root bone")
        pending = left
    return order


def rig_rest_animation(preset: RigPreset, fps: float = 30.0) -> SkeletonAnimation:
    """The preset's rest pose as a one-frame `SkeletonAnimation` (identity local rotations)."""
    J = len(preset.names)
    return SkeletonAnimation(names=preset.names, parents=preset.parents, rest_positions=preset.heads,
                             rest_orientations=preset.rest_orientations(),
                             local_rotations=np.broadcast_to(np.eye(3), (1, J, 3, 3)).copy(),
                             root_positions=preset.heads[:1].copy(), fps=fps)
