"""``mocap run``: every stage of a session in order, skipping what is already done.

Each stage's outputs are written atomically, then a stamp (``.<stage>.stamp.toml``) records the
content hash of its inputs and its settings. A stage is reused when its stamp matches and its
outputs exist, so an interrupted run resumes where it stopped, and changing a video or a setting
reruns exactly the stages that depend on it.

Stages: calibrate (once per session) -> detect -> triangulate + smooth -> fit -> export -> report
(per take).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mocap.calibration.config import CalibrationConfig
from mocap.config import from_dict, to_dict
from mocap.detection import DetectionConfig
from mocap.errors import InputError, MocapError
from mocap.fitting.fit import FitConfig
from mocap.io.tomlio import read_toml, write_toml
from mocap.session import Session
from mocap.smoothing import SmoothConfig
from mocap.triangulation.robust import TriangulateConfig

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int, int], None]


#: Every stage of ``mocap run``, in order.
STAGES = ("calibrate", "detect", "triangulate", "fit", "export", "report")


@dataclass(frozen=True)
class ExportConfig:
    """``mocap export`` settings used by ``mocap run``."""

    formats: tuple[str, ...] = ("bvh", "fbx", "glb")
    """Files written per take and rig: any of bvh, fbx, glb, amass, trc (body_motion.npz is always there)."""
    rigs: tuple[str, ...] = ("smplx",)
    """Rig presets to retarget onto (``smplx`` = the fitted skeleton itself), e.g. ["smplx", "mixamo"]."""
    up: str = "Y"
    """Up axis of BVH/TRC files."""
    units: str = "m"
    """Units of BVH files: m, cm or mm."""
    foot_locking: bool = True
    """Pin planted feet when retargeting onto a rig."""
    mesh: bool = True
    """Include the skinned body mesh in FBX/GLB files of the SMPL-X skeleton."""


@dataclass(frozen=True)
class ReportConfig:
    """The report stage."""

    enabled: bool = True
    """Write ``report.html`` per take and ``index.html`` for the session."""


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
    export: ExportConfig = field(default_factory=lambda: ExportConfig())
    """What files animators get from each take."""
    report: ReportConfig = field(default_factory=lambda: ReportConfig())
    """The per-take HTML report and the session index."""
    until: str = "report"
    """Last stage to run: calibrate, detect, triangulate, fit, export or report."""

    @classmethod
    def load(cls, session: Session, path: str | Path | None = None) -> RunConfig:
        data: dict[str, Any] = {"calibration": dict(session.calibration_options)}
        if path is not None:
            for table, values in read_toml(path, what="config file").items():
                if isinstance(values, dict) and isinstance(data.get(table), dict):
                    data[table] = {**data[table], **values}
                else:
                    data[table] = values
        config = from_dict(cls, data, source=path or session.file)
        if config.until not in STAGES:
            raise InputError(f"setting until = {config.until!r} is not a stage", path=path or session.file,
                             fix=f"use one of: {', '.join(STAGES)}")
        return config


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
    from mocap import __version__

    blob = json.dumps({"stage": stage, "version": __version__, "settings": settings,
                       "inputs": [file_digest(p) for p in inputs]},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _run_stage(name: str, take: str | None, stamp: Path, key: str, outputs: Sequence[Path],
               work: Callable[[], Any]) -> StageRun:
    if stamp.is_file() and all(Path(p).exists() for p in outputs):
        try:
            if read_toml(stamp).get("key") == key:
                return StageRun(name, take, "reused", 0.0, tuple(outputs))
        except InputError:
            pass  # a damaged stamp: run the stage again
    t0 = time.perf_counter()
    work()
    seconds = time.perf_counter() - t0
    write_toml(stamp, {"stage": name, "key": key, "seconds": seconds,
                       "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
    return StageRun(name, take, "ran", seconds, tuple(outputs))


def run_session(session: Session | str | Path, config: RunConfig | None = None, *,
                takes: Sequence[str] | None = None, progress: Progress | None = None,
                accept: bool = False, keep_going: bool = False) -> list[StageRun]:
    """Run (or reuse) every stage for ``takes`` (default: all) and return what happened.

    With ``keep_going`` a take whose stage fails with a `MocapError` is recorded as ``failed`` (with the
    message) and the other takes go on; otherwise the error is raised.
    """
    from mocap.calibration.board import load_board
    from mocap.calibration.pipeline import calibrate_session
    if not isinstance(session, Session):
        session = Session.load(session)
    config = config or RunConfig.load(session)
    if config.until not in STAGES:
        raise InputError(f"unknown stage {config.until!r} for `until`", path=session.file,
                         fix=f"use one of: {', '.join(STAGES)}")
    names = list(takes) if takes else [t.name for t in session.takes]
    for name in names:
        _check_take_videos(session, name)  # unknown take or missing videos: a clear error before any work
    try:
        session.output_dir.mkdir(parents=True, exist_ok=True)
        write_toml(session.output_dir / "run_config.toml", to_dict(config))
    except OSError as exc:
        raise MocapError(f"cannot write to the output folder ({exc.strerror or exc})", path=session.output_dir,
                         fix="set output_dir in session.toml (or --output) to a folder you can write to") from exc
    runs = []

    board = load_board(session.board, search=[session.root])
    cal_dir = session.calibration_dir
    key = stage_key("calibrate", {"config": to_dict(config.calibration), "board": board.to_dict(),
                                  "cameras": [vars(c) for c in session.cameras], "accept": accept},
                    list(session.calibration_videos) + list(session.floor_videos))
    runs.append(_run_stage(
        "calibrate", None, cal_dir / ".calibrate.stamp.toml", key, [session.rig_path],
        lambda: calibrate_session(session, config.calibration, accept=accept,
                                  progress=(lambda s, c, d, t: progress(s, c, d, t)) if progress else None)))

    if config.until in ("fit", "export", "report"):
        _prewarm_imports(config)
    for name in names:
        if config.until == "calibrate":
            break
        try:
            _take_stages(session, name, config, progress, runs)
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
        runs.append(StageRun("report", None, "ran", time.perf_counter() - t0,
                             (session.output_dir / "index.html",)))
    return runs


def _check_take_videos(session: Session, name: str) -> None:
    """Every camera's video of a take exists (a file, a folder of images, or a glob that matches)."""
    import glob

    take = session.take(name)
    for camera, video in zip(session.camera_names, take.videos):
        pattern = any(c in str(video) for c in "*?[")
        if not (Path(video).exists() if not pattern else glob.glob(str(video))):
            raise InputError(f"take {name!r}: camera {camera!r} has no video", path=video,
                             fix=f"put the video there, or fix the take's `videos` in {session.file}")


def _prewarm_imports(config: RunConfig) -> None:
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


def _take_stages(session: Session, name: str, config: RunConfig, progress: Progress | None,
                 runs: list[StageRun]) -> None:
    """detect -> triangulate -> fit -> export for one take, up to ``config.until``; appends to ``runs``."""
    from mocap.detection import detect_take
    from mocap.triangulation.stage import EXPORT_FORMATS, triangulate_take

    take = session.take(name)
    out = session.take_dir(name)
    kp_path = out / "keypoints2d.npz"
    key = stage_key("detect", to_dict(config.detection), list(take.videos) + [session.rig_path])
    runs.append(_run_stage(
        "detect", name, out / ".detect.stamp.toml", key, [kp_path],
        lambda: detect_take(session, name, config.detection,
                            progress=(lambda c, d, t: progress("detect", c, d, t)) if progress else None)))
    if config.until == "detect":
        return
    outputs = [out / "points3d.npz", out / "points3d_raw.npz"] + [out / f"points3d.{f}" for f in EXPORT_FORMATS]
    key = stage_key("triangulate", {"triangulation": to_dict(config.triangulation),
                                    "smoothing": to_dict(config.smoothing)}, [kp_path, session.rig_path])
    runs.append(_run_stage(
        "triangulate", name, out / ".triangulate.stamp.toml", key, outputs,
        lambda: triangulate_take(session, name, config=config.triangulation, smoothing=config.smoothing)))
    if config.until != "triangulate":
        _body_stages(session, name, config, progress, runs)


def export_paths(session: Session, take: str, config: ExportConfig) -> list[tuple[str, str, Path]]:
    """``(format, rig, path)`` of every export file of a take."""
    from mocap.export.export import FORMATS

    out = session.take_dir(take) / "export"
    return [(fmt, rig, out / f"{take}_{rig}{FORMATS[fmt]}") for rig in config.rigs for fmt in config.formats]


def _body_stages(session: Session, name: str, config: RunConfig, progress: Progress | None,
                 runs: list[StageRun]) -> None:
    """fit -> export for one take."""
    from mocap.fitting.stage import fit_take

    out = session.take_dir(name)
    points, motion_path = out / "points3d.npz", out / "body_motion.npz"
    key = stage_key("fit", to_dict(config.fit), [points])
    runs.append(_run_stage("fit", name, out / ".fit.stamp.toml", key, [motion_path, out / "fit.toml"],
                           lambda: fit_take(session, name, config.fit,
                                            progress=(lambda i, n: progress("fit", 0, i, n)) if progress else None)))
    if config.until == "fit":
        return
    files = export_paths(session, name, config.export)
    key = stage_key("export", to_dict(config.export), [motion_path])
    runs.append(_run_stage("export", name, out / ".export.stamp.toml", key, [p for _, _, p in files],
                           lambda: _export_take(motion_path, files, config)))


def _export_take(motion_path: Path, files, config: RunConfig) -> None:
    from mocap.body.motion import BodyMotion
    from mocap.export.export import export_motion
    from mocap.export.mesh import body_mesh

    motion = BodyMotion.load(motion_path)
    mesh = None
    if config.export.mesh and any(f in ("fbx", "glb") and r == "smplx" for f, r, _ in files):
        mesh = body_mesh(motion, config.fit.model)
    for fmt, rig, path in files:
        export_motion(motion, path, fmt, None if rig == "smplx" else rig, up=config.export.up,
                      units=config.export.units, foot_locking=config.export.foot_locking,
                      mesh=mesh if rig == "smplx" and fmt in ("fbx", "glb") else None)


class _CallableModule(type(logging)):
    """``mocap.run`` is both this module and the API function: ``mocap.run(session, config)`` calls
    `mocap.api.run` (a submodule import would otherwise replace the function on the package)."""

    def __call__(self, *args, **kwargs):
        from mocap.api import run as api_run

        return api_run(*args, **kwargs)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
