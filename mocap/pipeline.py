"""``mocap run``: every stage of a session in order, skipping what is already done.

Each stage's outputs are written atomically, then a stamp (``.<stage>.stamp.toml``) records the
content hash of its inputs and its settings. A stage is reused when its stamp matches and its
outputs exist, so an interrupted run resumes where it stopped, and changing a video or a setting
reruns exactly the stages that depend on it.

Stages: calibrate (once per session) -> detect -> sync -> triangulate (+ smooth) -> fit -> export -> report
(per take). Stages hand off only through files (see :mod:`mocap.layout`).

A take with several performers (its detection wrote ``candidates2d.npz``) runs the ``people`` stage after
detection (``people.toml``, one ``keypoints2d.npz`` per performer), then triangulate and fit once per
performer (in ``people/<name>/``), and one export for them all (FBX/GLB with an armature per performer,
BVH/AMASS/TRC one file per performer).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mocap.calibration.config import CalibrationConfig
from mocap.config import from_dict, to_dict
from mocap.errors import InputError, MocapError
from mocap.export.config import ExportConfig
from mocap.fitting.fit import FitConfig
from mocap.io.tomlio import read_toml, write_toml
from mocap.keypoints2d.stage import DetectionConfig
from mocap.layout import TakeLayout
from mocap.people.tracking import TrackingConfig
from mocap.report.config import ReportConfig
from mocap.session import Session
from mocap.smoothing.filters import SmoothConfig
from mocap.sync.stage import SyncConfig
from mocap.triangulation.robust import TriangulateConfig

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int, int], None]

#: Every stage of ``mocap run``, in order.
STAGES = ("calibrate", "detect", "sync", "people", "triangulate", "fit", "export", "report")
Stage = Literal["calibrate", "detect", "sync", "people", "triangulate", "fit", "export", "report"]


@dataclass(frozen=True)
class RunConfig:
    """All settings of ``mocap run``; a ``--config`` TOML file has one table per stage."""

    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    """``mocap calibrate`` settings (session.toml's ``[calibration]`` table is applied first)."""
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    """``mocap detect`` settings."""
    sync: SyncConfig = field(default_factory=SyncConfig)
    """``mocap sync`` settings (when each camera recorded each frame)."""
    people: TrackingConfig = field(default_factory=TrackingConfig)
    """``mocap people``: who is who in a take with several performers (association and tracking)."""
    triangulation: TriangulateConfig = field(default_factory=TriangulateConfig)
    """``mocap triangulate`` settings."""
    smoothing: SmoothConfig = field(default_factory=SmoothConfig)
    """Gap filling and smoothing of the 3D points."""
    fit: FitConfig = field(default_factory=FitConfig)
    """``mocap fit`` settings (body model, weights, iterations)."""
    export: ExportConfig = field(default_factory=ExportConfig)
    """What files animators get from each take."""
    report: ReportConfig = field(default_factory=ReportConfig)
    """The per-take HTML report and the session index."""
    until: Stage = "report"
    """Last stage to run: calibrate, detect, sync, people, triangulate, fit, export or report."""

    @classmethod
    def load(cls, session: Session | None, path: str | Path | None = None, overrides: dict[str, Any] | None = None
             ) -> RunConfig:
        """Defaults, then session.toml's ``[calibration]`` table (none without a session), then the ``path``
        TOML file, then ``overrides`` (``{table: {setting: value}}`` or ``{"until": stage}``, e.g. from the
        command line)."""
        data: dict[str, Any] = {"calibration": dict(session.calibration_options)} if session is not None else {}
        layers = [read_toml(path, what="config file")] if path is not None else []
        layers += [overrides] if overrides else []
        for layer in layers:
            for table, values in layer.items():
                if isinstance(values, dict) and isinstance(data.get(table), dict):
                    data[table] = {**data[table], **values}
                else:
                    data[table] = values
        return from_dict(cls, data, source=path or (session.file if session is not None else None))


@dataclass(frozen=True)
class StageRun:
    """What happened to one stage: ``status`` is "ran", "reused" or "failed" (with ``message``)."""

    stage: str
    take: str | None
    status: str
    seconds: float
    outputs: tuple[Path, ...] = ()
    message: str = ""


def file_digest(path: Path) -> str:
    """Content hash of a file, or of every image of a folder / glob source."""
    import glob

    path = Path(path)
    if path.is_dir() or any(c in str(path) for c in "*?["):
        files = sorted(Path(p) for p in (glob.glob(str(path / "*")) if path.is_dir() else glob.glob(str(path))))
        return hashlib.sha256("".join(file_digest(f) for f in files if f.is_file()).encode()).hexdigest()
    if not path.is_file():
        raise InputError("input file not found", path=path, fix="check session.toml's paths")
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stage_key(stage: str, settings: Any, inputs: Sequence[Path]) -> str:
    """Hash of a stage's name, settings, input contents and the mocap version (an upgrade reruns stages)."""
    from mocap._version import __version__

    blob = json.dumps({"stage": stage, "version": __version__, "settings": settings,
                       "inputs": [file_digest(p) for p in inputs]},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def run_stage(name: str, take: str | None, stamp: Path, key: str, outputs: Sequence[Path],
              work: Callable[[], Any]) -> StageRun:
    """Run ``work`` unless ``stamp`` holds ``key`` and every output exists; then write the stamp."""
    if _stamp_matches(stamp, key, outputs):
        return StageRun(name, take, "reused", 0.0, tuple(outputs))
    t0 = time.perf_counter()
    work()
    seconds = time.perf_counter() - t0
    write_toml(stamp, {"stage": name, "key": key, "seconds": seconds,
                       "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
    return StageRun(name, take, "ran", seconds, tuple(outputs))


def _stamp_matches(stamp: Path, key: str | None, outputs: Sequence[Path]) -> bool:
    """``stamp`` holds ``key`` (any key for ``None``) and every output exists; a damaged stamp never matches."""
    if not (stamp.is_file() and all(Path(p).exists() for p in outputs)):
        return False
    try:
        return key is None or read_toml(stamp).get("key") == key
    except InputError:
        return False


def run_session(session: Session | str | Path, config: RunConfig | None = None, *,
                takes: Sequence[str] | None = None, progress: Progress | None = None,
                accept: bool = False, keep_going: bool = False) -> list[StageRun]:
    """Run (or reuse) every stage for ``takes`` (default: all) and return what happened.

    With ``keep_going`` a take whose stage fails with a `MocapError` is recorded as ``failed`` (with the
    message) and the other takes go on; otherwise the error is raised.
    """
    session = Session.of(session)
    config = config or RunConfig.load(session)
    names = list(takes) if takes else [t.name for t in session.takes]
    for name in names:
        check_take_videos(session, name)  # unknown take or missing videos: a clear error before any work
    try:
        session.output_dir.mkdir(parents=True, exist_ok=True)
        write_toml(session.layout.run_config, to_dict(config))
    except OSError as exc:
        raise MocapError(f"cannot write to the output folder ({exc.strerror or exc})", path=session.output_dir,
                         fix="set output_dir in session.toml (or --output) to a folder you can write to") from exc
    runs = [calibrate_stage(session, config, accept=accept, progress=progress)]
    if config.until in ("fit", "export", "report"):
        _prewarm_imports()
    for name in names:
        if config.until == "calibrate":
            break
        try:
            take_stages(session, name, config, progress, runs)
        except MocapError as exc:
            if not keep_going:
                raise
            stage = getattr(exc, "stage", "detect")
            log.error("take %s failed at %s: %s", name, stage, exc)
            runs.append(StageRun(stage, name, "failed", 0.0, (), message=str(exc)))
    if config.until == "report" and config.report.enabled:
        from mocap.report import build_session_report

        t0 = time.perf_counter()
        build_session_report(session, takes=names)
        runs.append(StageRun("report", None, "ran", time.perf_counter() - t0, (session.layout.index,)))
    return runs


def calibrate_stage(session: Session, config: RunConfig, *, accept: bool = False,
                    progress: Progress | None = None) -> StageRun:
    """The calibration stage (once per session), reused while its videos, board and settings are unchanged.

    With ``[calibration] rig = "FILE"`` in session.toml, the stage imports that file instead (stamped on
    its content: editing the file reruns everything that depends on the rig)."""
    from mocap.calibration.board import load_board
    from mocap.calibration.pipeline import calibrate_session

    from mocap.sync.calibration import calibration_aligner

    files = session.layout.calibration
    if session.rig is not None:
        from mocap.calibration.imported import import_session_rig

        key = stage_key("calibrate", {"rig": session.rig.name, "cameras": [vars(c) for c in session.cameras]},
                        [session.rig])
        return run_stage("calibrate", None, files.stamp(), key, [files.rig, files.source],
                         lambda: import_session_rig(session))
    board = load_board(session.board, search=[session.root])
    key = stage_key("calibrate", {"config": to_dict(config.calibration), "board": board.to_dict(),
                                  "cameras": [vars(c) for c in session.cameras], "accept": accept,
                                  "sync": to_dict(config.sync), "sync_overrides": session.sync_overrides(None)},
                    list(session.calibration_videos) + list(session.floor_videos))
    align = calibration_aligner(session, config.sync, stride=config.calibration.detect.stride)
    return run_stage("calibrate", None, files.stamp(), key, [files.rig],
                     lambda: calibrate_session(session, config.calibration, accept=accept, align=align,
                                               progress=(lambda s, c, d, t: progress(s, c, d, t)) if progress else None))


def check_take_videos(session: Session, name: str) -> None:
    """Every camera's video of a take exists (a file, a folder of images, or a glob that matches)."""
    import glob

    take = session.take(name)
    for camera, video in zip(session.camera_names, take.videos):
        pattern = any(c in str(video) for c in "*?[")
        if not (Path(video).exists() if not pattern else glob.glob(str(video))):
            raise InputError(f"take {name!r}: camera {camera!r} has no video", path=video,
                             fix=f"put the video there, or fix the take's `videos` in {session.file}")


def _prewarm_imports() -> None:
    """Import the later stages' heavy libraries (torch, scipy.signal, matplotlib) in a background thread
    while detection's worker processes run, so that their one-off import time (2-3 s) overlaps the
    detection wait. (Not bpy: it crashes when first imported outside the main thread.)"""
    import importlib
    import threading

    modules = ["torch", "scipy.signal", "matplotlib.figure", "matplotlib.backends.backend_agg", "PIL.Image"]

    def work():
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the stage that needs it reports the problem itself
                log.debug("prewarm import of %s failed", name, exc_info=True)

    threading.Thread(target=work, name="mocap-prewarm", daemon=True).start()


def detect_key(session: Session, name: str, config: RunConfig) -> str:
    """The detect stage's stamp key of a take: its videos, the calibration (mirroring), the settings and the
    performers session.toml names."""
    take = session.take(name)
    settings = to_dict(config.detection)
    if session.performers_of(name):
        settings["performers"] = list(session.performers_of(name))
    return stage_key("detect", settings, list(take.videos) + [session.layout.calibration.rig])


def detect_stage(session: Session, name: str, config: RunConfig, progress: Progress | None = None) -> list[StageRun]:
    """2D keypoints of every camera of a take (cameras in parallel worker processes): ``keypoints2d.npz``, or
    ``candidates2d.npz`` for several performers; another tool's keypoints when session.toml registers them."""
    from mocap.keypoints2d.stage import detect_take, detection_file

    take, files = session.take(name), session.layout.take(name)
    if take.keypoints is not None:  # another tool's 2D keypoints, registered in session.toml: import them
        from mocap.keypoints2d.importers import import_take_keypoints

        key = stage_key("detect", {"import": vars(take.keypoints), "fps": take.fps}, list(take.keypoints.paths))
        return [run_stage("detect", name, files.stamp("detect"), key, [files.keypoints2d],
                          lambda: import_take_keypoints(session, name))]
    run = run_stage("detect", name, files.stamp("detect"), detect_key(session, name, config), [detection_file(files)],
                    lambda: detect_take(session, name, config.detection,
                                        progress=(lambda c, d, t: progress("detect", c, d, t)) if progress else None))
    return [dataclasses.replace(run, outputs=(detection_file(files),))]  # one performer or several: now known


def detect_camera_stage(session: Session, name: str, camera: str, config: RunConfig,
                        progress: Callable[[int, int], None] | None = None) -> StageRun:
    """One camera's share of the detect stage (``mocap batch`` distributes these): its own file and stamp.

    Reused when its stamp matches, or when the take's whole detect stage is already up to date (e.g. done
    by ``mocap run``, which writes no per-camera files)."""
    from mocap.keypoints2d.stage import camera_mirrored, detect_take_camera, detection_file

    files = session.layout.take(name)
    index = session.camera_names.index(camera)
    mirrored = camera_mirrored(session)[index]
    settings = {"detection": to_dict(config.detection), "camera": camera, "mirrored": mirrored,
                "performers": list(session.performers_of(name))}
    key = stage_key("detect_camera", settings, [session.take(name).videos[index]])
    out = files.keypoints2d_camera(camera)
    stamp = files.camera_stamp(camera, "detect")
    take_stamp = files.stamp("detect")
    if (not _stamp_matches(stamp, key, [out])
            and _stamp_matches(take_stamp, detect_key(session, name, config), [detection_file(files)])):
        return StageRun("detect", name, "reused", 0.0, (detection_file(files),))
    return run_stage("detect", name, stamp, key, [out],
                     lambda: detect_take_camera(session, name, camera, config.detection, mirrored=mirrored,
                                                progress=progress))


def merge_detect_stage(session: Session, name: str, config: RunConfig) -> list[StageRun]:
    """The detect stage from every camera's share (:func:`detect_camera_stage`): the same stamp and
    ``keypoints2d.npz`` (or ``candidates2d.npz``) as :func:`detect_stage` writes. A take of imported keypoints
    is imported here (it has no per-camera share)."""
    from mocap.keypoints2d.stage import detection_file, merge_take_cameras

    if session.take(name).keypoints is not None:
        return detect_stage(session, name, config)
    files = session.layout.take(name)
    run = run_stage("detect", name, files.stamp("detect"), detect_key(session, name, config), [detection_file(files)],
                    lambda: merge_take_cameras(session, name, config.detection))
    return [dataclasses.replace(run, outputs=(detection_file(files),))]


def several_performers(session: Session, name: str) -> bool:
    """Whether detection found (or was told of) several performers in the take: its ``candidates2d.npz``."""
    return session.layout.take(name).candidates2d.is_file()


def sync_stage(session: Session, name: str, config: RunConfig, progress: Progress | None = None) -> list[StageRun]:
    """The sync stage of one take: ``sync.toml`` from the videos' sound and the 2D keypoints, reused while they,
    the calibration, the settings and session.toml's hand-given values are unchanged. A take with several
    performers is taken as synchronized (none)."""
    from mocap.sync.stage import sync_take

    if several_performers(session, name):
        if not session.take(name).synchronized and session.sync_overrides(name):
            log.warning("take %s has several performers: its cameras are taken as synchronized (frame i of every "
                        "camera is one instant); the hand-given clocks of session.toml are not applied", name)
        return []
    files = session.layout.take(name)
    inputs = [files.keypoints2d, session.layout.calibration.rig]
    if config.sync.method in ("auto", "audio"):  # the sound of the videos there are (imported keypoints may have none)
        inputs += [v for v in session.take(name).videos if Path(v).exists()]
    key = stage_key("sync", {"sync": to_dict(config.sync), "overrides": session.sync_overrides(name)}, inputs)
    return [run_stage("sync", name, files.stamp("sync"), key, [files.sync, files.sync_curves],
                      lambda: sync_take(session, name, config.sync))]


def people_stage(session: Session, name: str, config: RunConfig, progress: Progress | None = None) -> list[StageRun]:
    """Who is who in a take with several performers: ``people.toml`` and each performer's 2D keypoints (none for
    a take with one performer)."""
    from mocap.people.stage import people_take

    if not several_performers(session, name):
        return []
    files = session.layout.take(name)
    max_people = config.detection.max_people or None
    key = stage_key("people", {"people": to_dict(config.people), "performers": list(session.performers_of(name)),
                               "max_people": max_people or 0, "export": to_dict(config.export)},
                    [files.candidates2d, session.layout.calibration.rig])
    return [run_stage("people", name, files.stamp("people"), key, [files.people, files.people_tracks],
                      lambda: people_take(session, name, config.people, max_people=max_people,
                                          performer_files=lambda f, n: performer_files(f, n, config)))]


def _performers(session: Session, name: str) -> list[str | None]:
    """``[None]`` for a take with one performer; the names in ``people.toml`` for a take with several."""
    if not several_performers(session, name):
        return [None]
    from mocap.people.roster import read_roster

    return list(read_roster(session.layout.take(name).people).names)


def triangulate_stage(session: Session, name: str, config: RunConfig, progress: Progress | None = None
                      ) -> list[StageRun]:
    """3D points from the 2D keypoints, gaps filled and smoothed (+ TRC, C3D and CSV files): the take's, or
    each performer's."""
    return [triangulate_performer(session, name, config, p) for p in _performers(session, name)]


def triangulate_performer(session: Session, name: str, config: RunConfig, performer: str | None = None) -> StageRun:
    """Triangulate and smooth one take (or one of its performers; a single performer's take on the common
    timeline of its ``sync.toml``)."""
    from mocap.smoothing.stage import POINT_FILE_FORMATS, smooth_take
    from mocap.triangulation.stage import triangulate_take

    files = session.layout.take(name)
    sync = [] if performer else [files.sync]
    files = files.person(performer) if performer else files

    def triangulate_and_smooth():
        triangulate_take(session, name, config=config.triangulation, performer=performer)
        smooth_take(session, name, config.smoothing, marker_names=config.triangulation.marker_names,
                    performer=performer)

    outputs = [files.points3d, files.points3d_raw] + [files.points3d_file(f) for f in POINT_FILE_FORMATS]
    key = stage_key("triangulate", {"triangulation": to_dict(config.triangulation),
                                    "smoothing": to_dict(config.smoothing)},
                    [files.keypoints2d, session.layout.calibration.rig] + sync)
    return run_stage("triangulate", _label(name, performer), files.stamp("triangulate"), key, outputs,
                     triangulate_and_smooth)


def _label(take: str, performer: str | None) -> str:
    """How runs name a take, or one performer of it (``take/performer``)."""
    return f"{take}/{performer}" if performer else take


def performer_files(files: TakeLayout, name: str, config: RunConfig) -> dict[str, Path | list[Path]]:
    """The later stages' files of one performer, as ``people.toml`` lists them."""
    from mocap.smoothing.stage import POINT_FILE_FORMATS

    own = files.person(name)
    out: dict[str, Path | list[Path]] = {"points3d_raw": own.points3d_raw, "points3d": own.points3d}
    out.update({f"points3d_{fmt}": own.points3d_file(fmt) for fmt in POINT_FILE_FORMATS})
    out.update({"body_motion": own.body_motion, "fit": own.fit_summary})
    out["export"] = [path for _, _, path, names in people_export_plan(files, config.export, [name])]
    return out


def fit_stage(session: Session, name: str, config: RunConfig, progress: Progress | None = None) -> list[StageRun]:
    """The body model fitted to the 3D points -> ``body_motion.npz``: the take's, or one per performer (one body
    shape each)."""
    return [fit_performer(session, name, config, progress, p) for p in _performers(session, name)]


def fit_performer(session: Session, name: str, config: RunConfig, progress: Progress | None,
                  performer: str | None = None) -> StageRun:
    """Fit the body to one take (or one of its performers)."""
    from mocap.fitting.stage import fit_take

    files = session.layout.take(name)
    files = files.person(performer) if performer else files
    key = stage_key("fit", to_dict(config.fit), [files.points3d])
    return run_stage("fit", _label(name, performer), files.stamp("fit"), key, [files.body_motion, files.fit_summary],
                     lambda: fit_take(session, name, config.fit, performer=performer,
                                      progress=(lambda i, n: progress("fit", 0, i, n)) if progress else None))


def export_stage(session: Session, name: str, config: RunConfig, progress: Progress | None = None) -> list[StageRun]:
    """Every export file of a take (formats x rigs); a take with several performers: FBX and GLB with one
    armature each, the other formats one file per performer."""
    files = session.layout.take(name)
    names = _performers(session, name)
    if names == [None]:
        plan = export_plan(files, config.export)
        key = stage_key("export", to_dict(config.export), [files.body_motion])
        return [run_stage("export", name, files.stamp("export"), key, [p for _, _, p in plan],
                          lambda: export_take(files.body_motion, plan, config))]
    people_plan = people_export_plan(files, config.export, names)
    key = stage_key("export", {"export": to_dict(config.export), "people": names},
                    [files.person(n).body_motion for n in names])
    return [run_stage("export", name, files.stamp("export"), key, [p for _, _, p, _ in people_plan],
                      lambda: export_people(files, people_plan, config))]


#: A take's stages after calibration, in order; each ``(session, take, config, progress) -> [StageRun]`` (none
#: when the stage does not apply to the take: sync for several performers, people for one). ``mocap batch``
#: runs the same list (detection split per camera).
TAKE_STAGES: tuple[tuple[str, Callable[..., list[StageRun]]], ...] = (
    ("detect", detect_stage), ("sync", sync_stage), ("people", people_stage), ("triangulate", triangulate_stage),
    ("fit", fit_stage), ("export", export_stage))


def take_stages(session: Session, name: str, config: RunConfig, progress: Progress | None,
                runs: list[StageRun], first: str = "detect") -> None:
    """detect -> sync -> people -> triangulate -> fit -> export for one take (from ``first``), up to
    ``config.until``; appends to ``runs``. A take with several performers skips sync and goes
    people -> per performer (triangulate -> fit) -> export; one performer skips people."""
    start = [s for s, _ in TAKE_STAGES].index(first)
    for stage, run in TAKE_STAGES[start:]:
        try:
            runs.extend(run(session, name, config, progress))
        except MocapError as exc:
            exc.stage = stage  # for the record of a take that failed (run_session's keep_going)
            raise
        if config.until == stage:
            return


def people_stages(session: Session, name: str, config: RunConfig, progress: Progress | None,
                  runs: list[StageRun]) -> None:
    """people -> per performer (triangulate -> fit) -> export, for a take with several performers."""
    take_stages(session, name, config, progress, runs, first="people")


def people_export_plan(take: TakeLayout, config: ExportConfig, names: Sequence[str]
                       ) -> list[tuple[str, str, Path, tuple[str, ...]]]:
    """``(format, rig, path, performers)`` of every export file of a take with several performers: FBX and
    GLB hold every performer (one armature each), the other formats one performer per file."""
    from mocap.export.export import SCENE_FORMATS, export_path

    plan = []
    for rig in config.rigs:
        for fmt in config.formats:
            if fmt in SCENE_FORMATS:
                plan.append((fmt, rig, export_path(take, fmt, rig), tuple(names)))
            else:
                plan += [(fmt, rig, export_path(take, fmt, rig, performer=n), (n,)) for n in names]
    return plan


def export_people(files: TakeLayout, plan: Sequence[tuple[str, str, Path, tuple[str, ...]]],
                  config: RunConfig) -> None:
    """Write every file of ``plan`` (:func:`people_export_plan`) from the performers' ``body_motion.npz``."""
    from mocap.body.motion import BodyMotion
    from mocap.export.export import SCENE_FORMATS, export_motion, export_performers
    from mocap.export.mesh import export_mesh

    names = sorted({n for *_, who in plan for n in who})
    motions = {n: BodyMotion.load(files.person(n).body_motion) for n in names}
    meshes = {}
    if config.export.mesh and any(f in SCENE_FORMATS and r == "smplx" for f, r, _, _ in plan):
        meshes = {n: export_mesh(m, config.fit.model) for n, m in motions.items()}
    for fmt, rig, path, who in plan:
        if fmt in SCENE_FORMATS:
            export_performers({n: motions[n] for n in who}, path, fmt, rig, foot_locking=config.export.foot_locking,
                              meshes=meshes if rig == "smplx" else None)
        else:
            export_motion(motions[who[0]], path, fmt, rig, up=config.export.up, units=config.export.units,
                          foot_locking=config.export.foot_locking)


def export_plan(take: TakeLayout, config: ExportConfig) -> list[tuple[str, str, Path]]:
    """``(format, rig, path)`` of every export file of a take."""
    from mocap.export.export import export_path

    return [(fmt, rig, export_path(take, fmt, rig)) for rig in config.rigs for fmt in config.formats]


def export_take(motion_path: Path, plan: Sequence[tuple[str, str, Path]], config: RunConfig) -> None:
    """Write every ``(format, rig, path)`` of ``plan`` from the take's ``body_motion.npz``."""
    from mocap.body.motion import BodyMotion
    from mocap.export.export import export_motion
    from mocap.export.mesh import export_mesh

    motion = BodyMotion.load(motion_path)
    with_mesh = [(f, r) for f, r, _ in plan if f in ("fbx", "glb") and r == "smplx"]
    mesh = export_mesh(motion, config.fit.model) if config.export.mesh and with_mesh else None
    for fmt, rig, path in plan:
        export_motion(motion, path, fmt, rig, up=config.export.up, units=config.export.units,
                      foot_locking=config.export.foot_locking, mesh=mesh if (fmt, rig) in with_mesh else None)


def overlay_take(session: Session | str | Path, take: str, *,
                 progress: Callable[[int, int, int], None] | None = None) -> list[Path]:
    """Write ``<output>/takes/<take>/overlay/<camera>.mp4`` for every camera of a take: the detected
    keypoints, and the smoothed 3D points projected back when the take has been triangulated."""
    from mocap.camera import CameraRig
    from mocap.keypoints2d.overlay import overlay_views
    from mocap.keypoints2d.stage import load_take_keypoints
    from mocap.sync.clock import TakeSync
    from mocap.sync.resample import points_at_frames
    from mocap.triangulation.points import Points3D

    session = Session.of(session)
    t, files = session.take(take), session.layout.take(take)
    if files.people.is_file() and files.candidates2d.is_file():
        return overlay_people(session, take, progress=progress)
    kp = load_take_keypoints(session, take)
    reprojected = None
    rig_path = session.layout.calibration.rig
    if files.points3d.is_file() and rig_path.is_file():
        rig = CameraRig.load(rig_path).subset(kp.camera_names)
        points = Points3D.load(files.points3d)
        sync = TakeSync.load(files.sync) if files.sync.is_file() else None
        reprojected = [cam.to_video_pixels(cam.project(points_at_frames(points.xyz, points.timestamps, sync, cam.name,
                                                                        int(n))))
                       for cam, n in zip(rig.cameras, kp.frame_counts)]
    videos = [t.videos[session.camera_names.index(n)] for n in kp.camera_names]
    return overlay_views(videos, kp, [files.overlay_video(n) for n in kp.camera_names], reprojected, progress=progress)


def overlay_people(session: Session, take: str, *, progress: Callable[[int, int, int], None] | None = None
                   ) -> list[Path]:
    """The overlay of a take with several performers: each performer's keypoints in its colour with its name
    (and its 3D points projected back, darker, once triangulated), the detections given to nobody in grey."""
    import numpy as np

    from mocap.camera import CameraRig
    from mocap.keypoints2d.candidates import Candidates2D
    from mocap.keypoints2d.keypoints import Keypoints2D
    from mocap.keypoints2d.overlay import overlay_people_views
    from mocap.people.roster import read_roster
    from mocap.people.stage import load_tracks
    from mocap.triangulation.points import Points3D

    files = session.layout.take(take)
    names = read_roster(files.people).names
    performers = [(n, Keypoints2D.load(files.person(n).keypoints2d)) for n in names]
    cand = Candidates2D.load(files.candidates2d)
    used = load_tracks(files.people_tracks)["candidate"]  # (N, C, F)
    others = []
    for c in range(cand.n_cameras):
        xy = cand.xy[c].copy()
        n, f = np.nonzero(used[:, c] >= 0)
        xy[f, used[n, c, f]] = np.nan
        others.append((xy, cand.conf[c]))
    reprojected = None
    rig_path = session.layout.calibration.rig
    if rig_path.is_file():
        rig = CameraRig.load(rig_path).subset(cand.camera_names)
        reprojected = []
        for n in names:
            path = files.person(n).points3d
            xyz = Points3D.load(path).xyz if path.is_file() else None
            reprojected.append(None if xyz is None else [cam.to_video_pixels(cam.project(xyz)) for cam in rig.cameras])
    videos = [session.take(take).videos[session.camera_names.index(c)] for c in cand.camera_names]
    return overlay_people_views(videos, performers, [files.overlay_video(c) for c in cand.camera_names], reprojected,
                                others, progress=progress)
