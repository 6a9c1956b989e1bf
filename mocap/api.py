"""The Python API: the CLI's commands as functions (sessions in, stage outputs back).

Each stage is also callable on arrays; see the functions each of these wraps.

>>> import mocap
>>> runs = mocap.run("sample_sessions/studio4", output_dir="out/api")       # every stage, cached
>>> motion = mocap.load_body_motion("out/api/takes/demo/body_motion.npz")
>>> mocap.export_motion(motion, "walk_mixamo.fbx", rig="mixamo")

(``synchronize``, ``export_motion`` and ``write_report`` are not called ``sync``, ``export`` and ``report``:
those are the names of the ``mocap.sync``, ``mocap.export`` and ``mocap.report`` packages, which would replace
such functions on import.)
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path


def _session(session, output_dir=None):
    from mocap.session import Session

    s = session if isinstance(session, Session) else Session.load(session)
    return dataclasses.replace(s, output_dir=Path(output_dir).resolve()) if output_dir is not None else s


def run(session, config=None, *, takes: Sequence[str] | None = None, output_dir=None, accept: bool = False,
        keep_going: bool = False):
    """``mocap run``: calibrate -> detect -> sync -> triangulate -> fit -> export -> report, reusing finished stages.

    Args:
        session: a session folder (with ``session.toml``) or a `mocap.session.Session`.
        config: a `mocap.pipeline.RunConfig`, a path to a run-config TOML, or None (defaults + session.toml).
    Returns:
        the list of `mocap.pipeline.StageRun` (what ran, what was reused, outputs).
    """
    from mocap.pipeline import RunConfig, run_session

    s = _session(session, output_dir)
    if config is None or isinstance(config, (str, Path)):
        config = RunConfig.load(s, config)
    return run_session(s, config, takes=takes, accept=accept, keep_going=keep_going)


def run_batch(roots, config=None, *, backend: str = "local", address: str | None = None, workers: int = 0,
              output=None, overrides: dict | None = None, accept: bool = False, progress=None):
    """``mocap batch``: every take of every session under ``roots``, on this machine or a Ray cluster.

    Args:
        roots: folders searched for ``session.toml`` (or session files).
        config: a path to a run-config TOML (every session), or None.
        overrides: ``{table: {setting: value}}`` over it (like ``--set``), e.g. ``{"until": "fit"}``.
        output: where ``batch.toml`` and ``batch_index.html`` go (default: the current folder).
    Returns:
        a `mocap.batch.BatchResult` (``.takes``: one `TakeRecord` per take, in order).
    """
    from mocap.batch import run_batch as run_all

    return run_all([roots] if isinstance(roots, (str, Path)) else roots, backend=backend, address=address,
                   workers=workers, output=output, config_file=config, overrides=overrides, accept=accept,
                   progress=progress)


def calibrate(session, config=None, *, output_dir=None, accept: bool = False, sync=None):
    """``mocap calibrate`` (the calibration take synchronized first, ``sync`` a `mocap.sync.stage.SyncConfig`);
    on arrays: `mocap.calibration.pipeline.calibrate_detections`. A session with ``[calibration] rig = "FILE"``
    imports that file instead (`mocap.calibration.imported.ImportedRig`)."""
    from mocap.calibration.config import CalibrationConfig
    from mocap.calibration.pipeline import calibrate_session
    from mocap.sync.calibration import calibration_aligner
    from mocap.sync.stage import SyncConfig

    s = _session(session, output_dir)
    if s.rig is not None:
        from mocap.calibration.imported import import_session_rig

        return import_session_rig(s)
    config = config or CalibrationConfig()
    align = calibration_aligner(s, sync or SyncConfig(), stride=config.detect.stride)
    return calibrate_session(s, config, accept=accept, align=align)


def import_session(folder, tool: str, output=None, *, force: bool = False) -> Path:
    """``mocap session import FOLDER --from TOOL``: write a ``session.toml`` for a Pose2Sim, FreeMoCap or Anipose
    project (into ``output``, default the project folder); returns its path (`mocap.projects`)."""
    from mocap.projects import import_project

    return import_project(folder, tool).write(output if output is not None else folder, force=force)


def new_session(folder, output=None, *, board: str | None = None, force: bool = False) -> Path:
    """``mocap session new FOLDER``: write a commented ``session.toml`` for a folder of videos; returns its path
    (`mocap.projects.folder`)."""
    from mocap.projects import new_session as draft

    return draft(folder, board=board).write(output if output is not None else folder, force=force)


def detect(session, take: str, config=None, *, output_dir=None):
    """``mocap detect`` -> `Keypoints2D`; on frames: `mocap.keypoints2d.stage.detect_camera`."""
    from mocap.keypoints2d.stage import DetectionConfig, detect_take

    return detect_take(_session(session, output_dir), take, config or DetectionConfig())


def synchronize(session, take: str, config=None, *, output_dir=None):
    """``mocap sync`` -> `SyncResult` (``.sync`` is the `TakeSync` written to ``sync.toml``); on arrays:
    `mocap.sync.stage.estimate_clocks`, `mocap.sync.motion.motion_sync`, `mocap.sync.audio.audio_sync`."""
    from mocap.sync.stage import SyncConfig, sync_take

    return sync_take(_session(session, output_dir), take, config or SyncConfig())


def triangulate(session, take: str, config=None, smoothing=None, *, output_dir=None):
    """``mocap triangulate`` -> raw and smoothed `Points3D` (`TriangulationResult`); on arrays:
    `mocap.smoothing.stage.triangulate_and_smooth(rig, keypoints)`."""
    from mocap.smoothing.filters import SmoothConfig
    from mocap.smoothing.stage import smooth_take
    from mocap.triangulation.robust import TriangulateConfig
    from mocap.triangulation.stage import triangulate_take

    s = _session(session, output_dir)
    config = config or TriangulateConfig()
    triangulate_take(s, take, config=config)
    return smooth_take(s, take, smoothing or SmoothConfig(), marker_names=config.marker_names)


def fit(session, take: str, config=None, *, output_dir=None):
    """``mocap fit`` -> `FitResult` (``.motion`` is the `BodyMotion`); on arrays:
    `mocap.fitting.stage.fit_points(xyz, joint_names, fps)`."""
    from mocap.fitting.fit import FitConfig
    from mocap.fitting.stage import fit_take

    return fit_take(_session(session, output_dir), take, config or FitConfig())


def load_body_motion(path):
    """A `BodyMotion` from an AMASS-style ``body_motion.npz``."""
    from mocap.body.motion import BodyMotion

    return BodyMotion.load(path)


def export_motion(motion, path, fmt: str | None = None, *, rig: str | None = None, **kwargs) -> Path:
    """``mocap export``: ``motion`` a `BodyMotion` or a ``body_motion.npz``; ``fmt`` defaults to the file
    suffix (bvh, fbx, glb, trc; .npz = amass); ``rig`` a preset name or rig .toml."""
    from mocap.body.motion import BodyMotion
    from mocap.export.export import export_motion as write

    if not isinstance(motion, BodyMotion):
        motion = load_body_motion(motion)
    return write(motion, path, fmt, rig, **kwargs)


def write_report(session, take: str | None = None, *, output_dir=None) -> Path:
    """``mocap report``: one take's ``report.html``, or the session's ``index.html`` (all takes)."""
    from mocap.report import build_session_report, build_take_report

    s = _session(session, output_dir)
    return build_take_report(s, take) if take else build_session_report(s)
