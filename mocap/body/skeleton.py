"""The SMPL-X kinematic tree (55 joints) and forward kinematics as pure numpy functions.

Conventions (the same as smplx and AMASS):

* Joint rotations are axis-angle vectors ``(..., 3)`` (radians), each relative to the parent's frame; at
  zero rotation every joint frame is aligned with the model frame (the SMPL-X rest pose: T-pose,
  Y-up, facing +Z, +X is the body's left).
* ``global_orient`` rotates the whole body about the root joint and may include the change from the model's
  Y-up frame to a Z-up world (AMASS stores it that way, and so do we).
* A posed joint position: ``X_j = R_parent(j) @ (J_j - J_parent(j)) + X_parent(j)``, root
  ``X_0 = R_0 @ 0 + J_0 + transl`` (smplx applies ``transl`` after rotating about ``J_0``).
"""
from __future__ import annotations

import numpy as np

from mocap.geometry import axis_angle_to_matrix

# SMPL-X joints and landmarks in smplx's order (smplx 0.1.28 ``joint_names.JOINT_NAMES``; a test checks
# the copy): 55 skeleton joints, 21 extra landmarks (face, feet, fingertips), 51 face landmarks, 17 contour.
SMPLX_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "jaw",
    "left_eye_smplhf", "right_eye_smplhf",
    *(f"{side}_{finger}{k}" for side in ("left", "right")
      for finger in ("index", "middle", "pinky", "ring", "thumb") for k in (1, 2, 3)),
    "nose", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
    *(f"{side}_{finger}" for side in ("left", "right") for finger in ("thumb", "index", "middle", "ring", "pinky")),
    *(f"right_eye_brow{k}" for k in range(1, 6)), *(f"left_eye_brow{k}" for k in range(5, 0, -1)),
    *(f"nose{k}" for k in range(1, 5)), "right_nose_2", "right_nose_1", "nose_middle", "left_nose_1", "left_nose_2",
    *(f"right_eye{k}" for k in range(1, 7)), "left_eye4", "left_eye3", "left_eye2", "left_eye1", "left_eye6",
    "left_eye5", "right_mouth_1", "right_mouth_2", "right_mouth_3", "mouth_top", "left_mouth_3", "left_mouth_2",
    "left_mouth_1", "left_mouth_5", "left_mouth_4", "mouth_bottom", "right_mouth_4", "right_mouth_5",
    "right_lip_1", "right_lip_2", "lip_top", "left_lip_2", "left_lip_1", "left_lip_3", "lip_bottom", "right_lip_3",
    *(f"right_contour_{k}" for k in range(1, 9)), "contour_middle", *(f"left_contour_{k}" for k in range(8, 0, -1)),
)

NUM_JOINTS = 55
NUM_BODY_JOINTS = 21
NUM_HAND_JOINTS = 15

#: The 55 skeleton joints in smplx order.
JOINT_NAMES: tuple[str, ...] = SMPLX_JOINT_NAMES[:NUM_JOINTS]

#: Parent index per joint (``-1`` for the pelvis), smplx's ``kintree_table[0]``.
PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)

#: Slices of the 55 joints by parameter block (the order of AMASS SMPL-X ``poses`` (F, 165)).
GLOBAL = slice(0, 1)
BODY = slice(1, 22)
JAW, LEFT_EYE, RIGHT_EYE = 22, 23, 24
LEFT_HAND = slice(25, 40)
RIGHT_HAND = slice(40, 55)

#: Joints that are left/right mirror images, as index pairs.
MIRROR_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (i, JOINT_NAMES.index("right_" + n[5:])) for i, n in enumerate(JOINT_NAMES) if n.startswith("left_"))


def joint_index(name: str) -> int:
    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        raise KeyError(f"{name!r} is not an SMPL-X joint; known: {', '.join(JOINT_NAMES)}") from None


def forward_kinematics(rest_joints: np.ndarray, rotations: np.ndarray, transl: np.ndarray | None = None,
                       parents=PARENTS) -> tuple[np.ndarray, np.ndarray]:
    """Posed joint positions and global rotations.

    Args:
        rest_joints: ``(J, 3)`` or ``(F, J, 3)`` joint positions in the rest pose (model frame).
        rotations: ``(F, J, 3, 3)`` local rotation matrices, or ``(F, J, 3)`` axis-angle.
        transl: ``(F, 3)`` root translation (smplx's ``transl``) or None.
        parents: parent index per joint (-1 for the root); parents must precede children.

    Returns:
        ``positions (F, J, 3)`` and ``global_rotations (F, J, 3, 3)``.
    """
    rotations = np.asarray(rotations, dtype=np.float64)
    if rotations.ndim == 3:  # (F, J, 3) axis-angle
        rotations = axis_angle_to_matrix(rotations)
    F, J = rotations.shape[:2]
    rest = np.broadcast_to(np.asarray(rest_joints, dtype=np.float64), (F, J, 3))
    G = np.empty((F, J, 3, 3))
    X = np.empty((F, J, 3))
    for j, p in enumerate(parents[:J]):
        if p < 0:
            G[:, j] = rotations[:, j]
            X[:, j] = rest[:, j]
        else:
            G[:, j] = G[:, p] @ rotations[:, j]
            X[:, j] = X[:, p] + np.einsum("fab,fb->fa", G[:, p], rest[:, j] - rest[:, p])
    if transl is not None:
        X = X + np.asarray(transl, dtype=np.float64)[:, None, :]
    return X, G
