"""Where every file of a session lives: the one place that names a session's outputs.

Stages, the report, the CLI and the Blender add-on ask these objects for paths instead of spelling
file names::

    <output>/                          OutputLayout
      run_config.toml  index.html  mocap.log
      calibration/                     CalibrationLayout
        camera_rig.toml  camera_rig.rejected.toml  calibration_quality.toml / .png
        board_detections.npz  calibration_config.toml  sync.toml  sync_curves.npz  rig_source.toml
        .calibrate.stamp.toml
      takes/<take>/                    TakeLayout
        keypoints2d.npz  sync.toml  sync_curves.npz  people.toml  points3d_raw.npz  points3d.npz  points3d.{trc,c3d,csv}
        body_motion.npz  fit.toml  report.html  .<stage>.stamp.toml
        export/<take>_<rig>.<ext>  export/pose2sim/  overlay/<camera>.mp4
        candidates2d.npz  people_tracks.npz  export/<take>_<performer>_<rig>.<ext>   (several performers)
        people/<performer>/             TakeLayout.person(name): that performer's keypoints2d.npz,
                                        points3d*.npz, body_motion.npz, fit.toml, report.html, stamps
        cameras/<camera>/keypoints2d.npz  .detect.stamp.toml     (one camera's detections, ``mocap batch``)

    <batch output>/                    BatchLayout (``mocap batch --output``)
      batch.toml  batch_index.html  batch.log

    <session>/ground_truth/            GroundTruthLayout (sessions made by ``mocap synth``)
      camera_rig.toml  board_poses.npz  <take>/joints.npz  <take>/body_motion.npz  <take>/sync.toml
      <take>/performers.toml  <take>/<performer>/joints.npz, body_motion.npz   (several performers)

Take and camera names become folder and file names, so they must be plain names (:func:`check_name`):
no path separators, no ``.``/``..``, nothing that could reach outside the output folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mocap.errors import InputError

SESSION_FILE = "session.toml"

_BAD_NAME = re.compile(r"[\x00-\x1f/\\:*?\"<>|]")


def check_name(name: object, what: str = "take", *, source: Path | None = None) -> str:
    """``name`` if it is a plain file name (a take, camera or performer name); else an ``InputError``.

    Plain: a non-empty string without path separators, control characters or characters Windows
    forbids in file names, not ``.`` or ``..``, without leading or trailing spaces or dots."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{what} name {name!r} is not a non-empty string", path=source,
                         fix=f'give the {what} a plain name such as "walk_01"')
    if _BAD_NAME.search(name) or name in (".", "..") or name != name.strip(" .") or len(name) > 200:
        raise InputError(f"{what} name {name!r} is not a plain name (it becomes a folder or file name)",
                         path=source, fix=f"use letters, digits, '-', '_' and inner dots or spaces only in the "
                                          f"{what} name (no '/', '\\\\', '..')")
    return name


def check_inside(path: Path, root: Path) -> Path:
    """``path`` if it resolves inside ``root``; else an ``InputError`` (nothing is written outside it)."""
    resolved, base = Path(path).resolve(), Path(root).resolve()
    if resolved != base and base not in resolved.parents:
        raise InputError(f"refusing to write outside the output folder {base}", path=path,
                         fix="use plain take and camera names (no '..' or '/') and keep outputs in output_dir")
    return Path(path)


def stamp_file(folder: Path, stage: str) -> Path:
    """The stamp ``mocap run`` writes after a stage (hash of its inputs and settings)."""
    return folder / f".{stage}.stamp.toml"


@dataclass(frozen=True)
class CalibrationLayout:
    """``<output>/calibration/``."""

    folder: Path

    @property
    def rig(self) -> Path:
        return self.folder / "camera_rig.toml"

    @property
    def rejected_rig(self) -> Path:
        return self.folder / "camera_rig.rejected.toml"

    @property
    def quality(self) -> Path:
        return self.folder / "calibration_quality.toml"

    @property
    def quality_figure(self) -> Path:
        return self.folder / "calibration_quality.png"

    @property
    def detections(self) -> Path:
        return self.folder / "board_detections.npz"

    @property
    def config(self) -> Path:
        return self.folder / "calibration_config.toml"

    @property
    def sync(self) -> Path:
        return self.folder / "sync.toml"

    @property
    def sync_curves(self) -> Path:
        return self.folder / "sync_curves.npz"

    @property
    def source(self) -> Path:
        """Where an imported rig came from (``[calibration] rig`` in session.toml)."""
        return self.folder / "rig_source.toml"

    def stamp(self, stage: str = "calibrate") -> Path:
        return stamp_file(self.folder, stage)


@dataclass(frozen=True)
class TakeLayout:
    """``<output>/takes/<take>/``: every output file of one take."""

    folder: Path
    name: str

    @property
    def keypoints2d(self) -> Path:
        return self.folder / "keypoints2d.npz"

    @property
    def sync(self) -> Path:
        return self.folder / "sync.toml"

    @property
    def sync_curves(self) -> Path:
        """What the sync stage saw (correlation curves, drift windows), for the report."""
        return self.folder / "sync_curves.npz"

    @property
    def people(self) -> Path:
        """The performers of a take with several (ids, names, frames, their files)."""
        return self.folder / "people.toml"

    @property
    def candidates2d(self) -> Path:
        """Every person each camera found per frame (several performers), before association."""
        return self.folder / "candidates2d.npz"

    @property
    def people_tracks(self) -> Path:
        """Which candidate each camera gives each performer per frame, and their 3D centres."""
        return self.folder / "people_tracks.npz"

    @property
    def people_dir(self) -> Path:
        return self.folder / "people"

    def person(self, name: str) -> TakeLayout:
        """``people/<name>/``: one performer's own files, named as a single-person take's
        (``keypoints2d.npz``, ``points3d.npz``, ``body_motion.npz``, ...); ``name`` must be a plain name."""
        folder = self.people_dir / check_name(name, "performer")
        return TakeLayout(check_inside(folder, self.folder), name)

    @property
    def points3d_raw(self) -> Path:
        return self.folder / "points3d_raw.npz"

    @property
    def points3d(self) -> Path:
        return self.folder / "points3d.npz"

    def points3d_file(self, fmt: str) -> Path:
        """``points3d.<fmt>``: the smoothed points as a TRC, C3D or CSV file."""
        return self.folder / f"points3d.{fmt}"

    def point_files(self) -> list[Path]:
        """The ``points3d.<fmt>`` files that exist."""
        return sorted(self.folder.glob("points3d.*"))

    @property
    def body_motion(self) -> Path:
        return self.folder / "body_motion.npz"

    @property
    def fit_summary(self) -> Path:
        return self.folder / "fit.toml"

    @property
    def report(self) -> Path:
        return self.folder / "report.html"

    @property
    def export_dir(self) -> Path:
        return self.folder / "export"

    def export_file(self, rig: str, suffix: str, performer: str | None = None) -> Path:
        """``export/<take>_<rig><suffix>``, e.g. ``export/walk_mixamo.fbx``; one performer's file of a take
        with several: ``export/<take>_<performer>_<rig><suffix>``."""
        who = f"_{check_name(performer, 'performer')}" if performer else ""
        return self.export_dir / f"{self.name}{who}_{rig}{suffix}"

    @property
    def pose2sim_project(self) -> Path:
        """``export/pose2sim/``: the take as a Pose2Sim project (``mocap export --format pose2sim``)."""
        return self.export_dir / "pose2sim"

    @property
    def overlay_dir(self) -> Path:
        return self.folder / "overlay"

    def overlay_video(self, camera: str) -> Path:
        return self.overlay_dir / f"{check_name(camera, 'camera')}.mp4"

    def stamp(self, stage: str) -> Path:
        return stamp_file(self.folder, stage)

    def camera_dir(self, camera: str) -> Path:
        """``cameras/<camera>/``: one camera's share of a stage (``mocap batch`` detects per camera)."""
        return self.folder / "cameras" / check_name(camera, "camera")

    def keypoints2d_camera(self, camera: str) -> Path:
        """One camera's detected keypoints (a one-camera ``Keypoints2D``), merged into ``keypoints2d.npz``."""
        return self.camera_dir(camera) / "keypoints2d.npz"

    def camera_stamp(self, camera: str, stage: str) -> Path:
        return stamp_file(self.camera_dir(camera), stage)

    #: The files of which at least one must exist for a take to have results (report, index).
    RESULT_FILES = ("keypoints2d", "points3d", "body_motion", "candidates2d", "people")

    def results(self) -> list[Path]:
        return [getattr(self, name) for name in self.RESULT_FILES]


@dataclass(frozen=True)
class OutputLayout:
    """A session's output folder (``output_dir`` in ``session.toml``)."""

    root: Path

    @property
    def calibration(self) -> CalibrationLayout:
        return CalibrationLayout(self.root / "calibration")

    def take(self, name: str) -> TakeLayout:
        """The take's folder; ``name`` must be a plain name (:func:`check_name`)."""
        folder = self.root / "takes" / check_name(name, "take")
        return TakeLayout(check_inside(folder, self.root), name)

    @property
    def run_config(self) -> Path:
        return self.root / "run_config.toml"

    @property
    def index(self) -> Path:
        return self.root / "index.html"

    @property
    def log(self) -> Path:
        return self.root / "mocap.log"


@dataclass(frozen=True)
class BatchLayout:
    """The folder ``mocap batch`` writes its summary to (``--output``, default the current folder)."""

    root: Path

    @property
    def summary(self) -> Path:
        """``batch.toml``: every take of the batch with its status, seconds per stage, verdict and error."""
        return self.root / "batch.toml"

    @property
    def index(self) -> Path:
        """``batch_index.html``: every take with a link to its report."""
        return self.root / "batch_index.html"

    @property
    def log(self) -> Path:
        return self.root / "batch.log"


@dataclass(frozen=True)
class GroundTruthLayout:
    """``<session>/ground_truth/``: the known answers of a synthetic session."""

    folder: Path

    @property
    def rig(self) -> Path:
        return self.folder / "camera_rig.toml"

    @property
    def board_poses(self) -> Path:
        return self.folder / "board_poses.npz"

    def _take(self, take: str, performer: str | None) -> Path:
        folder = self.folder / check_name(take, "take")
        return folder / check_name(performer, "performer") if performer else folder

    def joints(self, take: str, performer: str | None = None) -> Path:
        """``<take>/joints.npz``; one performer's of a take with several: ``<take>/<performer>/joints.npz``."""
        return self._take(take, performer) / "joints.npz"

    def body_motion(self, take: str, performer: str | None = None) -> Path:
        return self._take(take, performer) / "body_motion.npz"

    def performers(self, take: str) -> Path:
        """``<take>/performers.toml``: the true performers of a take with several (names, in order)."""
        return self._take(take, None) / "performers.toml"

    def sync(self, take: str) -> Path:
        """The true camera clocks of a take (``sync.toml`` format)."""
        return self._take(take, None) / "sync.toml"
