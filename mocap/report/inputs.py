"""Everything a take's report reads, loaded once: each stage output that exists, ``None`` where not.

The report never runs a stage; a section is drawn only when its inputs are here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.io.tomlio import read_toml
from mocap.keypoints import Keypoints2D
from mocap.session import Session
from mocap.triangulation.robust import Points3D

log = logging.getLogger(__name__)

TAKE_OUTPUTS = ("keypoints2d.npz", "points3d.npz", "body_motion.npz")
"""Files of a take of which at least one must exist to make a report."""


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """A synthetic session's known answers for one take (``<session>/ground_truth/``).

    Attributes:
        point_sets: true points by set name (``"blazepose"``, ``"smplx_joints"``...): ``(xyz (F, J, 3)
            metres in the world frame, J joint names)``.
        body_motion: the true :class:`~mocap.body.motion.BodyMotion` or ``None``.
        rig: the true camera rig or ``None``.
    """

    point_sets: dict[str, tuple[np.ndarray, tuple[str, ...]]] = field(default_factory=dict)
    body_motion: object | None = None
    rig: CameraRig | None = None


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
    stamps = [p for folder in (session.calibration_dir, session.take_dir(take))
              for p in sorted(folder.glob(".*.stamp.toml"))]
    for stamp in stamps:
        seconds = _stamp_seconds(stamp)
        if seconds is not None:
            out[stamp.name[1:].split(".")[0]] = seconds
    return out


def load_ground_truth(session: Session, take: str, rig_names: list[str] | None = None) -> GroundTruth | None:
    """The take's ground truth (``ground_truth/<take>/joints.npz``, ``body_motion.npz``) and the true rig
    (``ground_truth/camera_rig.toml``), or ``None`` when the session has no ``ground_truth/`` folder."""
    folder = session.root / "ground_truth"
    if not folder.is_dir():
        return None
    point_sets, body, rig = {}, None, None
    joints_path = folder / take / "joints.npz"
    if joints_path.is_file():
        point_sets = _read_point_sets(joints_path)
    body_path = folder / take / "body_motion.npz"
    if body_path.is_file():
        from mocap.body.motion import BodyMotion

        body = BodyMotion.load(body_path)
    rig_path = folder / "camera_rig.toml"
    if rig_path.is_file():
        rig = CameraRig.load(rig_path)
        if rig_names is not None and not set(rig_names) <= set(rig.names):
            log.warning("%s: cameras differ from the calibrated rig; calibration not compared", rig_path)
            rig = None
    if not point_sets and body is None and rig is None:
        return None
    return GroundTruth(point_sets, body, rig)


def _read_point_sets(path: Path) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Every ``(F, J, 3)`` array of a ``joints.npz`` that has its names beside it: ``<key>`` with
    ``<key>_names`` (``blazepose``, ``blazepose_names``), ``<set>_joints`` with ``<set>_joint_names``
    (``smplx_joints``), or ``xyz`` with ``joint_names``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"ground-truth joints are unreadable ({exc})", path=path,
                         fix="regenerate the synthetic session") from exc
    sets = {}
    for key, xyz in arrays.items():
        spellings = ["joint_names"] if key == "xyz" else [f"{key}_names"]
        if key.endswith("_joints"):
            spellings.append(key[: -len("_joints")] + "_joint_names")
        names_key = next((n for n in spellings if n in arrays), None)
        if names_key is None or xyz.ndim != 3 or xyz.shape[2] != 3:
            continue
        names = tuple(str(s) for s in arrays[names_key])
        if len(names) == xyz.shape[1]:
            sets[key] = (np.asarray(xyz, float), names)
    if not sets:
        raise InputError(f"no (F, J, 3) joint array with joint names found (arrays: {sorted(arrays)})", path=path,
                         fix="regenerate the synthetic session")
    return sets


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
    out = session.take_dir(take)
    if not any((out / name).is_file() for name in TAKE_OUTPUTS):
        raise InputError(f"take {take!r} has no outputs yet (no {' / '.join(TAKE_OUTPUTS)})",
                         path=out / TAKE_OUTPUTS[0],
                         fix=f"run `mocap run {session.root} --take {take}` first")
    rig = CameraRig.load(session.rig_path) if session.rig_path.is_file() else None
    quality_path = session.calibration_dir / "calibration_quality.toml"
    quality = read_toml(quality_path) if quality_path.is_file() else None
    keypoints = Keypoints2D.load(out / "keypoints2d.npz") if (out / "keypoints2d.npz").is_file() else None
    points = Points3D.load(out / "points3d.npz") if (out / "points3d.npz").is_file() else None
    raw = Points3D.load(out / "points3d_raw.npz") if (out / "points3d_raw.npz").is_file() else None
    body = None
    if (out / "body_motion.npz").is_file():
        from mocap.body.motion import BodyMotion

        body = BodyMotion.load(out / "body_motion.npz")
    truth = load_ground_truth(session, take, rig.names if rig is not None else None)
    return TakeInputs(session, take, out, rig, quality, keypoints, points, raw, body,
                      stage_timings(session, take), _newest_output([out / n for n in TAKE_OUTPUTS]), truth)
