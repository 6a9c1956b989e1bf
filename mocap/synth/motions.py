"""Motions for synthetic takes: keyframed SMPL-X joint angles authored here, and CMU BVH clips retargeted.

Every motion is a :class:`MotionClip` ``(pose (F, 55, 3), transl (F, 3))`` for the body model in smplx's
layout: ``pose`` is axis-angle per joint (parent-relative), and ``global_orient`` (joint 0) includes the
turn from the model's Y-up frame to our Z-up world, like AMASS. The body stands on the floor ``z = 0``.

Keyframed motions (:data:`MOTIONS`) give, at a few key times, Euler angles in degrees per joint
(intrinsic X, Y, Z about the joint's rest axes: model frame, Y up, facing +Z, +X = the body's left) and
a heading (``yaw``, degrees about the vertical). Keys are interpolated by a monotone cubic (PCHIP, no
overshoot) and the angles turned into rotations per frame. Useful signs, for the left side (the right
mirrors Y and Z): shoulder ``z`` -75 hangs the arm down, 0 holds it out, +80 raises it overhead; elbow
``y`` negative bends it forwards; hip ``x`` negative lifts the thigh forwards, ``z`` positive spreads the
leg out; knee ``x`` positive bends it; ankle ``x`` negative lifts the toes; spine ``x`` positive bends
forwards.

Feet and floor: the horizontal root translation is not authored. It comes from the feet: in each frame
the lowest vertex of a foot on the floor is its contact point and stays where it was in the previous
frame, so the stance foot rolls heel to toe without sliding and steps and turns carry the body along
(during double support the two feet share any inconsistency of the authored angles). The
vertical translation puts the lowest vertex of the body on the floor (plus an authored ``lift`` for
jumps).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mocap.body import lbs
from mocap.body.skeleton import JOINT_NAMES, NUM_JOINTS
from mocap.geometry import axis_angle_to_matrix, euler_xyz_to_matrix, matrix_to_axis_angle, shortest_rotation

#: Model frame (Y up) -> world (Z up): ``(x, y, z) -> (x, -z, y)``, a +90 degree turn about X. At zero
#: heading the body faces world -Y.
MODEL_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


class MotionClip(NamedTuple):
    """A motion for the body model (unpacks as ``pose, transl``).

    Attributes:
        pose: ``(F, 55, 3)`` axis-angle, smplx joint order, ``global_orient`` first (model -> Z-up world).
        transl: ``(F, 3)`` smplx ``transl``, metres.
    """

    pose: np.ndarray
    transl: np.ndarray


Key = tuple[float, Mapping[str, Sequence[float]]]
"""A keyframe: time in seconds and ``{joint name: (x, y, z) degrees}``; also ``"yaw"`` (heading, degrees)
and ``"lift"`` (metres above the floor). Joints not named are at 0 (the T-pose)."""

_INDEX = {n: i for i, n in enumerate(JOINT_NAMES)}


# --------------------------------------------------------------------------------------------------
# Keyframes -> pose curves
# --------------------------------------------------------------------------------------------------


def sample_keys(keys: Sequence[Key], fps: float, seconds: float | None = None) -> dict[str, np.ndarray]:
    """Interpolate keyframes at ``fps``: ``{"euler": (F, 55, 3) deg, "yaw": (F,) deg, "lift": (F,) m}``.

    ``seconds`` stretches the key times so that the last key falls at ``seconds`` (None keeps them).
    """
    from scipy.interpolate import PchipInterpolator

    times = np.array([t for t, _ in keys], float)
    if np.any(np.diff(times) <= 0):
        raise ValueError("key times must increase")
    if seconds is not None:
        times = times * (seconds / times[-1])
    table = np.zeros((len(keys), NUM_JOINTS * 3 + 2))
    for k, (_, values) in enumerate(keys):
        for name, v in values.items():
            if name == "yaw":
                table[k, -2] = float(v)  # type: ignore[arg-type]
            elif name == "lift":
                table[k, -1] = float(v)  # type: ignore[arg-type]
            else:
                if name not in _INDEX:
                    raise KeyError(f"{name!r} is not an SMPL-X joint")
                table[k, 3 * _INDEX[name] : 3 * _INDEX[name] + 3] = v
    n = int(round(times[-1] * fps)) + 1
    t = np.arange(n) / fps
    curves = PchipInterpolator(times, table, axis=0, extrapolate=False)(np.clip(t, times[0], times[-1]))
    return {"euler": curves[:, :-2].reshape(n, NUM_JOINTS, 3), "yaw": curves[:, -2], "lift": curves[:, -1]}


def keys_to_pose(euler: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Euler curves ``(F, 55, 3)`` and heading ``(F,)`` -> axis-angle ``(F, 55, 3)``; the pelvis rotation
    becomes ``MODEL_TO_WORLD @ R_yaw @ R_pelvis``."""
    R = euler_xyz_to_matrix(euler)
    yaw_aa = np.zeros((len(yaw), 3))
    yaw_aa[:, 1] = np.radians(yaw)
    R[:, 0] = MODEL_TO_WORLD @ axis_angle_to_matrix(yaw_aa) @ R[:, 0]
    return matrix_to_axis_angle(R)


# --------------------------------------------------------------------------------------------------
# Feet on the floor
# --------------------------------------------------------------------------------------------------


def foot_vertices(model: lbs.BodyModelArrays) -> tuple[np.ndarray, np.ndarray]:
    """Vertex ids skinned mostly to the left and the right ankle + foot joints."""
    W = np.asarray(model["weights"])
    left = np.flatnonzero(W[:, [_INDEX["left_ankle"], _INDEX["left_foot"]]].sum(axis=1) > 0.5)
    right = np.flatnonzero(W[:, [_INDEX["right_ankle"], _INDEX["right_foot"]]].sum(axis=1) > 0.5)
    return left, right


def ground(model: lbs.BodyModelArrays, betas: np.ndarray | None, pose: np.ndarray, *,
           lift: np.ndarray | None = None, anchor: str = "feet", touch: float = 0.02) -> np.ndarray:
    """Root translation ``(F, 3)`` that plants the body on the floor ``z = 0`` (see the module docstring).

    ``anchor="feet"`` derives the horizontal motion from the feet: each foot's lowest vertex should
    not move between frames, weighted by how close the foot is to the floor (1 on it, 0 from ``touch``
    metres up), so the stance foot does not slide and weight passes smoothly from foot to foot;
    ``"pelvis"`` keeps the pelvis above one spot (for jumps, where both feet leave the floor).
    """
    verts, joints = lbs.pose_vertices(model, betas, pose)
    F = len(pose)
    transl = np.zeros((F, 3))
    transl[:, 2] = -verts[..., 2].min(axis=1) + (0.0 if lift is None else np.asarray(lift))
    if anchor == "pelvis":
        transl[:, :2] = -joints[:, 0, :2] + joints[0, 0, :2]
    elif anchor == "feet":
        sides = foot_vertices(model)
        low = np.stack([verts[:, ids, 2].min(axis=1) for ids in sides], axis=1)  # (F, 2)
        weight = np.clip(1.0 - (low - low.min(axis=1, keepdims=True)) / touch, 0.0, 1.0)
        for f in range(1, F):
            step = np.zeros(2)
            for side, ids in enumerate(sides):
                point = ids[np.argmin(verts[f, ids, 2])]
                step += weight[f, side] * (verts[f - 1, point, :2] - verts[f, point, :2])
            transl[f, :2] = transl[f - 1, :2] + step / max(weight[f].sum(), 1e-9)
        transl[:, :2] -= joints[0, 0, :2]  # the pelvis of frame 0 above the origin
    else:
        raise ValueError(f"anchor must be 'feet' or 'pelvis', got {anchor!r}")
    return transl


def clip_from_keys(keys: Sequence[Key], model: lbs.BodyModelArrays, betas: np.ndarray | None = None, *,
                   fps: float = 30.0, seconds: float | None = None, anchor: str = "feet") -> MotionClip:
    """Sample keyframes, turn them into a pose and plant it on the floor."""
    curves = sample_keys(keys, fps, seconds)
    pose = keys_to_pose(curves["euler"], curves["yaw"])
    return MotionClip(pose, ground(model, betas, pose, lift=curves["lift"], anchor=anchor))


# --------------------------------------------------------------------------------------------------
# The authored motions
# --------------------------------------------------------------------------------------------------


def _pose(**joints: Sequence[float] | float) -> dict[str, Sequence[float] | float]:
    return dict(joints)


def _mirror(values: Mapping[str, Sequence[float]]) -> dict[str, Sequence[float]]:
    """Left-side angles -> the same pose on the right side (Y and Z flip sign)."""
    out = {}
    for name, v in values.items():
        side = "right_" if name.startswith("left_") else ""
        out[side + name[5:] if side else name] = (v[0], -v[1], -v[2])
    return out


ARMS_DOWN = {"left_shoulder": (0, 0, -72), "left_elbow": (0, -12, 0), "left_collar": (0, 0, -4)}
ARMS_OUT = {"left_shoulder": (0, 0, -2), "left_elbow": (0, -5, 0)}
ARMS_UP = {"left_shoulder": (0, 0, 70), "left_collar": (0, 0, 14), "left_elbow": (0, -5, 0)}
ARMS_FORWARD = {"left_shoulder": (0, -80, -8), "left_elbow": (0, -15, 0)}


def _both(left: Mapping[str, Sequence[float]]) -> dict[str, Sequence[float]]:
    return {**left, **_mirror(left)}


STAND = {**_both(ARMS_DOWN), "left_hip": (0, 0, 3), "right_hip": (0, 0, -3), "left_knee": (3, 0, 0),
         "right_knee": (3, 0, 0)}
SQUAT = {**_both(ARMS_FORWARD), "pelvis": (25, 0, 0), "spine1": (5, 0, 0), "spine2": (5, 0, 0),
         "spine3": (3, 0, 0), "neck": (-15, 0, 0), "head": (-10, 0, 0),
         "left_hip": (-110, 0, 8), "right_hip": (-110, 0, -8), "left_knee": (115, 0, 0), "right_knee": (115, 0, 0),
         "left_ankle": (-30, 0, 0), "right_ankle": (-30, 0, 0)}


def _with(base: Mapping, **changes) -> dict:
    return {**base, **changes}


def _squat_keys(t0: float = 0.0) -> list[Key]:
    return [(t0 + 0.0, STAND), (t0 + 0.5, _with(SQUAT)), (t0 + 0.9, _with(SQUAT)), (t0 + 1.5, STAND)]


def _gait(side: str, phase: float) -> dict[str, Sequence[float]]:
    """Sagittal leg angles of a normal gait cycle at ``phase`` in [0, 1) (0 = this foot's heel strike)."""
    # (phase, hip flexion, knee flexion, ankle dorsiflexion) in degrees
    table = np.array([[0.0, 24, 4, 0], [0.12, 20, 16, -6], [0.3, 5, 6, 6], [0.5, -12, 6, 10], [0.62, -6, 38, -14],
                      [0.75, 20, 60, -2], [0.85, 30, 30, 2], [0.93, 30, 6, 2], [1.0, 24, 4, 0]])
    hip, knee, ankle = (np.interp(phase % 1.0, table[:, 0], table[:, k]) for k in (1, 2, 3))
    arm = -18 * np.cos(2 * np.pi * phase)  # the opposite arm swings forward with this leg
    other = "right" if side == "left" else "left"
    sz = 1 if side == "left" else -1
    return {f"{side}_hip": (-hip, 0, 3 * sz), f"{side}_knee": (knee, 0, 0), f"{side}_ankle": (-ankle, 0, 0),
            f"{other}_shoulder": (arm, 0, -72 * -sz), f"{other}_elbow": (0, 14 * sz, 0)}


def _walk_keys(t0: float, steps: int, step_time: float = 0.55, yaw: float = 0.0, per_step: int = 8) -> list[Key]:
    keys: list[Key] = []
    for k in range(steps * per_step + 1):
        phase = 0.5 * k / per_step  # a step is half a gait cycle
        values: dict = {**_gait("left", phase), **_gait("right", phase + 0.5), "spine1": (3, 0, 0), "yaw": yaw,
                        "left_collar": (0, 0, -4), "right_collar": (0, 0, 4)}
        keys.append((t0 + k * step_time / per_step, values))
    return keys


def _start_walk(model, betas, fps, seconds, steps):
    # begin and end standing; the cycle starts at the left heel strike
    keys = [(0.0, STAND)] + _walk_keys(0.45, steps) + [(0.45 + steps * 0.55 + 0.45, STAND)]
    return clip_from_keys(keys, model, betas, fps=fps, seconds=seconds)


def squat(model, betas=None, *, fps: float = 30.0, seconds: float | None = None) -> MotionClip:
    """Stand, squat down with the arms forward (thighs about horizontal), hold, stand up: 1.5 s."""
    return clip_from_keys(_squat_keys(), model, betas, fps=fps, seconds=seconds)


def arm_raises(model, betas=None, *, fps: float = 30.0, seconds: float | None = None) -> MotionClip:
    """Arms raised sideways to horizontal, overhead, down; then forwards and down: 3 s."""
    keys = [(0.0, STAND), (0.5, _with(STAND, **_both(ARMS_OUT))), (1.0, _with(STAND, **_both(ARMS_UP))), (1.6, STAND),
            (2.2, _with(STAND, **_both(ARMS_FORWARD))), (3.0, STAND)]
    return clip_from_keys(keys, model, betas, fps=fps, seconds=seconds)


def jumping_jack(model, betas=None, *, fps: float = 30.0, seconds: float | None = None) -> MotionClip:
    """Two jumping jacks (legs spread, arms overhead, small hops): 2.4 s."""
    spread = {**STAND, **_both(ARMS_UP), "left_hip": (0, 0, 18), "right_hip": (0, 0, -18), "left_ankle": (0, 0, -12),
              "right_ankle": (0, 0, 12)}
    keys: list[Key] = [(0.0, STAND)]
    for k in range(2):
        t = 0.2 + 1.1 * k
        keys += [(t, _with(STAND, lift=0.0)), (t + 0.2, _with(spread, lift=0.08)), (t + 0.4, _with(spread, lift=0.0)),
                 (t + 0.75, _with(STAND, lift=0.08)), (t + 1.0, _with(STAND, lift=0.0))]
    keys.append((2.4, STAND))
    return clip_from_keys(keys, model, betas, fps=fps, seconds=seconds, anchor="pelvis")


def walk(model, betas=None, *, fps: float = 30.0, seconds: float | None = None) -> MotionClip:
    """Four steps forward from standing and back to standing: 3.1 s."""
    return _start_walk(model, betas, fps, seconds, steps=4)


def turn(model, betas=None, *, fps: float = 30.0, seconds: float | None = None) -> MotionClip:
    """A 90 degree turn to the left in two small steps, pivoting on the stance foot: 1.8 s."""
    lift_l = _with(STAND, left_hip=(-30, 0, 3), left_knee=(50, 0, 0), left_ankle=(10, 0, 0))
    lift_r = _with(STAND, right_hip=(-30, 0, -3), right_knee=(50, 0, 0), right_ankle=(10, 0, 0))
    keys = [(0.0, _with(STAND, yaw=0)), (0.4, _with(lift_l, yaw=25)), (0.8, _with(STAND, yaw=45)),
            (1.2, _with(lift_r, yaw=70)), (1.6, _with(STAND, yaw=90)), (1.8, _with(STAND, yaw=90))]
    return clip_from_keys(keys, model, betas, fps=fps, seconds=seconds)


def demo(model, betas=None, *, fps: float = 30.0, seconds: float | None = None) -> MotionClip:
    """A 3.5 s mix that exercises the pipeline: arms out and overhead, a squat, a step forward and a
    90 degree turn."""
    step_l = _with(STAND, left_hip=(-35, 0, 3), left_knee=(40, 0, 0), left_ankle=(5, 0, 0),
                   right_shoulder=(-20, 0, 72), left_shoulder=(15, 0, -72))
    land = _with(STAND, left_hip=(-16, 0, 3), left_knee=(0, 0, 0), left_ankle=(-4, 0, 0), right_hip=(16, 0, -3),
                 right_knee=(14, 0, 0), right_ankle=(-12, 0, 0))
    bring_r = _with(STAND, right_hip=(-25, 0, -3), right_knee=(45, 0, 0), right_ankle=(5, 0, 0), yaw=30)
    lift_l = _with(STAND, left_hip=(-30, 0, 3), left_knee=(45, 0, 0), left_ankle=(8, 0, 0), yaw=65)
    keys: list[Key] = [
        (0.0, STAND), (0.35, _with(STAND, **_both(ARMS_OUT))), (0.75, _with(STAND, **_both(ARMS_UP))), (1.1, STAND),
        (1.45, SQUAT), (1.6, SQUAT), (2.0, STAND),
        (2.25, step_l), (2.5, land), (2.75, bring_r), (3.0, _with(STAND, yaw=45)), (3.25, lift_l),
        (3.5, _with(STAND, yaw=90)),
    ]
    return clip_from_keys(keys, model, betas, fps=fps, seconds=seconds)


MOTIONS: dict[str, Callable[..., MotionClip]] = {
    "demo": demo, "squat": squat, "arm_raises": arm_raises, "jumping_jack": jumping_jack, "walk": walk, "turn": turn,
}
"""Authored motions by name: ``MOTIONS[name](model, betas, fps=..., seconds=...)``."""


def make_motion(name_or_path: str | Path, model: lbs.BodyModelArrays, betas: np.ndarray | None = None, *,
                fps: float = 30.0, seconds: float | None = None, start: float = 0.0) -> MotionClip:
    """An authored motion by name, or a ``.bvh`` file retargeted (``seconds`` from ``start`` seconds in)."""
    if str(name_or_path).lower().endswith(".bvh"):
        return motion_from_bvh(name_or_path, model, betas, fps, seconds=seconds, start=start)
    if start:
        raise ValueError(f"start applies to .bvh clips only, not to the authored motion {name_or_path!r}")
    if name_or_path not in MOTIONS:
        raise KeyError(f"unknown motion {name_or_path!r}; use one of {', '.join(MOTIONS)} or a .bvh file")
    return MOTIONS[str(name_or_path)](model, betas, fps=fps, seconds=seconds)


# --------------------------------------------------------------------------------------------------
# CMU BVH clips
# --------------------------------------------------------------------------------------------------

# SMPL-X bone (joint -> the joint its direction points to) and the CMU joints giving that direction,
# for the two CMU naming schemes found in the wild (cgspeed "LeftUpLeg/LeftArm" and "LeftHip/LeftCollar").
# CMU's Neck (scheme A) and lowerneck (B) sit on the top of the spine, where the shoulders start.
_CMU_BONES_A = {
    "left_hip": ("LeftUpLeg", "LeftLeg"), "left_knee": ("LeftLeg", "LeftFoot"), "left_ankle": ("LeftFoot", "LeftToeBase"),
    "spine1": ("LowerBack", "Spine"), "spine2": ("Spine", "Spine1"), "spine3": ("Spine1", "Neck1"),
    "neck": ("Neck1", "Head"), "head": ("Head", "Head_end"),
    "left_collar": ("LeftShoulder", "LeftArm"), "left_shoulder": ("LeftArm", "LeftForeArm"),
    "left_elbow": ("LeftForeArm", "LeftHand"),
}
_CMU_BONES_B = {
    "left_hip": ("LeftHip", "LeftKnee"), "left_knee": ("LeftKnee", "LeftAnkle"), "left_ankle": ("LeftAnkle", "LeftToe"),
    "spine1": ("lowerback", "Chest"), "spine2": ("Chest", "Chest2"), "spine3": ("Chest2", "Neck"),
    "neck": ("Neck", "Head"), "head": ("Head", "Head_end"),
    "left_collar": ("LeftCollar", "LeftShoulder"), "left_shoulder": ("LeftShoulder", "LeftElbow"),
    "left_elbow": ("LeftElbow", "LeftWrist"),
}
# The SMPL-X child whose rest direction is aligned, per SMPL-X joint.
_SMPLX_CHILD = {"left_hip": "left_knee", "left_knee": "left_ankle", "left_ankle": "left_foot", "spine1": "spine2",
                "spine2": "spine3", "spine3": "neck", "neck": "head", "head": None,
                "left_collar": "left_shoulder", "left_shoulder": "left_elbow", "left_elbow": "left_wrist"}


def _sided(table: Mapping[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    out = dict(table)
    for k, (a, b) in table.items():
        if k.startswith("left_"):
            out["right_" + k[5:]] = (a.replace("Left", "Right"), b.replace("Left", "Right"))
    return out


def _frame(across: np.ndarray, up: np.ndarray) -> np.ndarray:
    """``(F, 3, 3)`` orthonormal frames with columns (across, up, forward)."""
    x = across / np.linalg.norm(across, axis=-1, keepdims=True)
    z = np.cross(x, up)
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def retarget_positions(points: np.ndarray, names: Sequence[str], rest: np.ndarray) -> np.ndarray:
    """Local SMPL-X rotations ``(F, 55, 3, 3)`` (model frame) whose bones point like a CMU skeleton's.

    Args:
        points: ``(F, J, 3)`` CMU joint positions in a Y-up frame (any units).
        names: the ``J`` CMU joint names (end sites as ``<parent>_end``).
        rest: ``(55, 3)`` SMPL-X rest joints.

    The root takes the orientation of the hips (left-right) and the spine (up); every mapped SMPL-X
    bone then gets the smallest rotation (swing) that points it along the CMU bone, in parent-to-child
    order. Twist about the bones, the wrists, hands and fingers are not transferred (left at rest).
    """
    index = {n: i for i, n in enumerate(names)}
    table = _sided(_CMU_BONES_B if "LeftCollar" in index else _CMU_BONES_A)
    P = np.asarray(points, float)
    F = P.shape[0]

    def pt(name):
        if name not in index:
            raise KeyError(f"the BVH has no joint {name!r} (a CMU skeleton is expected)")
        return P[:, index[name]]

    R_local = np.tile(np.eye(3), (F, NUM_JOINTS, 1, 1))
    G = np.tile(np.eye(3), (F, NUM_JOINTS, 1, 1))
    hip_l, hip_r = table["left_hip"][0], table["right_hip"][0]
    neck = table["neck"][0]
    target = _frame(pt(hip_l) - pt(hip_r), pt(neck) - pt("Hips"))
    rest_f = _frame(rest[None, _INDEX["left_hip"]] - rest[None, _INDEX["right_hip"]],
                    rest[None, _INDEX["neck"]] - rest[None, _INDEX["pelvis"]])
    G[:, 0] = R_local[:, 0] = target @ np.swapaxes(rest_f, -1, -2)
    from mocap.body.skeleton import PARENTS

    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        name = JOINT_NAMES[j]
        child = _SMPLX_CHILD.get(name.replace("right_", "left_"))
        if name in table and child is not None:
            child = child.replace("left_", "right_") if name.startswith("right_") else child
            a, b = table[name]
            u = G[:, p] @ (rest[_INDEX[child]] - rest[j])
            S = shortest_rotation(u, pt(b) - pt(a))
            G[:, j] = S @ G[:, p]
            R_local[:, j] = np.swapaxes(G[:, p], -1, -2) @ G[:, j]
        else:
            G[:, j] = G[:, p]
    return R_local


def motion_from_bvh(path: str | Path, model: lbs.BodyModelArrays, betas: np.ndarray | None = None,
                    fps: float = 30.0, *, seconds: float | None = None, start: float = 0.0) -> MotionClip:
    """A CMU BVH clip retargeted to the body model, on the floor, starting above the origin.

    Approximation: bone directions only (see :func:`retarget_positions`); the root path is the CMU
    hips' path scaled by the ratio of leg lengths; the whole clip is shifted vertically once so its
    lowest vertex touches the floor, so the feet may float or sink a little where the two skeletons'
    proportions differ, and they may slide a few centimetres.
    """
    from mocap.synth.cmu import load_cmu_clip

    clip = load_cmu_clip(path, fps)
    xyz = clip.xyz
    first = int(round(start * clip.fps))
    last = len(xyz) if seconds is None else first + int(round(seconds * clip.fps)) + 1
    xyz = xyz[first:last]
    if len(xyz) == 0:
        raise ValueError(f"{path}: nothing left after start={start} s")
    P = xyz @ MODEL_TO_WORLD  # world (Z up) -> model frame (Y up): p_model = M^T p_world
    rest = lbs.rest_joints(model, betas)
    R = retarget_positions(P, clip.joint_names, rest)
    R[:, 0] = MODEL_TO_WORLD @ R[:, 0]
    pose = matrix_to_axis_angle(R)
    index = {n: i for i, n in enumerate(clip.joint_names)}
    names = _sided(_CMU_BONES_B if "LeftCollar" in index else _CMU_BONES_A)
    hip, knee, ankle = (index[names[k][0]] for k in ("left_hip", "left_knee", "left_ankle"))
    cmu_leg = np.median(np.linalg.norm(xyz[:, hip] - xyz[:, knee], axis=-1)
                        + np.linalg.norm(xyz[:, knee] - xyz[:, ankle], axis=-1))
    smplx_leg = (np.linalg.norm(rest[_INDEX["left_hip"]] - rest[_INDEX["left_knee"]])
                 + np.linalg.norm(rest[_INDEX["left_knee"]] - rest[_INDEX["left_ankle"]]))
    hips = xyz[:, index["Hips"]] * (smplx_leg / cmu_leg)
    verts, joints = lbs.pose_vertices(model, betas, pose)
    transl = hips - joints[:, 0]
    transl[:, :2] -= hips[0, :2]
    transl[:, 2] -= (verts[..., 2] + transl[:, None, 2]).min()
    return MotionClip(pose, transl)
