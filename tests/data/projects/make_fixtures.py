"""Writes the tiny project fixtures in this folder, each in its tool's own layout (run from the repository root:
``python tests/data/projects/make_fixtures.py``). Every file is made here from our own numbers; nothing is copied
from the tools. Two cameras 3.6 m apart see a HALPE-26 / three-body-part figure walking 0.3 m along +x; videos
are 6 black frames (they only give the frame rate and size)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from mocap.calibration.formats import write_calibration
from mocap.camera import Camera, CameraRig, look_at
from mocap.keypoints2d.sets import get_keypoint_set

HERE = Path(__file__).resolve().parent
SIZE, FOCAL, FPS, N_FRAMES = (320, 240), 280.0, 50.0, 6


def rig(names) -> CameraRig:
    cams = []
    for name, x in zip(names, (-1.8, 1.8)):
        R, t = look_at(np.array([x, -3.0, 1.4]), np.array([0.0, 0.0, 1.0]))
        K = [[FOCAL, 0, SIZE[0] / 2 + 0.5], [0, FOCAL, SIZE[1] / 2 - 0.5], [0, 0, 1]]
        cams.append(Camera(name, SIZE, K, [-0.02, 0.01, 0.0, 0.0, 0.0], R, t))
    return CameraRig(tuple(cams))


def figure(n_joints: int) -> np.ndarray:
    """``(F, J, 3)``: a column of joints 0.1-1.75 m high, spread sideways, moving along +x."""
    j = np.arange(n_joints)
    base = np.column_stack([0.15 * np.sin(j), 0.1 * np.cos(j), 0.1 + 1.65 * j / max(n_joints - 1, 1)])
    return base[None] + np.linspace(0, 0.3, N_FRAMES)[:, None, None] * np.array([1.0, 0, 0])


def pixels(r: CameraRig, xyz: np.ndarray) -> np.ndarray:
    return np.round(r.project(xyz), 3)  # (C, F, J, 2)


def video(path: Path) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for _ in range(N_FRAMES):
        out.write(np.zeros((SIZE[1], SIZE[0], 3), np.uint8))
    out.release()


def pose2sim_toml(r: CameraRig) -> str:
    """A calibration as Pose2Sim's ``toml_write`` lays it out (inline arrays, float sizes, 4 distortions)."""
    from mocap.geometry import matrix_to_axis_angle

    def arr(values) -> str:
        return "[ " + ", ".join(repr(float(v)) for v in values) + "]"

    out = []
    for cam in r.cameras:
        K = cam.K
        out += [f"[{cam.name}]", f'name = "{cam.name}"', f"size = {arr(cam.size)}",
                f"matrix = [ {arr([K[0, 0], 0.0, K[0, 2]])}, {arr([0.0, K[1, 1], K[1, 2]])}, {arr([0.0, 0.0, 1.0])}]",
                f"distortions = {arr(cam.dist[:4])}", f"rotation = {arr(matrix_to_axis_angle(cam.R))}",
                f"translation = {arr(cam.t)}", "fisheye = false", ""]
    return "\n".join(out) + "\n[metadata]\nadjusted = false\nerror = 0.0\n"


def pose2sim() -> None:
    """A Pose2Sim single-trial project: Qualisys calibration plus Pose2Sim's own (distortion / 64) conversion,
    person-associated OpenPose JSON with Pose2Sim's quirks."""
    root = HERE / "pose2sim" / "Walk_P2S"
    (root / "Config.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "Config.toml").write_text(
        "[project]\nmulti_person = false\nframe_rate = 'auto'\n\n[pose]\npose_model = 'Body_with_feet'\n\n"
        "[calibration]\ncalibration_type = 'convert'\n[calibration.convert]\nconvert_from = 'qualisys'\n")
    r = rig(["28519", "28520"])
    write_calibration(r, root / "calibration" / "Calib.qca.txt", "qualisys")
    scaled = CameraRig(tuple(c.replace(dist=c.dist / 64) for c in r.cameras))
    (root / "calibration" / "Calib_qualisys.toml").write_text(pose2sim_toml(scaled))
    for c, cam in enumerate(("cam01", "cam02")):
        video(root / "videos" / f"{cam}.mp4")
    px = pixels(r, figure(26))
    for c, cam in enumerate(("cam01", "cam02")):
        folder = root / "pose-associated" / f"{cam}_json"
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(N_FRAMES):
            if c == 1 and f == 3:
                continue  # a gap in the frame numbering: no file for frame 3 in cam02
            flat = [v for x, y in px[c, f] for v in (float(x), float(y), 0.9)]
            people = [{"person_id": [-1], "pose_keypoints_2d": flat}]
            if f == 1:
                people = [{}] + people  # Pose2Sim's placeholder for an associated person missing in this view
            if f == 4 and c == 0:
                people[0]["pose_keypoints_2d"] = flat[:-6]  # a short list: the last two keypoints missing
            (folder / f"{cam}_{f:06d}.json").write_text(json.dumps({"version": 1.3, "people": people}))


def freemocap() -> None:
    """A FreeMoCap v1 recording: synchronized videos and its anipose-layout calibration in mm with FreeMoCap's
    world_orientation / world_position fields and metadata."""
    import tomllib

    import tomli_w

    root = HERE / "freemocap" / "recording_14_52_07"
    names = [f"Camera_00{i}_synchronized" for i in range(2)]
    for n in names:
        video(root / "synchronized_videos" / f"{n}.mp4")
    r = rig(names)
    path = write_calibration(r, root / f"{root.name}_camera_calibration.toml", "freemocap", units="mm")
    data = tomllib.loads(path.read_text())
    for k, cam in enumerate(r.cameras):
        data[f"cam_{k}"]["world_orientation"] = cam.R.T.tolist()
        data[f"cam_{k}"]["world_position"] = (cam.center * 1000).tolist()
    data["metadata"] = {"charuco_square_size": 58.0, "date_time_calibrated": "2026-05-04T14:52:07"}
    path.write_text(tomli_w.dumps(data))


def anipose() -> None:
    """An Anipose project (nesting 1) with one session: raw videos, calibration.toml (mm), DeepLabCut CSV."""
    root = HERE / "anipose"
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text("project = 'walks'\nnesting = 1\nvideo_extension = 'mp4'\n\n"
                                      "[triangulation]\ncam_regex = '_cam([0-9])'\n")
    session = root / "session1"
    r = rig(["1", "2"])
    write_calibration(r, session / "calibration" / "calibration.toml", "anipose", units="mm")
    for cam in ("1", "2"):
        video(session / "videos-raw" / f"walk_cam{cam}.mp4")
    video(session / "videos-raw" / "jump_cam1.mp4")  # a trial without its second camera
    parts = ["nose", "left_wrist", "right_wrist"]
    px = pixels(r, figure(3))
    scorer = "DLC_resnet50_walksMay4shuffle1_1000"
    for c, cam in enumerate(("1", "2")):
        rows = [["scorer"] + [scorer] * 9, ["bodyparts"] + [p for p in parts for _ in range(3)],
                ["coords"] + ["x", "y", "likelihood"] * 3]
        rows += [[str(f)] + [v for x, y in px[c, f] for v in (f"{x:.3f}", f"{y:.3f}", "0.95")]
                 for f in range(N_FRAMES)]
        path = session / "pose-2d" / f"walk_cam{cam}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(",".join(row) for row in rows) + "\n")


if __name__ == "__main__":
    for sub in ("pose2sim", "freemocap", "anipose"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    pose2sim()
    freemocap()
    anipose()
    print("truth: figure(n) in", __file__, "; HALPE-26 set", get_keypoint_set("halpe26").n_joints)
