"""Body fitting: known answers from the shipped open body model (truth is exact: same model)."""
from __future__ import annotations

import numpy as np
import pytest

from mocap.body import lbs
from mocap.body.motion import BodyMotion
from mocap.errors import InputError
from mocap.fitting.fit import FitConfig, fit_markers
from mocap.fitting.markers import keypoint_markers
from mocap.fitting.model import marker_model
from mocap.fitting.stage import fit_points
from mocap.keypoints2d.sets import get_keypoint_set
from mocap.synth.motions import make_motion

BLAZE = get_keypoint_set("blazepose33").joint_names
BETAS = np.array([0.8, -0.5, 0.3, 0, 0, 0, 0, 0, 0, 0])
EXACT = FitConfig(detector_offsets=False)
"""Targets that are the model's own landmarks, not a detector's: no detector offsets to undo."""


@pytest.fixture(scope="module")
def model():
    return lbs.load_model()


@pytest.fixture(scope="module")
def clip(model):
    """The demo motion (first 60 frames) and its exact BlazePose-comparable landmarks."""
    c = make_motion("demo", model, BETAS, fps=30)
    pose, transl = c.pose[:60], c.transl[:60]
    verts, joints = lbs.pose_vertices(model, BETAS, pose, transl)
    truth = BodyMotion.from_full_pose(pose, transl, BETAS, lbs.rest_joints(model, BETAS), 30.0)
    return truth, joints, lbs.regress(model, verts)


def _angle_error_deg(a: BodyMotion, b: BodyMotion, joints=slice(0, 22)) -> float:
    Ra, Rb = a.global_rotations()[:, joints], b.global_rotations()[:, joints]
    cos = (np.trace(np.swapaxes(Ra, -1, -2) @ Rb, axis1=-2, axis2=-1) - 1) / 2
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))).mean())


@pytest.mark.slow
def test_noise_free_fit_recovers_motion(model, clip):
    truth, joints, landmarks = clip
    res = fit_points(landmarks, BLAZE, 30.0, EXACT)
    fitted = res.motion.joint_positions()
    mpjpe = np.linalg.norm(fitted[:, :22] - joints[:, :22], axis=-1).mean() * 1000
    assert np.nanmean(res.motion.fit_error_mm) < 2.0          # markers reproduced to ~0.5 mm
    assert mpjpe < 10.0                                       # spine joints are only weakly observed
    assert _angle_error_deg(res.motion, truth) < 5.0
    assert abs(res.motion.betas[0] - BETAS[0]) < 0.2         # height coefficient recovered


@pytest.mark.slow
def test_detector_offsets_are_undone(model, clip):
    """Landmarks moved by the detector's measured offsets (in their bones' frames), as BlazePose sees them, fit as
    well as the model's own landmarks do; ignoring the offsets costs accuracy."""
    from mocap.body.skeleton import joint_index
    from mocap.fitting.offsets import DETECTOR_OFFSETS

    truth, joints, landmarks = clip
    offsets = DETECTOR_OFFSETS["blazepose33"]["open_smplx"]
    G = truth.global_rotations()[:, [joint_index(offsets[n][0]) for n in BLAZE]]  # (F, 33, 3, 3)
    local = np.array([offsets[n][1] for n in BLAZE]) / 1000.0
    seen = landmarks + np.einsum("flab,lb->fla", G, local)
    errors = {}
    for label, config in (("known", FitConfig()), ("ignored", EXACT)):
        fitted = fit_points(seen, BLAZE, 30.0, config).motion
        errors[label] = (np.linalg.norm(fitted.joint_positions()[:, :22] - joints[:, :22], axis=-1).mean() * 1000,
                         _angle_error_deg(fitted, truth))
    assert errors["known"][0] < 10.0 and errors["known"][1] < 5.0               # as the noise-free fit
    assert errors["ignored"][0] > errors["known"][0] + 3.0, errors
    assert errors["ignored"][1] > errors["known"][1] + 1.0, errors


def test_offsets_measured_on_posed_markers_are_the_ones_put_in(model, clip):
    """`measure_offsets` reads back, in the bones' frames, the offsets `with_offsets` put on the markers; `symmetric`
    mirrors left and right."""
    import torch

    from mocap.fitting.offsets import measure_offsets, symmetric, with_offsets
    from mocap.fitting.solver import MarkerKinematics

    truth, joints, landmarks = clip
    mm = marker_model(model, keypoint_markers(BLAZE, model))
    put = {"left_shoulder": ("left_shoulder", (12.0, -3.0, 5.0)), "right_knee": ("right_knee", (-7.0, 2.0, 9.0)),
           "nose": ("head", (0.0, -10.0, -20.0))}
    moved = with_offsets(mm, put)
    from mocap.body.skeleton import axis_angle_to_matrix

    R = torch.as_tensor(axis_angle_to_matrix(truth.full_pose()))
    kin = MarkerKinematics(mm.parents, mm.m, list(range(1, 22)), torch.float64, "cpu")
    posed = {}
    for label, m in (("plain", mm), ("moved", moved)):
        c = kin.pair_offsets(kin.T(m.c_template + m.c_dirs @ BETAS))
        posed[label] = kin.markers(kin.forward(R, kin.T(truth.transl), kin.T(m.rest_joints(BETAS)), c)[2]).numpy()
    assert np.abs(posed["plain"] - landmarks).max() < 1e-6  # the marker model reproduces the mesh landmarks
    got = measure_offsets(mm, posed["moved"], landmarks, truth.global_rotations())
    for name, (joint, v) in put.items():
        assert got[name][0] == joint and np.allclose(got[name][1], v, atol=0.1), (name, got[name])
    assert np.allclose([got[n][1] for n in BLAZE if n not in put], 0.0, atol=0.1)
    both = symmetric({"left_knee": ("left_knee", (4.0, 1.0, 2.0)), "right_knee": ("right_knee", (-2.0, 3.0, 0.0)),
                      "nose": ("head", (1.0, 2.0, 3.0))})
    assert both == {"left_knee": ("left_knee", (3.0, 2.0, 1.0)), "right_knee": ("right_knee", (-3.0, 2.0, 1.0)),
                    "nose": ("head", (1.0, 2.0, 3.0))}


def test_point_weights_follow_the_views():
    from mocap.fitting.stage import FILLED_WEIGHT, TWO_VIEW_WEIGHT, point_weights
    from mocap.triangulation.points import Points3D

    views = np.array([[4, 3, 2, 0], [4, 3, 2, 1]])
    err = np.array([[2.0, 2.0, 2.0, np.nan], [2.0, 12.0, 2.0, np.nan]])
    w = point_weights(Points3D(np.zeros((2, 4, 3)), err, views, ("a", "b", "c", "d"), 30.0))
    down = lambda e, typical: 1 / (1 + (e / (3 * typical)) ** 2)  # noqa: E731
    assert np.allclose(w[0], [down(2, 2), down(2, 7), TWO_VIEW_WEIGHT * down(2, 2), FILLED_WEIGHT])
    assert np.isclose(w[1, 1], down(12, 7))  # the views disagree: 12 px against the keypoint's typical 7 px
    assert w[0, 0] > w[0, 2] > w[0, 3] > 0


def test_shape_is_held_by_a_prior_and_reported(model, clip, caplog):
    """Keypoints that do not fit the body (here: spread apart) push the shape out; the prior holds it without
    a clip bound, and the fit says so."""
    truth, joints, landmarks = clip
    spread = landmarks.copy()
    spread[:, 11:23] += (landmarks[:, 11:23] - landmarks[:, [11, 12]].mean(1, keepdims=True)) * 0.25  # long arms
    with caplog.at_level("WARNING", logger="mocap.fitting.fit"):
        weak = fit_points(spread[:20], BLAZE, 30.0, FitConfig(detector_offsets=False, shape_prior_weight=0.01))
    assert np.abs(weak.motion.betas).max() > 3.0 and "body shape is far out" in caplog.text
    strong = fit_points(spread[:20], BLAZE, 30.0, EXACT)
    assert np.abs(strong.motion.betas).max() < np.abs(weak.motion.betas).max()


def test_noisy_fit_with_gap_is_carried_and_reported(model, clip):
    truth, joints, landmarks = clip
    rng = np.random.default_rng(3)
    noisy = landmarks + rng.normal(size=landmarks.shape) * 0.005
    noisy[rng.random(noisy.shape[:2]) < 0.05] = np.nan
    noisy[30:36] = np.nan                                      # 0.2 s without any keypoint
    res = fit_points(noisy, BLAZE, 30.0, EXACT)
    assert list(res.sparse_frames) == list(range(30, 36))
    fitted = res.motion.joint_positions()
    assert np.isfinite(fitted).all()
    err = np.linalg.norm(fitted[:, :22] - joints[:, :22], axis=-1).mean(-1) * 1000
    assert err[np.r_[0:30, 36:60]].mean() < 20.0
    # interpolated through the gap: linear interpolation of the true joints themselves is 56 mm off
    # mid-gap on this fast arm move, so the bound is about that
    assert err[30:36].max() < 70.0
    assert np.isnan(res.motion.fit_error_mm[30:36]).all()


def test_feet_stay_on_the_floor(model):
    c = make_motion("walk", model, BETAS, fps=30)
    verts, _ = lbs.pose_vertices(model, BETAS, c.pose[:45], c.transl[:45])
    lm = lbs.regress(model, verts)
    lm = lm + np.random.default_rng(0).normal(size=lm.shape) * 0.004
    res = fit_points(lm, BLAZE, 30.0, EXACT)
    names = res.marker_names
    feet = [names.index(n) for n in ("left_heel", "right_heel", "left_foot_index", "right_foot_index")]
    assert res.markers[:, feet, 2].min() > -0.015


def test_analytic_jacobian_matches_finite_differences(model):
    import torch

    from mocap.fitting.solver import MarkerKinematics, exp_so3

    mm = marker_model(model, keypoint_markers(BLAZE, model))
    free = list(range(1, 22))
    kin = MarkerKinematics(mm.parents, mm.m, free, torch.float64, "cpu")
    rng = np.random.default_rng(1)
    R = kin.T(lbs_rotations(rng, 2))
    t = kin.T(rng.normal(size=(2, 3)))
    rest = kin.T(mm.rest_joints(BETAS))
    c = kin.pair_offsets(kin.T(mm.c_template + mm.c_dirs @ BETAS))
    G, X, P = kin.forward(R, t, rest, c)
    Jac = kin.jacobian(G, X, P, [0] + free)
    eps = 1e-6
    for col in (0, 4, 3 * 4 + 1, 3 * 18 + 2):                 # root, left_hip, left_knee, left_elbow
        k, a = divmod(col, 3)
        j = ([0] + free)[k]
        d = torch.zeros(3, dtype=torch.float64)
        d[a] = eps
        R2 = R.clone()
        R2[:, j] = R[:, j] @ exp_so3(d)
        m2 = kin.markers(kin.forward(R2, t, rest, c)[2])
        fd = (m2 - kin.markers(P)) / eps
        assert torch.allclose(Jac[..., col], fd, atol=1e-4)


def lbs_rotations(rng, F):
    from mocap.body.skeleton import axis_angle_to_matrix

    return axis_angle_to_matrix(rng.normal(size=(F, 55, 3)) * 0.4)


def test_body_motion_matches_smplx_forward(model, clip):
    torch = pytest.importorskip("torch")
    from mocap.bodymodels import OPEN_MODEL_PATH, create_smplx

    truth, joints, landmarks = clip
    res = fit_points(landmarks[:10], BLAZE, 30.0, EXACT)
    m = res.motion
    smplx_model = create_smplx(OPEN_MODEL_PATH, num_betas=10)
    T = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    out = smplx_model(betas=T(m.betas[None]).expand(10, -1), global_orient=T(m.global_orient),
                      body_pose=T(m.body_pose.reshape(10, -1)), transl=T(m.transl),
                      left_hand_pose=T(m.left_hand_pose.reshape(10, -1)),
                      right_hand_pose=T(m.right_hand_pose.reshape(10, -1)), jaw_pose=T(m.jaw_pose),
                      leye_pose=T(m.leye_pose), reye_pose=T(m.reye_pose), expression=torch.zeros(10, 10))
    assert np.abs(out.joints[:, :55].detach().numpy() - m.joint_positions()).max() < 1e-4


def test_saved_motion_has_amass_keys(tmp_path, clip):
    truth, joints, landmarks = clip
    res = fit_points(landmarks[:8], BLAZE, 30.0, EXACT)
    path = res.motion.save(tmp_path / "body_motion.npz")
    with np.load(path, allow_pickle=False) as z:
        assert z["poses"].shape == (8, 165) and z["trans"].shape == (8, 3)
        assert float(z["mocap_framerate"]) == 30.0 and str(z["gender"]) == "neutral"
    again = BodyMotion.load(path)
    assert np.abs(again.joint_positions() - res.motion.joint_positions()).max() < 1e-5


def test_bad_inputs(clip):
    truth, joints, landmarks = clip
    with pytest.raises(InputError, match="all NaN|nothing to fit"):
        fit_points(np.full((5, 33, 3), np.nan), BLAZE, 30.0)
    with pytest.raises(InputError, match="expected"):
        fit_points(landmarks[:, :10], BLAZE, 30.0)
    with pytest.raises(InputError, match="smpl-x.is.tue.mpg.de"):
        fit_points(landmarks, BLAZE, 30.0, FitConfig(model="/nonexistent/SMPLX_NEUTRAL.npz"))


def test_hinge_limits_keep_knees_bending_forward(model):
    mm = marker_model(model, keypoint_markers(BLAZE, model))
    c = make_motion("squat", model, BETAS, fps=30)
    verts, _ = lbs.pose_vertices(model, BETAS, c.pose[::3], c.transl[::3])
    lm = lbs.regress(model, verts) + np.random.default_rng(2).normal(size=(len(verts), 33, 3)) * 0.01
    res = fit_markers(mm, lm, fps=10.0)
    knees = res.motion.body_pose[:, [3, 4]]                   # left_knee, right_knee (body_pose = joints 1..21)
    assert (knees[..., 0] > -0.1).all()                        # flexion about +x only


@pytest.mark.slow
@pytest.mark.shared_data
def test_cmu_motions_fitted(model, tmp_path):
    """Real CMU motions (retargeted onto the open model) through landmarks + 5 mm noise: the fit's joints
    and angles against the truth."""
    from conftest import SHARED_DATA

    from mocap.synth.cmu import cmu_files
    from mocap.synth.motions import motion_from_bvh

    files = cmu_files(SHARED_DATA)
    if not files:
        pytest.skip(f"no CMU clips under {SHARED_DATA / 'bvh'}")
    rng = np.random.default_rng(7)
    results = []
    for path in files[:3]:
        c = motion_from_bvh(path, model, BETAS, fps=30.0, seconds=3.0)
        verts, joints = lbs.pose_vertices(model, BETAS, c.pose, c.transl)
        lm = lbs.regress(model, verts) + rng.normal(size=(len(verts), 33, 3)) * 0.005
        res = fit_points(lm, BLAZE, 30.0, EXACT)
        truth = BodyMotion.from_full_pose(c.pose, c.transl, BETAS, lbs.rest_joints(model, BETAS), 30.0)
        mpjpe = np.linalg.norm(res.motion.joint_positions()[:, :22] - joints[:, :22], axis=-1).mean() * 1000
        angle = _angle_error_deg(res.motion, truth)
        print(f"{path.name}: MPJPE {mpjpe:.1f} mm, joint angles {angle:.1f} deg, {res.seconds:.1f} s")
        results.append((path.name, mpjpe, angle))
        if path == files[0]:
            _export_to_every_preset(res.motion, tmp_path)
    print(results)
    assert max(r[1] for r in results) < 20.0
    assert max(r[2] for r in results) < 13.0  # twist of spine, collars and wrists is barely observed


def _export_to_every_preset(motion: BodyMotion, folder) -> None:
    """A fitted CMU motion exported to every rig preset as BVH reads back with every frame finite and the
    same length."""
    from mocap.export.bvh import forward_kinematics, read_bvh
    from mocap.export.export import export_motion
    from mocap.export.rigs import list_rigs

    for rig in list_rigs():
        path = export_motion(motion, folder / f"cmu_{rig}.bvh", "bvh", rig)
        back = read_bvh(path)
        assert back.n_frames == motion.n_frames
        xyz = forward_kinematics(back)
        assert xyz.shape[0] == motion.n_frames and np.isfinite(xyz).all(), rig


def test_fingers_are_fitted_from_holistic_hands(model):
    """Holistic keypoints (body + 21 points per hand): finger rotations are fitted and the fingers land
    where the truth has them."""
    names = get_keypoint_set("holistic").joint_names
    specs = keypoint_markers(names, model)
    pose = np.zeros((12, 55, 3))
    c = make_motion("arm_raises", model, BETAS, fps=30)
    pose[:] = c.pose[:12]
    curl = np.linspace(0.0, 1.0, 12)[:, None]
    for j in range(25, 55):                                   # curl every finger segment about its axis
        pose[:, j, 2] = curl[:, 0] * (0.6 if j < 40 else -0.6)
    verts, joints = lbs.pose_vertices(model, BETAS, pose, c.transl[:12])
    from mocap.body.skeleton import JOINT_NAMES

    cols = []
    for spec in specs.values():
        if isinstance(spec, str):
            cols.append(joints[:, JOINT_NAMES.index(spec)])
        elif isinstance(spec, (int, np.integer)):
            cols.append(verts[:, int(spec)])
        else:
            cols.append(np.einsum("v,fvc->fc", spec, verts))
    xyz = np.full((12, len(names), 3), np.nan)
    xyz[:, [names.index(n) for n in specs]] = np.stack(cols, 1)
    res = fit_points(xyz, names, 30.0)
    assert res.motion.has_hands
    fitted = res.motion.joint_positions()
    finger_err = np.linalg.norm(fitted[:, 25:55] - joints[:, 25:55], axis=-1).mean() * 1000
    print(f"finger joints: {finger_err:.1f} mm")
    assert finger_err < 8.0
    flat = fit_points(xyz, names, 30.0, FitConfig(fit_hands="no")).motion.joint_positions()
    assert np.linalg.norm(flat[:, 25:55] - joints[:, 25:55], axis=-1).mean() * 1000 > 2 * finger_err


def test_licensed_smplx_path_works_with_a_file_in_its_format(clip, tmp_path, monkeypatch):
    """The licensed-model code path, on a stand-in in the same layout (the open model copied to where the
    SMPL-X download puts SMPLX_NEUTRAL.npz)."""
    import shutil

    from mocap.bodymodels import OPEN_MODEL_PATH

    truth, joints, landmarks = clip
    (tmp_path / "smplx").mkdir()
    shutil.copy(OPEN_MODEL_PATH, tmp_path / "smplx" / "SMPLX_NEUTRAL.npz")
    monkeypatch.setenv("MOCAP_SMPLX_PATH", str(tmp_path))
    res = fit_points(landmarks[:10], BLAZE, 30.0, FitConfig(model="smplx"))
    assert res.motion.model == "smplx"
    assert np.nanmean(res.motion.fit_error_mm) < 3.0
    monkeypatch.setenv("MOCAP_SMPLX_PATH", str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="smpl-x.is.tue.mpg.de"):
        fit_points(landmarks[:10], BLAZE, 30.0, FitConfig(model="smplx"))
