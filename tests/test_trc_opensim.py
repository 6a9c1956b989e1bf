"""OpenSim-ready TRC: our files read by a TRC reader written from the format's documentation (not ours), the
header, time column and frame numbering exactly as Pose2Sim writes them, and OpenSim / Pose2Sim marker names."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import SAMPLE_SESSION

from mocap.camera import CameraRig
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.keypoints2d.markers import OPENSIM_MARKERS, trc_markers
from mocap.keypoints2d.sets import get_keypoint_set
from mocap.session import Session, Take
from mocap.smoothing.stage import smooth_take
from mocap.triangulation.stage import triangulate_take

# Pose2Sim's TRC marker order per skeleton (Pose2Sim/skeletons.py: the pre-order traversal of the nodes that
# have a keypoint id; research notes section 2), with BlazePose's "Lknee" spelled as OpenSim's marker set does.
POSE2SIM_ORDER = {
    "body25": "CHip RHip RKnee RAnkle RBigToe RSmallToe RHeel LHip LKnee LAnkle LBigToe LSmallToe LHeel Neck Nose "
              "RShoulder RElbow RWrist LShoulder LElbow LWrist",
    "body25b": "RHip RKnee RAnkle RBigToe RSmallToe RHeel LHip LKnee LAnkle LBigToe LSmallToe LHeel Neck Head Nose "
               "RShoulder RElbow RWrist LShoulder LElbow LWrist",
    "halpe26": "Hip RHip RKnee RAnkle RBigToe RSmallToe RHeel LHip LKnee LAnkle LBigToe LSmallToe LHeel Neck Head "
               "Nose RShoulder RElbow RWrist LShoulder LElbow LWrist",
    "coco17": "RHip RKnee RAnkle LHip LKnee LAnkle Nose RShoulder RElbow RWrist LShoulder LElbow LWrist",
    "blazepose33": "RHip RKnee RAnkle RHeel RBigToe LHip LKnee LAnkle LHeel LBigToe Nose REye LEye RShoulder RElbow "
                   "RWrist RPinky RIndex RThumb LShoulder LElbow LWrist LPinky LIndex LThumb",
}
# Pose2Sim's keypoint ids of the same markers (skeletons.py), i.e. which keypoint of the detector each one is.
POSE2SIM_IDS = {
    "body25": [8, 9, 10, 11, 22, 23, 24, 12, 13, 14, 19, 20, 21, 1, 0, 2, 3, 4, 5, 6, 7],
    "body25b": [12, 14, 16, 22, 23, 24, 11, 13, 15, 19, 20, 21, 17, 18, 0, 6, 8, 10, 5, 7, 9],
    "halpe26": [19, 12, 14, 16, 21, 23, 25, 11, 13, 15, 20, 22, 24, 18, 17, 0, 6, 8, 10, 5, 7, 9],
    "coco17": [12, 14, 16, 11, 13, 15, 0, 6, 8, 10, 5, 7, 9],
    "blazepose33": [24, 26, 28, 30, 32, 23, 25, 27, 29, 31, 0, 5, 2, 12, 14, 16, 18, 20, 22, 11, 13, 15, 17, 19, 21],
}


def read_trc_from_the_documentation(path):
    """A TRC reader written from OpenSim's description of the format ("Marker (.trc) Files"), independent of
    mocap.io.trc: tab-separated; line 1 ``PathFileType 4 (X/Y/Z) <file>``; line 2 the header keys; line 3
    their values; line 4 ``Frame# Time`` and the marker names, each followed by two empty cells (X, Y, Z
    columns); line 5 ``X1 Y1 Z1 X2 ...``; then one row per frame: frame number, time in seconds, and X, Y,
    Z of every marker (an empty cell is a missing value). Blank lines before the data are allowed."""
    lines = path.read_text(encoding="utf-8").split("\n")
    first = lines[0].split("\t")
    assert first[:3] == ["PathFileType", "4", "(X/Y/Z)"]
    header = dict(zip(lines[1].split("\t"), lines[2].split("\t")))
    names_row = lines[3].split("\t")
    assert names_row[:2] == ["Frame#", "Time"]
    n = int(header["NumMarkers"])
    markers = [names_row[2 + 3 * k] for k in range(n)]
    assert all(c == "" for k in range(n) for c in names_row[3 + 3 * k: 4 + 3 * k + 1])
    coords = lines[4].split("\t")
    assert coords[:2] == ["", ""] and coords[2:2 + 3 * n] == [f"{a}{k + 1}" for k in range(n) for a in "XYZ"]
    rows = [line.split("\t") for line in lines[5:] if line.strip()]
    frames = [int(r[0]) for r in rows]
    times = [float(r[1]) for r in rows]
    values = np.array([[float(c) if c.strip() else np.nan for c in r[2:2 + 3 * n]] for r in rows])
    return first[3], header, markers, frames, np.array(times), values.reshape(len(rows), n, 3)


def test_opensim_marker_map_is_pose2sims():
    for name, order in POSE2SIM_ORDER.items():
        ks = get_keypoint_set(name)
        index, markers = trc_markers(ks.joint_names, name)
        assert markers == order.split(), name
        assert index == POSE2SIM_IDS[name], name
    assert [m for m, _ in OPENSIM_MARKERS["holistic"]] == POSE2SIM_ORDER["blazepose33"].split()
    # native keeps every keypoint under its own name; sets without an OpenSim marker set keep theirs
    ks = get_keypoint_set("body25b")
    assert trc_markers(ks.joint_names, "body25b", "native") == (list(range(25)), list(ks.joint_names))
    wb = get_keypoint_set("coco_wholebody133")
    assert trc_markers(wb.joint_names, wb.name)[1] == list(wb.joint_names)
    assert trc_markers(("a", "b"), "dlc:x")[1] == ["a", "b"]
    with pytest.raises(ValueError):
        trc_markers(ks.joint_names, "body25b", "osim")


@pytest.fixture
def take(tmp_path):
    """A session whose take has HALPE-26 keypoints starting at video frame 12 (imported keypoints), projected
    from a standing figure into the sample session's true cameras."""
    truth = CameraRig.load(SAMPLE_SESSION / "ground_truth" / "camera_rig.toml")
    s = dataclasses.replace(Session.load(SAMPLE_SESSION), output_dir=tmp_path / "out", takes=(Take("walk", ()),))
    truth.save(s.layout.calibration.rig)
    ks = get_keypoint_set("halpe26")
    rng = np.random.default_rng(3)
    height = {"Head": 1.75, "Nose": 1.65, "Neck": 1.5, "Hip": 0.95}
    base = np.array([[0.1 * np.sin(j), 0.1 * np.cos(j), height.get(n, 0.1 + 0.05 * j)]
                     for j, n in enumerate(ks.joint_names)])
    n_frames, fps, first = 30, 60.0, 12
    xyz = base + 0.002 * rng.normal(size=(n_frames, 1, 3)) + np.linspace(0, 0.3, n_frames)[:, None, None] * [1, 0, 0]
    px = np.stack([cam.to_video_pixels(cam.project(xyz)) for cam in truth])
    kp = Keypoints2D(px.astype(np.float32), np.full(px.shape[:3], 0.9, np.float32), ks.name, ks.joint_names,
                     tuple(truth.names), (first + np.arange(n_frames)) / fps, fps)
    kp.save(s.layout.take("walk").keypoints2d)
    triangulate_take(s, "walk")
    return s, xyz, first, fps


def test_our_trc_reads_as_the_documentation_says_and_as_pose2sim_writes(take):
    s, xyz, first, fps = take
    result = smooth_take(s, "walk")
    path = result.files["trc"]
    name, header, markers, frames, times, values = read_trc_from_the_documentation(path)
    assert name == "points3d.trc"
    assert list(header) == ["DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units", "OrigDataRate",
                            "OrigDataStartFrame", "OrigNumFrames"]
    assert header == {"DataRate": "60", "CameraRate": "60", "NumFrames": "30", "NumMarkers": "22", "Units": "m",
                      "OrigDataRate": "60", "OrigDataStartFrame": str(first), "OrigNumFrames": "30"}
    assert markers == POSE2SIM_ORDER["halpe26"].split()
    assert frames == list(range(first, first + 30))           # Frame#: the video frame index
    np.testing.assert_array_equal(times, np.array(frames) / fps)  # Time = Frame# / DataRate, from video frame 0
    # Y up (Pose2Sim's zup2yup: file X, Y, Z = world y, z, x), metres
    index = POSE2SIM_IDS["halpe26"]
    np.testing.assert_allclose(values, result.smoothed.xyz[:, index][..., [1, 2, 0]], atol=1e-7)
    assert values[:, markers.index("Head"), 1].min() > values[:, markers.index("RAnkle"), 1].max()
    # header lines character for character as Pose2Sim's make_trc builds them
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == "PathFileType\t4\t(X/Y/Z)\tpoints3d.trc"
    assert lines[2] == "\t".join(["60", "60", "30", "22", "m", "60", str(first), "30"])
    assert lines[3] == "Frame#\tTime\t" + "\t\t\t".join(markers) + "\t\t\t"
    assert lines[4] == "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(22)) + "\t"
    assert lines[5].split("\t")[:2] == [str(first), repr(first / fps)]


def test_native_marker_names_keep_todays_file(take):
    s, *_ = take
    path = smooth_take(s, "walk", marker_names="native").files["trc"]
    _, header, markers, *_ = read_trc_from_the_documentation(path)
    assert markers == list(get_keypoint_set("halpe26").joint_names) and header["NumMarkers"] == "26"


def test_export_pose2sim_project(take, tmp_path):
    import subprocess
    import sys

    from mocap.calibration.formats import detect_format, read_calibration
    from mocap.export.pose2sim import export_pose2sim

    s, xyz, first, fps = take
    smooth_take(s, "walk")
    folder = s.layout.take("walk").folder
    project = export_pose2sim(folder)
    assert project.folder == folder / "export" / "pose2sim"
    assert project.calibration == project.folder / "calibration" / "Calib_mocap.toml"
    assert project.trc == project.folder / "pose-3d" / f"walk_{first}-{first + 29}_filt_mocap.trc"
    assert detect_format(project.calibration) == "pose2sim"
    rig, truth = read_calibration(project.calibration), CameraRig.load(s.layout.calibration.rig)
    assert rig.names == truth.names
    for a, b in zip(rig, truth):
        np.testing.assert_allclose(a.K, b.K)
        np.testing.assert_allclose(a.center, b.center, atol=1e-9)
    _, header, markers, frames, times, _ = read_trc_from_the_documentation(project.trc)
    assert markers == POSE2SIM_ORDER["halpe26"].split() and frames[0] == first and header["Units"] == "m"
    # from the command line, into a chosen folder; bad input is one line, exit 2
    out = tmp_path / "p2s_project"
    proc = subprocess.run([sys.executable, "-m", "mocap.cli", "export", str(folder), "--format", "pose2sim", "-o",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (out / "calibration" / "Calib_mocap.toml").is_file() and len(list((out / "pose-3d").glob("*.trc"))) == 1
    proc = subprocess.run([sys.executable, "-m", "mocap.cli", "export", str(tmp_path), "--format", "pose2sim"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no 3D points" in proc.stderr and "Traceback" not in proc.stderr
