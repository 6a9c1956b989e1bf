"""Keypoint sets: names and order against their sources, valid edges, SMPL-X names, left/right pairs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from mocap.errors import MocapError
from mocap.keypoints2d.keypoints import left_right_pairs
from mocap.keypoints2d.sets import (
    KEYPOINT_SETS,
    SMPLX_JOINT_NAMES,
    KeypointSet,
    get_keypoint_set,
)

ALL = sorted(KEYPOINT_SETS)
_SIDE = re.compile(r"^(left_|right_|l_|r_|Left|Right|L(?=[A-Z])|R(?=[A-Z]))|(_left|_right)$")


def _smplx_joint_names() -> list[str] | None:
    """smplx's JOINT_NAMES, read from its file without importing smplx (which imports torch)."""
    spec = importlib.util.find_spec("smplx")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "joint_names.py"
    module_spec = importlib.util.spec_from_file_location("_smplx_joint_names", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return list(module.JOINT_NAMES)


def test_smplx_names_match_the_installed_smplx():
    names = _smplx_joint_names()
    if names is None:
        pytest.skip("smplx is not installed")
    assert list(SMPLX_JOINT_NAMES) == names


def test_mediapipe_sets_match_the_installed_mediapipe():
    pytest.importorskip("mediapipe")
    from mediapipe.python.solutions import hands, pose

    body, hand = get_keypoint_set("blazepose33"), get_keypoint_set("mediapipe_hand21")
    assert body.joint_names == tuple(m.name.lower() for m in pose.PoseLandmark)
    assert sorted(body.edges) == sorted(pose.POSE_CONNECTIONS)
    assert hand.joint_names == tuple(m.name.lower() for m in hands.HandLandmark)
    assert sorted(hand.edges) == sorted(hands.HAND_CONNECTIONS)


@pytest.mark.parametrize("name", ALL)
def test_set_is_consistent(name):
    ks = KEYPOINT_SETS[name]
    assert ks.name == name
    assert len(set(ks.joint_names)) == ks.n_joints
    assert set(ks.canonical) == set(ks.joint_names)
    assert all(c is None or c in SMPLX_JOINT_NAMES for c in ks.canonical.values())
    assert all(0 <= a < ks.n_joints and 0 <= b < ks.n_joints and a != b for a, b in ks.edges)
    assert len(set(map(frozenset, ks.edges))) == len(ks.edges), "duplicate edges"
    if ks.edges:  # every joint is drawn (coco_wholebody's face points are the exception: MMPose draws none)
        drawn = {i for e in ks.edges for i in e}
        undrawn = [n for i, n in enumerate(ks.joint_names) if i not in drawn and not n.startswith("face-")]
        assert not undrawn


@pytest.mark.parametrize("name", ALL)
def test_every_sided_joint_has_its_counterpart(name):
    ks = KEYPOINT_SETS[name]
    sided = {i for i, n in enumerate(ks.joint_names) if _SIDE.search(n)}
    pairs = left_right_pairs(ks.joint_names)
    assert {int(i) for i in pairs.ravel()} == sided
    for a, b in pairs:  # and a left joint's counterpart is the mirrored canonical joint
        ca, cb = ks.canonical[ks.joint_names[a]], ks.canonical[ks.joint_names[b]]
        assert (ca is None) == (cb is None)
        if ca is not None:
            assert ca.replace("left", "right") == cb or ca.replace("right", "left") == cb


def test_pairs_of_openpose_style_names():
    ks = get_keypoint_set("body25")
    pairs = {(ks.joint_names[a], ks.joint_names[b]) for a, b in left_right_pairs(ks.joint_names)}
    assert ("LHip", "RHip") in pairs and ("LBigToe", "RBigToe") in pairs and len(pairs) == 11


def test_official_orders():
    bp = get_keypoint_set("blazepose33").joint_names
    assert bp[:5] == ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner")
    assert bp[9:11] == ("mouth_left", "mouth_right") and bp[-2:] == ("left_foot_index", "right_foot_index")
    hand = get_keypoint_set("mediapipe_hand21").joint_names
    assert hand[0] == "wrist" and hand[1] == "thumb_cmc" and hand[-1] == "pinky_tip" and len(hand) == 21
    holistic = get_keypoint_set("holistic").joint_names
    assert holistic[:33] == bp and holistic[33] == "left_hand_wrist" and holistic[54] == "right_hand_wrist"
    b25 = get_keypoint_set("body25").joint_names
    assert b25[8] == "MidHip" and b25[15:19] == ("REye", "LEye", "REar", "LEar") and b25[24] == "RHeel"
    b25b = get_keypoint_set("body25b").joint_names
    assert b25b[11:13] == ("LHip", "RHip") and b25b[17:19] == ("UpperNeck", "HeadTop") and b25b[19] == "LBigToe"
    halpe = get_keypoint_set("halpe26").joint_names
    assert halpe[17:20] == ("Head", "Neck", "Hip") and halpe[20:22] == ("LBigToe", "RBigToe")
    coco = get_keypoint_set("coco17").joint_names
    assert coco[5] == "left_shoulder" and coco[16] == "right_ankle"
    wb = get_keypoint_set("coco_wholebody133").joint_names
    assert wb[:17] == coco and wb[17] == "left_big_toe" and wb[23] == "face-0" and wb[91] == "left_hand_root"
    assert wb[112] == "right_hand_root" and wb[-1] == "right_pinky_finger4"


def test_official_edges_sample():
    assert (11, 23) in get_keypoint_set("blazepose33").edges  # left shoulder - left hip
    assert (1, 8) in get_keypoint_set("body25").edges  # Neck - MidHip
    assert (17, 18) in get_keypoint_set("body25b").edges  # UpperNeck - HeadTop
    holistic = get_keypoint_set("holistic")
    assert (33 + 0, 33 + 1) in holistic.edges and (54 + 19, 54 + 20) in holistic.edges


@pytest.mark.parametrize("name, joint, smplx_name", [
    ("blazepose33", "left_hip", "left_hip"),
    ("blazepose33", "left_heel", "left_heel"),
    ("blazepose33", "left_foot_index", "left_big_toe"),
    ("blazepose33", "right_index", "right_index1"),  # a knuckle, not the fingertip SMPL-X calls right_index
    ("blazepose33", "left_eye_inner", None),
    ("blazepose33", "mouth_left", None),
    ("body25", "MidHip", "pelvis"),
    ("body25", "LBigToe", "left_big_toe"),
    ("body25", "RSmallToe", "right_small_toe"),
    ("body25", "Neck", "neck"),
    ("body25b", "HeadTop", None),
    ("body25b", "UpperNeck", None),
    ("halpe26", "Hip", "pelvis"),
    ("halpe26", "Head", None),
    ("coco17", "right_ear", "right_ear"),
    ("holistic", "left_hand_thumb_cmc", "left_thumb1"),
    ("holistic", "right_hand_index_finger_tip", "right_index"),
    ("holistic", "right_hand_pinky_dip", "right_pinky3"),
    ("coco_wholebody133", "left_forefinger1", "left_index1"),
    ("coco_wholebody133", "right_thumb4", "right_thumb"),
    ("coco_wholebody133", "face-17", "right_eye_brow1"),
    ("coco_wholebody133", "face-0", "right_contour_1"),
    ("coco_wholebody133", "face-67", "right_lip_3"),
    ("mediapipe_hand21", "wrist", None),
])
def test_canonical_names(name, joint, smplx_name):
    assert get_keypoint_set(name).canonical[joint] == smplx_name


def test_lookup_and_aliases():
    assert get_keypoint_set("BODY_25B") is KEYPOINT_SETS["body25b"]
    assert get_keypoint_set("HALPE_26").name == "halpe26"
    assert get_keypoint_set("COCO_133").name == "coco_wholebody133"
    with pytest.raises(MocapError, match="unknown keypoint set") as info:
        get_keypoint_set("body99")
    assert isinstance(info.value, KeyError)  # callers that treat the lookup like a dict's catch it too
    assert "fix: use one of" in str(info.value)
    with pytest.raises(MocapError, match="DeepLabCut"):
        get_keypoint_set("dlc:DLC_resnet50")


def test_keypoint_set_validation_and_helpers():
    ks = KeypointSet.custom("dlc:x", ["a", "b"])
    assert ks.edges == () and dict(ks.canonical) == {"a": None, "b": None} and ks.canonical_pairs() == []
    assert get_keypoint_set("body25").canonical_pairs()[:2] == [(0, "nose"), (1, "neck")]
    assert get_keypoint_set("body25").index("MidHip") == 8
    with pytest.raises(TypeError):
        ks.canonical["a"] = "pelvis"  # read-only
    with pytest.raises(ValueError, match="duplicate"):
        KeypointSet("bad", ("a", "a"))
    with pytest.raises(ValueError, match="edges"):
        KeypointSet("bad", ("a", "b"), ((0, 2),))
    with pytest.raises(ValueError, match="unknown joints"):
        KeypointSet("bad", ("a", "b"), (), {"c": "pelvis"})
