"""The offline PoseLandmarker bundle and the multi-person detector on real two-person footage.

The bundle is built from the mediapipe wheel's own models into a temporary folder (never
downloaded). The detector runs on the first frames of the shared ``pose2sim_multiperson`` videos
(a real person and a rendered one, 1088x1920 portrait): both people must be found, with the same
pixel convention as the single-person legacy solution.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path

from mocap.errors import MocapError
from mocap.keypoints2d.detectors.blazepose_multi import MultiPoseDetector, pad_candidates
from mocap.keypoints2d.detectors.bundle import BUNDLE_MEMBERS, is_valid_bundle, pose_landmarker_bundle

pytest.importorskip("mediapipe")



@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return pose_landmarker_bundle(tmp_path_factory.mktemp("cache"))


def rgb_frames(video: Path, n: int) -> list[np.ndarray]:
    import cv2

    from mocap.io.frames import open_frames

    out = []
    for i, bgr in open_frames(video).frames():
        if i >= n:
            break
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return out


def test_bundle_is_an_uncompressed_zip_of_both_models(bundle):
    import json

    import mediapipe as mp
    from mediapipe.tasks.python.metadata import metadata

    assert bundle.name == f"pose_landmarker_full-mediapipe{mp.__version__}.task"
    with zipfile.ZipFile(bundle) as zf:
        infos = zf.infolist()
        assert sorted(i.filename for i in infos) == sorted(BUNDLE_MEMBERS)
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        for info in infos:  # each member is the wheel's model with the input normalisation added
            meta = json.loads(metadata.MetadataDisplayer.with_model_buffer(zf.read(info)).get_metadata_json())
            tensor = meta["subgraph_metadata"][0]["input_tensor_metadata"][0]
            norm = tensor["process_units"][0]["options"]
            _, mean, std = BUNDLE_MEMBERS[info.filename]
            assert norm["mean"] == [mean] and norm["std"] == [std]
            assert tensor["content"]["content_properties"]["color_space"] == "RGB"
    assert not list(bundle.parent.glob(".*part*"))  # no temporary file left behind


def test_bundle_is_cached_and_rebuilt_when_broken(bundle):
    stamp = bundle.stat().st_mtime_ns
    assert pose_landmarker_bundle(bundle.parent) == bundle and bundle.stat().st_mtime_ns == stamp
    broken = bundle.parent / "broken"
    broken.mkdir()
    path = broken / bundle.name
    path.write_bytes(b"not a zip")
    assert not is_valid_bundle(path)
    assert pose_landmarker_bundle(broken) == path and is_valid_bundle(path)


def test_bundle_folder_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MOCAP_CACHE", str(tmp_path / "env_cache"))
    assert pose_landmarker_bundle().parent == tmp_path / "env_cache"


def test_bundle_loads_and_detects_nobody_in_a_blank_image(bundle):
    with MultiPoseDetector(num_poses=3, bundle=bundle) as det:
        xy, conf = det.detect(np.zeros((480, 640, 3), np.uint8))
        xy2, conf2 = det.detect(np.full((480, 640, 3), 255, np.uint8))  # next timestamp
    assert xy.shape == (0, 33, 2) and conf.shape == (0, 33) and xy2.shape[0] == 0
    assert len(det.joint_names) == 33 and det.joint_names[0] == "nose" and det.keypoint_set == "blazepose33"


def test_detector_options_are_checked(bundle, tmp_path):
    with pytest.raises(MocapError, match="num_poses"):
        MultiPoseDetector(num_poses=0, bundle=bundle)
    with pytest.raises(MocapError, match="not found"):
        MultiPoseDetector(bundle=tmp_path / "missing.task")


def test_two_people_on_real_footage(bundle):
    video = shared_path("pose2sim_multiperson/videos/cam04.mp4")  # both people in view throughout
    frames = rgb_frames(video, 8)
    h, w = frames[0].shape[:2]
    with MultiPoseDetector(num_poses=2, fps=60.0, bundle=bundle) as det:
        found = [det.detect(rgb) for rgb in frames]
    counts = [len(xy) for xy, _ in found]
    assert min(counts) >= 1 and sum(c == 2 for c in counts) >= 6
    for xy, conf in found:
        assert xy.dtype == np.float32 and xy.shape[1:] == (33, 2) and conf.shape == xy.shape[:2]
        assert np.all((conf >= 0) & (conf <= 1))
        inside = (xy[..., 0] > -0.1 * w) & (xy[..., 0] < 1.1 * w) & (xy[..., 1] > -0.1 * h) & (xy[..., 1] < 1.1 * h)
        assert inside.all()
    two = next(xy for xy, _ in found if len(xy) == 2)
    centres = np.median(two, axis=1)
    assert np.linalg.norm(centres[0] - centres[1]) > 100  # two different people, not one found twice


def test_same_pixels_as_the_legacy_single_person_solution(bundle):
    import mediapipe as mp

    video = shared_path("pose2sim_multiperson/videos/cam03.mp4")  # one person in view
    frames = rgb_frames(video, 5)
    h, w = frames[0].shape[:2]
    legacy = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False)
    errors = []
    with MultiPoseDetector(num_poses=1, fps=60.0, bundle=bundle) as det:
        for rgb in frames:
            xy, conf = det.detect(rgb)
            ref = legacy.process(rgb).pose_landmarks
            if len(xy) and ref is not None:
                ref_xy = np.array([(p.x * w - 0.5, p.y * h - 0.5) for p in ref.landmark])
                good = conf[0] > 0.5
                errors.append(np.linalg.norm(xy[0][good] - ref_xy[good], axis=-1))
    legacy.close()
    assert len(errors) >= 4
    assert np.median(np.concatenate(errors)) < 10.0  # pixels at 1088x1920


def test_pad_candidates():
    xy1, c1 = np.ones((1, 33, 2), np.float32), np.ones((1, 33), np.float32)
    xy0, c0 = np.zeros((0, 33, 2), np.float32), np.zeros((0, 33), np.float32)
    xy3, c3 = np.full((3, 33, 2), 2, np.float32), np.full((3, 33), 0.5, np.float32)
    xy, conf, dropped = pad_candidates([(xy1, c1), (xy0, c0), (xy3, c3)], n_slots=2)
    assert xy.shape == (3, 2, 33, 2) and conf.shape == (3, 2, 33)
    assert np.isnan(xy[0, 1]).all() and np.isnan(xy[1]).all() and (conf[1] == 0).all()
    assert (xy[2] == 2).all() and dropped.tolist() == [0, 0, 1]


def short_clip(video: Path, out: Path, n: int) -> Path:
    """The first ``n`` frames of ``video`` as an MJPG .avi (fast to write, exact enough)."""
    import cv2

    from mocap.io.frames import open_frames

    frames = [bgr for i, bgr in open_frames(video).frames() if i < n]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 30, frames[0].shape[1::-1])
    for f in frames:
        writer.write(f)
    writer.release()
    return out


DEMO_VIDEO = Path(__file__).resolve().parents[1] / "sample_sessions" / "studio4" / "takes" / "demo" / "cam0.mp4"


@pytest.mark.slow
def test_counting_keeps_the_single_person_path(tmp_path):
    """max_people auto on one performer: the people counted on a few frames stay one, and the keypoints are the
    single-person detector's, unchanged."""
    from mocap.keypoints2d.stage import DetectionConfig, detect_camera

    clip = short_clip(DEMO_VIDEO, tmp_path / "cam0.avi", 16)
    counted = detect_camera(clip, DetectionConfig(), count=True)
    plain = detect_camera(clip, DetectionConfig())
    assert not counted.multi and counted.people == 1
    assert np.array_equal(counted.xy, plain.xy, equal_nan=True) and np.array_equal(counted.conf, plain.conf)


@pytest.mark.slow
def test_counting_finds_two_people_and_every_camera_detects_them(tmp_path):
    """A camera that sees two people switches to the multi-person detector; a camera of the same take that
    counted one is detected again with it, so the take's candidates have two slots everywhere."""
    from mocap.keypoints2d.candidates import Candidates2D
    from mocap.keypoints2d.stage import DetectionConfig, detect_views

    two = short_clip(shared_path("pose2sim_multiperson/videos/cam04.mp4"), tmp_path / "cam04.avi", 10)
    one = short_clip(DEMO_VIDEO, tmp_path / "demo.avi", 10)
    result = detect_views([two, one], ["two", "one"], DetectionConfig(workers=1), count=True)
    assert isinstance(result, Candidates2D) and result.max_people == 2
    assert result.xy.shape == (2, 10, 2, 33, 2)
    found = result.people_found()
    assert (found[0] == 2).mean() >= 0.7 and (found[1] == 1).all()
