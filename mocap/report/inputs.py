"""Everything a take's report reads, loaded once: each stage output that exists, ``None`` where not.

The report never runs a stage; a section is drawn only when its inputs are here.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.body.motion import BodyMotion
from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.evaluation.ground_truth import GroundTruth, has_ground_truth, load_ground_truth
from mocap.io.tomlio import read_toml
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.session import Session
from mocap.sync.clock import TakeSync
from mocap.sync.curves import SyncCurves
from mocap.triangulation.points import Points3D

log = logging.getLogger(__name__)

MAX_FRAMES = 2000
"""A longer take is reported from every k-th frame (at most this many frames, spread evenly over the take): its
time plots, statistics, preview and ground-truth comparisons. Plots cannot show more points than this, and the
statistics barely change, while the report's cost stops growing with the take."""


@dataclass(frozen=True, eq=False)
class TakeInputs:
    """One take's outputs, each ``None`` when the stage that writes it has not run.

    Attributes:
        session: the session.
        take: take name.
        take_dir: ``<output>/takes/<take>/``.
        rig: calibrated cameras (``camera_rig.toml``).
        calibration_quality: ``calibration_quality.toml`` as a dict.
        keypoints: 2D keypoints (``keypoints2d.npz``).
        points: smoothed 3D points (``points3d.npz``).
        points_raw: unsmoothed 3D points (``points3d_raw.npz``).
        body_motion: fitted body (``body_motion.npz``).
        timings: seconds per stage, from the ``.<stage>.stamp.toml`` files.
        created: when the newest output was written (``YYYY-mm-dd HH:MM``).
        ground_truth: known answers of a synthetic session, or ``None``.
        rig_source: ``rig_source.toml`` as a dict when the rig was imported from another calibration file.
        sync: the take's camera clocks (``sync.toml``).
        sync_curves: what the sync methods saw (``sync_curves.npz``).
        performer: the performer these inputs are of (a take with several), else ``None``.
        span: the performer's first and last tracked frame (a take with several), else ``None``.
        performers: a take with several performers: each one's inputs (with ``performer`` set).
        roster: a take with several performers: its ``people.toml``.
        tracks: a take with several performers: ``people_tracks.npz`` (``candidate (N, C, F)``, ...).
        stride: 1, or the step between the frames kept of a long take (`sample_long_take`); the frame
            rates are divided by it, so times stay in seconds.
        take_frames: frames of the whole take when only every ``stride``-th is here, else ``None``.
    """

    session: Session
    take: str
    take_dir: Path
    rig: CameraRig | None = None
    calibration_quality: dict | None = None
    keypoints: Keypoints2D | None = None
    points: Points3D | None = None
    points_raw: Points3D | None = None
    body_motion: object | None = None
    timings: dict[str, float] = field(default_factory=dict)
    created: str = ""
    ground_truth: GroundTruth | None = None
    rig_source: dict | None = None
    sync: TakeSync | None = None
    sync_curves: SyncCurves | None = None
    performer: str | None = None
    span: tuple[int, int] | None = None
    performers: tuple[TakeInputs, ...] = ()
    roster: object | None = None
    tracks: dict | None = None
    stride: int = 1
    take_frames: int | None = None

    @property
    def camera_names(self) -> list[str]:
        if self.keypoints is not None:
            return list(self.keypoints.camera_names)
        return self.rig.names if self.rig is not None else self.session.camera_names

    @property
    def fps(self) -> float | None:
        if self.roster is not None:
            return float(self.roster.fps)
        for src in (self.keypoints, self.points, self.body_motion):
            if src is not None:
                return float(src.fps)
        return None

    @property
    def n_frames(self) -> int | None:
        if self.roster is not None:
            return int(self.roster.frames)
        if self.keypoints is not None:
            return self.keypoints.n_frames
        if self.points is not None:
            return self.points.xyz.shape[0]
        if self.body_motion is not None:
            return self.body_motion.n_frames
        return None

    @property
    def keypoint_set(self) -> str | None:
        if self.keypoints is None and self.performers:
            return self.performers[0].keypoint_set
        return self.keypoints.keypoint_set if self.keypoints is not None else None


def _stamp_seconds(path: Path) -> float | None:
    try:
        value = read_toml(path).get("seconds")
    except InputError:
        return None
    return float(value) if isinstance(value, (int, float)) else None


def stage_timings(session: Session, take: str) -> dict[str, float]:
    """Seconds per stage from the stamps ``mocap run`` writes (calibration's, then the take's)."""
    out = {}
    for folder in (session.layout.calibration.folder, session.layout.take(take).folder):
        out.update(_folder_timings(folder))
    return out


def take_ground_truth(session: Session, take: str, rig_names: list[str] | None = None) -> GroundTruth | None:
    """The take's ground truth, or ``None`` when the session has none; the true rig is left out when its
    cameras differ from the calibrated ones."""
    if not has_ground_truth(session.root):
        return None
    try:
        gt = load_ground_truth(session.root, take)
    except InputError as exc:
        log.warning("ground truth not used: %s", exc)
        return None
    if gt.rig is not None and rig_names is not None and not set(rig_names) <= set(gt.rig.names):
        log.warning("%s: cameras differ from the calibrated rig; calibration not compared", session.ground_truth.rig)
        gt = dataclasses.replace(gt, rig=None)
    return gt


def _newest_output(paths: list[Path]) -> str:
    import time

    times = [p.stat().st_mtime for p in paths if p.is_file()]
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(max(times))) if times else ""


def load_take_inputs(session: Session, take: str) -> TakeInputs:
    """Load every output of ``take`` that exists.

    Raises ``InputError`` for an unknown take, or when the take has no outputs yet (naming the file
    and the command that makes it).
    """
    session.take(take)  # a clear error for an unknown take
    files = session.layout.take(take)
    calib = session.layout.calibration
    if not any(p.is_file() for p in files.results()):
        raise InputError(f"take {take!r} has no outputs yet (no {' / '.join(p.name for p in files.results())})",
                         path=files.results()[0], fix=f"run `mocap run {session.root} --take {take}` first")
    rig = CameraRig.load(calib.rig) if calib.rig.is_file() else None
    quality = read_toml(calib.quality) if calib.quality.is_file() else None
    if files.people.is_file():
        return _people_inputs(session, take, rig, quality)
    truth = take_ground_truth(session, take, rig.names if rig is not None else None)
    source = read_toml(calib.source) if session.rig is not None and calib.source.is_file() else None
    sync = TakeSync.load(files.sync) if files.sync.is_file() else None
    curves = SyncCurves.load(files.sync_curves) if files.sync_curves.is_file() else None
    return TakeInputs(session, take, files.folder, **_stage_outputs(files, rig, quality),
                      timings=stage_timings(session, take), created=_newest_output(files.results()), ground_truth=truth,
                      rig_source=source, sync=sync, sync_curves=curves)


def _stage_outputs(files, rig, quality) -> dict:
    """The keypoints, points and body of one take folder (or performer folder) that exist."""
    return {"rig": rig, "calibration_quality": quality,
            "keypoints": Keypoints2D.load(files.keypoints2d) if files.keypoints2d.is_file() else None,
            "points": Points3D.load(files.points3d) if files.points3d.is_file() else None,
            "points_raw": Points3D.load(files.points3d_raw) if files.points3d_raw.is_file() else None,
            "body_motion": BodyMotion.load(files.body_motion) if files.body_motion.is_file() else None}


def _people_inputs(session: Session, take: str, rig, quality) -> TakeInputs:
    """A take with several performers: the take's roster and tracks, and each performer's own inputs (with the
    true performer it matches as its ground truth, in a synthetic session)."""
    from mocap.people.roster import read_roster
    from mocap.people.stage import load_tracks

    files = session.layout.take(take)
    roster = read_roster(files.people)
    tracks = load_tracks(files.people_tracks) if files.people_tracks.is_file() else None
    truths = _cast_truth(session, take, rig)
    performers = []
    for p in roster.people:
        own = files.person(p.name)
        performers.append(TakeInputs(session, take, own.folder, **_stage_outputs(own, rig, quality),
                                     timings=_folder_timings(own.folder),
                                     created=_newest_output(own.results()), ground_truth=truths.get(p.name),
                                     performer=p.name, span=(p.first_frame, p.last_frame)))
    timings = stage_timings(session, take)
    for inp in performers:  # the take's time per stage includes every performer's
        for stage, seconds in inp.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    return TakeInputs(session, take, files.folder, rig, quality, timings=timings,
                      created=_newest_output(files.results() + [f for i in performers for f in i.take_dir.glob("*")]),
                      ground_truth=take_ground_truth(session, take, rig.names if rig is not None else None),
                      performers=tuple(performers), roster=roster, tracks=tracks)


def _folder_timings(folder: Path) -> dict[str, float]:
    out = {}
    for stamp in sorted(folder.glob(".*.stamp.toml")):
        seconds = _stamp_seconds(stamp)
        if seconds is not None:
            out[stamp.name[1:].split(".")[0]] = seconds
    return out


def _cast_truth(session: Session, take: str, rig) -> dict[str, GroundTruth]:
    """``{tracked performer: the true performer's GroundTruth}`` of a synthetic session's take (empty without)."""
    if not session.ground_truth.performers(take).is_file():
        return {}
    from mocap.evaluation.people import cast_matches, load_cast_truth

    try:
        truth = load_cast_truth(session.root, take)
        matches = cast_matches(session.root, take, session.output_dir, truth)
    except (InputError, OSError, ValueError) as exc:
        log.warning("ground truth of the performers not used: %s", exc)
        return {}
    # the calibration is compared once, for the take
    return {mine: dataclasses.replace(truth[theirs], rig=None) for mine, theirs in matches.items() if theirs}


def sample_long_take(inputs: TakeInputs, max_frames: int | None = None) -> TakeInputs:
    """``inputs`` with every k-th frame only, ``k`` the smallest step leaving at most ``max_frames`` frames
    (default `MAX_FRAMES`; ``inputs`` itself for shorter takes). Frame rates become ``fps / k``, so times stay
    in seconds."""
    max_frames = MAX_FRAMES if max_frames is None else max_frames
    n = inputs.n_frames
    stride = int(np.ceil(n / max_frames)) if n and max_frames and n > max_frames else 1
    if stride == 1:
        return inputs
    s = slice(None, None, stride)
    kp, pts, raw, body, gt = inputs.keypoints, inputs.points, inputs.points_raw, inputs.body_motion, inputs.ground_truth
    if kp is not None:
        kp = dataclasses.replace(kp, xy=kp.xy[:, s], conf=kp.conf[:, s], timestamps=kp.timestamps[s],
                                 fps=kp.fps / stride, frame_counts=-(-kp.frame_counts // stride),
                                 camera_fps=kp.camera_fps / stride)
    pts, raw = (_every_points(p, s, stride) if p is not None else None for p in (pts, raw))
    if body is not None:
        body = dataclasses.replace(body.slice(s), fps=body.fps / stride)
    if gt is not None:
        gt = dataclasses.replace(gt, motion=dataclasses.replace(gt.motion.slice(s), fps=gt.motion.fps / stride)
                                 if gt.motion is not None else None,
                                 point_sets={k: (xyz[s], names) for k, (xyz, names) in gt.point_sets.items()},
                                 timestamps=gt.timestamps[s], fps=gt.fps / stride)
    log.info("take %s: %d frames, reported from one frame in %d", inputs.take, n, stride)
    performers = tuple(sample_long_take(dataclasses.replace(p, roster=None), max_frames) for p in inputs.performers)
    return dataclasses.replace(inputs, keypoints=kp, points=pts, points_raw=raw, body_motion=body, ground_truth=gt,
                               stride=stride, take_frames=n, performers=performers)


def _every_points(p: Points3D, s: slice, stride: int) -> Points3D:
    swaps = p.swaps[:, s] if p.swaps.ndim == 2 and p.swaps.shape[1] == len(p.xyz) else p.swaps
    return dataclasses.replace(p, xyz=p.xyz[s], reprojection_error=p.reprojection_error[s], n_views=p.n_views[s],
                               fps=p.fps / stride, swaps=swaps,
                               timestamps=p.timestamps[s] if p.timestamps is not None else None)
