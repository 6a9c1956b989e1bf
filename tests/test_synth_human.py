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
    from mocap.bodymodels import OPEN_MODEL_PATH

    assert Path(OPEN_MODEL_PATH).is_file(), f"the shipped open body model is missing: {OPEN_MODEL_PATH}"
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


# --------------------------------------------------------------------------------------------------
# Motions
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["demo", "squat", "arm_raises", "jumping_jack", "walk", "turn"])
def test_motions_are_finite_and_stand_on_the_floor(open_model, name):
    from mocap.synth.motions import make_motion

    clip = make_motion(name, open_model, fps=30.0)
    assert clip.pose.shape[1:] == (55, 3) and clip.transl.shape == (len(clip.pose), 3)
    assert np.isfinite(clip.pose).all() and np.isfinite(clip.transl).all()
    verts, joints = lbs.pose_vertices(open_model, None, clip.pose, clip.transl)
    lowest = verts[..., 2].min(axis=1)
    if name == "jumping_jack":
        assert abs(lowest.min()) < 0.02 and lowest.max() < 0.12  # small hops
    else:
        assert np.abs(lowest).max() < 0.02
    assert (joints[:, 15, 2] > 0.9).all()  # the head stays up, even in the squat
    assert joints[0, 15, 2] > 1.4


def test_demo_length_and_content(open_model):
    from mocap.synth.motions import demo

    clip = demo(open_model, fps=30.0, seconds=3.5)
    assert len(clip.pose) == 106
    verts, joints = lbs.pose_vertices(open_model, None, clip.pose, clip.transl)
    wrist_above_head = (joints[:, [20, 21], 2] > joints[:, [15], 2]).all(axis=1)
    assert wrist_above_head.any()  # arms up
    assert joints[:, 0, 2].min() < joints[0, 0, 2] - 0.3  # a squat
    heading = joints[:, 1] - joints[:, 2]  # left hip - right hip
    turn = np.degrees(np.arctan2(heading[-1, 1], heading[-1, 0]) - np.arctan2(heading[0, 1], heading[0, 0]))
    assert 60 < abs((turn + 180) % 360 - 180) < 120  # about a quarter turn


def test_walk_moves_forward_without_sliding_stance_foot(open_model):
    from mocap.synth.motions import foot_vertices, walk

    clip = walk(open_model, fps=30.0)
    verts, joints = lbs.pose_vertices(open_model, None, clip.pose, clip.transl)
    assert np.linalg.norm(joints[-1, 0, :2] - joints[0, 0, :2]) > 1.0
    # the lower foot's lowest point barely moves while that foot is on the floor
    slides = []
    left, right = foot_vertices(open_model)
    for f in range(1, len(verts)):
        ids = left if verts[f, left, 2].min() < verts[f, right, 2].min() else right
        k = ids[np.argmin(verts[f, ids, 2])]
        slides.append(np.linalg.norm(verts[f, k, :2] - verts[f - 1, k, :2]))
    assert np.median(slides) < 0.005


def test_bvh_clip_is_retargeted(open_model):
    from conftest import shared_path

    from mocap.synth.motions import motion_from_bvh

    clip = motion_from_bvh(shared_path("bvh/cmu_12_01_walk__pybvh.bvh"), open_model, None, 30.0, seconds=1.0)
    assert clip.pose.shape == (31, 55, 3) and np.isfinite(clip.pose).all()
    verts, joints = lbs.pose_vertices(open_model, None, clip.pose, clip.transl)
    assert abs(verts[..., 2].min()) < 1e-6 and (joints[:, 15, 2] > 1.3).all()
    assert np.linalg.norm(joints[-1, 0, :2] - joints[0, 0, :2]) > 0.5  # it walks


# --------------------------------------------------------------------------------------------------
# Rendering (skipped where Blender's bpy does not import)
# --------------------------------------------------------------------------------------------------


def _need_bpy():
    try:
        import bpy  # noqa: F401
    except Exception as exc:  # bpy fails in many ways on unsupported machines
        pytest.skip(f"bpy is not usable here: {exc}")


@pytest.fixture(scope="module")
def tiny_session(tmp_path_factory, open_model):
    _need_bpy()
    from mocap.synth.human_take import HumanSessionConfig, write_human_session

    out = tmp_path_factory.mktemp("synth") / "tiny"
    config = HumanSessionConfig(motion="squat", cameras=2, size=(160, 120), seconds=0.07, calibration_views=(2, 2, 2),
                                noise_sigma=1.0)
    return write_human_session(out, config), config


def test_tiny_session_is_complete(tiny_session):
    from mocap.evaluation.ground_truth import load_ground_truth
    from mocap.session import Session

    path, config = tiny_session
    session = Session.load(path)
    assert session.camera_names == ["cam0", "cam1"] and [t.name for t in session.takes] == ["squat"]
    for video in (*session.calibration_videos, *session.take("squat").videos):
        assert video.is_file() and video.stat().st_size > 0
    assert not list(path.rglob("*.part*"))
    gt = load_ground_truth(path, "squat")
    F = gt.n_frames
    assert F == 3 and gt.smplx_joints.shape == (F, 76, 3) and gt.blazepose.shape == (F, 33, 3)
    assert gt.motion.n_frames == F and gt.motion.model == "open_smplx"
    # the BodyMotion alone reproduces the skeleton (no body model needed)
    assert np.allclose(gt.motion.joint_positions(), gt.smplx_joints[:, :55], atol=1e-5)
    import cv2

    cap = cv2.VideoCapture(str(session.take("squat").videos[0]))
    n, frame = 0, None
    while True:
        ok, img = cap.read()
        if not ok:
            break
        n, frame = n + 1, img
    assert n == F and frame.shape == (120, 160, 3)


def test_true_joints_project_inside_the_rendered_body(tiny_session, open_model):
    import cv2

    from mocap.body.skeleton import joint_index
    from mocap.evaluation.ground_truth import load_ground_truth
    from mocap.synth.human_render import HumanRenderer, RenderOptions

    path, _ = tiny_session
    gt = load_ground_truth(path, "squat")
    verts, joints = lbs.pose_vertices(open_model, gt.motion.betas, gt.motion.full_pose(), gt.motion.transl)
    assert np.allclose(joints, gt.smplx_joints[:, :55], atol=1e-6)
    names = ["pelvis", "spine1", "spine2", "spine3", "neck", "head"]
    limbs = [("left_hip", "left_knee"), ("right_hip", "right_knee"), ("left_knee", "left_ankle"),
             ("right_knee", "right_ankle"), ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")]
    f = 1
    points = [joints[f, joint_index(n)] for n in names]
    points += [(joints[f, joint_index(a)] + joints[f, joint_index(b)]) / 2 for a, b in limbs]
    renderer = HumanRenderer(open_model, gt.rig, RenderOptions(floor=False))
    try:
        for c, cam in enumerate(gt.rig.cameras):
            mask = cv2.dilate(renderer.render_mask(c, verts[f]).astype(np.uint8), np.ones((3, 3), np.uint8))
            assert 0.02 < mask.mean() < 0.5  # a person, not an empty or full frame
            xy = np.round(cam.project(np.array(points))).astype(int)
            inside = mask[xy[:, 1], xy[:, 0]] > 0
            assert inside.all(), [n for n, ok in zip(names + [f"{a}-{b}" for a, b in limbs], inside) if not ok]
    finally:
        renderer.close()


@pytest.fixture(scope="module")
def hard_session(tmp_path_factory, open_model):
    """A tiny session with every option of the harder benchmark sets."""
    _need_bpy()
    from mocap.synth.human_take import HumanSessionConfig, write_human_session

    out = tmp_path_factory.mktemp("synth") / "hard"
    config = HumanSessionConfig(motion="jumping_jack", cameras=2, size=(160, 120), seconds=0.07,
                                calibration_views=(2, 2, 2), distortion=True, blur_subframes=2, out_of_frame=1,
                                background="cluttered", clothing="textured")
    return write_human_session(out, config), config


def _first_frame(video: Path) -> np.ndarray:
    import cv2

    cap = cv2.VideoCapture(str(video))
    ok, img = cap.read()
    cap.release()
    assert ok
    return img


def test_hard_session_has_distortion_and_a_camera_the_performer_leaves(hard_session, tiny_session):
    from mocap.evaluation.ground_truth import load_ground_truth
    from mocap.session import Session
    from mocap.synth.human_take import OUT_OF_FRAME_ZOOM, session_rig

    path, config = hard_session
    gt = load_ground_truth(path, config.take_name)
    # lens distortion in the written calibration (the renderer puts it in the image:
    # test_rendered_marker_lands_where_the_camera_projects_it)
    assert all(np.abs(cam.dist[:2]).max() > 0.05 for cam in gt.rig.cameras)
    plain = session_rig(replace_config(config, out_of_frame=None))
    assert np.allclose(gt.rig[1].K[:2, :2], OUT_OF_FRAME_ZOOM * plain[1].K[:2, :2])
    assert np.allclose(gt.rig[0].K, plain[0].K)
    # camera 1 sees only part of the performer: true landmarks outside its image; camera 0 sees them all
    xy = gt.project(gt.blazepose)
    inside = np.isfinite(xy[..., 0])
    assert inside[0].all() and 0.1 < inside[1].mean() < 0.9
    # a cluttered room behind the performer: the top rows (walls, objects) vary far more than a plain world
    session = Session.load(path)
    top = _first_frame(session.take(config.take_name).videos[0])[:25].reshape(-1, 3).std(axis=0).mean()
    tiny_path, tiny_config = tiny_session
    plain_top = _first_frame(Session.load(tiny_path).take(tiny_config.take_name).videos[0])[:25]
    assert top > 20 > plain_top.reshape(-1, 3).std(axis=0).mean()


def replace_config(config, **changes):
    import dataclasses

    return dataclasses.replace(config, **changes)


def test_textured_clothes_are_patterned(open_model):
    from mocap.bodymodels import OPEN_MODEL_PATH
    from mocap.synth.human_render import clothing_regions, load_texture, paint_texture

    texture = load_texture(Path(OPEN_MODEL_PATH).parent / "texture.jpg")
    plain, textured = paint_texture(texture, open_model), paint_texture(texture, open_model, pattern=True)
    assert plain.shape == textured.shape == texture.shape
    changed = np.abs(plain.astype(int) - textured.astype(int)).sum(-1) > 30
    assert 0.05 < changed.mean() < 0.9  # the clothes, not the skin
    assert (clothing_regions(open_model) > 0).any()


def test_rendered_marker_lands_where_the_camera_projects_it():
    """Camera conversion (intrinsics, pose, lens distortion) checked with small spheres."""
    _need_bpy()
    from mocap.synth.calibration_take import ring_rig
    from mocap.synth.human_render import HumanRenderer, RenderOptions

    rig = ring_rig(2, size=(320, 240), focal=300.0, seed=3)  # with lens distortion
    assert np.abs(rig[0].dist).max() > 0.05
    empty = {"v_template": np.zeros((3, 3)), "f": np.array([[0, 1, 2]]), "weights": np.zeros((3, 55))}
    renderer = HumanRenderer(empty, rig, RenderOptions(floor=False))
    points = np.array([[0.5, 0.5, 0.3], [-0.5, 0.3, 1.5], [0.0, -0.6, 1.0], [0.7, -0.5, 1.9]])
    renderer.add_markers(points, radius=0.04)
    shading = renderer.scene.display.shading
    shading.light, shading.show_shadows = "FLAT", False
    renderer.scene.world.color = (0, 0, 0)
    try:
        for c, cam in enumerate(rig.cameras):
            red = renderer.render(c).astype(float)[..., 2]
            for p in cam.project(points):
                x, y = np.round(p).astype(int)
                win = red[y - 12 : y + 13, x - 12 : x + 13]
                ys, xs = np.mgrid[y - 12 : y + 13, x - 12 : x + 13]
                centroid = np.array([(win * xs).sum(), (win * ys).sum()]) / win.sum()
                assert np.linalg.norm(centroid - p) < 0.3
            pinhole = cam.replace(dist=np.zeros_like(cam.dist)).project(points)
            # the centroids (within 0.3 px) tell the distorted projection from the pinhole one (up to 1.8 px away)
            assert np.linalg.norm(pinhole - cam.project(points), axis=-1).max() > 1.0
    finally:
        renderer.close()


# --------------------------------------------------------------------------------------------------
# The committed sample session
# --------------------------------------------------------------------------------------------------


def test_studio4_ground_truth_files():
    from mocap.camera import CameraRig
    from mocap.evaluation.ground_truth import load_ground_truth
    from mocap.session import Session

    session = Session.load(STUDIO4)
    assert session.camera_names == ["cam0", "cam1", "cam2", "cam3"]
    take = session.takes[0].name
    gt = load_ground_truth(STUDIO4, take)
    F = gt.n_frames
    assert gt.fps == 30.0 and 100 <= F <= 110
    assert gt.smplx_joints.shape == (F, 76, 3) and len(gt.smplx_joint_names) == 76
    assert gt.blazepose.shape == (F, 33, 3) and gt.blazepose_names[0] == "nose"
    assert np.allclose(np.diff(gt.timestamps), 1 / 30)
    assert gt.motion.n_frames == F and gt.motion.fps == 30.0
    assert np.allclose(gt.motion.joint_positions(), gt.smplx_joints[:, :55], atol=1e-4)  # float32 file
    assert CameraRig.load(STUDIO4 / "ground_truth" / "camera_rig.toml").names == session.camera_names
    xy = gt.blazepose_2d()
    assert xy.shape == (4, F, 33, 2) and np.isfinite(xy).all()  # the whole body is in every view
    for video in (*session.calibration_videos, *session.takes[0].videos):
        assert video.is_file()


def test_studio4_board_corners_are_where_the_true_rig_projects_them():
    import cv2

    from mocap.calibration.board import load_board
    from mocap.calibration.detect import BoardDetector
    from mocap.camera import CameraRig
    from mocap.session import Session

    session = Session.load(STUDIO4)
    board = load_board(session.board)
    rig = CameraRig.load(STUDIO4 / "ground_truth" / "camera_rig.toml")
    poses = np.load(STUDIO4 / "ground_truth" / "board_poses.npz")
    frames = set(range(0, len(poses["t"]), 7)) | {int(poses["floor_frames"][0])}
    errors = []
    for cam, video in zip(rig.cameras, session.calibration_videos):
        detector = BoardDetector(board)
        cap = cv2.VideoCapture(str(video))
        for f in range(len(poses["t"])):
            ok, img = cap.read()
            assert ok
            if f not in frames:
                continue
            found = detector.detect(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
            true = cam.project(board.corners_3d @ poses["R"][f].T + poses["t"][f])
            ok = np.isfinite(found[:, 0])
            errors.extend(np.linalg.norm(found[ok] - true[ok], axis=1))
    errors = np.array(errors)
    assert len(errors) > 200
    assert np.median(errors) < 0.3 and np.percentile(errors, 95) < 1.0  # through mp4 compression


@pytest.mark.slow  # renders 71 small frames and a 6-view calibration take, about 45 s
def test_unsynchronized_cameras_with_sound(tmp_path, open_model):
    """Per-camera start times and frame rates, a sound track in every video, and the truth that records them
    (the ground truth's clocks give every camera's frames their truth instants: 2D and 3D errors of the
    truth itself come out zero)."""
    _need_bpy()
    pytest.importorskip("av")

    from mocap.evaluation.ground_truth import evaluate_take, load_ground_truth
    from mocap.io.frames import open_frames
    from mocap.keypoints2d.keypoints import Keypoints2D
    from mocap.session import Session
    from mocap.sync.audio import audio_sync
    from mocap.sync.clock import TakeSync
    from mocap.synth.human_take import HumanSessionConfig, write_human_session
    from mocap.triangulation.points import Points3D

    config = HumanSessionConfig(motion="squat", cameras=2, size=(160, 120), seconds=0.8, calibration_views=(2, 2, 2),
                                time_offsets=(0.1, 0.0), camera_fps=(30.0, 60.0), audio=True)
    path = write_human_session(tmp_path / "unsynced", config)
    session = Session.load(path)
    videos = session.take("squat").videos
    assert [(open_frames(v).fps, open_frames(v).n_frames) for v in videos] == [(30.0, 22), (60.0, 49)]
    truth = TakeSync.load(session.ground_truth.sync("squat"))
    assert truth["cam1"].time_offset == pytest.approx(-0.1) and truth["cam1"].fps == 60.0
    gt = load_ground_truth(path, "squat")
    assert gt.fps == 60.0 and gt.n_frames == 49 and list(gt.camera_fps) == [30.0, 60.0]
    heard = audio_sync(videos, session.camera_names)
    assert abs(heard.sync["cam1"].time_offset - (-0.1)) < 5e-4, heard.sync
    # keypoints exactly where the truth projects at each camera's own instants: no error
    xy = np.full((2, 49, 33, 2), np.nan, np.float32)
    for c, name in enumerate(session.camera_names):
        times = gt.camera_times(name, (22, 49)[c])
        xy[c, : len(times)] = gt.project_one(gt.rig[name], gt.blazepose[np.round(gt.frames_at(times)).astype(int)])
    kp = Keypoints2D(xy, np.ones(xy.shape[:3], np.float32), "blazepose33", gt.blazepose_names, ("cam0", "cam1"),
                     np.arange(49) / 30.0, 30.0, np.array([22, 49]), np.array([30.0, 60.0]))
    files = session.layout.take("squat")
    kp.save(files.keypoints2d)
    # points at take times (cam0's clock: truth time - 0.1), every other 60 fps instant
    take_times = np.arange(0, 0.7, 1 / 30)
    pts = gt.blazepose[np.round(gt.frames_at(gt.take_to_truth(take_times, "cam0"))).astype(int)]
    Points3D(pts, np.zeros(pts.shape[:2]), np.full(pts.shape[:2], 2), gt.blazepose_names, 30.0,
             timestamps=take_times).save(files.points3d)
    ev = evaluate_take(path, "squat", session.output_dir)
    assert ev.keypoints2d["median_px"] < 1e-3 and ev.keypoints2d["detected"] > 0.99
    assert ev.points3d.mpjpe < 1e-3
