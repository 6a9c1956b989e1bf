"""``mocap people``: who is who in a take with several performers.

Reads ``candidates2d.npz`` (every person each camera found, :class:`mocap.keypoints2d.candidates.Candidates2D`)
and the calibrated rig; associates the candidates across cameras and tracks identities over the take
(:func:`mocap.people.tracking.track_people`); writes, per performer, ``people/<name>/keypoints2d.npz`` (the
single-person 2D keypoints the later stages take, left/right swaps undone), ``people_tracks.npz`` (which
candidate each camera gives each performer in each frame, their 3D centres) and, last, ``people.toml``
(:mod:`mocap.people.roster`).

Names: session.toml's ``performers`` (the take's own, else the session's) in order of first appearance
(ids), else ``person<id>``.
``max_people`` (``[detection] max_people``, else the number of performers, else the number the detection
counted) caps the people kept: extra tracks are merged into people who never overlap in time, or dropped
(the least seen first), and counted as unassigned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.keypoints2d.candidates import Candidates2D
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.keypoints2d.sets import registered_set
from mocap.layout import TakeLayout
from mocap.people.association import mirror_permutation
from mocap.people.roster import Performer, Roster
from mocap.people.tracking import PeopleTracks, TrackingConfig, track_people
from mocap.session import Session

log = logging.getLogger(__name__)

#: The joints whose bone lengths tell performers apart (SMPL-X names of the keypoint set's ``canonical``).
SIGNATURE_JOINTS = frozenset(f"{side}_{j}" for side in ("left", "right")
                             for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"))

PerformerFiles = Callable[[TakeLayout, str], dict[str, Path | list[Path]]]
"""``(take files, performer name) -> {role: path or paths}``: the later stages' files of a performer,
listed in ``people.toml``."""


@dataclass(frozen=True, eq=False)
class PeopleResult:
    """What the people stage found and wrote.

    Attributes:
        roster: the performers (as written to ``people.toml``).
        tracks: the identities over the take.
        keypoints: one ``Keypoints2D`` per performer, in roster order.
        files: ``people.toml``, ``people_tracks.npz`` and each performer's ``keypoints2d.npz``.
    """

    roster: Roster
    tracks: PeopleTracks
    keypoints: tuple[Keypoints2D, ...]
    files: tuple[Path, ...]


def signature_bones(joint_names, keypoint_set: str | None) -> np.ndarray:
    """``(B, 2)`` the keypoint set's limb edges between :data:`SIGNATURE_JOINTS` (empty if the set is unknown)."""
    ks = registered_set(joint_names, keypoint_set)
    if ks is None:
        return np.zeros((0, 2), int)
    body = [ks.canonical.get(n) in SIGNATURE_JOINTS for n in ks.joint_names]
    return np.array([(a, b) for a, b in ks.edges if body[a] and body[b]], int).reshape(-1, 2)


def performer_names(n: int, performers=()) -> list[str]:
    """``n`` names: session.toml's performers first, then ``person<id>`` (never a name already taken)."""
    names = list(performers)[:n]
    k = len(names)
    while len(names) < n:
        if f"person{k}" not in names and f"person{k}" not in performers:
            names.append(f"person{k}")
        k += 1
    return names


def person_keypoints(candidates: Candidates2D, tracks: PeopleTracks, person: int,
                     mirror: tuple[int, ...] | None) -> Keypoints2D:
    """One tracked person's 2D keypoints (left/right swaps undone) as a single-person ``Keypoints2D``."""
    xy, conf = tracks.keypoints(candidates.xy, candidates.conf, person, mirror=mirror)
    return Keypoints2D(xy.astype(np.float32), conf.astype(np.float32), candidates.keypoint_set,
                       candidates.joint_names, candidates.camera_names, candidates.timestamps, candidates.fps)


def split_detections(rig: CameraRig, candidates: Candidates2D, tracks: PeopleTracks, keypoints: list[Keypoints2D],
                     mirror: tuple[int, ...], config: TrackingConfig) -> list[Keypoints2D]:
    """The performers' keypoints with every detected joint given to the performer it fits
    (:func:`mocap.people.ownership.reassign_joints`; their 3D from the keypoints the tracking gave them)."""
    import dataclasses

    from mocap.people.ownership import project_people, reassign_joints
    from mocap.triangulation.stage import triangulate

    rig = rig.subset(candidates.camera_names)
    points = np.stack([triangulate(rig, kp).xyz for kp in keypoints])  # (N, F, J, 3)
    n_cams, n_frames, n_slots = candidates.xy.shape[:3]
    owner = np.full((n_cams, n_frames, n_slots), -1)
    swapped = np.zeros((n_cams, n_frames, n_slots), bool)
    for n in range(tracks.n_people):
        c, f = np.nonzero(tracks.candidate[n] >= 0)
        owner[c, f, tracks.candidate[n][c, f]] = n
        swapped[c, f, tracks.candidate[n][c, f]] = tracks.swapped[n][c, f]
    result = reassign_joints(candidates.xy, candidates.conf, owner, swapped, *project_people(rig, points), mirror,
                             max_distance=config.joint_distance, min_conf=config.association.min_conf)
    log.info("joints given to the performer they fit: %d moved between performers, %d taken away", result.moved,
             result.dropped)
    return [dataclasses.replace(kp, xy=result.xy[n].astype(np.float32), conf=result.conf[n].astype(np.float32))
            for n, kp in enumerate(keypoints)]


def identify_people(rig: CameraRig, candidates: Candidates2D, config: TrackingConfig = TrackingConfig(), *,
                    max_people: int | None = None) -> tuple[PeopleTracks, tuple[int, ...]]:
    """Array-level API of the stage: track the candidates' people over the take.

    Returns the tracks and the keypoint set's left/right permutation (used to undo swaps)."""
    rig = rig.subset(candidates.camera_names)
    mirror = mirror_permutation(candidates.joint_names)
    bones = signature_bones(candidates.joint_names, candidates.keypoint_set)
    tracks = track_people(rig, candidates.xy, candidates.conf, candidates.fps, config, bones=bones,
                          mirror=mirror, max_people=max_people or None)
    return tracks, mirror


def people_take(session: Session | str | Path, take: str, config: TrackingConfig = TrackingConfig(), *,
                max_people: int | None = None, performer_files: PerformerFiles | None = None) -> PeopleResult:
    """Identify the performers of one take; writes ``people/<name>/keypoints2d.npz``, ``people_tracks.npz``
    and ``people.toml`` (see the module docstring).

    Args:
        session: the session (or its folder).
        take: the take's name.
        config: association and tracking settings.
        max_people: most performers to keep; None or 0: the take's performers, else what the detection
            was asked for or counted (``candidates2d.npz``), else everyone found.
        performer_files: the later stages' files of a performer, to list in ``people.toml``.

    Raises:
        InputError: not calibrated, no candidates (run detection with several performers), or nobody seen
            by two cameras at once.
    """
    from mocap.io.atomic import write_npz
    from mocap.io.tomlio import write_toml

    if not isinstance(session, Session):
        session = Session.load(session)
    session.take(take)  # a clear error for an unknown take
    files = session.layout.take(take)
    rig_path = session.layout.calibration.rig
    if not rig_path.is_file():
        raise InputError("the session is not calibrated yet", path=rig_path,
                         fix=f"run `mocap calibrate {session.root}` first")
    if not files.candidates2d.is_file():
        raise InputError("no multi-person 2D detections for this take", path=files.candidates2d,
                         fix=f"run `mocap detect {session.root} --take {take} --max-people N` (N performers), or "
                             "list the performers in session.toml (performers = [...])")
    candidates = Candidates2D.load(files.candidates2d)
    cast = session.performers_of(take)
    max_people = max_people or len(cast) or candidates.max_people or None
    tracks, mirror = identify_people(CameraRig.load(rig_path), candidates, config, max_people=max_people)
    if tracks.n_people == 0:
        raise InputError(f"take {take!r}: nobody was seen by two or more cameras at once", path=files.candidates2d,
                         fix="check the detections (mocap overlay) and that the cameras see the same volume")
    names = performer_names(tracks.n_people, cast)
    keypoints = [person_keypoints(candidates, tracks, n, mirror) for n in range(tracks.n_people)]
    if config.reassign_joints and len(keypoints) > 1:
        keypoints = split_detections(CameraRig.load(rig_path), candidates, tracks, keypoints, mirror, config)
    people, written = [], []
    for n, (name, kp) in enumerate(zip(names, keypoints)):
        person_files = files.person(name)
        written.append(kp.save(person_files.keypoints2d))
        listed = {"keypoints2d": person_files.keypoints2d, **(performer_files(files, name) if performer_files else {})}
        people.append(Performer(n, name, int(tracks.first_frame[n]), int(tracks.last_frame[n]),
                                int(tracks.frames_seen[n]), _relative(person_files.folder, files.folder),
                                {k: _relative(v, files.folder) for k, v in listed.items()}))
    written.append(write_npz(files.people_tracks, candidate=tracks.candidate.astype(np.int16),
                             swapped=tracks.swapped, center=tracks.center.astype(np.float32),
                             n_unassigned=tracks.n_unassigned.astype(np.int32), names=np.array(names),
                             camera_names=np.array(tracks.camera_names), fps=np.array(tracks.fps)))
    roster = Roster(take, tuple(people), candidates.n_frames, candidates.fps, candidates.camera_names,
                    int(max_people or 0))
    written.append(write_toml(files.people, roster.to_dict()))
    unassigned = int(tracks.n_unassigned.sum())
    log.info("%s: %d performers (%s)%s", take, len(names), ", ".join(names),
             f"; {unassigned} groups in {int((tracks.n_unassigned > 0).sum())} frames given to nobody"
             if unassigned else "")
    return PeopleResult(roster, tracks, tuple(keypoints), tuple(written))


def _relative(path, folder: Path):
    if isinstance(path, (list, tuple)):
        return [_relative(p, folder) for p in path]
    return Path(path).relative_to(folder).as_posix()


def load_tracks(path: str | Path) -> dict[str, np.ndarray]:
    """``people_tracks.npz`` as arrays: ``candidate (N, C, F)``, ``swapped``, ``center (N, F, 3)``,
    ``n_unassigned (F,)``, ``names (N,)``, ``camera_names (C,)``, ``fps``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"people tracks are unreadable ({exc})", path=path,
                         fix="run the people stage again") from exc
