"""Retargeting a `SkeletonAnimation` onto another rig, and foot-contact locking (pure numpy).

Only numpy, the standard library and vendorable ``mocap`` modules are imported: the Blender add-on vendors
this file.

Rotation transfer, per mapped target bone ``t`` following source joint ``s`` (world frame, Z-up):

* ``D_s(f) = W_s(f) @ B_s^T`` is the source joint's world rotation away from its rest.
* ``C_t`` turns the target's rest bone directions onto the source's rest directions (the vectors from the
  bone's joint to the joints of its mapped children, fitted by least squares when there are several): this
  is what makes an A-pose rig follow a T-pose source. Leaves take their parent's ``C``.
* The target bone's world orientation is ``W_t(f) = D_s(f) @ C_t @ B_t``, so bone rolls (``B_t``) of the two
  rigs may differ freely. Unmapped bones keep their rest rotation relative to their parent; twist bones
  with a ``twist_source`` take a share of that joint's twist about their own axis.

The root follows the source's hips scaled by the leg-length ratio, feet kept at the target's ankle height.
Foot locking: contacts of each source ankle (low and slow, with hysteresis and a minimum duration) pin the
target's ankle to where it was at the contact's first frame, through an analytic two-bone IK of the leg that
keeps the knee's bending plane and the foot's world orientation; the pin is blended out after the contact.

Shapes: ``F`` frames, ``J`` joints; positions ``(F, J, 3)``, rotations ``(..., 3, 3)``.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

import numpy as np

from mocap.body.animation import SkeletonAnimation
from mocap.body.skeleton import JOINT_NAMES
from mocap.errors import InputError
from mocap.export.rigs import RigPreset, rig_rest_animation
from mocap.geometry import axis_angle_to_matrix, kabsch_rotation, shortest_rotation, transpose, twist_angle, unit

log = logging.getLogger(__name__)

SIDES = ("left", "right")
LEG_ROLES = ("hip", "knee", "ankle")
_UNITY_PARTS = ("proximal", "intermediate", "distal")
_FINGERS = ("thumb", "index", "middle", "ring", "pinky")


# ----------------------------------------------------------------------------------------------
# Which joint is which: SMPL-X names for other skeletons' joints


def _alias_table() -> list[tuple[str, tuple[str, ...]]]:
    """``(SMPL-X joint, normalised aliases in priority order)``; shoulders before collars and the spine
    bottom-up, because names like ``LeftShoulder`` and ``Spine1`` mean different joints in different rigs."""
    table = [("pelvis", ("hips", "pelvis")),
             ("spine1", ("lowerback", "spine", "spine01")),
             ("spine2", ("spine", "spine1", "chest", "spine03", "spine02")),
             ("spine3", ("spine1", "spine2", "chest2", "upperchest", "spine05", "spine04", "chest")),
             ("neck", ("neck", "neck01")), ("head", ("head",)), ("jaw", ("jaw",))]
    for side in SIDES:
        s = side[0]
        table += [(f"{side}_shoulder", (f"{side}arm", f"{side}upperarm", f"upperarm{s}", f"{side}shoulder")),
                  (f"{side}_collar", (f"{side}collar", f"{side}clavicle", f"clavicle{s}", f"{side}shoulder")),
                  (f"{side}_elbow", (f"{side}forearm", f"{side}lowerarm", f"lowerarm{s}", f"{side}elbow")),
                  (f"{side}_wrist", (f"{side}hand", f"hand{s}", f"{side}wrist")),
                  (f"{side}_hip", (f"{side}upleg", f"{side}upperleg", f"thigh{s}", f"{side}hip", f"{side}thigh")),
                  (f"{side}_knee", (f"{side}leg", f"{side}lowerleg", f"calf{s}", f"{side}knee", f"{side}shin")),
                  (f"{side}_ankle", (f"{side}foot", f"foot{s}", f"{side}ankle")),
                  (f"{side}_foot", (f"{side}toebase", f"{side}toes", f"ball{s}", f"{side}toe")),
                  (f"{side}_eye_smplhf", (f"{side}eye",))]
        for finger in _FINGERS:
            unity = "little" if finger == "pinky" else finger
            for k in range(1, 4):
                table.append((f"{side}_{finger}{k}", (f"{side}hand{finger}{k}", f"{finger}0{k}{s}",
                                                      f"{side}{unity}{_UNITY_PARTS[k - 1]}")))
    return table


def _normalise(name: str) -> str:
    """``"mixamorig:LeftUpLeg"`` -> ``"leftupleg"``, ``"thigh_l"`` -> ``"thighl"``."""
    return re.sub(r"[^a-z0-9]", "", name.rsplit(":", 1)[-1].lower())


def smplx_roles(names) -> dict[str, str]:
    """Guess which joints of a skeleton are which SMPL-X joints, by name: ``{SMPL-X joint: joint name}``.

    SMPL-X names map to themselves; otherwise Mixamo, CMU BVH, UE5 and Unity Humanoid names are recognised.
    """
    names = list(names)
    if {"pelvis", "left_hip", "right_hip"} <= set(names):
        return {n: n for n in names if n in JOINT_NAMES}
    by_norm: dict[str, str] = {}
    for n in names:
        by_norm.setdefault(_normalise(n), n)
    roles, used = {}, set()
    for joint, aliases in _alias_table():
        match = next((by_norm[a] for a in aliases if a in by_norm and by_norm[a] not in used), None)
        if match is not None:
            roles[joint] = match
            used.add(match)
    return roles


# ----------------------------------------------------------------------------------------------
# Rotation helpers (vectorized)


def locals_from_world(W: np.ndarray, rest_orientations: np.ndarray, parents) -> np.ndarray:
    """``(F, J, 3, 3)`` local rotations ``L_j = B_j^T B_p W_p^T W_j`` (root: ``B_0^T W_0``) from world
    orientations ``W (F, J, 3, 3)``: the inverse of `SkeletonAnimation.world_transforms`."""
    B = rest_orientations
    L = np.empty_like(W)
    for j, p in enumerate(parents):
        if p < 0:
            L[:, j] = B[j].T @ W[:, j]
        else:
            L[:, j] = B[j].T @ B[p] @ transpose(W[:, p]) @ W[:, j]
    return L


# ----------------------------------------------------------------------------------------------
# Bone maps


@dataclass(frozen=True)
class _Target:
    """The target rig at rest and the SMPL-X role of each of its bones."""

    rest: SkeletonAnimation
    roles: tuple[str | None, ...]
    twist_sources: tuple[str | None, ...]
    twist_weights: np.ndarray
    label: str


def _target(target: RigPreset | SkeletonAnimation, fps: float) -> _Target:
    if isinstance(target, RigPreset):
        return _Target(rig_rest_animation(target, fps), target.sources, target.twist_sources, target.twist_weights,
                       str(target.path or target.name))
    guessed = {name: joint for joint, name in smplx_roles(target.names).items()}
    J = len(target.names)
    return _Target(target, tuple(guessed.get(n) for n in target.names), (None,) * J, np.zeros(J), "target rig")


def resolve_bone_map(tgt: _Target, source: SkeletonAnimation, bone_map: dict[str, str] | str | None
                     ) -> dict[str, str]:
    """``{target bone: source joint}``. ``None``: the preset's ``source`` fields (SMPL-X joints, found in the
    source by name, or by `smplx_roles` for other skeletons); ``"auto"``: both sides matched by name; a dict
    is checked (``InputError`` naming bones or joints that do not exist)."""
    if isinstance(bone_map, dict):
        bad_t = [b for b in bone_map if b not in tgt.rest.names]
        bad_s = [s for s in bone_map.values() if s not in source.names]
        if bad_t or bad_s:
            raise InputError(f"the bone map names bones the target lacks ({', '.join(bad_t) or 'none'}) or joints "
                             f"the source lacks ({', '.join(bad_s) or 'none'})", path=tgt.label,
                             fix=f"target bones: {', '.join(tgt.rest.names)}; source joints: {', '.join(source.names)}")
        return dict(bone_map)
    if bone_map not in (None, "auto"):
        raise ValueError(f"bone_map must be None, 'auto' or a dict, got {bone_map!r}")
    roles = tgt.roles
    if bone_map == "auto":
        guessed = {name: joint for joint, name in smplx_roles(tgt.rest.names).items()}
        roles = tuple(guessed.get(n) for n in tgt.rest.names)
    lookup = smplx_roles(source.names)
    out = {b: lookup[r] for b, r in zip(tgt.rest.names, roles) if r is not None and r in lookup}
    if not out:
        raise InputError("no bone of the target rig could be matched to a joint of the source", path=tgt.label,
                         fix="pass bone_map={target bone: source joint}")
    return out


# ----------------------------------------------------------------------------------------------
# Retargeting


@dataclass(frozen=True)
class ContactConfig:
    """Foot-contact detection on the source (hysteresis: enter below the *_on thresholds, leave above *_off)."""

    height_on_m: float = 0.03
    """Ankle height above its lowest level in the clip (2nd percentile) below which a contact may start."""
    height_off_m: float = 0.05
    """Height above which a contact ends."""
    speed_on_mps: float = 0.15
    """Ankle speed (m/s) below which a contact may start."""
    speed_off_mps: float = 0.35
    """Speed above which a contact ends."""
    min_duration_s: float = 0.1
    """Shorter contacts are ignored."""
    blend_s: float = 0.15
    """After a contact the pin fades out over this time (smoothstep)."""


def check_finite(anim: SkeletonAnimation, what: str = "motion") -> None:
    """``InputError`` naming the frames where ``anim`` has NaN/inf rotations or root positions."""
    ok = np.isfinite(anim.local_rotations).all(axis=(1, 2, 3)) & np.isfinite(anim.root_positions).all(axis=1)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise InputError(f"the {what} has NaN/inf values in {len(bad)} of {len(ok)} frames (first: {bad[:5].tolist()})",
                         fix="fill the gaps (re-run fitting with smoothing) or trim those frames before exporting")


def rest_alignment(tgt_rest: SkeletonAnimation, src_rest: SkeletonAnimation, bone_map: dict[str, str]
                   ) -> np.ndarray:
    """``(J, 3, 3)`` per target bone: the rotation ``C_t`` turning its rest directions to its mapped
    children onto the source's rest directions between the same joints (identity for unmapped bones)."""
    names, parents = tgt_rest.names, tgt_rest.parents
    r_t, r_s = tgt_rest.rest_positions, src_rest.rest_positions
    src_index = {n: k for k, n in enumerate(src_rest.names)}
    mapped = [n in bone_map for n in names]
    nearest = []  # nearest mapped proper ancestor of each bone
    for j, p in enumerate(parents):
        nearest.append(-1 if p < 0 else (p if mapped[p] else nearest[p]))
    C = np.broadcast_to(np.eye(3), (len(names), 3, 3)).copy()
    for j, name in enumerate(names):
        if not mapped[j]:
            C[j] = C[nearest[j]] if nearest[j] >= 0 else np.eye(3)
            continue
        s = src_index[bone_map[name]]
        kids = [c for c in range(len(names)) if mapped[c] and nearest[c] == j]
        d_t = np.array([r_t[c] - r_t[j] for c in kids]).reshape(-1, 3)
        d_s = np.array([r_s[src_index[bone_map[names[c]]]] - r_s[s] for c in kids]).reshape(-1, 3)
        ok = (np.linalg.norm(d_t, axis=1) > 1e-4) & (np.linalg.norm(d_s, axis=1) > 1e-4)
        if ok.any():
            C[j] = kabsch_rotation(unit(d_t[ok]), unit(d_s[ok]), identity_pull=1e-6)
        else:
            C[j] = C[nearest[j]] if nearest[j] >= 0 else np.eye(3)
    return C


def _leg_chains(tgt: _Target, source: SkeletonAnimation, bone_map: dict[str, str]):
    """Per side ``(target (thigh, shin, foot) indices, source (hip, knee, ankle) indices)`` where mapped."""
    chains = []
    for side in SIDES:
        roles = [f"{side}_{r}" for r in LEG_ROLES]
        bones = [next((j for j, r in enumerate(tgt.roles) if r == role and tgt.rest.names[j] in bone_map), None)
                 for role in roles]
        if None in bones:
            continue
        chains.append((tuple(bones), tuple(source.names.index(bone_map[tgt.rest.names[b]]) for b in bones)))
    return chains


def _leg_length(rest_positions: np.ndarray, chains) -> float:
    r = rest_positions
    return float(np.mean([np.linalg.norm(r[k] - r[h]) + np.linalg.norm(r[a] - r[k]) for h, k, a in chains]))


def retarget(source: SkeletonAnimation, target: RigPreset | SkeletonAnimation, *,
             bone_map: dict[str, str] | str | None = None, scale_root: str | float = "leg_length",
             foot_locking: bool = True, split_twist: bool = True,
             contact: ContactConfig = ContactConfig()) -> SkeletonAnimation:
    """The source's motion on the target rig.

    Args:
        source: the animation to transfer (e.g. `from_body_motion`, or `bvh_to_animation` of a CMU clip).
        target: a `RigPreset`, or a `SkeletonAnimation` whose rest pose (floor at z = 0) is the target.
        bone_map: ``{target bone: source joint}``; None uses the preset's ``source`` fields (auto-matched by
            name for a `SkeletonAnimation` target); ``"auto"`` matches names on both sides (`smplx_roles`).
        scale_root: ``"leg_length"`` (root translation times the target/source leg-length ratio), ``"none"``,
            or a number.
        foot_locking: pin the target's ankles during the source's foot contacts (two-bone leg IK).
        split_twist: twist bones with a ``twist_source`` take their share of that joint's twist.
        contact: foot-contact detection thresholds.

    Returns the target rig's `SkeletonAnimation` (same frames and fps as the source).
    Raises ``InputError`` for NaN frames in the source or a bone map naming bones that do not exist.
    """
    check_finite(source, "source motion")
    tgt = _target(target, source.fps)
    bone_map = resolve_bone_map(tgt, source, bone_map)
    rest = tgt.rest
    Ps, Ws = source.world_transforms()
    D = Ws @ transpose(source.rest_orientations)  # (F, Js, 3, 3) world rotation away from rest
    C = rest_alignment(rest, source, bone_map)
    src_index = {n: k for k, n in enumerate(source.names)}
    F, J = source.n_frames, len(rest.names)
    W = np.empty((F, J, 3, 3))
    for j, (name, p) in enumerate(zip(rest.names, rest.parents)):
        if name in bone_map:
            W[:, j] = D[:, src_index[bone_map[name]]] @ C[j] @ rest.rest_orientations[j]
        else:
            W[:, j] = rest.rest_orientations[j] if p < 0 else W[:, p] @ rest.rest_orientations[p].T @ rest.rest_orientations[j]
            if split_twist and tgt.twist_sources[j] is not None:
                W[:, j] = _twisted(W[:, j], D, source, tgt.twist_sources[j], tgt.twist_weights[j])
    L = locals_from_world(W, rest.rest_orientations, rest.parents)
    chains = _leg_chains(tgt, source, bone_map)
    ratio = _root_scale(scale_root, rest, source, chains)
    root = _root_positions(rest, L, Ps, bone_map, src_index, ratio, chains)
    out = SkeletonAnimation(names=rest.names, parents=rest.parents, rest_positions=rest.rest_positions,
                            rest_orientations=rest.rest_orientations, local_rotations=L, root_positions=root,
                            fps=source.fps)
    if foot_locking and chains:
        contacts = detect_contacts(Ps[:, [c[1][2] for c in chains]], source.fps, contact)
        out = lock_feet(out, [c[0] for c in chains], contacts, blend_frames=int(round(contact.blend_s * source.fps)))
    if isinstance(target, RigPreset):
        hips = next(j for j, n in enumerate(rest.names) if n in bone_map)
        out = engine_bones(out, hips, target.root_motion, target.follows)
    return out


def from_world(anim: SkeletonAnimation, P: np.ndarray, W: np.ndarray) -> SkeletonAnimation:
    """``anim`` re-keyed to reach world positions ``P (F, J, 3)`` and orientations ``W (F, J, 3, 3)`` exactly:
    local rotations, the root position, and local translations where a joint is not at its rest offset."""
    B, r, parents = anim.rest_orientations, anim.rest_positions, anim.parents
    T = np.zeros(P.shape)
    for j, p in enumerate(parents):
        if p >= 0:
            rel = W[:, p] @ B[p].T
            off = P[:, j] - P[:, p] - rel @ (r[j] - r[p])
            T[:, j] = np.einsum("fba,fb->fa", rel @ B[j], off)  # (rel B_j)^T off
    T[np.abs(T) < 1e-9] = 0.0
    return replace(anim, local_rotations=locals_from_world(W, B, parents), root_positions=P[:, 0].copy(),
                   local_translations=T if T.any() else None)


def engine_bones(anim: SkeletonAnimation, hips: int, root_motion: str = "pelvis",
                 follows: tuple[str | None, ...] = ()) -> SkeletonAnimation:
    """Move a game rig's helper bones as engines expect, every other joint keeping its world transform.

    ``root_motion`` (for a root bone above the ``hips`` joint): ``"pelvis"`` leaves the root carrying the
    hips' motion; ``"ground"`` keeps it on the floor right under the hips (its rest height; Unreal's root
    motion, as Epic's IK Retargeter generates it from the pelvis, snapped to the ground); ``"ground_heading"``
    also turns it with the hips' heading about Z; ``"fixed"`` keeps it at rest. ``follows[j]`` names a bone whose
    motion bone ``j`` copies (same rotation away from rest, same rest offset): UE5's ``ik_foot_l`` follows
    ``foot_l``, ``ik_hand_gun`` and ``ik_hand_r`` follow ``hand_r``."""
    if (root_motion == "pelvis" or hips == 0) and not any(follows):
        return anim
    P, W = anim.world_transforms()
    B, r = anim.rest_orientations, anim.rest_positions
    if root_motion != "pelvis" and hips != 0:
        yaw = np.zeros(anim.n_frames)
        if root_motion == "ground_heading":
            forward = (W[:, hips] @ B[hips].T) @ np.array([0.0, -1.0, 0.0])  # rest forward (-Y), turned
            yaw = np.arctan2(forward[:, 0], -forward[:, 1])
        Rz = axis_angle_to_matrix(np.stack([np.zeros_like(yaw), np.zeros_like(yaw), yaw], axis=1))
        W[:, 0] = Rz @ B[0]
        P[:, 0] = r[0] if root_motion == "fixed" else np.stack([P[:, hips, 0], P[:, hips, 1],
                                                                np.full(len(yaw), r[0, 2])], axis=1)
    index = {n: j for j, n in enumerate(anim.names)}
    for j, name in enumerate(follows):
        if name is not None:
            k = index[name]
            turn = W[:, k] @ B[k].T
            W[:, j] = turn @ B[j]
            P[:, j] = P[:, k] + turn @ (r[j] - r[k])
    return from_world(anim, P, W)


def _twisted(W_t: np.ndarray, D: np.ndarray, source: SkeletonAnimation, joint: str, weight: float) -> np.ndarray:
    """``W_t (F, 3, 3)`` turned about its bone axis by ``weight`` x the twist of the source ``joint``
    relative to its parent."""
    roles = smplx_roles(source.names)
    name = joint if joint in source.names else roles.get(joint)
    if name is None:
        return W_t
    s = source.names.index(name)
    p = source.parents[s]
    rel = D[:, s] @ transpose(D[:, p]) if p >= 0 else D[:, s]
    axis = W_t[:, :, 1]  # a bone's Y axis points along it
    return axis_angle_to_matrix(unit(axis) * (weight * twist_angle(rel, axis))[..., None]) @ W_t


def _root_scale(scale_root: str | float, rest: SkeletonAnimation, source: SkeletonAnimation, chains) -> float:
    if scale_root == "none":
        return 1.0
    if scale_root != "leg_length":
        return float(scale_root)
    if not chains:
        log.warning("no leg is mapped on both rigs; the root translation is not scaled")
        return 1.0
    return _leg_length(rest.rest_positions, [c[0] for c in chains]) / _leg_length(source.rest_positions,
                                                                                  [c[1] for c in chains])


def _root_positions(rest: SkeletonAnimation, L: np.ndarray, Ps: np.ndarray, bone_map, src_index, ratio: float,
                    chains) -> np.ndarray:
    """``(F, 3)`` target root positions putting its top mapped bone (the hips) at the source's hips times
    ``ratio``, shifted so planted ankles sit at the target's rest ankle height."""
    hips = next(j for j, n in enumerate(rest.names) if n in bone_map)
    desired = ratio * Ps[:, src_index[bone_map[rest.names[hips]]]]
    if chains:
        src_ankles = Ps[:, [c[1][2] for c in chains], 2].min(axis=1)
        desired[:, 2] += rest.rest_positions[[c[0][2] for c in chains], 2].mean() - ratio * np.percentile(src_ankles, 5)
    at_origin = replace(rest, local_rotations=L, root_positions=np.zeros((len(L), 3)))
    return desired - at_origin.world_transforms()[0][:, hips]


# ----------------------------------------------------------------------------------------------
# Foot contacts and locking


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) ends of the runs of True in ``mask (F,)``."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def detect_contacts(feet: np.ndarray, fps: float, config: ContactConfig = ContactConfig()) -> np.ndarray:
    """``(F, K)`` bool foot contacts from ankle positions ``feet (F, K, 3)`` (metres, Z up).

    A contact is a run of frames where the ankle is below ``height_off_m`` above its floor level (its 2nd
    percentile height over the clip) and slower than ``speed_off_mps``, that contains at least one frame
    below both ``*_on`` thresholds and lasts ``min_duration_s`` or longer.
    """
    feet = np.asarray(feet, float)
    F, K = feet.shape[:2]
    if F < 2:
        return np.zeros((F, K), bool)
    height = feet[..., 2] - np.percentile(feet[..., 2], 2, axis=0)
    speed = np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * fps
    strict = (height < config.height_on_m) & (speed < config.speed_on_mps)
    loose = (height < config.height_off_m) & (speed < config.speed_off_mps)
    min_len = max(1, int(round(config.min_duration_s * fps)))
    out = np.zeros((F, K), bool)
    for k in range(K):
        starts, ends = _runs(loose[:, k])
        cs = np.concatenate([[0], np.cumsum(strict[:, k])])
        keep = ((cs[ends] - cs[starts]) > 0) & ((ends - starts) >= min_len)
        for s, e in zip(starts[keep], ends[keep]):
            out[s:e, k] = True
    return out


def pinned_targets(ankle: np.ndarray, contact: np.ndarray, blend_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Where an ankle should be: ``ankle (F, 3)`` held at its first contact frame's position during each
    contact of ``contact (F,)``, and the offset faded out (smoothstep) over ``blend_frames`` afterwards.
    Returns ``targets (F, 3)`` and ``active (F,)`` (frames where the target differs from ``ankle``)."""
    target = ankle.copy()
    active = np.zeros(len(ankle), bool)
    starts, ends = _runs(contact)
    next_start = np.append(starts[1:], len(ankle))
    for s, e, nxt in zip(starts, ends, next_start):
        target[s:e] = ankle[s]
        active[s:e] = True
        n = min(blend_frames, nxt - e)
        if n > 0:
            t = np.arange(1, n + 1) / (blend_frames + 1)
            fade = 1.0 - t * t * (3.0 - 2.0 * t)
            target[e:e + n] = ankle[e:e + n] + fade[:, None] * (ankle[s] - ankle[e - 1])
            active[e:e + n] = True
    return target, active


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray,
                pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Analytic two-bone IK, vectorized over frames.

    Args:
        hip, knee, ankle: ``(F, 3)`` current joint positions.
        target: ``(F, 3)`` where the ankle should go (clamped to the leg's reach).
        pole: ``(F, 3)`` direction the knee bends towards when the leg is straight (else the knee's
            current bending plane is kept).

    Returns world rotations ``R_thigh (F, 3, 3)`` (about the hip) and ``R_shin (F, 3, 3)`` (about the new
    knee) to apply, in that order, to the thigh and the shin.
    """
    a = np.linalg.norm(knee - hip, axis=-1)
    b = np.linalg.norm(ankle - knee, axis=-1)
    to_target = target - hip
    u = unit(to_target)
    d = np.clip(np.linalg.norm(to_target, axis=-1), np.abs(a - b) + 1e-6, (a + b) * (1 - 1e-6))
    bend = knee - hip
    n = bend - np.sum(bend * u, -1, keepdims=True) * u
    n_pole = pole - np.sum(pole * u, -1, keepdims=True) * u
    n = unit(np.where(np.linalg.norm(n, axis=-1, keepdims=True) > 1e-4 * a[:, None], n, n_pole))
    cos_a = np.clip((a * a + d * d - b * b) / (2 * a * d), -1.0, 1.0)
    new_knee = hip + a[:, None] * (cos_a[:, None] * u + np.sqrt(1 - cos_a * cos_a)[:, None] * n)
    new_ankle = hip + d[:, None] * u
    R1 = shortest_rotation(knee - hip, new_knee - hip)
    R2 = shortest_rotation(np.einsum("fab,fb->fa", R1, ankle - knee), new_ankle - new_knee)
    return R1, R2


def _subtree(parents, top: int) -> np.ndarray:
    inside = np.zeros(len(parents), bool)
    inside[top] = True
    for j, p in enumerate(parents):
        if p >= 0 and inside[p]:
            inside[j] = True
    return inside


def lock_feet(anim: SkeletonAnimation, legs, contacts: np.ndarray, blend_frames: int = 4) -> SkeletonAnimation:
    """Pin each leg's ankle during its contacts (see `pinned_targets`) with `place_ankles`.

    Args:
        anim: the animation to correct.
        legs: per leg the ``(thigh, shin, foot)`` joint indices.
        contacts: ``(F, len(legs))`` bool.
        blend_frames: frames over which a pin fades out after its contact.
    """
    P = anim.world_transforms()[0]
    pins = [pinned_targets(P[:, foot], contacts[:, k], blend_frames) for k, (_, _, foot) in enumerate(legs)]
    return place_ankles(anim, legs, np.stack([p[0] for p in pins], 1), np.stack([p[1] for p in pins], 1))


def place_ankles(anim: SkeletonAnimation, legs, targets: np.ndarray, active: np.ndarray) -> SkeletonAnimation:
    """Move each leg's ankle to ``targets (F, K, 3)`` where ``active (F, K)``, by `two_bone_ik` on the leg
    ``(thigh, shin, foot)`` joint indices of ``legs`` (K legs). The foot keeps its world orientation and the
    knee its bending plane (straight legs bend towards the thigh's forward, world -Y at rest)."""
    P, W = anim.world_transforms()
    W = W.copy()
    B = anim.rest_orientations
    for k, (thigh, shin, foot) in enumerate(legs):
        f = np.flatnonzero(active[:, k])
        if not len(f):
            continue
        pole = np.einsum("fab,b->fa", W[f, thigh] @ B[thigh].T, np.array([0.0, -1.0, 0.0]))
        R1, R2 = two_bone_ik(P[f, thigh], P[f, shin], P[f, foot], targets[f, k], pole)
        in_foot = _subtree(anim.parents, foot)
        in_shin = np.flatnonzero(_subtree(anim.parents, shin) & ~in_foot)
        in_thigh = np.flatnonzero(_subtree(anim.parents, thigh) & ~_subtree(anim.parents, shin))
        W[np.ix_(f, in_thigh)] = R1[:, None] @ W[np.ix_(f, in_thigh)]
        W[np.ix_(f, in_shin)] = (R2 @ R1)[:, None] @ W[np.ix_(f, in_shin)]
    return replace(anim, local_rotations=locals_from_world(W, B, anim.parents))


def foot_sliding_mm_per_frame(anim: SkeletonAnimation, foot_joint_names, contacts: np.ndarray) -> float:
    """Mean horizontal movement (mm per frame) of the named foot joints between consecutive frames that are
    both in contact; ``contacts (F, K)`` bool for the ``K`` names. NaN when there are no such frame pairs."""
    idx = [anim.names.index(n) for n in foot_joint_names]
    P = anim.world_transforms()[0][:, idx, :2]
    step = np.linalg.norm(np.diff(P, axis=0), axis=-1)
    both = contacts[1:] & contacts[:-1]
    return float(step[both].mean() * 1000.0) if both.any() else float("nan")
