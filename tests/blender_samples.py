"""Sample data for the Blender export and add-on tests: a realistic SMPL-X rest skeleton and plausible motion."""
from __future__ import annotations

import numpy as np

from mocap.body import skeleton
from mocap.body.motion import BodyMotion
from mocap.geometry import matrix_to_axis_angle

# Left-side and centre joints of an adult SMPL-X neutral rest pose (model frame: Y up, facing +Z, +X left),
# metres, rounded; right-side joints mirror x.
_LEFT_AND_CENTRE = {
    "pelvis": (0.0, -0.35, 0.01), "left_hip": (0.06, -0.44, -0.01), "spine1": (0.0, -0.24, -0.02),
    "left_knee": (0.11, -0.82, 0.0), "spine2": (0.0, -0.11, 0.0), "left_ankle": (0.07, -1.24, -0.04),
    "spine3": (0.0, -0.05, 0.02), "left_foot": (0.12, -1.30, 0.08), "neck": (0.0, 0.20, -0.02),
    "left_collar": (0.07, 0.10, -0.01), "head": (0.0, 0.27, 0.0), "left_shoulder": (0.17, 0.12, -0.02),
    "left_elbow": (0.43, 0.09, -0.04), "left_wrist": (0.69, 0.09, -0.03), "jaw": (0.0, 0.25, 0.03),
    "left_eye_smplhf": (0.03, 0.33, 0.08),
}
_FINGERS = {"index": (0.09, 0.0, 0.02), "middle": (0.095, 0.0, -0.0), "ring": (0.088, -0.003, -0.02),
            "pinky": (0.078, -0.006, -0.04), "thumb": (0.03, -0.015, 0.035)}


def smplx_rest_joints() -> np.ndarray:
    """``(55, 3)`` SMPL-X rest joints (T-pose, model frame): the open body model's when it is shipped (then
    imported takes get its mesh), else a hand-made adult skeleton."""
    from mocap.body import lbs
    from mocap.bodymodels import OPEN_MODEL_PATH

    if OPEN_MODEL_PATH.is_file():
        return lbs.rest_joints(lbs.load_model(OPEN_MODEL_PATH), np.zeros(10))
    return hand_made_rest_joints()


def hand_made_rest_joints() -> np.ndarray:
    """``(55, 3)`` plausible SMPL-X rest joints, rounded from an adult neutral body."""
    pos = {}
    for name, xyz in _LEFT_AND_CENTRE.items():
        pos[name] = np.array(xyz)
    wrist = pos["left_wrist"]
    for finger, base in _FINGERS.items():
        step = np.array([0.032, -0.002, 0.0]) if finger != "thumb" else np.array([0.022, -0.005, 0.018])
        for k in (1, 2, 3):
            pos[f"left_{finger}{k}"] = wrist + np.array(base) + (k - 1) * step * (1.0 - 0.15 * (k - 1))
    out = np.zeros((skeleton.NUM_JOINTS, 3))
    for j, name in enumerate(skeleton.JOINT_NAMES):
        if name in pos:
            out[j] = pos[name]
        elif name.startswith("right_"):
            out[j] = pos["left_" + name[6:]] * np.array([-1.0, 1.0, 1.0])
        else:
            raise KeyError(name)
    return out


def sample_motion(n_frames: int = 48, fps: float = 30.0, seed: int = 0) -> BodyMotion:
    """A walking-in-place-and-turning SMPL-X motion: smooth random joint rotations, Z-up world, feet near 0."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / fps
    J = skeleton.NUM_JOINTS
    amp = np.full((J, 3), 0.15)
    amp[skeleton.LEFT_HAND] = 0.25
    amp[skeleton.RIGHT_HAND] = 0.25
    freq = rng.uniform(0.4, 1.2, (J, 3))
    phase = rng.uniform(0, 2 * np.pi, (J, 3))
    pose = amp * rng.uniform(0.5, 1.0, (J, 3)) * np.sin(2 * np.pi * freq * t[:, None, None] + phase)
    for knee in ("left_knee", "right_knee"):  # knees bend one way only
        pose[:, skeleton.joint_index(knee), 0] = 0.3 + 0.3 * np.sin(2 * np.pi * t + phase[0, 0])
    for elbow, sign in (("left_elbow", 1), ("right_elbow", -1)):
        pose[:, skeleton.joint_index(elbow), 1] = sign * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    for shoulder, sign in (("left_shoulder", -1), ("right_shoulder", 1)):  # arms half down
        pose[:, skeleton.joint_index(shoulder), 2] += sign * 0.9
    yaw = 0.8 * np.sin(2 * np.pi * 0.3 * t)
    pose[:, 0] = [_yaw_up_to_z(a) for a in yaw]
    rest = smplx_rest_joints()
    root_world = np.stack([0.3 * np.sin(t), -0.5 * t, 0.93 + 0.02 * np.sin(4 * np.pi * t)], axis=1)
    transl = root_world - rest[0]
    return BodyMotion.from_full_pose(pose, transl, np.zeros(10), rest, fps, has_hands=True)


def _yaw_up_to_z(yaw: float) -> np.ndarray:
    """Axis-angle of ``Rz(yaw) @ Rx(90 deg)``: model (Y up) -> world (Z up), then a turn about Z."""
    c, s = np.cos(yaw), np.sin(yaw)
    Rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    Rx = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    return matrix_to_axis_angle(Rz @ Rx)


def reimport(bpy, path, fps):
    """A fresh Blender scene with ``path`` (FBX or glTF) imported at ``fps``; ``(scene, the one armature)``."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, 1.0  # glTF keys are in seconds: sample at the take's rate
    if str(path).endswith(".fbx"):
        bpy.ops.import_scene.fbx(filepath=str(path))
    else:
        bpy.ops.import_scene.gltf(filepath=str(path))
    arms = [o for o in scene.objects if o.type == "ARMATURE"]
    assert len(arms) == 1
    return scene, arms[0]


def max_joint_error(bpy, scene, arm, anim) -> tuple[float, int]:
    """Largest distance (m) over frames between the armature's bone heads and ``anim``'s joints; and the
    first frame of the armature's action."""
    from mocap.export.blender_scene import pose_heads

    P, _ = anim.world_transforms()
    start = int(round(arm.animation_data.action.frame_range[0]))
    err = np.empty(anim.n_frames)
    for f in range(anim.n_frames):
        scene.frame_set(start + f)
        err[f] = np.linalg.norm(pose_heads(arm, anim.names) - P[f], axis=1).max()
    return float(err.max()), start
