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
    stride: int = 1
    take_frames: int | None = None

    @property
    def camera_names(self) -> list[str]:
        if self.keypoints is not None:
            return list(self.keypoints.camera_names)
        return self.rig.names if self.rig is not None else self.session.camera_names

    @property
    def fps(self) -> float | None:
        for src in (self.keypoints, self.points, self.body_motion):
            if src is not None:
                return float(src.fps)
        return None

    @property
    def n_frames(self) -> int | None:
        if self.keypoints is not None:
            return self.keypoints.n_frames
        if self.points is not None:
            return self.points.xyz.shape[0]
        if self.body_motion is not None:
            return self.body_motion.n_frames
        return None

    @property
    def keypoint_set(self) -> str | None:
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
    stamps = [p for folder in (session.layout.calibration.folder, session.layout.take(take).folder)
              for p in sorted(folder.glob(".*.stamp.toml"))]
    for stamp in stamps:
        seconds = _stamp_seconds(stamp)
        if seconds is not None:
            out[stamp.name[1:].split(".")[0]] = seconds
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
    keypoints = Keypoints2D.load(files.keypoints2d) if files.keypoints2d.is_file() else None
    points = Points3D.load(files.points3d) if files.points3d.is_file() else None
    raw = Points3D.load(files.points3d_raw) if files.points3d_raw.is_file() else None
    body = BodyMotion.load(files.body_motion) if files.body_motion.is_file() else None
    truth = take_ground_truth(session, take, rig.names if rig is not None else None)
    return TakeInputs(session, take, files.folder, rig, quality, keypoints, points, raw, body,
                      stage_timings(session, take), _newest_output(files.results()), truth)


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
                                 fps=kp.fps / stride)
    pts, raw = (_every_points(p, s, stride) if p is not None else None for p in (pts, raw))
    if body is not None:
        body = dataclasses.replace(body.slice(s), fps=body.fps / stride)
    if gt is not None:
        gt = dataclasses.replace(gt, motion=dataclasses.replace(gt.motion.slice(s), fps=gt.motion.fps / stride)
                                 if gt.motion is not None else None,
                                 point_sets={k: (xyz[s], names) for k, (xyz, names) in gt.point_sets.items()},
                                 timestamps=gt.timestamps[s], fps=gt.fps / stride)
    log.info("take %s: %d frames, reported from one frame in %d", inputs.take, n, stride)
    return dataclasses.replace(inputs, keypoints=kp, points=pts, points_raw=raw, body_motion=body, ground_truth=gt,
                               stride=stride, take_frames=n)


def _every_points(p: Points3D, s: slice, stride: int) -> Points3D:
    swaps = p.swaps[:, s] if p.swaps.ndim == 2 and p.swaps.shape[1] == len(p.xyz) else p.swaps
    return dataclasses.replace(p, xyz=p.xyz[s], reprojection_error=p.reprojection_error[s], n_views=p.n_views[s],
                               fps=p.fps / stride, swaps=swaps)
