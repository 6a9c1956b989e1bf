"""Known answers for cross-view association: synthetic walkers projected into 4 virtual cameras.

Every group must hold one true person only; every person seen by two or more cameras must be one
group with all the cameras that detected it; a person seen by one camera stays alone. The same
thresholds (metres) must work at 640x480 and 1080x1920.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from mocap.errors import MocapError
from mocap.people.association import AssociationConfig, associate, triangulate_rays
from mocap.synth import walkers as syn

N_FRAMES = 60
CONFIG = AssociationConfig()
MIRROR = {"mirror": syn.MIRROR}


def three_walkers(n_frames: int = N_FRAMES) -> np.ndarray:
    """Three people of different heights, at least 0.8 m apart: ``(3, F, 33, 3)``."""
    paths = [syn.line_path((-1.5, 1.0), (1.5, 1.0), n_frames), syn.line_path((1.5, -0.8), (-1.0, -0.8), n_frames),
             syn.circle_path((0.2, 0.1), 0.5, n_frames, 0.4)]
    return np.stack([syn.walker(p, h) for p, h in zip(paths, (1.62, 1.78, 1.92))])


def group_people(groups, person_f: np.ndarray) -> list[set[int]]:
    """The true people in each group; ``person_f (C, P)`` truth of one frame."""
    return [{int(person_f[c, s]) for c, s in enumerate(m) if s >= 0} for m in groups.members]


def check_frame(groups, person_f: np.ndarray) -> None:
    """Groups pure; each person with >= 2 detections is exactly one group with all its cameras."""
    truth = group_people(groups, person_f)
    assert all(len(t) == 1 for t in truth), truth
    n_people = int(person_f.max()) + 1 if (person_f >= 0).any() else 0
    for i in range(n_people):
        cams = set(np.flatnonzero((person_f == i).any(-1)).tolist())
        mine = [g for g, t in enumerate(truth) if t == {i}]
        if len(cams) >= 2:
            assert len(mine) == 1, f"person {i} split into {len(mine)} groups"
            assert set(np.flatnonzero(groups.members[mine[0]] >= 0).tolist()) == cams
        else:
            assert all(groups.n_views[g] == 1 for g in mine)


@pytest.mark.parametrize("size", [(640, 480), (1080, 1920)])
def test_three_people_four_cameras(size):
    rig = syn.ring_rig(4, size)
    obs = syn.observe(rig, three_walkers(), noise_px=2.0, miss_rate=0.1, joint_drop_rate=0.05, seed=3)
    for f in range(N_FRAMES):
        groups = associate(rig, obs.xy[:, f], obs.conf[:, f], CONFIG, **MIRROR)
        check_frame(groups, obs.person[:, f])
        multi = groups.n_views >= 2
        assert np.all(groups.error[multi] < 0.05)  # metres: 2 px of noise is about 1 cm here
        assert np.all(np.isnan(groups.error[~multi]))


def test_two_people_two_cameras_and_eight_cameras():
    people = three_walkers()[:2]
    for n_cams in (2, 8):
        rig = syn.ring_rig(n_cams, (1280, 720))
        obs = syn.observe(rig, people, noise_px=1.5, seed=n_cams)
        for f in range(0, N_FRAMES, 3):
            check_frame(associate(rig, obs.xy[:, f], obs.conf[:, f], CONFIG, **MIRROR), obs.person[:, f])


def test_person_seen_by_one_camera_stays_alone():
    rig = syn.ring_rig(4)
    people = three_walkers()
    visible = np.ones((3, 4, N_FRAMES), bool)
    visible[2, 1:] = False  # person 2 only in camera 0
    obs = syn.observe(rig, people, noise_px=2.0, visible=visible, seed=5)
    for f in range(N_FRAMES):
        groups = associate(rig, obs.xy[:, f], obs.conf[:, f], CONFIG, **MIRROR)
        check_frame(groups, obs.person[:, f])
        alone = [g for g, t in enumerate(group_people(groups, obs.person[:, f])) if t == {2}]
        assert len(alone) == int((obs.person[0, f] == 2).any())  # unless occluded in camera 0
        assert all(groups.n_views[g] == 1 for g in alone)
    assert (obs.person[0] == 2).any(-1).mean() > 0.5


def test_shuffled_candidates_give_the_same_groups():
    rig = syn.ring_rig(4)
    obs = syn.observe(rig, three_walkers(), noise_px=2.0, seed=7)
    rng = np.random.default_rng(0)
    for f in range(0, N_FRAMES, 5):
        xy, conf, person = obs.xy[:, f].copy(), obs.conf[:, f].copy(), obs.person[:, f].copy()
        base = {frozenset(t) for t, n in zip(group_people(associate(rig, xy, conf, CONFIG, **MIRROR), person),
                                              associate(rig, xy, conf, CONFIG, **MIRROR).n_views) if n >= 2}
        for c in range(4):
            perm = rng.permutation(xy.shape[1])
            xy[c], conf[c], person[c] = xy[c, perm], conf[c, perm], person[c, perm]
        groups = associate(rig, xy, conf, CONFIG, **MIRROR)
        check_frame(groups, person)
        assert {frozenset(t) for t, n in zip(group_people(groups, person), groups.n_views) if n >= 2} == base


@pytest.mark.parametrize("camera", [0, 1, 3])
def test_left_right_swapped_candidate_is_matched_and_flagged(camera):
    rig = syn.ring_rig(4)
    obs = syn.observe(rig, three_walkers(), noise_px=2.0, seed=9)
    f = 10
    xy, conf = obs.xy[:, f].copy(), obs.conf[:, f].copy()
    slot = int(np.flatnonzero(obs.person[camera, f] == 0)[0])
    xy[camera, slot] = xy[camera, slot][list(syn.MIRROR)]  # this camera labels person 0 mirror-wise
    groups = associate(rig, xy, conf, CONFIG, **MIRROR)
    check_frame(groups, obs.person[:, f])
    g = [k for k, t in enumerate(group_people(groups, obs.person[:, f])) if t == {0}][0]
    assert groups.swapped[g].tolist() == [c == camera for c in range(4)]
    assert not groups.swapped[[k for k in range(groups.n_groups) if k != g]].any()


def test_empty_and_one_camera_frames():
    rig = syn.ring_rig(3)
    empty = associate(rig, np.full((3, 2, 33, 2), np.nan), np.zeros((3, 2, 33)))
    assert empty.n_groups == 0 and empty.members.shape == (0, 3)
    obs = syn.observe(rig, three_walkers()[:2], seed=1)
    xy, conf = obs.xy[:, 0].copy(), obs.conf[:, 0].copy()
    xy[1:] = np.nan
    groups = associate(rig, xy, conf)
    assert groups.n_groups == (obs.person[0, 0] >= 0).sum() and (groups.n_views == 1).all()


def test_bad_shapes_raise():
    rig = syn.ring_rig(4)
    with pytest.raises(MocapError, match="C = 4 cameras"):
        associate(rig, np.zeros((3, 2, 33, 2)), np.zeros((3, 2, 33)))
    with pytest.raises(MocapError, match="mirror"):
        associate(rig, np.full((4, 1, 33, 2), np.nan), np.zeros((4, 1, 33)), mirror=(0, 1))


def test_triangulate_rays_recovers_points():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 3))
    origin = rng.normal(size=(4, 3)) * 5
    d = X[None] - origin[:, None]
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    w = np.ones((4, 5))
    w[1:, 4] = 0  # joint 4: one ray only
    out = triangulate_rays(origin, d, w)
    assert np.allclose(out[:4], X[:4], atol=1e-9) and np.isnan(out[4]).all()


def test_association_speed_three_people_four_cameras():
    rig = syn.ring_rig(4, (1080, 1920))
    obs = syn.observe(rig, three_walkers(), noise_px=2.0, seed=2)
    associate(rig, obs.xy[:, 0], obs.conf[:, 0], CONFIG, **MIRROR)  # imports
    times = []
    for f in range(N_FRAMES):
        t0 = time.thread_time()
        associate(rig, obs.xy[:, f], obs.conf[:, f], CONFIG, **MIRROR)
        times.append(time.thread_time() - t0)
    # CPU time of this thread (others sharing the core do not count); the goal, 5 ms with tracking: bench/multiperson.py
    assert np.median(times) < 0.015
