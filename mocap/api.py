"""The Python API: the CLI's commands as functions (sessions in, stage outputs back).

Each stage is also callable on arrays; see the functions each of these wraps.

>>> import mocap
>>> runs = mocap.run("sample_sessions/studio4", output_dir="out/api")       # every stage, cached
>>> motion = mocap.load_body_motion("out/api/takes/demo/body_motion.npz")
>>> mocap.export_motion(motion, "walk_mixamo.fbx", rig="mixamo")

(``export_motion`` and ``write_report`` are not called ``export`` and ``report``: those are the names of the
``mocap.export`` and ``mocap.report`` packages, which would replace such functions on import.)
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
    """``mocap run``: calibrate -> detect -> triangulate -> fit -> export -> report, reusing finished stages.

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


def calibrate(session, config=None, *, output_dir=None, accept: bool = False):
    """``mocap calibrate``; on arrays: `mocap.calibration.pipeline.calibrate_detections`."""
    from mocap.calibration.config import CalibrationConfig
    from mocap.calibration.pipeline import calibrate_session

    return calibrate_session(_session(session, output_dir), config or CalibrationConfig(), accept=accept)


def detect(session, take: str, config=None, *, output_dir=None):
    """``mocap detect`` -> `Keypoints2D`; on frames: `mocap.keypoints2d.stage.detect_camera`."""
    from mocap.keypoints2d.stage import DetectionConfig, detect_take

    return detect_take(_session(session, output_dir), take, config or DetectionConfig())


def triangulate(session, take: str, config=None, smoothing=None, *, output_dir=None):
    """``mocap triangulate`` -> raw and smoothed `Points3D` (`TriangulationResult`); on arrays:
    `mocap.smoothing.stage.triangulate_and_smooth(rig, keypoints)`."""
    from mocap.smoothing.filters import SmoothConfig
    from mocap.smoothing.stage import smooth_take
    from mocap.triangulation.robust import TriangulateConfig
    from mocap.triangulation.stage import triangulate_take

    s = _session(session, output_dir)
    triangulate_take(s, take, config=config or TriangulateConfig())
    return smooth_take(s, take, smoothing or SmoothConfig())


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
