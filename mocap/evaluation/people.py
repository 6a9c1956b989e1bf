"""Several performers against the ground truth of a synthetic session (``mocap synth session --people N``):
who is who, identity switches, and each performer's errors (MPJPE, PCP).

``evaluate_people(session, take)`` reads the take's ``people.toml`` and each performer's outputs, matches every
tracked performer with a true one by 3D distance, frame by frame, and compares them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.evaluation.ground_truth import GroundTruth, _match, _point_sets, _read_arrays
from mocap.evaluation.metrics import PCP_LIMBS, PointErrors, evaluate_points, pcp
from mocap.io.tomlio import read_toml
from mocap.layout import GroundTruthLayout, OutputLayout

#: A tracked performer is "the same" as a true one in a frame when their common joints are this close (mean, m).
MATCH_DISTANCE = 0.5


def load_cast_truth(session_dir: str | Path, take: str) -> dict[str, GroundTruth]:
    """The true performers of a take with several: ``{name: GroundTruth}`` in ``performers.toml`` order."""
    files = GroundTruthLayout(Path(session_dir) / "ground_truth")
    names = read_toml(files.performers(take), what="true performers file",
                      fix="only sessions made by `mocap synth session --people N` have them").get("names", [])
    truth = {}
    for name in names:
        truth[name] = _performer_truth(files, take, name)
    return truth


def _performer_truth(files: GroundTruthLayout, take: str, name: str) -> GroundTruth:
    from mocap.body.motion import BodyMotion
    from mocap.camera import CameraRig

    joints = files.joints(take, name)
    arrays = _read_arrays(joints)
    return GroundTruth(rig=CameraRig.load(files.rig) if files.rig.is_file() else None,
                       motion=BodyMotion.load(files.body_motion(take, name)),
                       point_sets=_point_sets(arrays, joints), fps=float(arrays.get("fps", np.nan)),
                       timestamps=np.asarray(arrays.get("timestamps", np.zeros(0)), float))


def frame_labels(estimated: list[np.ndarray], truth: list[np.ndarray], max_distance: float = MATCH_DISTANCE
                 ) -> np.ndarray:
    """``(N, F)`` the true performer each tracked one is in each frame (-1: none within ``max_distance``).

    ``estimated``: ``N`` arrays ``(F, J, 3)``; ``truth``: ``M`` arrays ``(F, J, 3)`` of the same joints. Per frame,
    tracked and true performers are paired by the Hungarian assignment on their mean joint distance."""
    from scipy.optimize import linear_sum_assignment

    n_frames = min([len(x) for x in estimated + truth])
    labels = np.full((len(estimated), n_frames), -1)
    est = np.stack([x[:n_frames] for x in estimated])  # (N, F, J, 3)
    tru = np.stack([x[:n_frames] for x in truth])  # (M, F, J, 3)
    d = np.linalg.norm(est[:, None] - tru[None], axis=-1)  # (N, M, F, J)
    n = np.isfinite(d).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.where(n > 0, np.nansum(d, axis=-1) / n, np.nan)  # (N, M, F) mean over common joints
    for f in range(n_frames):
        d = np.where(np.isfinite(dist[:, :, f]), dist[:, :, f], 1e6)
        rows, cols = linear_sum_assignment(d)
        ok = d[rows, cols] <= max_distance
        labels[rows[ok], f] = cols[ok]
    return labels


def identity_switches(labels: np.ndarray) -> int:
    """Times a true performer's tracked identity changes from one frame where it is tracked to the next
    (``labels``: :func:`frame_labels`)."""
    switches = 0
    for person in range(int(labels.max()) + 1 if labels.size else 0):
        seq = [int(np.flatnonzero(labels[:, f] == person)[0]) for f in range(labels.shape[1])
               if (labels[:, f] == person).any()]
        switches += sum(a != b for a, b in zip(seq, seq[1:]))
    return switches


@dataclass(frozen=True, eq=False)
class PerformerEvaluation:
    """One tracked performer against the true performer it is (most frames).

    Attributes:
        name: the tracked performer (people.toml).
        truth: the true performer's name (None: matched nobody).
        frames_matched: frames in which it is that true performer.
        points3d: triangulated landmarks vs the true BlazePose-comparable landmarks.
        body_joints: the fitted body's 22 SMPL-X skeleton joints vs the true ones.
        pcp_body: PCP of the fitted body (:data:`PCP_LIMBS`, half the limb length).
        pcp_points: PCP of the triangulated landmarks (upper and lower arms and legs).
    """

    name: str
    truth: str | None
    frames_matched: int
    points3d: PointErrors | None = None
    body_joints: PointErrors | None = None
    pcp_body: float = float("nan")
    pcp_points: float = float("nan")


@dataclass(frozen=True, eq=False)
class PeopleEvaluation:
    """A take with several performers against its truth.

    Attributes:
        performers: one entry per tracked performer, people.toml order.
        labels: ``(N, F)`` the true performer (index into ``true_names``) each tracked one is per frame.
        true_names: the true performers.
        identity_switches: see :func:`identity_switches`.
        missed: true performers no tracked one ever matched.
    """

    performers: tuple[PerformerEvaluation, ...]
    labels: np.ndarray
    true_names: tuple[str, ...]
    identity_switches: int
    missed: tuple[str, ...]


BLAZEPOSE_LIMBS = (("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
                   ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
                   ("right_hip", "right_knee"), ("right_knee", "right_ankle"))
"""Limbs of the triangulated BlazePose landmarks for PCP."""


def pcp_points(motion) -> tuple[np.ndarray, tuple[str, ...]]:
    """A body motion's points for PCP: ``(F, 56, 3)`` the 55 SMPL-X skeleton joints and ``head_top``, the top of
    the head (the body surface vertex highest above the head joint in the rest pose, posed), and the names.
    Needs the open body model (the one synthetic sessions and their fits use)."""
    from mocap.body import lbs
    from mocap.body.skeleton import JOINT_NAMES

    model = lbs.load_model(None)
    weights, rest = np.asarray(model["weights"]), np.asarray(model["v_template"])
    head = np.flatnonzero(weights[:, JOINT_NAMES.index("head")] > 0.5)
    top = head[np.argmax(rest[head, 1])]  # model frame: Y up
    verts, joints = lbs.pose_vertices(model, motion.betas, motion.full_pose(), motion.transl)
    return np.concatenate([joints, verts[:, top][:, None]], axis=1), (*JOINT_NAMES, "head_top")


def pcp_body(fitted, truth) -> float:
    """PCP (:data:`PCP_LIMBS`, half the limb length) of a fitted body motion against the true one."""
    pred, names = pcp_points(fitted)
    true, _ = pcp_points(truth)
    n = min(len(pred), len(true))
    return pcp(pred[:n], true[:n], _limbs(names, PCP_LIMBS))


def _limbs(names, limbs) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    return np.array([(index[a], index[b]) for a, b in limbs if a in index and b in index], int).reshape(-1, 2)


def _tracked_points(files, roster, names) -> list[np.ndarray]:
    """Each tracked performer's raw triangulated points ``(F, J, 3)`` in the order of ``names`` (NaN where a
    joint is not in their keypoint set)."""
    from mocap.triangulation.points import Points3D

    out = []
    for p in roster.people:
        own = files.person(p.name)
        path = own.points3d_raw if own.points3d_raw.is_file() else own.points3d
        if not path.is_file():
            raise InputError(f"performer {p.name!r} has no 3D points yet", path=path, fix="run `mocap run` first")
        pts = Points3D.load(path)
        mine, theirs = _match(pts.joint_names, names)
        full = np.full((pts.xyz.shape[0], len(names), 3), np.nan)
        full[:, theirs] = pts.xyz[:, mine]
        out.append(full)
    return out


def cast_matches(session_dir: str | Path, take: str, outputs_dir: str | Path | None = None,
                 truth: dict[str, GroundTruth] | None = None) -> dict[str, str | None]:
    """``{tracked performer: the true performer it is in most frames (None: nobody)}``."""
    labels, roster, true_names, _ = _labels(session_dir, take, outputs_dir, truth)
    out = {}
    for k, p in enumerate(roster.people):
        counts = np.bincount(labels[k][labels[k] >= 0], minlength=len(true_names))
        out[p.name] = true_names[int(np.argmax(counts))] if counts.any() else None
    return out


def _labels(session_dir, take, outputs_dir, truth):
    """``(labels (N, F), roster, true names, the take's files)`` (see :func:`frame_labels`)."""
    from mocap.people.roster import read_roster
    from mocap.session import Session

    truth = truth if truth is not None else load_cast_truth(session_dir, take)
    out = OutputLayout(Path(outputs_dir) if outputs_dir is not None else Session.load(session_dir).output_dir)
    files = out.take(take)
    if not files.people.is_file():
        raise InputError("the take has no people.toml", path=files.people, fix="run `mocap run` on the session first")
    roster = read_roster(files.people)
    true_names = tuple(truth)
    names = truth[true_names[0]].blazepose_names
    labels = frame_labels(_tracked_points(files, roster, names), [truth[n].blazepose for n in true_names])
    return labels, roster, true_names, files


def evaluate_people(session_dir: str | Path, take: str, outputs_dir: str | Path | None = None) -> PeopleEvaluation:
    """Compare every tracked performer of ``take`` with the true performers (see the module docstring)."""
    from mocap.body.motion import BodyMotion
    from mocap.triangulation.points import Points3D

    truth = load_cast_truth(session_dir, take)
    labels, roster, true_names, files = _labels(session_dir, take, outputs_dir, truth)
    names = truth[true_names[0]].blazepose_names
    results = []
    for k, p in enumerate(roster.people):
        counts = np.bincount(labels[k][labels[k] >= 0], minlength=len(true_names))
        if not counts.any():
            results.append(PerformerEvaluation(p.name, None, 0))
            continue
        t = int(np.argmax(counts))
        gt = truth[true_names[t]]
        kw = {}
        smooth = files.person(p.name).points3d
        if smooth.is_file():
            pts = Points3D.load(smooth)
            mine, theirs = _match(pts.joint_names, names)
            F = min(len(pts.xyz), gt.n_frames)
            kw["points3d"] = evaluate_points(pts.xyz[:F][:, mine], gt.blazepose[:F][:, theirs])
            sub = [names[i] for i in theirs]
            kw["pcp_points"] = pcp(pts.xyz[:F][:, mine], gt.blazepose[:F][:, theirs], _limbs(sub, BLAZEPOSE_LIMBS))
        body = files.person(p.name).body_motion
        if body.is_file():
            fitted = BodyMotion.load(body)
            F = min(fitted.n_frames, gt.motion.n_frames)
            pred, true = fitted.joint_positions()[:F], gt.motion.joint_positions()[:F]
            kw["body_joints"] = evaluate_points(pred[:, :22], true[:, :22])
            kw["pcp_body"] = pcp_body(fitted, gt.motion)
        results.append(PerformerEvaluation(p.name, true_names[t], int(counts[t]), **kw))
    matched = {r.truth for r in results}
    return PeopleEvaluation(tuple(results), labels, true_names, identity_switches(labels),
                            tuple(n for n in true_names if n not in matched))
