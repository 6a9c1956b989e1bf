"""Synthetic human takes: the numpy SMPL-X forward pass, authored motions, the Blender renderer, the
ground truth of a rendered session and the committed ``sample_sessions/studio4``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap.body import lbs
from mocap.body.skeleton import PARENTS

REPO = Path(__file__).resolve().parents[1]
STUDIO4 = REPO / "sample_sessions" / "studio4"


def _open_model_path() -> Path:
    try:
        from mocap.bodymodels import OPEN_MODEL_PATH
    except ImportError:
        pytest.skip("mocap.bodymodels is not available")
    if not Path(OPEN_MODEL_PATH).is_file():
        pytest.skip(f"the open body model is not built: {OPEN_MODEL_PATH}")
    return Path(OPEN_MODEL_PATH)


@pytest.fixture(scope="module")
def open_model():
    return lbs.load_model(_open_model_path())


def random_model(path: Path, seed: int = 0) -> Path:
    """A random model in smplx's file layout (10,475 vertices so smplx's landmark ids exist)."""
    rng = np.random.default_rng(seed)
    V = 10475
    J_regressor = np.zeros((55, V))
    for j in range(55):
        J_regressor[j, rng.choice(V, 5, replace=False)] = rng.uniform(0.1, 1, 5)
    J_regressor /= J_regressor.sum(axis=1, keepdims=True)
    weights = np.zeros((V, 55))
    for _ in range(3):
        weights[np.arange(V), rng.integers(0, 55, V)] += rng.uniform(0.1, 1, V)
    weights /= weights.sum(axis=1, keepdims=True)
    np.savez(path, v_template=rng.normal(0, 0.3, (V, 3)), f=rng.integers(0, V, (100, 3)), J_regressor=J_regressor,
             weights=weights, kintree_table=np.array([[2**32 - 1, *PARENTS[1:]], list(range(55))], dtype=np.int64),
             shapedirs=rng.normal(0, 0.01, (V, 3, 20)), posedirs=rng.normal(0, 0.01, (V, 3, 486)),
             hands_componentsl=np.eye(45), hands_componentsr=np.eye(45), hands_meanl=np.zeros(45),
             hands_meanr=np.zeros(45), lmk_faces_idx=np.zeros(51, np.int64), lmk_bary_coords=np.full((51, 3), 1 / 3))
    return path


def smplx_forward(path: Path, betas: np.ndarray, pose: np.ndarray, transl: np.ndarray):
    torch = pytest.importorskip("torch")
    smplx = pytest.importorskip("smplx")
    model = smplx.create(str(path), model_type="smplx", ext="npz", use_pca=False, flat_hand_mean=True,
                         num_betas=len(betas)).double()
    F = len(pose)

    def t(a):
        return torch.tensor(np.asarray(a), dtype=torch.float64)

    out = model(betas=t(np.tile(betas, (F, 1))), global_orient=t(pose[:, 0]), body_pose=t(pose[:, 1:22].reshape(F, -1)),
                jaw_pose=t(pose[:, 22]), leye_pose=t(pose[:, 23]), reye_pose=t(pose[:, 24]),
                left_hand_pose=t(pose[:, 25:40].reshape(F, -1)), right_hand_pose=t(pose[:, 40:55].reshape(F, -1)),
                transl=t(transl), expression=torch.zeros(F, 10, dtype=torch.float64), return_verts=True)
    return out.vertices.detach().numpy(), out.joints.detach().numpy()


def _compare_with_smplx(path: Path, tol: float) -> None:
    rng = np.random.default_rng(1)
    F = 3
    pose, betas, transl = rng.normal(0, 0.4, (F, 55, 3)), rng.normal(0, 1, 10), rng.normal(0, 1, (F, 3))
    model = lbs.load_model(path)
    verts, joints = lbs.pose_vertices(model, betas, pose, transl)
    ref_v, ref_j = smplx_forward(path, betas, pose, transl)
    assert np.abs(verts - ref_v).max() < tol
    assert np.abs(lbs.all_joints(model, verts, joints) - ref_j[:, :76]).max() < tol
    assert np.allclose(lbs.rest_joints(model, betas), lbs.pose_vertices(model, betas, np.zeros((55, 3)))[1])


def test_lbs_matches_smplx_on_a_random_model(tmp_path):
    _compare_with_smplx(random_model(tmp_path / "SMPLX_NEUTRAL.npz"), 1e-6)


def test_lbs_matches_smplx_on_the_open_model():
    _compare_with_smplx(_open_model_path(), 1e-5)


def test_lbs_chunks_and_single_frames_agree(tmp_path, monkeypatch):
    model = lbs.load_model(random_model(tmp_path / "m.npz"))
    pose = np.random.default_rng(2).normal(0, 0.3, (5, 55, 3))
    full, _ = lbs.pose_vertices(model, None, pose)
    monkeypatch.setattr(lbs, "_CHUNK_BYTES", 1)  # one frame per chunk
    chunked, _ = lbs.pose_vertices(model, None, pose)
    single, _ = lbs.pose_vertices(model, None, pose[2])
    assert np.allclose(full, chunked) and np.allclose(single, full[2])
