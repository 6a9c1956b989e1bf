"""Keypoint sets: the joint names, skeleton edges and body-model correspondence of each 2D detector.

A :class:`KeypointSet` keeps the detector's *own* joint names in the detector's own order (so its files
round-trip), the skeleton ``edges`` as index pairs, and ``canonical``: for every joint, the SMPL-X joint
or landmark it corresponds to (names as in ``smplx.joint_names.JOINT_NAMES``, copied in
:data:`mocap.body.skeleton.SMPLX_JOINT_NAMES`), or ``None`` where SMPL-X has no counterpart (inner eye corners, head top,
mouth corners...). The correspondence is approximate: a detector's hip is not exactly SMPL-X's hip
joint, so body fitting should still learn per-keypoint offsets. Several keypoints may map to the same
canonical joint (e.g. a holistic body wrist and hand wrist).

Sets and where their order comes from:

* ``blazepose33``: MediaPipe Pose landmarks, ``mp.solutions.pose.PoseLandmark`` order and
  ``POSE_CONNECTIONS`` (checked against mediapipe 0.10.21). The hand landmarks are knuckles
  (BlazePose paper: pinky and index "#1 knuckle", thumb "#2 knuckle"), so ``left_index`` maps to
  SMPL-X ``left_index1``, not to the fingertip SMPL-X calls ``left_index``.
* ``mediapipe_hand21``: MediaPipe Hands, ``HandLandmark`` order and ``HAND_CONNECTIONS``. A lone hand
  has no side, so its ``canonical`` is all ``None``; ``holistic`` gives the sided names.
* ``holistic``: ``blazepose33`` then 21 left-hand and 21 right-hand landmarks named ``left_hand_<name>``
  / ``right_hand_<name>`` (what ``mocap.keypoints2d.detectors.blazepose.HolisticDetector`` writes).
* ``coco17``: COCO keypoints, names and skeleton as in MMPose ``configs/_base_/datasets/coco.py``.
* ``body25``: OpenPose BODY_25 (``POSE_BODY_25_BODY_PARTS`` and ``POSE_BODY_25_PAIRS_RENDER_GPU`` in
  OpenPose's ``poseParameters``); canonical map as SMPLify-X's ``smpl_to_openpose``.
* ``body25b``: OpenPose's experimental BODY_25B (``POSE_BODY_25B_BODY_PARTS`` /
  ``..._PAIRS_RENDER_GPU``), the OpenPose model Pose2Sim recommends; same order as Pose2Sim's
  ``skeletons.py``, which calls joints 17 and 18 ``Neck`` and ``Head``; OpenPose's own names
  ``UpperNeck`` and ``HeadTop`` are kept here because they are not BODY_25's neck.
* ``halpe26``: AlphaPose / RTMPose Halpe-26 (AlphaPose ``docs/output.md`` names, Pose2Sim
  ``skeletons.py`` ids, MMPose ``halpe26.py`` skeleton).
* ``coco_wholebody133``: COCO-WholeBody as in MMPose ``coco_wholebody.py`` (17 body, 6 feet, 68 face,
  2 x 21 hands); the 68 face points map to SMPL-X's 51 face landmarks and 17 contour points by position,
  as SMPLify-X maps OpenPose's 70-point face.

Pose2Sim-style names (``BODY_25B``, ``HALPE_26``, ``COCO_133``...) are accepted by
:func:`get_keypoint_set` as aliases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from mocap.body.skeleton import SMPLX_JOINT_NAMES
from mocap.errors import MocapError


@dataclass(frozen=True)
class KeypointSet:
    """The joints of one 2D detector.

    Attributes:
        name: registry name, e.g. ``"body25"``; custom sets (DeepLabCut) use ``"dlc:<scorer>"``.
        joint_names: ``J`` names as the detector or its files spell them, in the detector's order.
        edges: skeleton edges as ``(a, b)`` index pairs into ``joint_names`` (for drawing and bone lengths).
        canonical: ``joint name -> SMPL-X joint name`` (see :data:`SMPLX_JOINT_NAMES`) or ``None``; has an
            entry for every joint.
        source: where the order and names come from.
    """

    name: str
    joint_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...] = ()
    canonical: Mapping[str, str | None] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        names = tuple(self.joint_names)
        if len(set(names)) != len(names):
            raise ValueError(f"keypoint set {self.name!r} has duplicate joint names")
        edges = tuple((int(a), int(b)) for a, b in self.edges)
        bad = [e for e in edges if not (0 <= e[0] < len(names) and 0 <= e[1] < len(names)) or e[0] == e[1]]
        if bad:
            raise ValueError(f"keypoint set {self.name!r} has invalid edges {bad}")
        canonical = {n: self.canonical.get(n) for n in names}
        unknown = set(self.canonical) - set(names)
        if unknown:
            raise ValueError(f"keypoint set {self.name!r}: canonical names for unknown joints {sorted(unknown)}")
        object.__setattr__(self, "joint_names", names)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "canonical", MappingProxyType(canonical))

    @classmethod
    def custom(cls, name: str, joint_names, source: str = "") -> KeypointSet:
        """A set with no skeleton and no body-model correspondence (e.g. DeepLabCut body parts)."""
        return cls(name, tuple(joint_names), (), {}, source)

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    def index(self, joint: str) -> int:
        """Index of ``joint`` in ``joint_names``."""
        return self.joint_names.index(joint)

    def canonical_pairs(self) -> list[tuple[int, str]]:
        """``(joint index, SMPL-X name)`` for every joint that has a counterpart, in joint order."""
        return [(i, self.canonical[n]) for i, n in enumerate(self.joint_names) if self.canonical[n] is not None]


def _edges_by_name(names: tuple[str, ...], pairs) -> tuple[tuple[int, int], ...]:
    index = {n: i for i, n in enumerate(names)}
    return tuple((index[a], index[b]) for a, b in pairs)


def _sided(prefix_l: str, prefix_r: str, stems) -> dict[str, str]:
    """``{L<stem>: left_<stem'>, R<stem>: right_<stem'>}`` for ``stems = {stem: stem'}``."""
    out = {}
    for stem, smplx_stem in stems.items():
        out[prefix_l + stem] = f"left_{smplx_stem}"
        out[prefix_r + stem] = f"right_{smplx_stem}"
    return out


# --- MediaPipe ---------------------------------------------------------------------------------------

_BLAZEPOSE_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
_BLAZEPOSE_EDGES = (
    (0, 1), (0, 4), (1, 2), (2, 3), (3, 7), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13), (11, 23),
    (12, 14), (12, 24), (13, 15), (14, 16), (15, 17), (15, 19), (15, 21), (16, 18), (16, 20), (16, 22), (17, 19),
    (18, 20), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (27, 31), (28, 30), (28, 32), (29, 31),
    (30, 32),
)
_BLAZEPOSE_CANONICAL = {
    "nose": "nose",
    **_sided("left_", "right_", {
        "eye": "eye", "ear": "ear", "shoulder": "shoulder", "elbow": "elbow", "wrist": "wrist",
        "pinky": "pinky1", "index": "index1", "thumb": "thumb2",  # knuckles, not fingertips
        "hip": "hip", "knee": "knee", "ankle": "ankle", "heel": "heel", "foot_index": "big_toe"}),
}

_HAND_NAMES = (
    "wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_finger_mcp", "index_finger_pip", "index_finger_dip", "index_finger_tip",
    "middle_finger_mcp", "middle_finger_pip", "middle_finger_dip", "middle_finger_tip",
    "ring_finger_mcp", "ring_finger_pip", "ring_finger_dip", "ring_finger_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)
_HAND_EDGES = (
    (0, 1), (0, 5), (0, 17), (1, 2), (2, 3), (3, 4), (5, 6), (5, 9), (6, 7), (7, 8), (9, 10), (9, 13), (10, 11),
    (11, 12), (13, 14), (13, 17), (14, 15), (15, 16), (17, 18), (18, 19), (19, 20),
)
# MediaPipe / OpenPose / COCO-WholeBody hand joint k of a finger -> SMPL-X (MANO) name stem; tips are the
# SMPL-X fingertip landmarks (``left_index``...), the other joints MANO's ``index1..3`` (MCP, PIP, DIP).
_HAND_SMPLX = ("wrist", "thumb1", "thumb2", "thumb3", "thumb", "index1", "index2", "index3", "index",
               "middle1", "middle2", "middle3", "middle", "ring1", "ring2", "ring3", "ring",
               "pinky1", "pinky2", "pinky3", "pinky")


def _hand_canonical(side: str, names: tuple[str, ...]) -> dict[str, str]:
    return {n: f"{side}_{stem}" for n, stem in zip(names, _HAND_SMPLX)}


# --- OpenPose / AlphaPose / COCO ----------------------------------------------------------------------

_COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)
_COCO17_EDGES = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
    (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

_BODY25_NAMES = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip", "RKnee",
    "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe", "LHeel",
    "RBigToe", "RSmallToe", "RHeel",
)
_BODY25_EDGES = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11), (8, 12), (12, 13), (13, 14),
    (1, 0), (0, 15), (15, 17), (0, 16), (16, 18), (14, 19), (19, 20), (14, 21), (11, 22), (22, 23), (11, 24),
)
_OPENPOSE_SIDED = _sided("L", "R", {
    "Eye": "eye", "Ear": "ear", "Shoulder": "shoulder", "Elbow": "elbow", "Wrist": "wrist", "Hip": "hip",
    "Knee": "knee", "Ankle": "ankle", "BigToe": "big_toe", "SmallToe": "small_toe", "Heel": "heel"})

_BODY25B_NAMES = (
    "Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist",
    "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle", "UpperNeck", "HeadTop", "LBigToe", "LSmallToe",
    "LHeel", "RBigToe", "RSmallToe", "RHeel",
)
_BODY25B_EDGES = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 7), (6, 8), (7, 9), (8, 10), (5, 11), (6, 12), (11, 13), (12, 14),
    (13, 15), (14, 16), (15, 19), (19, 20), (15, 21), (16, 22), (22, 23), (16, 24), (5, 17), (6, 17), (17, 18),
    (11, 12),
)

_HALPE26_NAMES = (
    "Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist",
    "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle", "Head", "Neck", "Hip", "LBigToe", "RBigToe",
    "LSmallToe", "RSmallToe", "LHeel", "RHeel",
)
_HALPE26_EDGES = (
    (15, 13), (13, 11), (11, 19), (16, 14), (14, 12), (12, 19), (17, 18), (18, 19), (18, 5), (5, 7), (7, 9),
    (18, 6), (6, 8), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (15, 20), (15, 22),
    (15, 24), (16, 21), (16, 23), (16, 25),
)

_WHOLEBODY_FEET = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")
_WHOLEBODY_FACE = tuple(f"face-{k}" for k in range(68))
_WHOLEBODY_FINGERS = ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger")
_WHOLEBODY_HAND = {side: (f"{side}_hand_root",) + tuple(f"{side}_{f}{k}" for f in _WHOLEBODY_FINGERS
                                                         for k in range(1, 5))
                   for side in ("left", "right")}
_WHOLEBODY_NAMES = (_COCO17_NAMES + _WHOLEBODY_FEET + _WHOLEBODY_FACE
                    + _WHOLEBODY_HAND["left"] + _WHOLEBODY_HAND["right"])
_WHOLEBODY_EDGES = (
    _COCO17_EDGES + ((15, 17), (15, 18), (15, 19), (16, 20), (16, 21), (16, 22))
    # MMPose draws each finger as a chain from the hand root: root-1, 1-2, 2-3, 3-4 (no palm arcs).
    + tuple(e for root in (91, 112) for f in range(5) for e in (
        (root, root + 1 + 4 * f), (root + 1 + 4 * f, root + 2 + 4 * f), (root + 2 + 4 * f, root + 3 + 4 * f),
        (root + 3 + 4 * f, root + 4 + 4 * f)))
)
# 68-point face (iBUG order) -> SMPL-X: points 17..67 are SMPL-X's 51 face landmarks in order, 0..16 the
# contour (as SMPLify-X maps OpenPose's face keypoints).
_FACE68_SMPLX = SMPLX_JOINT_NAMES[127:144] + SMPLX_JOINT_NAMES[76:127]


def _build_sets() -> dict[str, KeypointSet]:
    holistic_names = (_BLAZEPOSE_NAMES + tuple(f"left_hand_{n}" for n in _HAND_NAMES)
                      + tuple(f"right_hand_{n}" for n in _HAND_NAMES))
    holistic_edges = (_BLAZEPOSE_EDGES + tuple((33 + a, 33 + b) for a, b in _HAND_EDGES)
                      + tuple((54 + a, 54 + b) for a, b in _HAND_EDGES))
    sets = [
        KeypointSet("blazepose33", _BLAZEPOSE_NAMES, _BLAZEPOSE_EDGES, _BLAZEPOSE_CANONICAL,
                    "MediaPipe Pose PoseLandmark / POSE_CONNECTIONS"),
        KeypointSet("mediapipe_hand21", _HAND_NAMES, _HAND_EDGES, {},
                    "MediaPipe Hands HandLandmark / HAND_CONNECTIONS (a lone hand has no side: no canonical names)"),
        KeypointSet("holistic", holistic_names, holistic_edges,
                    {**_BLAZEPOSE_CANONICAL,
                     **_hand_canonical("left", holistic_names[33:54]),
                     **_hand_canonical("right", holistic_names[54:75])},
                    "MediaPipe Holistic: blazepose33 + left_hand_* + right_hand_* (mediapipe_hand21)"),
        KeypointSet("coco17", _COCO17_NAMES, _COCO17_EDGES, {n: n for n in _COCO17_NAMES},
                    "COCO keypoints (MMPose configs/_base_/datasets/coco.py)"),
        KeypointSet("body25", _BODY25_NAMES, _BODY25_EDGES,
                    {"Nose": "nose", "Neck": "neck", "MidHip": "pelvis", **_OPENPOSE_SIDED},
                    "OpenPose POSE_BODY_25_BODY_PARTS / POSE_BODY_25_PAIRS_RENDER_GPU"),
        KeypointSet("body25b", _BODY25B_NAMES, _BODY25B_EDGES, {"Nose": "nose", **_OPENPOSE_SIDED},
                    "OpenPose POSE_BODY_25B_BODY_PARTS / POSE_BODY_25B_PAIRS_RENDER_GPU (Pose2Sim BODY_25B order)"),
        KeypointSet("halpe26", _HALPE26_NAMES, _HALPE26_EDGES,
                    {"Nose": "nose", "Neck": "neck", "Hip": "pelvis", **_OPENPOSE_SIDED},
                    "AlphaPose Halpe-26 (docs/output.md), Pose2Sim HALPE_26, MMPose halpe26.py skeleton"),
        KeypointSet("coco_wholebody133", _WHOLEBODY_NAMES, _WHOLEBODY_EDGES,
                    {**{n: n for n in _COCO17_NAMES + _WHOLEBODY_FEET},
                     **dict(zip(_WHOLEBODY_FACE, _FACE68_SMPLX)),
                     **_hand_canonical("left", _WHOLEBODY_HAND["left"]),
                     **_hand_canonical("right", _WHOLEBODY_HAND["right"])},
                    "COCO-WholeBody (MMPose configs/_base_/datasets/coco_wholebody.py)"),
    ]
    return {s.name: s for s in sets}


class UnknownKeypointSetError(MocapError, KeyError):
    """No registered keypoint set has this name (a ``KeyError`` too, for callers that treat it as a lookup)."""


KEYPOINT_SETS: dict[str, KeypointSet] = _build_sets()
"""Every registered keypoint set by name."""

_ALIASES = {
    "blazepose": "blazepose33", "mediapipe": "blazepose33", "hand21": "mediapipe_hand21",
    "coco": "coco17", "coco_17": "coco17", "body_25": "body25", "body_25b": "body25b", "halpe": "halpe26",
    "halpe_26": "halpe26", "coco_133": "coco_wholebody133", "coco_wholebody": "coco_wholebody133",
    "wholebody": "coco_wholebody133",
}


def get_keypoint_set(name: str) -> KeypointSet:
    """The registered keypoint set ``name`` (case-insensitive; Pose2Sim names like ``BODY_25B`` work too).

    Raises ``UnknownKeypointSetError`` (a ``MocapError`` and a ``KeyError``) for any other name.
    """
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key in KEYPOINT_SETS:
        return KEYPOINT_SETS[key]
    if key.startswith("dlc:"):
        raise UnknownKeypointSetError(f"keypoint set {name!r} is a custom DeepLabCut set, not a registered one",
                                      fix="its joint names come with the keypoints file (Keypoints2D.joint_names)")
    raise UnknownKeypointSetError(f"unknown keypoint set {name!r}", fix=f"use one of: {', '.join(KEYPOINT_SETS)}")


def registered_set(joint_names, keypoint_set: str | None) -> KeypointSet | None:
    """The registered keypoint set ``keypoint_set`` if the points follow its joint order, else ``None``."""
    if not keypoint_set:
        return None
    try:
        ks = get_keypoint_set(keypoint_set)
    except KeyError:
        return None
    return ks if tuple(ks.joint_names) == tuple(joint_names) else None


def drawing_edges(joint_names, keypoint_set: str | None) -> np.ndarray:
    """``(E, 2)`` every edge of the keypoint set's skeleton drawing (loops included); empty when the set is
    unknown or the joints do not follow its order."""
    ks = registered_set(joint_names, keypoint_set)
    return np.array(ks.edges if ks is not None else (), int).reshape(-1, 2)
