"""The ``people`` stage and the pipeline of a take with several performers, on stick-figure walkers seen by
virtual cameras (no rendering, no detector): ``candidates2d.npz`` in, ``people.toml`` and one
``keypoints2d.npz`` per performer out; then triangulation, fitting and export per performer.

Bad input the issue names: more people than ``max_people``, a person seen by one camera only, people
entering and leaving, frames with nobody; plus a take with no candidates and a take where nobody is seen by
two cameras.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mocap.errors import InputError
from mocap.io.tomlio import dumps_toml, read_toml
from mocap.keypoints2d.candidates import Candidates2D
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.keypoints2d.sets import get_keypoint_set
from mocap.people.roster import read_roster
from mocap.people.stage import people_take, performer_names, signature_bones
from mocap.session import Session
from mocap.synth import walkers as syn

FPS = 30.0
NAMES = get_keypoint_set("blazepose33").joint_names


def scene(n_frames: int = 90) -> np.ndarray:
    """Three walkers: two pass each other 0.6 m apart, a third crosses their paths later."""
    paths = [syn.line_path((-2.0, 0.3), (2.0, 0.3), n_frames), syn.line_path((2.0, -0.3), (-2.0, -0.3), n_frames),
             syn.line_path((-1.2, -1.8), (0.8, 1.8), n_frames)]
    return np.stack([syn.walker(p, h, phase0=k, fps=FPS) for k, (p, h) in enumerate(zip(paths, (1.6, 1.8, 1.7)))])


def write_session(folder, people3d, *, performers=None, take_performers=None, max_slots=None, seed=0, **observe):
    """A session folder with a calibrated rig and a take's candidates; returns (Session, observations)."""
    rig = syn.ring_rig(4, (640, 480))
    obs = syn.observe(rig, people3d, noise_px=1.5, seed=seed, n_slots=max_slots, **observe)
    data = {"schema_version": 1, "name": "people", "board": "charuco_7x5_a1", "cameras": rig.names,
            "takes": [{"name": "walk"}]}
    if performers is not None:
        data["performers"] = list(performers)
    if take_performers is not None:
        data["takes"][0]["performers"] = list(take_performers)
    (folder / "session.toml").write_text(dumps_toml(data))
    session = Session.load(folder)
    rig.save(session.layout.calibration.rig)
    n_frames = obs.xy.shape[1]
    Candidates2D(obs.xy.astype(np.float32), obs.conf.astype(np.float32), "blazepose33", NAMES, tuple(rig.names),
                 np.arange(n_frames) / FPS, FPS).save(session.layout.take("walk").candidates2d)
    return session, obs


def true_person(kp: Keypoints2D, obs, people3d) -> np.ndarray:
    """``(F,)`` which true person a performer's 2D keypoints are in each frame (-1: none), by pixel distance."""
    rig = syn.ring_rig(4, (640, 480))
    truth = np.stack([rig.project(p) for p in people3d])  # (N, C, F, J, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames where a person is not seen
        err = np.nanmean(np.linalg.norm(kp.xy[None] - truth, axis=-1), axis=(1, 3))  # (N, F)
    return np.where(np.isfinite(err).any(0), np.nanargmin(np.where(np.isfinite(err), err, np.inf), axis=0), -1)


def test_people_toml_and_one_keypoints_file_per_performer(tmp_path):
    people = scene()
    session, obs = write_session(tmp_path, people, performers=["ana", "ben", "cleo"])
    result = people_take(session, "walk", performer_files=lambda f, n: {"body_motion": f.person(n).body_motion})
    files = session.layout.take("walk")
    roster = read_roster(files.people)
    assert roster.names == ["ana", "ben", "cleo"] and [p.id for p in roster.people] == [0, 1, 2]
    assert roster.frames == 90 and roster.fps == FPS and roster.max_people == 3
    raw = read_toml(files.people)
    assert raw["schema_version"] == 1 and raw["people"][0]["files"] == {
        "keypoints2d": "people/ana/keypoints2d.npz", "body_motion": "people/ana/body_motion.npz"}
    seen = []
    for p, kp in zip(roster.people, result.keypoints):
        assert p.folder == f"people/{p.name}" and (files.folder / p.files["keypoints2d"]).is_file()
        loaded = Keypoints2D.load(files.person(p.name).keypoints2d)
        assert loaded.xy.shape == (4, 90, 33, 2) and loaded.camera_names == tuple(session.camera_names)
        who = true_person(loaded, obs, people)
        tracked = who[who >= 0]
        assert len(set(tracked.tolist())) == 1  # one true person per performer, every frame
        seen.append(int(tracked[0]))
        assert (p.first_frame, p.last_frame) == (0, 89) and p.frames_seen >= 85
    assert sorted(seen) == [0, 1, 2]
    assert files.people_tracks.is_file() and len(result.files) == 5


def test_names_per_take_and_generated_names(tmp_path):
    session, _ = write_session(tmp_path, scene(40), performers=["x", "y"], take_performers=["ana"])
    assert session.performers_of("walk") == ("ana",)
    # the take names one performer: max_people 1 keeps the most seen person only
    assert read_roster(people_take(session, "walk").files[-1]).names == ["ana"]
    assert performer_names(3, ("ana", "person1")) == ["ana", "person1", "person2"]
    assert performer_names(2) == ["person0", "person1"]


def test_more_people_than_max_people(tmp_path):
    session, obs = write_session(tmp_path, scene(60))
    result = people_take(session, "walk", max_people=2)
    assert result.roster.max_people == 2 and len(result.roster.people) == 2
    assert result.tracks.n_unassigned.sum() > 30  # the third person, counted, given to nobody
    for kp in result.keypoints:  # still one true person each
        who = true_person(kp, obs, scene(60))
        assert len(set(who[who >= 0].tolist())) == 1


def test_person_seen_by_one_camera_entering_leaving_and_empty_frames(tmp_path):
    people = scene(90)
    people[2, :25] = np.nan  # cleo enters late ...
    people[2, 70:] = np.nan  # ... and leaves early
    people[:, 40:44] = np.nan  # nobody at all for four frames
    visible = np.ones((3, 4, 90), bool)
    visible[1, 1:] = False  # ben only ever in camera 0
    session, obs = write_session(tmp_path, people, visible=visible)
    result = people_take(session, "walk")
    roster = result.roster
    assert len(roster.people) == 2  # ben, seen by one camera, is not tracked (no 3D), not forced on anyone
    spans = {true_person(kp, obs, people)[p.first_frame]: p for p, kp in zip(roster.people, result.keypoints)}
    assert set(spans) == {0, 2}
    assert spans[2].first_frame in range(25, 28) and spans[2].last_frame in range(67, 70)
    assert spans[0].frames_seen <= 90 - 4
    for kp in result.keypoints:  # the empty frames are empty in every performer's keypoints
        assert np.isnan(kp.xy[:, 40:44]).all()


def test_no_candidates_and_nobody_seen_are_clear_errors(tmp_path):
    session, _ = write_session(tmp_path, scene(20))
    session.layout.take("walk").candidates2d.unlink()
    with pytest.raises(InputError, match="no multi-person 2D detections") as info:
        people_take(session, "walk")
    assert "--max-people" in info.value.fix
    visible = np.zeros((3, 4, 20), bool)
    visible[:, 0] = True  # everyone in camera 0 only
    session, _ = write_session(tmp_path, scene(20), visible=visible)
    with pytest.raises(InputError, match="nobody was seen by two or more cameras"):
        people_take(session, "walk")
    assert not session.layout.take("walk").people.exists()


def test_signature_bones_are_limbs():
    bones = signature_bones(NAMES, "blazepose33")
    names = {(NAMES[a], NAMES[b]) for a, b in bones}
    assert ("left_shoulder", "left_elbow") in names and ("right_knee", "right_ankle") in names
    assert not any("eye" in a or "eye" in b or "pinky" in a or "pinky" in b for a, b in names)
    assert signature_bones(("a", "b"), None).shape == (0, 2)


@pytest.mark.slow
def test_pipeline_per_performer(tmp_path):
    """people -> triangulate -> fit -> export per performer (BVH per performer, no Blender), then the overlay
    and report inputs read them back."""
    from mocap.pipeline import RunConfig, people_stages

    session, _ = write_session(tmp_path, scene(45)[:2], performers=["ana", "ben"])
    config = RunConfig.load(session, overrides={"until": "export", "export": {"formats": ["bvh"]},
                                                "fit": {"iterations": 3}})
    runs = []
    people_stages(session, "walk", config, None, runs)
    assert [(r.stage, r.take) for r in runs] == [
        ("people", "walk"), ("triangulate", "walk/ana"), ("triangulate", "walk/ben"), ("fit", "walk/ana"),
        ("fit", "walk/ben"), ("export", "walk")]
    files = session.layout.take("walk")
    roster = read_roster(files.people)
    for p in roster.people:
        for key in ("points3d", "body_motion", "fit"):
            assert (files.folder / p.files[key]).is_file(), key
        assert p.files["export"] == [f"export/walk_{p.name}_smplx.bvh"]
        assert (files.folder / p.files["export"][0]).is_file()
    again = []
    people_stages(session, "walk", config, None, again)
    assert {r.status for r in again} == {"reused"}
    from mocap.report import write_take_report

    report = write_take_report(session, "walk")
    assert report.sections[:3] == ("summary", "calibration", "people")
    for name in ("ana", "ben"):
        assert {f"{name}-detection", f"{name}-points3d", f"{name}-fit"} <= set(report.sections)
    assert report.figures["performers"].value == 2
    assert report.figures["fit_error_mm"].label.endswith(("(ana)", "(ben)"))  # the worst performer's
    assert any(p.name == "people_timeline.png" for p in report.images)
    assert len({p.name for p in report.images}) == len(report.images)  # every performer's pictures kept


def run_cli(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "mocap.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_front_door(tmp_path):
    """`mocap people` writes people.toml and says who was found; bad input is one line and exit code 2."""
    session, _ = write_session(tmp_path, scene(30)[:2], performers=["ana", "ben"])
    proc = run_cli("people", tmp_path, "--take", "walk", "--gate", "0.6")
    assert proc.returncode == 0, proc.stderr
    assert "2 performers" in proc.stdout and "0 ana: frames 0-29" in proc.stdout
    proc = run_cli("triangulate", tmp_path, "--take", "walk", "--performer", "cleo")
    assert proc.returncode == 2 and "no performer 'cleo'" in proc.stderr and "Traceback" not in proc.stderr
    session.layout.take("walk").candidates2d.unlink()
    proc = run_cli("people", tmp_path, "--take", "walk")
    assert proc.returncode == 2 and "no multi-person 2D detections" in proc.stderr and "fix:" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 3


def test_overlay_draws_each_performer_in_its_colour(tmp_path):
    import cv2

    from mocap.keypoints2d.overlay import performer_colour
    from mocap.pipeline import overlay_take

    people = scene(12)[:2]
    session, obs = write_session(tmp_path, people, performers=["ana", "ben"])
    for video in session.take("walk").videos:  # grey videos, 12 frames
        video.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (640, 480))
        for _ in range(12):
            writer.write(np.full((480, 640, 3), 40, np.uint8))
        writer.release()
    result = people_take(session, "walk")
    paths = overlay_take(session, "walk")
    assert [p.name for p in paths] == [f"cam{k}.mp4" for k in range(4)]
    cap = cv2.VideoCapture(str(paths[0]))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 6)
    img = cap.read()[1].astype(int)
    cap.release()
    for k, kp in enumerate(result.keypoints):
        x, y = np.round(kp.xy[0, 6, 23]).astype(int)  # a keypoint: a dot in the performer's colour
        dot = img[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(axis=0)
        mine, other = (np.linalg.norm(dot - np.array(performer_colour(i))) for i in (k, 1 - k))
        assert mine < 60 and mine < other, (k, dot)


def test_a_detection_covering_two_people_is_split_between_them():
    """One camera sees ana in front of ben: its one detection has ben's head (above ana) and ana's legs. The
    legs go to ana, the head stays with ben; joints near both go to the one in front (ana)."""
    from mocap.people.ownership import reassign_joints

    J = 4  # head, hip, knee, ankle
    ana = np.array([[100.0, 60], [100, 120], [100, 160], [100, 200]])
    ben = np.array([[104.0, 20], [104, 110], [160, 150], [160, 210]])  # knee, ankle off to the side
    projected = np.stack([ana, ben])[:, None, None]  # (N=2, C=1, F=1, J, 2)
    depth = np.stack([np.full(J, 2.0), np.full(J, 3.0)])[:, None, None]  # ana in front
    detection = np.array([[104.0, 21], [102, 116], [101, 161], [99, 201]])[None, None, None]  # (C, F, P=1, J, 2)
    owner = np.array([[[1]]])  # the tracking gave it to ben
    result = reassign_joints(detection, np.ones((1, 1, 1, J)), owner, np.zeros((1, 1, 1), bool), projected, depth,
                             max_distance=0.1)
    got_ana, got_ben = np.isfinite(result.xy[0, 0, 0, :, 0]), np.isfinite(result.xy[1, 0, 0, :, 0])
    assert got_ben.tolist() == [True, False, False, False]  # his head
    assert got_ana.tolist() == [False, True, True, True]  # the hip is near both: the one in front
    assert result.moved == 3 and result.dropped == 3
