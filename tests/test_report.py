"""The take and session reports: built from small synthetic outputs, self-contained, sections by input."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import ring

from mocap.body import skeleton
from mocap.body.motion import BodyMotion
from mocap.errors import InputError
from mocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from mocap.io.tomlio import write_toml
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.keypoints2d.sets import get_keypoint_set
from mocap.report import (
    build_session_report,
    build_take_report,
    report_figures,
    write_take_report,
)
from mocap.report.render import ViewCamera, blank, rasterize
from mocap.session import Session
from mocap.smoothing.stage import triangulate_and_smooth

FPS = 30.0
FRAMES = 60

# A rough SMPL-X-like rest skeleton (model frame: Y up, +X = the body's left), pelvis at the origin.
_BODY_REST = {
    "pelvis": (0, 0, 0), "left_hip": (0.06, -0.09, 0), "right_hip": (-0.06, -0.09, 0), "spine1": (0, 0.11, 0),
    "left_knee": (0.1, -0.47, 0), "right_knee": (-0.1, -0.47, 0), "spine2": (0, 0.24, 0),
    "left_ankle": (0.09, -0.87, -0.03), "right_ankle": (-0.09, -0.87, -0.03), "spine3": (0, 0.3, 0),
    "left_foot": (0.11, -0.93, 0.09), "right_foot": (-0.11, -0.93, 0.09), "neck": (0, 0.52, 0),
    "left_collar": (0.08, 0.43, 0), "right_collar": (-0.08, 0.43, 0), "head": (0, 0.62, 0.03),
    "left_shoulder": (0.18, 0.47, 0), "right_shoulder": (-0.18, 0.47, 0), "left_elbow": (0.44, 0.47, 0),
    "right_elbow": (-0.44, 0.47, 0), "left_wrist": (0.7, 0.47, 0), "right_wrist": (-0.7, 0.47, 0),
    "jaw": (0, 0.58, 0.05), "left_eye_smplhf": (0.03, 0.68, 0.08), "right_eye_smplhf": (-0.03, 0.68, 0.08),
}
# COCO face points as children of the head (rest offsets from the head joint).
_FACE = {"nose": (0, 0.03, 0.1), "left_eye": (0.03, 0.06, 0.08), "right_eye": (-0.03, 0.06, 0.08),
         "left_ear": (0.07, 0.04, 0.0), "right_ear": (-0.07, 0.04, 0.0)}


def rest_joints() -> np.ndarray:
    rest = np.zeros((skeleton.NUM_JOINTS, 3))
    for j, name in enumerate(skeleton.JOINT_NAMES):
        if name in _BODY_REST:
            rest[j] = _BODY_REST[name]
        else:  # finger joints: a little beyond their parent, away from the body
            p = skeleton.PARENTS[j]
            rest[j] = rest[p] + (0.03 * np.sign(rest[p][0] or 1.0), 0, 0)
    return rest


def walking_motion(seed: int = 0, noise: float = 0.0) -> BodyMotion:
    """A body walking slowly round a circle, swinging arms and legs."""
    rng = np.random.default_rng(seed)
    t = np.arange(FRAMES) / FPS
    pose = np.zeros((FRAMES, skeleton.NUM_JOINTS, 3))
    yaw = 0.6 * t
    Rz = axis_angle_to_matrix(np.stack([np.zeros_like(yaw), np.zeros_like(yaw), yaw], axis=1))
    pose[:, 0] = matrix_to_axis_angle(Rz @ axis_angle_to_matrix(np.array([np.pi / 2, 0, 0])))
    swing = 0.5 * np.sin(2 * np.pi * 1.0 * t)
    idx = skeleton.joint_index
    pose[:, idx("left_hip"), 0], pose[:, idx("right_hip"), 0] = -swing, swing
    pose[:, idx("left_knee"), 0], pose[:, idx("right_knee"), 0] = 0.5 + 0.4 * swing, 0.5 - 0.4 * swing
    pose[:, idx("left_shoulder"), 2], pose[:, idx("right_shoulder"), 2] = -1.2, 1.2  # arms down
    pose[:, idx("left_elbow"), 1], pose[:, idx("right_elbow"), 1] = -0.3 - 0.3 * swing, 0.3 - 0.3 * swing
    pose += rng.normal(0, noise, pose.shape)
    transl = np.stack([0.6 * np.cos(yaw) - 0.6, 0.6 * np.sin(yaw), np.full_like(yaw, 0.95)], axis=1)
    err = 12 + 3 * np.abs(swing) + rng.normal(0, 1, FRAMES) if noise else None
    return BodyMotion.from_full_pose(pose, transl, np.zeros(10), rest_joints(), FPS, fit_error_mm=err)


def coco_points(body: BodyMotion) -> np.ndarray:
    """``(F, 17, 3)`` COCO keypoints of a body (face points carried by the head)."""
    extra = np.array(list(_FACE.values())) + rest_joints()[skeleton.joint_index("head")]
    rest = np.vstack([rest_joints(), extra])
    parents = skeleton.PARENTS + (skeleton.joint_index("head"),) * len(_FACE)
    pose = np.concatenate([body.full_pose(), np.zeros((body.n_frames, len(_FACE), 3))], axis=1)
    X, _ = skeleton.forward_kinematics(rest, pose, body.transl, parents=parents)
    names = list(skeleton.JOINT_NAMES) + list(_FACE)
    return X[:, [names.index(n) for n in get_keypoint_set("coco17").joint_names]]


QUALITY = {"passed": True, "failures": [], "warnings": ["camera cam3: the board covered only 20% of the image"],
           "square_error_mean_mm": 0.1, "square_error_std_mm": 0.6, "square_pairs": 900,
           "world": {"source": "floor_board"},
           "cameras": [{"name": f"cam{k}", "reprojection_mean_px": 0.2 + 0.05 * k, "reprojection_p95_px": 0.5 + 0.1 * k,
                        "observations": 500, "outliers": 0, "coverage": 0.7, "shared_frames": 40, "views": 50}
                       for k in range(4)]}


def make_session(root: Path) -> Session:
    """A session with three takes: ``walk`` (every output and ground truth), ``detected`` (2D keypoints
    only, one camera often missing the person) and ``empty`` (nothing yet)."""
    rig = ring(4)
    cams = "".join(f'[[cameras]]\nname = "{n}"\n' for n in rig.names)
    takes = "".join(f'[[takes]]\nname = "{t}"\n' for t in ("walk", "detected", "empty"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "session.toml").write_text(f'name = "synthetic"\nboard = "charuco_7x5_a1"\n{cams}{takes}')
    s = Session.load(root)
    rig.save(s.layout.calibration.rig)
    write_toml(s.layout.calibration.folder / "calibration_quality.toml", QUALITY)
    write_toml(s.layout.calibration.folder / ".calibrate.stamp.toml", {"stage": "calibrate", "key": "x", "seconds": 12.5})

    truth = walking_motion()
    xyz = coco_points(truth)
    rng = np.random.default_rng(1)
    px = rig.project(xyz) + rng.normal(0, 1.0, (4, FRAMES, 17, 2))
    conf = np.full(px.shape[:3], 0.9)
    px[2, 20:32] = np.nan  # camera 2 loses the person for 0.4 s
    conf[2, 20:32] = 0.0
    names = get_keypoint_set("coco17").joint_names
    kp = Keypoints2D(px.astype(np.float32), conf.astype(np.float32), "coco17", names, tuple(rig.names),
                     np.arange(FRAMES) / FPS, FPS)
    kp.save(s.layout.take("walk").folder / "keypoints2d.npz")
    write_toml(s.layout.take("walk").folder / ".detect.stamp.toml", {"stage": "detect", "key": "x", "seconds": 3.2})
    px[3, :40], conf[3, :40] = np.nan, 0.0  # in "detected", camera 3 misses the first 40 frames too
    Keypoints2D(px.astype(np.float32), conf.astype(np.float32), "coco17", names, tuple(rig.names), kp.timestamps,
                FPS).save(s.layout.take("detected").folder / "keypoints2d.npz")
    raw, smoothed = triangulate_and_smooth(rig, kp)
    raw.save(s.layout.take("walk").folder / "points3d_raw.npz")
    smoothed.save(s.layout.take("walk").folder / "points3d.npz")
    walking_motion(seed=2, noise=0.03).save(s.layout.take("walk").folder / "body_motion.npz")

    gt = root / "ground_truth"
    (gt / "walk").mkdir(parents=True)
    np.savez(gt / "walk" / "joints.npz", blazepose=xyz, blazepose_names=np.array(names),  # as mocap synth writes
             smplx_joints=truth.joint_positions(), smplx_joint_names=np.array(skeleton.JOINT_NAMES), fps=FPS,
             timestamps=np.arange(FRAMES) / FPS)
    truth.save(gt / "walk" / "body_motion.npz")
    shifted = rig.transformed(np.eye(3), np.array([0.002, 0.0, 0.0]))  # a 2 mm calibration error
    shifted.save(gt / "camera_rig.toml")
    return s


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The session, with the ``walk`` and ``detected`` reports and the index already built (the body
    preview as a stick figure: the mesh preview has its own test)."""
    from mocap.report import preview

    s = make_session(tmp_path_factory.mktemp("report") / "session")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(preview, "BODY_MODEL_FILE", s.root / "no_body_model.npz")
        index = build_session_report(s)
    return s, index


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(path: Path) -> tuple[str, list[tuple[str, dict]]]:
    text = path.read_text(encoding="utf-8")
    collector = _Collect()
    collector.feed(text)
    return text, collector.tags


def decode_image(uri: str):
    head, data = uri.split(",", 1)
    assert head in ("data:image/png;base64", "data:image/gif;base64"), head
    raw = base64.b64decode(data)
    from PIL import Image

    img = Image.open(io.BytesIO(raw))
    img.load()
    assert img.format == ("PNG" if "png" in head else "GIF")
    return img


def section_ids(tags) -> list[str]:
    return [a["id"] for t, a in tags if t == "section"]


@pytest.mark.slow
def test_full_report_is_self_contained(built):
    s, _ = built
    path = s.layout.take("walk").folder / "report.html"
    text, tags = parse(path)
    assert section_ids(tags) == ["summary", "calibration", "detection", "points3d", "fit", "ground-truth"]
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", text, re.I)
    assert "<script" not in text.lower() and "@import" not in text
    images = [a["src"] for t, a in tags if t == "img"]
    assert len(images) >= 12
    decoded = [decode_image(src) for src in images]
    gif = [im for im in decoded if im.format == "GIF"]
    assert len(gif) == 1 and gif[0].n_frames > 10  # the fitted-body preview
    files = sorted(p.name for p in (s.layout.take("walk").folder / "report").iterdir())
    assert len(files) == len(images) and "preview_body.gif" in files
    assert all(p.stat().st_size < 2_000_000 for p in (s.layout.take("walk").folder / "report").iterdir())
    for words in ("What to look for", "Calibration against the true rig", "PA-MPJPE", "Joint-angle error",
                  "bones vary by more than 10 % of their length", "cam2", "views used",
                  "all 4 cameras", "lag (frames)"):
        assert words in text


@pytest.mark.slow
def test_sections_follow_inputs(built):
    s, _ = built
    text, tags = parse(s.layout.take("detected").folder / "report.html")
    # no 3D and no fit; the session's true rig still gives a ground-truth section (calibration only)
    assert section_ids(tags) == ["summary", "calibration", "detection", "ground-truth"]
    assert "preview" not in text and "truth_points" not in text and "Calibration against the true rig" in text
    with pytest.raises(InputError) as err:
        build_take_report(s, "empty")
    assert "keypoints2d.npz" in str(err.value) and "mocap run" in str(err.value)
    with pytest.raises(InputError, match="no take named"):
        build_take_report(s, "nope")


@pytest.mark.slow
def test_key_figures(built):
    s, _ = built
    figures = report_figures(s.root, "walk")
    assert set(figures) == {"calibration_px", "detection_rate", "triangulated", "reprojection_px", "bone_cv",
                            "fit_error_mm", "mpjpe_mm"}
    assert figures["bone_cv"].ok and figures["bone_cv"].value < 0.06  # 1 px noise: the bones hold their length
    assert figures["calibration_px"].ok and abs(figures["calibration_px"].value - 0.35) < 1e-9
    assert abs(figures["detection_rate"].value - (1 - 12 / 240)) < 1e-9 and figures["detection_rate"].ok
    assert figures["mpjpe_mm"].value < 20 and figures["mpjpe_mm"].ok  # 1 px noise, 4 views
    assert figures["reprojection_px"].value < 3
    assert "pass" in str(figures["fit_error_mm"])


@pytest.mark.slow
def test_index_links_every_take(built):
    s, index = built
    text, tags = parse(index)
    links = {a["href"] for t, a in tags if t == "a"}
    assert links == {"takes/walk/report.html", "takes/detected/report.html"}
    for link in links:
        assert (index.parent / link).is_file()
    rows = {re.sub(r"<[^>]+>", " ", r).split()[0]: r for r in text.split("<tr>")[2:]}
    assert set(rows) == {"walk", "detected", "empty"}
    assert "OK" in rows["walk"] and "all 7 figures within limits" in rows["walk"]
    assert "CHECK" in rows["detected"] and "detection rate 78.3 %" in rows["detected"]  # (1 + 1 + 0.8 + 1/3) / 4
    assert "NOT RUN" in rows["empty"]


def test_long_take_is_reported_from_a_sample_of_frames(built, tmp_path, monkeypatch):
    from mocap.report import inputs as report_inputs
    from mocap.report.inputs import load_take_inputs, sample_long_take

    s, _ = built
    full = load_take_inputs(s, "walk")
    sampled = sample_long_take(full, max_frames=25)                  # 60 frames -> one in 3
    assert sampled.stride == 3 and sampled.take_frames == FRAMES and sampled.n_frames == 20
    assert sampled.fps == FPS / 3 and sampled.points.xyz.shape[0] == 20 and sampled.body_motion.n_frames == 20
    assert np.allclose(sampled.body_motion.transl, full.body_motion.transl[::3])
    assert sampled.ground_truth.motion.n_frames == 20 and sampled.keypoints.xy.shape[1] == 20
    assert sample_long_take(full, max_frames=60) is full
    monkeypatch.setattr(report_inputs, "MAX_FRAMES", 25)
    report = write_take_report(s, "walk", out_path=tmp_path / "walk.html")
    text = report.path.read_text(encoding="utf-8")
    assert "one frame in 3 (20 frames)" in text and f"{FRAMES} (2.0 s)" in text
    assert abs(report.figures["mpjpe_mm"].value - report_figures(s.root, "walk")["mpjpe_mm"].value) < 3.0


def test_report_written_elsewhere_and_stale_images_removed(built, tmp_path):
    s, _ = built
    out = tmp_path / "elsewhere" / "detected.html"
    stale = tmp_path / "elsewhere" / "detected" / "old_plot.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x")
    report = write_take_report(s, "detected", out_path=out)
    assert report.path == out and out.is_file() and not stale.exists()
    assert {p.name for p in stale.parent.iterdir()} == {p.name for p in report.images} and len(report.images) == 4


def test_rasterizer_z_buffer():
    view = ViewCamera(np.eye(3), np.zeros(3), 100.0, np.array([50.0, 50.0]), (100, 100))
    near = np.array([[-0.5, -0.5, 2.0], [0.5, -0.5, 2.0], [0.0, 0.5, 3.0]])  # tilted: shaded darker
    far = np.array([[-3, -3, 4.0], [3, -3, 4.0], [0, 3, 4.0]])  # facing the camera, larger, behind
    vertices = np.vstack([far, near])
    only_far = rasterize(view, vertices, np.array([[0, 1, 2]]))
    only_near = rasterize(view, vertices, np.array([[3, 4, 5]]))
    both = rasterize(view, vertices, np.array([[3, 4, 5], [0, 1, 2]]))
    np.testing.assert_array_equal(both, rasterize(view, vertices, np.array([[0, 1, 2], [3, 4, 5]])))
    assert tuple(only_near[50, 50]) != tuple(only_far[50, 50])
    assert tuple(both[50, 50]) == tuple(only_near[50, 50])  # the nearer triangle wins
    assert tuple(both[50, 15]) == tuple(only_far[50, 15]) != tuple(blank(view)[50, 15])
    assert tuple(both[98, 2]) == tuple(blank(view)[98, 2])


def test_mesh_preview_with_body_model(tmp_path, monkeypatch):
    """With a body model file and ``mocap.body.lbs.pose_vertices`` the preview is a rendered mesh."""
    from mocap.report import preview

    n = skeleton.NUM_JOINTS  # a toy model: one vertex per joint, triangles between neighbouring joints
    faces = np.array([(skeleton.PARENTS[j], j, skeleton.PARENTS[skeleton.PARENTS[j]])
                      for j in range(2, 22) if skeleton.PARENTS[j] > 0])
    model = tmp_path / "toy.npz"
    np.savez(model, v_template=rest_joints(), f=faces, J_regressor=np.eye(n), weights=np.eye(n),
             shapedirs=np.zeros((n, 3, 10)), posedirs=np.zeros((n, 3, 486)),
             kintree_table=np.array([[-1, *skeleton.PARENTS[1:]], list(range(n))]))
    monkeypatch.setattr(preview, "BODY_MODEL_FILE", model)
    image = preview.body_preview(walking_motion())
    assert image.name == "preview_body.gif" and "mesh" in image.caption


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.slow
def test_renders_in_headless_chromium(built, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI") == "true":  # .ci/run installs Debian's chromium: missing there is a failure
            pytest.fail("no chromium on PATH under CI=true (.ci/run should have installed it)")
        pytest.skip("no chromium / google-chrome binary on PATH")
    s, _ = built
    report = s.layout.take("walk").folder / "report.html"
    flags = [browser, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for heading in ("Summary", "Calibration", "Detection (2D keypoints)", "3D keypoints", "Body fit", "Ground truth"):
        assert f">{heading}</h2>" in dom.stdout
    shot = tmp_path / "shot.png"
    proc = subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1280,1600", report.as_uri()],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), float)
    assert pixels.std() > 20  # not a blank page: dark header, coloured cards, plots


@pytest.mark.slow
def test_cli_report(built):
    from click.testing import CliRunner

    from mocap.cli import cli

    s, _ = built
    result = CliRunner().invoke(cli, ["report", str(s.root), "--take", "detected"])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    proc = subprocess.run([sys.executable, "-m", "mocap.cli", "report", str(s.root), "--take", "empty"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "mocap run" in proc.stderr


def test_unstable_bones_turn_the_verdict_to_warn():
    """A bone whose length swings (a mislabelled wrist) is a failing key figure, as its red row in the table."""
    from mocap.report.figures import KeyFigure, ReportThresholds, worst_bone_variation
    from mocap.report.sections.motion3d import view_shares
    from mocap.report.take import verdict
    from mocap.triangulation.points import Points3D

    xyz = coco_points(walking_motion())
    names = get_keypoint_set("coco17").joint_names
    n_views = np.full(xyz.shape[:2], 4, np.int16)
    n_views[:15] = 3
    steady = Points3D(xyz, np.ones(xyz.shape[:2]), n_views, names, FPS, keypoint_set="coco17")
    th = ReportThresholds()
    assert worst_bone_variation(steady, "coco17", th.min_bone_length_mm) < 1e-6
    wobbly = xyz.copy()
    wrist = names.index("left_wrist")
    wobbly[::2, wrist] += (0.0, 0.0, 0.08)  # the wrist jumps 8 cm every other frame
    worst = worst_bone_variation(Points3D(wobbly, steady.reprojection_error, n_views, names, FPS,
                                          keypoint_set="coco17"), "coco17", th.min_bone_length_mm)
    assert worst > th.max_bone_cv
    figure = KeyFigure("Bone-length variation (worst bone)", worst, "%", worst <= th.max_bone_cv, "≤ 10 %")
    status, line = verdict({"bone_cv": figure})
    assert status == "warn" and "bone-length variation" in line
    shares = dict(view_shares(steady, 4))
    assert shares == {"all 4 cameras": 0.75, "3 cameras": 0.25, "2 cameras": 0.0, "not triangulated": 0.0}
