"""Several performers in the conventions: session.toml's performers, per-performer paths in the layout,
people.toml, the candidates file, the metrics that judge a take with several performers (PCP, identity
switches), and the synthetic cast's choreography."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap.errors import InputError
from mocap.evaluation.metrics import PCP_LIMBS, pcp
from mocap.evaluation.people import frame_labels, identity_switches
from mocap.io.tomlio import dumps_toml, write_toml
from mocap.keypoints2d.candidates import Candidates2D
from mocap.layout import GroundTruthLayout, OutputLayout
from mocap.people.roster import Performer, Roster, read_roster
from mocap.session import Session


def session_toml(folder, **extra) -> Session:
    data = {"schema_version": 1, "board": "charuco_7x5_a1", "cameras": ["a", "b"], "takes": [{"name": "walk"}]}
    data.update(extra)
    (folder / "session.toml").write_text(dumps_toml(data))
    return Session.load(folder)


def test_performers_in_session_toml(tmp_path):
    s = session_toml(tmp_path, performers=["ana", "ben"],
                     takes=[{"name": "duet"}, {"name": "solo", "performers": ["cleo"]}, {"name": "x", "performers": []}])
    assert s.performers == ("ana", "ben")
    assert s.performers_of("duet") == ("ana", "ben") and s.performers_of("solo") == ("cleo",)
    assert s.performers_of("x") == ()
    assert session_toml(tmp_path).performers == ()
    for bad, match in ((["ana", "ana"], "not unique"), (["../x"], "not a plain name"), ("ana", "list of names")):
        with pytest.raises(InputError, match=match):
            session_toml(tmp_path, performers=bad)


def test_performer_paths():
    take = OutputLayout(Path("/out")).take("duet")
    ana = take.person("ana")
    assert ana.folder.as_posix() == "/out/takes/duet/people/ana"
    assert ana.keypoints2d.name == "keypoints2d.npz" and ana.body_motion.parent == ana.folder
    assert take.export_file("smplx", ".bvh", "ana").as_posix() == "/out/takes/duet/export/duet_ana_smplx.bvh"
    assert take.export_file("smplx", ".fbx").name == "duet_smplx.fbx"
    assert take.candidates2d.name == "candidates2d.npz" and take.people.name == "people.toml"
    with pytest.raises(InputError, match="performer name"):
        take.person("../ben")
    gt = GroundTruthLayout(Path("/s/ground_truth"))
    assert gt.joints("duet", "ana").as_posix() == "/s/ground_truth/duet/ana/joints.npz"
    assert gt.joints("duet").as_posix() == "/s/ground_truth/duet/joints.npz"


def test_roster_round_trip_and_errors(tmp_path):
    roster = Roster("duet", (Performer(0, "ana", 0, 9, 10, "people/ana", {"export": ["a.bvh", "b.fbx"]}),), 10, 30.0,
                    ("a", "b"), 2)
    path = write_toml(tmp_path / "people.toml", roster.to_dict())
    assert read_roster(path) == roster
    path.write_text('take = "duet"\n')
    with pytest.raises(InputError, match="malformed"):
        read_roster(path)
    with pytest.raises(InputError, match="not found"):
        read_roster(tmp_path / "missing.toml")


def test_candidates_round_trip(tmp_path):
    xy = np.full((2, 3, 2, 4, 2), np.nan, np.float32)
    xy[0, 1, 0] = 1.0
    xy[1, :, :] = 2.0
    cand = Candidates2D(xy, np.ones((2, 3, 2, 4), np.float32), "k", tuple("abcd"), ("c0", "c1"),
                        np.arange(3) / 30, 30.0, max_people=2)
    back = Candidates2D.load(cand.save(tmp_path / "c.npz"))
    assert np.array_equal(back.xy, xy, equal_nan=True) and back.max_people == 2 and back.dropped.shape == (2, 3)
    assert back.people_found().tolist() == [[0, 1, 0], [2, 2, 2]]
    assert back.detection_rate().tolist() == pytest.approx([1 / 3, 1.0])
    with pytest.raises(ValueError):
        Candidates2D(xy[0], np.ones((3, 2, 4)), "k", tuple("abcd"), ("c0",), np.arange(3), 30.0)
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(InputError, match="unreadable"):
        Candidates2D.load(tmp_path / "bad.npz")


def test_pcp_known_answers():
    truth = np.zeros((2, 3, 3))
    truth[:, 1, 0] = 1.0  # limb 0-1 of length 1
    truth[:, 2, 0] = 1.5  # limb 1-2 of length 0.5
    limbs = np.array([(0, 1), (1, 2)])
    pred = truth.copy()
    pred[0, 1, 1] = 0.4  # joint 1 off by 0.4: limb 0-1 still right (0.4 <= 0.5), limb 1-2 wrong (0.4 > 0.25)
    pred[1, 0, 1] = 0.6  # joint 0 off by 0.6: limb 0-1 wrong
    assert pcp(pred, truth, limbs) == pytest.approx(2 / 4)
    pred[1] = np.nan  # a missing frame counts as wrong
    assert pcp(pred, truth, limbs) == pytest.approx(1 / 4)
    assert len(PCP_LIMBS) == 10


def test_frame_labels_and_identity_switches():
    a, b = np.zeros((6, 2, 3)), np.zeros((6, 2, 3))
    b[..., 0] = 2.0
    est0, est1 = a.copy(), b.copy()
    est0[3:], est1[3:] = b[3:], a[3:]  # the tracker swaps the two at frame 3
    est1[0] = np.nan  # and misses one frame
    labels = frame_labels([est0, est1], [a, b])
    assert labels.tolist() == [[0, 0, 0, 1, 1, 1], [-1, 1, 1, 0, 0, 0]]
    assert identity_switches(labels) == 2
    assert identity_switches(frame_labels([a, b], [a, b])) == 0


def test_cast_walks_apart():
    """The synthetic performers cross paths without walking through each other (pelvis >= 0.6 m apart)."""
    from mocap.body import lbs
    from mocap.synth.human_take import HumanSessionConfig, cast_motions

    model = lbs.load_model(None)
    cast = cast_motions(model, HumanSessionConfig(people=3, fps=10.0, seconds=2.5))
    pelvis = np.stack([lbs.pose_vertices(model, betas, pose, transl)[1][:, 0] for _, betas, pose, transl in cast])
    gaps = np.linalg.norm(pelvis[:, None, :, :2] - pelvis[None, :, :, :2], axis=-1)
    assert gaps[~np.eye(3, dtype=bool)].min() > 0.6
    assert [c[0] for c in cast] == ["ana", "ben", "cleo"]
    assert gaps[0, 1].min() < 0.8  # ana and ben pass close by
    heights = [lbs.pose_vertices(model, betas, pose[:1], transl[:1])[0][0, :, 2].max() for _, betas, pose, transl in cast]
    assert np.ptp(heights) > 0.3  # distinct shapes


@pytest.mark.slow
def test_tiny_two_person_session(tmp_path):
    """`mocap synth session --people 2 --solo ana` in miniature: the cast in session.toml, truth per performer,
    both bodies in the picture where their truth projects, and ana's solo take."""
    pytest.importorskip("bpy")
    import cv2

    from mocap.body import lbs
    from mocap.evaluation.ground_truth import load_ground_truth
    from mocap.evaluation.people import load_cast_truth
    from mocap.synth.human_render import HumanRenderer, RenderOptions
    from mocap.synth.human_take import HumanSessionConfig, write_human_session

    config = HumanSessionConfig(people=2, solos=("ana",), cameras=2, size=(160, 120), seconds=0.07,
                                calibration_views=(2, 2, 2))
    session = Session.load(write_human_session(tmp_path / "duet", config))
    assert [t.name for t in session.takes] == ["duet", "duet_ana"]
    assert session.performers_of("duet") == ("ana", "ben") and session.performers_of("duet_ana") == ()
    truth = load_cast_truth(session.root, "duet")
    assert list(truth) == ["ana", "ben"] and all(gt.blazepose.shape == (3, 33, 3) for gt in truth.values())
    solo = load_ground_truth(session.root, "duet_ana")
    assert np.allclose(solo.blazepose, truth["ana"].blazepose)
    for video in session.take("duet").videos:
        cap = cv2.VideoCapture(str(video))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
        cap.release()
    model = lbs.load_model(None)
    verts = np.stack([lbs.pose_vertices(model, gt.motion.betas, gt.motion.full_pose()[:1], gt.motion.transl[:1])[0][0]
                      for gt in truth.values()])
    renderer = HumanRenderer(model, solo.rig, RenderOptions(floor=False), shirts=(0, 1))
    try:
        for c, cam in enumerate(solo.rig.cameras):
            mask = cv2.dilate(renderer.render_mask(c, verts).astype(np.uint8), np.ones((3, 3), np.uint8))
            for gt in truth.values():  # each performer's pelvis is on a body (theirs, or the one in front)
                x, y = np.round(cam.project(gt.smplx_joints[0, 0])).astype(int)
                assert mask[y, x]
    finally:
        renderer.close()


def test_counted_people_ignores_a_stray_detection():
    from mocap.keypoints2d.stage import counted_people

    assert counted_people([1, 1, 2, 1, 1, 1, 1, 1]) == 1  # one frame with a second person: a stray
    assert counted_people([1, 2, 2, 1, 1, 1, 1, 1]) == 2
    assert counted_people([0, 0, 0]) == 1 and counted_people([]) == 1
    assert counted_people([3, 3, 2]) == 3


def test_switching_modes_removes_the_other_modes_files(tmp_path):
    from mocap.keypoints2d.stage import clear_other_mode, detection_file

    take = OutputLayout(tmp_path).take("walk")
    take.folder.mkdir(parents=True)
    single = [take.keypoints2d, take.points3d, take.points3d_file("trc"), take.body_motion]
    multi = [take.candidates2d, take.people, take.people_tracks]
    for f in single + multi:
        f.write_text("x")
    assert detection_file(take) == take.candidates2d
    clear_other_mode(take, multi=True)
    assert not any(f.exists() for f in single) and all(f.exists() for f in multi)
    clear_other_mode(take, multi=False)
    assert not any(f.exists() for f in multi) and detection_file(take) == take.keypoints2d


def test_pcp_of_a_body_uses_the_top_of_the_head():
    from blender_samples import sample_motion

    from mocap.evaluation.people import pcp_body, pcp_points

    motion = sample_motion(4, seed=2)
    points, names = pcp_points(motion)
    assert points.shape == (4, 56, 3) and names[-1] == "head_top"
    head, top, neck = points[:, names.index("head")], points[:, -1], points[:, names.index("neck")]
    assert np.all(np.linalg.norm(top - neck, axis=-1) > 1.5 * np.linalg.norm(head - neck, axis=-1))
    assert pcp_body(motion, motion) == 1.0
