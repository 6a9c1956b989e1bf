"""OpenSim marker names for the keypoint sets: what ``points3d.trc`` calls its markers.

OpenSim scaling and inverse kinematics match the TRC's marker names with the model's markers. The
models and setup files Pose2Sim ships (``Model_Pose2Sim_*.osim``, ``Markers_<set>.xml``,
``IK_Setup_Pose2Sim_<set>.xml``) use the marker names of Pose2Sim's skeletons (``Pose2Sim/skeletons.py``),
and Pose2Sim's TRC files list exactly the skeleton nodes that have a keypoint id, in the skeleton tree's
pre-order. :data:`OPENSIM_MARKERS` gives, per keypoint set, that list and the keypoint each marker is:

==============  ===  ==========================================================================================
keypoint set    n    markers (Pose2Sim's TRC order)
==============  ===  ==========================================================================================
body25          21   CHip RHip RKnee RAnkle RBigToe RSmallToe RHeel LHip LKnee LAnkle LBigToe LSmallToe LHeel
                     Neck Nose RShoulder RElbow RWrist LShoulder LElbow LWrist (CHip = OpenPose's MidHip)
body25b         21   RHip RKnee RAnkle RBigToe RSmallToe RHeel LHip LKnee LAnkle LBigToe LSmallToe LHeel Neck
                     Head Nose RShoulder RElbow RWrist LShoulder LElbow LWrist (Neck = UpperNeck, Head = HeadTop)
halpe26         22   Hip RHip RKnee RAnkle RBigToe RSmallToe RHeel LHip LKnee LAnkle LBigToe LSmallToe LHeel Neck
                     Head Nose RShoulder RElbow RWrist LShoulder LElbow LWrist
coco17          13   RHip RKnee RAnkle LHip LKnee LAnkle Nose RShoulder RElbow RWrist LShoulder LElbow LWrist
blazepose33     25   RHip RKnee RAnkle RHeel RBigToe LHip LKnee LAnkle LHeel LBigToe Nose REye LEye RShoulder
(and holistic)       RElbow RWrist RPinky RIndex RThumb LShoulder LElbow LWrist LPinky LIndex LThumb
                     (RBigToe = right_foot_index; the pinky, index and thumb points are BlazePose's knuckles)
==============  ===  ==========================================================================================

Keypoints without a marker (eyes and ears of the OpenPose sets, BlazePose's face and mouth points, the
holistic hands) are left out, as in Pose2Sim's files. Two known differences between Pose2Sim's files
and its OpenSim marker sets are settled for OpenSim: BlazePose's left knee is ``LKnee`` (the name in
``Markers_BlazePose.xml``; ``skeletons.py`` spells it ``Lknee``), and COCO-17 has no ``Neck`` marker (its
TRC has none; ``Markers_Coco17.xml`` lists one, which IK then ignores). Other sets (COCO-WholeBody,
DeepLabCut's custom body parts) keep their own names. ``marker_names = "native"`` (``--marker-names
native``) writes every keypoint under the detector's own name instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from mocap.keypoints2d.sets import registered_set

_OPENPOSE_LEGS = ("RHip", "RKnee", "RAnkle", "RBigToe", "RSmallToe", "RHeel",
                  "LHip", "LKnee", "LAnkle", "LBigToe", "LSmallToe", "LHeel")
_OPENPOSE_ARMS = ("RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist")


def _same(names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple((n, n) for n in names)


def _blazepose(names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Pose2Sim marker -> BlazePose landmark (``R``/``L`` prefix -> ``right_``/``left_``)."""
    stems = {"Hip": "hip", "Knee": "knee", "Ankle": "ankle", "Heel": "heel", "BigToe": "foot_index", "Eye": "eye",
             "Shoulder": "shoulder", "Elbow": "elbow", "Wrist": "wrist", "Pinky": "pinky", "Index": "index",
             "Thumb": "thumb"}
    out = []
    for n in names:
        side = {"R": "right_", "L": "left_"}.get(n[0]) if n != "Nose" else None
        out.append((n, "nose" if side is None else side + stems[n[1:]]))
    return tuple(out)


_BLAZEPOSE = _blazepose(("RHip", "RKnee", "RAnkle", "RHeel", "RBigToe", "LHip", "LKnee", "LAnkle", "LHeel",
                         "LBigToe", "Nose", "REye", "LEye", "RShoulder", "RElbow", "RWrist", "RPinky", "RIndex",
                         "RThumb", "LShoulder", "LElbow", "LWrist", "LPinky", "LIndex", "LThumb"))

OPENSIM_MARKERS = MappingProxyType({
    "body25": (("CHip", "MidHip"), *_same(_OPENPOSE_LEGS), ("Neck", "Neck"), ("Nose", "Nose"),
               *_same(_OPENPOSE_ARMS)),
    "body25b": (*_same(_OPENPOSE_LEGS), ("Neck", "UpperNeck"), ("Head", "HeadTop"), ("Nose", "Nose"),
                *_same(_OPENPOSE_ARMS)),
    "halpe26": (("Hip", "Hip"), *_same(_OPENPOSE_LEGS), *_same(("Neck", "Head", "Nose")), *_same(_OPENPOSE_ARMS)),
    "coco17": tuple((m, k) for m, k in zip(
        ("RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "Nose") + _OPENPOSE_ARMS,
        ("right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "nose", "right_shoulder",
         "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist"))),
    "blazepose33": _BLAZEPOSE,
    "holistic": _BLAZEPOSE,
})
"""Keypoint set -> ``(OpenSim marker, keypoint name)`` in Pose2Sim's TRC order (see the module docstring)."""

MARKER_NAMES = ("opensim", "native")


def trc_markers(joint_names: Sequence[str], keypoint_set: str | None,
                marker_names: str = "opensim") -> tuple[list[int], list[str]]:
    """Which keypoints a TRC file holds and under which names: ``(indices into joint_names, marker names)``.

    ``"opensim"``: the OpenSim / Pose2Sim markers of the keypoint set (:data:`OPENSIM_MARKERS`) when the
    joints follow a registered set that has them; else every keypoint under its own name, as ``"native"``.
    """
    if marker_names not in MARKER_NAMES:
        raise ValueError(f"marker_names must be one of {MARKER_NAMES}, got {marker_names!r}")
    ks = registered_set(joint_names, keypoint_set)
    if marker_names == "opensim" and ks is not None and ks.name in OPENSIM_MARKERS:
        pairs = OPENSIM_MARKERS[ks.name]
        return [ks.index(k) for _, k in pairs], [m for m, _ in pairs]
    return list(range(len(joint_names))), list(joint_names)


__all__ = ["MARKER_NAMES", "OPENSIM_MARKERS", "trc_markers"]
