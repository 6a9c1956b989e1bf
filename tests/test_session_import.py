"""Other tools' projects as sessions (`mocap session import`), on fixture folders in each tool's layout
(tests/data/projects, made by make_fixtures.py) and on the real Pose2Sim project in the shared data."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path

from mocap.calibration.formats import read_calibration
from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.projects import import_project
from mocap.session import Session
from mocap.triangulation.points import Points3D

PROJECTS = Path(__file__).parent / "data" / "projects"
_spec = importlib.util.spec_from_file_location("make_fixtures", PROJECTS / "make_fixtures.py")
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "mocap.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def run_until_triangulate(session_dir):
    """``mocap run SESSION --until triangulate`` in this process: ``{(stage, take): status}``."""
    from mocap.pipeline import RunConfig, run_session

    s = Session.load(session_dir)
    return {(r.stage, r.take): r.status
            for r in run_session(s, RunConfig.load(s, overrides={"until": "triangulate"}))}


def one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    for f in fragments:
        assert f in proc.stderr, proc.stderr


def test_pose2sim_project_runs_from_its_own_keypoints_and_calibration(tmp_path):
    project = shutil.copytree(PROJECTS / "pose2sim" / "Walk_P2S", tmp_path / "Walk_P2S")
    proc = cli("session", "import", project, "--from", "pose2sim")
    assert proc.returncode == 0, proc.stderr
    assert "review it, then run: mocap run" in proc.stdout
    s = Session.load(project)
    assert s.camera_names == ["28519", "28520"]          # the calibration's cameras, paired with cam01, cam02
    assert s.rig == project / "calibration" / "Calib.qca.txt"   # the original, not Pose2Sim's /64 conversion
    assert s.board is None and s.calibration_videos == ()
    (take,) = s.takes
    assert take.name == "Walk_P2S" and take.fps == 50.0
    assert [v.name for v in take.videos] == ["cam01.mp4", "cam02.mp4"]
    assert take.keypoints.format == "openpose" and take.keypoints.keypoint_set == "halpe26"
    assert [p.name for p in take.keypoints.paths] == ["cam01_json", "cam02_json"]
    assert all(p.parent.name == "pose-associated" for p in take.keypoints.paths)
    text = (project / "session.toml").read_text()
    assert '"calibration/Calib.qca.txt"' in text and "nothing was copied" in text  # relative paths, commented
    # mocap run: the rig imported as the calibration stage, the keypoints imported instead of detecting
    runs = run_until_triangulate(project)
    assert set(runs.values()) == {"ran"} and len(runs) == 4  # calibrate (import), detect (import), sync, triangulate
    kp = Keypoints2D.load(s.layout.take(take.name).keypoints2d)
    assert kp.keypoint_set == "halpe26" and kp.fps == 50.0 and kp.n_frames == 6
    assert np.isnan(kp.xy[1, 3]).all()                     # cam02 has no file for frame 3
    assert np.isnan(kp.xy[0, 4, 24:]).all() and np.isfinite(kp.xy[0, 4, :24]).all()  # the short list
    pts = Points3D.load(s.layout.take(take.name).points3d_raw)
    truth = fixtures.figure(26)
    ok = np.isfinite(pts.xyz[..., 0])
    expected = np.ones_like(ok)
    expected[3] = False       # frame 3: one view only
    expected[4, 24:] = False  # frame 4: cam01's short list
    np.testing.assert_array_equal(ok, expected)
    assert np.abs(pts.xyz[ok] - truth[ok]).max() < 0.01
    assert (s.layout.calibration.source).is_file()
    # what the report's calibration section shows: where the rig came from, its errors on the take's own 2D
    from mocap.report.inputs import load_take_inputs
    from mocap.report.sections.calibration import take_reprojection

    inputs = load_take_inputs(s, "Walk_P2S")
    assert inputs.rig_source["format"] == "qualisys" and inputs.rig_source["file"].endswith("Calib.qca.txt")
    figures = take_reprojection(inputs.rig, inputs.keypoints, inputs.points_raw)
    assert sorted(figures) == ["28519", "28520"]
    assert all(f["reprojection_median_px"] < 0.05 and f["views"] > 100 for f in figures.values())
    # reused while nothing changes; editing the calibration file reruns what depends on it
    assert set(run_until_triangulate(project).values()) == {"reused"}
    qca = project / "calibration" / "Calib.qca.txt"
    qca.write_text(qca.read_text().replace('radialDistortion2="0.01"', 'radialDistortion2="0.011"'))
    runs = run_until_triangulate(project)
    assert runs[("calibrate", None)] == "ran" and runs[("triangulate", "Walk_P2S")] == "ran"
    assert CameraRig.load(s.layout.calibration.rig)[0].dist[1] == 0.011


def test_pose2sim_prefers_the_pose_folder_pose2sim_triangulates_from(tmp_path):
    project = shutil.copytree(PROJECTS / "pose2sim" / "Walk_P2S", tmp_path / "P")
    shutil.copytree(project / "pose-associated", project / "pose")  # pose-associated wins, as in Pose2Sim
    shutil.move(project / "pose-associated", project / "pose-sync")  # then pose-sync, then pose
    import_project(project, "pose2sim").write(tmp_path / "session")
    s = Session.load(tmp_path / "session")
    assert all(p.parent.name == "pose-sync" for p in s.takes[0].keypoints.paths)
    assert s.takes[0].videos[0].resolve() == project / "videos" / "cam01.mp4"  # written as ../P/videos/...
    # a second import into the same folder needs --force
    proc = cli("session", "import", project, "--from", "pose2sim", "-o", tmp_path / "session")
    one_line_error(proc, "already there", "--force")
    import_project(project, "pose2sim").write(tmp_path / "session", force=True)


def test_freemocap_recording(tmp_path):
    recording = PROJECTS / "freemocap" / "recording_14_52_07"
    import mocap.api

    assert mocap.api.import_session(recording, "freemocap", tmp_path / "s") == tmp_path / "s" / "session.toml"
    s = Session.load(tmp_path / "s")
    assert s.camera_names == ["Camera_000_synchronized", "Camera_001_synchronized"]
    assert s.rig == recording / "recording_14_52_07_camera_calibration.toml"
    (take,) = s.takes
    assert take.name == "recording_14_52_07" and take.fps == 50.0 and take.keypoints is None
    assert "not imported" in (tmp_path / "s" / "session.toml").read_text()  # FreeMoCap's 2D data: detected again
    proc = cli("calibrate", tmp_path / "s")  # imports the rig: FreeMoCap's millimetres become metres
    assert proc.returncode == 0, proc.stderr
    rig = CameraRig.load(s.layout.calibration.rig)
    truth = fixtures.rig(s.camera_names)
    for a, b in zip(rig, truth):
        np.testing.assert_allclose(a.center, b.center, atol=1e-9)
    # the folder above a recording is not one
    with pytest.raises(InputError, match="recordings inside: recording_14_52_07"):
        import_project(recording.parent, "freemocap")


def test_anipose_project(tmp_path):
    proc = cli("session", "import", PROJECTS / "anipose", "--from", "anipose", "-o", tmp_path / "s")
    assert proc.returncode == 0, proc.stderr
    s = Session.load(tmp_path / "s")
    assert s.name == "session1" and s.camera_names == ["1", "2"]
    assert [t.name for t in s.takes] == ["walk"]  # "jump" has no video for camera 2
    assert "trial 'jump' left out" in (tmp_path / "s" / "session.toml").read_text()
    (take,) = s.takes
    assert take.keypoints.format == "dlc" and [p.name for p in take.keypoints.paths] == ["walk_cam1.csv",
                                                                                          "walk_cam2.csv"]
    run_until_triangulate(tmp_path / "s")
    pts = Points3D.load(s.layout.take("walk").points3d_raw)
    assert pts.joint_names == ("nose", "left_wrist", "right_wrist")
    np.testing.assert_allclose(pts.xyz, fixtures.figure(3), atol=0.01)
    # two sessions in a project: import one at a time
    two = shutil.copytree(PROJECTS / "anipose", tmp_path / "two")
    shutil.copytree(two / "session1", two / "session2")
    with pytest.raises(InputError, match="2 Anipose sessions here") as info:
        import_project(two, "anipose")
    assert "session1" in str(info.value) and "--from anipose" in info.value.fix


def test_bad_projects_are_one_line_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(cli("session", "import", empty, "--from", "pose2sim"), "no Pose2Sim trial")
    for tool, match in (("anipose", "not found"), ("freemocap", "not found")):
        with pytest.raises(InputError, match=match):
            import_project(tmp_path / "nope", tool)
    with pytest.raises(InputError, match="synchronized_videos"):
        import_project(empty, "freemocap")
    with pytest.raises(InputError, match="no Anipose session"):
        import_project(empty, "anipose")
    project = shutil.copytree(PROJECTS / "pose2sim" / "Walk_P2S", tmp_path / "P")
    shutil.rmtree(project / "calibration")
    with pytest.raises(InputError, match="no calibration file"):
        import_project(project, "pose2sim")
    assert not (project / "session.toml").exists()
    shutil.copytree(PROJECTS / "pose2sim" / "Walk_P2S" / "calibration", project / "calibration")
    (project / "videos" / "cam02.mp4").unlink()
    with pytest.raises(InputError, match="1 videos .* for the calibration's 2 cameras"):
        import_project(project, "pose2sim")


def test_session_toml_keys_and_their_errors(tmp_path):
    """The keys this adds to session.toml: [calibration] rig, [[takes]] fps and keypoints; board optional."""
    base = 'name = "x"\n[[cameras]]\nname = "a"\n[[cameras]]\nname = "b"\n'
    s = Session.from_dict(tomllib.loads(base + '[calibration]\nrig = "cal.toml"\n[[takes]]\nname = "t"\nfps = 25\n'
                                        'keypoints = { format = "openpose", paths = "pose/{camera}", person = 1 }\n'),
                          root=tmp_path)
    assert s.rig == tmp_path / "cal.toml" and s.board is None and s.calibration_videos == ()
    assert s.takes[0].fps == 25.0 and s.takes[0].keypoints.paths == (tmp_path / "pose/a", tmp_path / "pose/b")
    assert s.takes[0].keypoints.person == 1
    for bad, match in [("", "no board given"), ('[calibration]\nrig = 3\n', "rig must be the path"),
                       ('[calibration]\nrig = "c"\n[[takes]]\nname = "t"\nfps = -1\n', "fps must be a positive"),
                       ('[calibration]\nrig = "c"\n[[takes]]\nname = "t"\nkeypoints = "x"\n', "keypoints must be"),
                       ('[calibration]\nrig = "c"\n[[takes]]\nname = "t"\nkeypoints = { format = "openpose", '
                        'paths = ["one"] }\n', "paths must be a pattern")]:
        with pytest.raises(InputError, match=match):
            Session.from_dict(tomllib.loads(base + bad), root=tmp_path)


def test_rig_cameras_must_match_the_session(tmp_path):
    from mocap.calibration.imported import import_session_rig

    rig_path = fixtures.rig(["left", "right"]).save(tmp_path / "rig.toml")
    (tmp_path / "session.toml").write_text('[[cameras]]\nname = "left"\n[[cameras]]\nname = "middle"\n'
                                           '[calibration]\nrig = "rig.toml"\n')
    one_line_error(cli("calibrate", tmp_path), "middle not in the file")
    # no name in common and as many cameras: paired in file order, and said so
    (tmp_path / "session.toml").write_text('[[cameras]]\nname = "a"\n[[cameras]]\nname = "b"\n'
                                           '[calibration]\nrig = "rig.toml"\n')
    imported = import_session_rig(Session.load(tmp_path))
    assert imported.pairs == (("left", "a"), ("right", "b")) and imported.format == "mocap"
    rig = CameraRig.load(tmp_path / "output" / "calibration" / "camera_rig.toml")
    assert rig.names == ["a", "b"]
    np.testing.assert_allclose(rig["b"].center, read_calibration(rig_path)["right"].center)
    source = tomllib.loads((tmp_path / "output" / "calibration" / "rig_source.toml").read_text())
    assert source["file"] == str(rig_path) and len(source["sha256"]) == 64
    (tmp_path / "session.toml").write_text('[[cameras]]\nname = "a"\n[calibration]\nrig = "missing.toml"\n')
    with pytest.raises(InputError, match=r"\[calibration\] rig"):
        import_session_rig(Session.load(tmp_path))


@pytest.mark.slow
@pytest.mark.shared_data
def test_real_pose2sim_project_runs_to_exports_without_a_board_take(tmp_path):
    """Must show (issue 16): `mocap session import <pose2sim_multiperson> --from pose2sim` then `mocap run` produces
    the exports, with no ChArUco take and no hand-edited file. The take has two people: the single-person path
    follows the most confident person in each camera and frame."""
    project = shared_path("pose2sim_multiperson")
    session = tmp_path / "session"
    proc = cli("session", "import", project, "--from", "pose2sim", "-o", session)
    assert proc.returncode == 0, proc.stderr
    written = (session / "session.toml").read_text()
    proc = cli("run", session, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (session / "session.toml").read_text() == written  # nothing edited by hand (or by mocap)
    s = Session.load(session)
    assert s.board is None and s.calibration_videos == () and s.rig.name == "Calib.qca.txt"
    take = s.layout.take("pose2sim_multiperson")
    exports = sorted(p.name for p in take.export_dir.iterdir())
    assert exports == [f"pose2sim_multiperson_smplx.{ext}" for ext in ("bvh", "fbx", "glb")]
    assert take.report.is_file() and s.layout.index.is_file()
    assert "Rig imported from" in take.report.read_text()
    kp = Keypoints2D.load(take.keypoints2d)
    assert kp.fps == 60.0 and kp.n_frames == 100
    lines = take.points3d_file("trc").read_text().split("\n")
    assert lines[2].split("\t")[:2] == ["60", "60"] and lines[5].startswith("0\t0.0\t")
    assert lines[3].split("\t")[2:5] == ["RHip", "", ""]  # BlazePose keypoints under OpenSim marker names
    # Settles the Qualisys distortion scale on this footage: the .qca.txt values taken as OpenCV's k1, k2 reproject
    # the take's own 2D keypoints better than Pose2Sim's values divided by 64 (see formats/qualisys.py)
    from mocap.triangulation.robust import TriangulateConfig
    from mocap.triangulation.stage import triangulate

    rig = CameraRig.load(s.layout.calibration.rig)
    errors = {}
    for name, scale in (("as read", 1.0), ("divided by 64", 1 / 64)):
        r = CameraRig(tuple(c.replace(dist=c.dist * scale) for c in rig.cameras))
        xyz = triangulate(r, kp, TriangulateConfig(rejection="fixed")).xyz  # the views within 12 px, as measured
        errors[name] = np.stack([np.linalg.norm(c.to_video_pixels(c.project(xyz)) - kp.xy[i], axis=-1)
                                 for i, c in enumerate(r.cameras)])
    both = np.isfinite(errors["as read"]) & np.isfinite(errors["divided by 64"]) & (kp.conf > 0.5)
    both &= (errors["as read"] < 15) & (errors["divided by 64"] < 15)
    rms = {k: float(np.sqrt(np.mean(e[both] ** 2))) for k, e in errors.items()}
    assert both.sum() > 3000 and rms["as read"] < rms["divided by 64"], rms
