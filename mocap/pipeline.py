"""``mocap run``: every stage of a session in order, skipping what is already done.

Each stage's outputs are written atomically, then a stamp (``.<stage>.stamp.toml``) records the
content hash of its inputs and its settings. A stage is reused when its stamp matches and its
outputs exist, so an interrupted run resumes where it stopped, and changing a video or a setting
reruns exactly the stages that depend on it.

Stages: calibrate (once per session) -> detect -> triangulate (+ smooth) -> fit -> export -> report
(per take). Stages hand off only through files (see :mod:`mocap.layout`).
"""

from __future__ import annotations

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
from mocap.report.config import ReportConfig
from mocap.session import Session
from mocap.smoothing.filters import SmoothConfig
from mocap.triangulation.robust import TriangulateConfig

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int, int], None]

#: Every stage of ``mocap run``, in order.
STAGES = ("calibrate", "detect", "triangulate", "fit", "export", "report")
Stage = Literal["calibrate", "detect", "triangulate", "fit", "export", "report"]


@dataclass(frozen=True)
class RunConfig:
    """All settings of ``mocap run``; a ``--config`` TOML file has one table per stage."""

    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    """``mocap calibrate`` settings (session.toml's ``[calibration]`` table is applied first)."""
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    """``mocap detect`` settings."""
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
    """Last stage to run: calibrate, detect, triangulate, fit, export or report."""

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
    if not isinstance(session, Session):
        session = Session.load(session)
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
            stage = STAGES[STAGES.index(runs[-1].stage) + 1] if runs and runs[-1].take == name else "detect"
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
    """The calibration stage (once per session), reused while its videos, board and settings are unchanged."""
    from mocap.calibration.board import load_board
    from mocap.calibration.pipeline import calibrate_session

    board = load_board(session.board, search=[session.root])
    files = session.layout.calibration
    key = stage_key("calibrate", {"config": to_dict(config.calibration), "board": board.to_dict(),
                                  "cameras": [vars(c) for c in session.cameras], "accept": accept},
                    list(session.calibration_videos) + list(session.floor_videos))
    return run_stage("calibrate", None, files.stamp(), key, [files.rig],
                     lambda: calibrate_session(session, config.calibration, accept=accept,
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
    """The detect stage's stamp key of a take: its videos, the calibration (mirroring) and the settings."""
    take = session.take(name)
    return stage_key("detect", to_dict(config.detection), list(take.videos) + [session.layout.calibration.rig])


def detect_stage(session: Session, name: str, config: RunConfig, progress: Progress | None = None) -> StageRun:
    """2D keypoints of every camera of a take (cameras in parallel worker processes)."""
    from mocap.keypoints2d.stage import detect_take

    files = session.layout.take(name)
    return run_stage("detect", name, files.stamp("detect"), detect_key(session, name, config), [files.keypoints2d],
                     lambda: detect_take(session, name, config.detection,
                                         progress=(lambda c, d, t: progress("detect", c, d, t)) if progress else None))


def detect_camera_stage(session: Session, name: str, camera: str, config: RunConfig,
                        progress: Callable[[int, int], None] | None = None) -> StageRun:
    """One camera's share of the detect stage (``mocap batch`` distributes these): its own file and stamp.

    Reused when its stamp matches, or when the take's whole detect stage is already up to date (e.g. done
    by ``mocap run``, which writes no per-camera files)."""
    from mocap.keypoints2d.stage import camera_mirrored, detect_take_camera

    files = session.layout.take(name)
    index = session.camera_names.index(camera)
    mirrored = camera_mirrored(session)[index]
    key = stage_key("detect_camera", {"detection": to_dict(config.detection), "camera": camera, "mirrored": mirrored},
                    [session.take(name).videos[index]])
    out = files.keypoints2d_camera(camera)
    stamp = files.camera_stamp(camera, "detect")
    take_stamp = files.stamp("detect")
    if (not _stamp_matches(stamp, key, [out]) and _stamp_matches(take_stamp, None, [files.keypoints2d])
            and _stamp_matches(take_stamp, detect_key(session, name, config), [files.keypoints2d])):
        return StageRun("detect", name, "reused", 0.0, (files.keypoints2d,))
    return run_stage("detect", name, stamp, key, [out],
                     lambda: detect_take_camera(session, name, camera, config.detection, mirrored=mirrored,
                                                progress=progress))


def merge_detect_stage(session: Session, name: str, config: RunConfig) -> StageRun:
    """The detect stage from every camera's share (:func:`detect_camera_stage`): the same stamp and
    ``keypoints2d.npz`` as :func:`detect_stage` writes."""
    from mocap.keypoints2d.stage import merge_take_cameras

    files = session.layout.take(name)
    return run_stage("detect", name, files.stamp("detect"), detect_key(session, name, config), [files.keypoints2d],
                     lambda: merge_take_cameras(session, name))


def triangulate_stage(session: Session, name: str, config: RunConfig, progress: Progress | None = None) -> StageRun:
    """3D points from the 2D keypoints, gaps filled and smoothed (+ TRC, C3D and CSV files)."""
    from mocap.smoothing.stage import POINT_FILE_FORMATS, smooth_take
    from mocap.triangulation.stage import triangulate_take

    files = session.layout.take(name)

    def triangulate_and_smooth():
        triangulate_take(session, name, config=config.triangulation)
        smooth_take(session, name, config.smoothing)

    outputs = [files.points3d, files.points3d_raw] + [files.points3d_file(f) for f in POINT_FILE_FORMATS]
    key = stage_key("triangulate", {"triangulation": to_dict(config.triangulation),
                                    "smoothing": to_dict(config.smoothing)},
                    [files.keypoints2d, session.layout.calibration.rig])
    return run_stage("triangulate", name, files.stamp("triangulate"), key, outputs, triangulate_and_smooth)


def fit_stage(session: Session, name: str, config: RunConfig, progress: Progress | None = None) -> StageRun:
    """The body model fitted to the 3D points -> ``body_motion.npz``."""
    from mocap.fitting.stage import fit_take

    files = session.layout.take(name)
    key = stage_key("fit", to_dict(config.fit), [files.points3d])
    return run_stage("fit", name, files.stamp("fit"), key, [files.body_motion, files.fit_summary],
                     lambda: fit_take(session, name, config.fit,
                                      progress=(lambda i, n: progress("fit", 0, i, n)) if progress else None))


def export_stage(session: Session, name: str, config: RunConfig, progress: Progress | None = None) -> StageRun:
    """Every export file of a take (formats x rigs)."""
    files = session.layout.take(name)
    plan = export_plan(files, config.export)
    key = stage_key("export", to_dict(config.export), [files.body_motion])
    return run_stage("export", name, files.stamp("export"), key, [p for _, _, p in plan],
                     lambda: export_take(files.body_motion, plan, config))


#: A take's stages after calibration, in order; each ``(session, take, config, progress) -> StageRun``.
#: ``mocap batch`` runs the same list (detection split per camera).
TAKE_STAGES: tuple[tuple[str, Callable[..., StageRun]], ...] = (
    ("detect", detect_stage), ("triangulate", triangulate_stage), ("fit", fit_stage), ("export", export_stage))


def take_stages(session: Session, name: str, config: RunConfig, progress: Progress | None,
                runs: list[StageRun]) -> None:
    """detect -> triangulate -> fit -> export for one take, up to ``config.until``; appends to ``runs``."""
    for stage, run in TAKE_STAGES:
        runs.append(run(session, name, config, progress))
        if config.until == stage:
            return


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
    from mocap.keypoints2d.keypoints import Keypoints2D
    from mocap.keypoints2d.overlay import overlay_views
    from mocap.triangulation.points import Points3D

    if not isinstance(session, Session):
        session = Session.load(session)
    t = session.take(take)
    files = session.layout.take(take)
    if not files.keypoints2d.is_file():
        raise InputError("2D keypoints not found", path=files.keypoints2d,
                         fix=f"run `mocap detect {session.root} --take {take}`")
    kp = Keypoints2D.load(files.keypoints2d)
    reprojected = None
    rig_path = session.layout.calibration.rig
    if files.points3d.is_file() and rig_path.is_file():
        rig = CameraRig.load(rig_path).subset(kp.camera_names)
        xyz = Points3D.load(files.points3d).xyz
        reprojected = [cam.to_video_pixels(cam.project(xyz)) for cam in rig.cameras]
    videos = [t.videos[session.camera_names.index(n)] for n in kp.camera_names]
    return overlay_views(videos, kp, [files.overlay_video(n) for n in kp.camera_names], reprojected, progress=progress)
