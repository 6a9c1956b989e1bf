"""2D keypoint detection: BlazePose offline on real footage, the detector registry, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_path

from mocap.errors import InputError, MocapError
from mocap.keypoints2d.detectors import create_detector
from mocap.keypoints2d.stage import DetectionConfig, detect_views


def test_unknown_detector_and_missing_model():
    with pytest.raises(MocapError, match="unknown detector"):
        create_detector("openpose_gpu")
    import os

    import mediapipe as mp

    heavy = os.path.join(os.path.dirname(mp.__file__), "modules", "pose_landmark", "pose_landmark_heavy.tflite")
    if not os.path.exists(heavy):
        with pytest.raises(MocapError, match="never downloads"):
            create_detector("blazepose", model_complexity=2)


def test_missing_video(tmp_path):
    with pytest.raises(InputError, match="video not found"):
        detect_views([tmp_path / "a.mp4", tmp_path / "b.mp4"], ["a", "b"])


@pytest.mark.shared_data
@pytest.mark.slow
def test_blazepose_on_real_footage(tmp_path):
    """4 real portrait cameras (Pose2Sim demo): the real person is found in most frames of each.

    A fifth, mirrored copy of camera 4 checks the mirroring path: its keypoints, in the mirrored
    video's pixels, un-mirror exactly onto camera 4's, with the same left/right labels.
    """
    import cv2

    videos = [shared_path(f"pose2sim_multiperson/videos/cam0{k}.mp4") for k in range(1, 5)]
    clips = []
    for k, v in enumerate(videos + [videos[3]]):
        cap = cv2.VideoCapture(str(v))
        frames = [cap.read()[1] for _ in range(30)]  # 30 frames per camera keep the test short
        if k == 4:
            frames = [cv2.flip(f, 1) for f in frames]
        out = tmp_path / f"cam{k}.avi"
        h, w = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 60, (w, h))
        for f in frames:
            writer.write(f)
        writer.release()
        clips.append(out)
    names = ["cam01", "cam02", "cam03", "cam04", "cam04_mirror"]
    kp = detect_views(clips, names, DetectionConfig(), mirrored=[False, False, False, False, True])
    rates = kp.detection_rate()
    print("\ndetection rates:", dict(zip(kp.camera_names, np.round(rates, 2))))
    assert kp.xy.shape == (5, 30, 33, 2) and kp.keypoint_set == "blazepose33"
    assert (rates >= 0.9).all()
    assert kp.joint_names[0] == "nose" and kp.joint_names[23] == "left_hip"
    width = 1088
    unmirrored = kp.xy[4].copy()
    unmirrored[..., 0] = width - 1 - unmirrored[..., 0]
    np.testing.assert_allclose(unmirrored, kp.xy[3], atol=2.0)
