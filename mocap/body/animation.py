"""`SkeletonAnimation`: a rig-agnostic animated skeleton, the common input of every exporter.

Convention (Blender's pose-bone convention, so the add-on and the FBX/glTF path map 1:1):

* World frame: metres, Z-up, the character faces -Y at rest (Blender's front view).
* Each joint ``j`` has a rest position ``rest_positions[j]`` (world, rest pose) and a rest orientation
  ``rest_orientations[j]`` (3x3, columns = the joint frame's axes in world; Blender's bone
  ``matrix_local`` rotation, so it carries bone roll). SMPL-X joints have identity-aligned frames (all equal
  to the model->world turn); rigs from presets may differ per bone.
* Animation: ``local_rotations[f, j]`` is the rotation of joint ``j`` relative to its rest, in its own rest
  frame (Blender ``pose_bone.matrix_basis`` rotation); ``root_positions[f]`` is the world position of the
  root joint.
* Joints other than the root may also move: ``local_translations[f, j]`` is joint ``j``'s offset from its
  rest position, in its own rest frame (Blender ``pose_bone.location``); None when no joint but the root
  moves (a UE5 rig's ``pelvis`` under a ``root`` that stays on the ground, its ``ik_*`` bones).
* Forward kinematics: ``W_j = W_p @ B_p^T @ B_j @ L_j`` and
  ``P_j = P_p + W_p @ B_p^T @ (r_j - r_p + B_j @ t_j)`` with ``B`` rest orientations, ``r`` rest positions,
  ``L`` local rotations, ``t`` local translations, root ``W_0 = B_0 @ L_0``, ``P_0 = root_positions``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.body import skeleton
from mocap.body.motion import BodyMotion
from mocap.geometry import Y_UP_TO_Z_UP, axis_angle_to_matrix


@dataclass(frozen=True)
class SkeletonAnimation:
    """An animated joint hierarchy.

    Attributes:
        names: ``J`` joint (bone) names.
        parents: ``J`` parent indices, -1 for the root; parents precede children.
        rest_positions: ``(J, 3)`` world rest positions (metres, Z-up).
        rest_orientations: ``(J, 3, 3)`` world rest orientation of each joint frame.
        local_rotations: ``(F, J, 3, 3)`` rotations relative to rest, in each joint's rest frame.
        root_positions: ``(F, 3)`` world position of the root joint.
        fps: frames per second.
        local_translations: ``(F, J, 3)`` offsets of the joints from their rest positions, each in its own rest
            frame (the root's row is unused: ``root_positions`` places it), or None (no joint translates).
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    rest_positions: np.ndarray
    rest_orientations: np.ndarray
    local_rotations: np.ndarray
    root_positions: np.ndarray
    fps: float
    local_translations: np.ndarray | None = None

    def __post_init__(self):
        J = len(self.names)
        if len(self.parents) != J:
            raise ValueError(f"{J} names but {len(self.parents)} parents")
        for j, p in enumerate(self.parents):
            if p >= j:
                raise ValueError(f"joint {self.names[j]!r}: parent index {p} does not precede it")
        for name, shape in (("rest_positions", (J, 3)), ("rest_orientations", (J, 3, 3))):
            a = np.asarray(getattr(self, name), dtype=np.float64)
            if a.shape != shape:
                raise ValueError(f"SkeletonAnimation.{name}: expected {shape}, got {a.shape}")
            object.__setattr__(self, name, a)
        L = np.asarray(self.local_rotations, dtype=np.float64)
        if L.ndim != 4 or L.shape[1:] != (J, 3, 3):
            raise ValueError(f"SkeletonAnimation.local_rotations: expected (F, {J}, 3, 3), got {L.shape}")
        P = np.asarray(self.root_positions, dtype=np.float64)
        if P.shape != (L.shape[0], 3):
            raise ValueError(f"SkeletonAnimation.root_positions: expected ({L.shape[0]}, 3), got {P.shape}")
        object.__setattr__(self, "local_rotations", L)
        object.__setattr__(self, "root_positions", P)
        if self.local_translations is not None:
            T = np.asarray(self.local_translations, dtype=np.float64)
            if T.shape != (L.shape[0], J, 3):
                raise ValueError(f"SkeletonAnimation.local_translations: expected ({L.shape[0]}, {J}, 3), "
                                 f"got {T.shape}")
            object.__setattr__(self, "local_translations", T)
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "parents", tuple(int(p) for p in self.parents))

    @property
    def n_frames(self) -> int:
        return self.local_rotations.shape[0]

    def world_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """``positions (F, J, 3)`` and ``orientations (F, J, 3, 3)`` in world, per frame."""
        F, J = self.local_rotations.shape[:2]
        B, r, L, T = self.rest_orientations, self.rest_positions, self.local_rotations, self.local_translations
        W = np.empty((F, J, 3, 3))
        P = np.empty((F, J, 3))
        for j, p in enumerate(self.parents):
            if p < 0:
                W[:, j] = B[j] @ L[:, j]
                P[:, j] = self.root_positions
            else:
                rel = W[:, p] @ B[p].T
                W[:, j] = rel @ B[j] @ L[:, j]
                P[:, j] = P[:, p] + rel @ (r[j] - r[p])
                if T is not None:
                    P[:, j] += np.einsum("fab,fb->fa", rel @ B[j], T[:, j])
        return P, W


def from_body_motion(motion: BodyMotion) -> SkeletonAnimation:
    """The SMPL-X skeleton of a `BodyMotion` (55 joints, smplx names) as a `SkeletonAnimation`.

    Joint world positions equal ``motion.joint_positions()`` exactly.
    """
    J = skeleton.NUM_JOINTS
    B = np.broadcast_to(Y_UP_TO_Z_UP, (J, 3, 3)).copy()
    L = axis_angle_to_matrix(motion.full_pose())
    L[:, 0] = Y_UP_TO_Z_UP.T @ L[:, 0]
    rest = motion.rest_joints @ Y_UP_TO_Z_UP.T
    root = motion.rest_joints[0] + motion.transl
    return SkeletonAnimation(names=skeleton.JOINT_NAMES, parents=skeleton.PARENTS, rest_positions=rest,
                             rest_orientations=B, local_rotations=L, root_positions=root, fps=motion.fps)
