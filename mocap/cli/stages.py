"""The pipeline's commands: calibrate, detect, import, sync, people, overlay, triangulate, fit, export, run, report,
demo.

Each is a thin wrapper over a library function; stage settings come from the config dataclasses (their
fields are the options, see :mod:`mocap.cli.options`), over a ``--config`` file, over session.toml.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import click
import numpy as np

from mocap.calibration.config import CalibrationConfig
from mocap.cli.display import console, print_calibration, print_runs, print_sync, progress_bars, setup_logging
from mocap.cli.options import ConfigOptions, run_overrides, settings_listing
from mocap.errors import InputError, MocapError
from mocap.export.config import ExportConfig
from mocap.fitting.fit import FitConfig
from mocap.keypoints2d.stage import DetectionConfig
from mocap.people.tracking import TrackingConfig
from mocap.pipeline import STAGES, RunConfig
from mocap.smoothing.filters import SmoothConfig
from mocap.sync.stage import SyncConfig
from mocap.triangulation.robust import TriangulateConfig

SESSION = click.argument("session", type=click.Path(path_type=Path))
CONFIG = click.option("--config", "config_file", type=click.Path(path_type=Path),
                      help="Run-config TOML file with one table per stage ([calibration], [detection], ...).")
OUTPUT = click.option("--output", "-o", type=click.Path(path_type=Path), help="Output folder (default: the session's).")
VERBOSE = click.option("--verbose", "-v", is_flag=True, help="Show debug messages.")
TAKES = click.option("--take", "-t", "takes", multiple=True, help="Take(s) to process (default: all).")
TAKE = click.option("--take", "-t", "take", required=True, help="Take name (a [[takes]] entry of session.toml).")
PERFORMER = click.option("--performer", "-p", "performers", multiple=True,
                         help="Performer(s) of a take with several (names in people.toml; default: all).")

CALIBRATION = ConfigOptions(CalibrationConfig, "calibration")
DETECTION = ConfigOptions(DetectionConfig, "detection")
SYNC = ConfigOptions(SyncConfig, "sync")
PEOPLE = ConfigOptions(TrackingConfig, "people")
TRIANGULATION = ConfigOptions(TriangulateConfig, "triangulation")
SMOOTHING = ConfigOptions(SmoothConfig, "smoothing", prefix="smoothing_")
FIT = ConfigOptions(FitConfig, "fit")
EXPORT = ConfigOptions(ExportConfig, "export", exclude=("formats", "rigs"))

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SESSION = REPO_ROOT / "sample_sessions" / "studio4"


def load_session(path: Path, output: Path | None = None, verbose: bool = False):
    """The session, with ``--output`` applied; logging to the terminal and to ``<output>/mocap.log``."""
    from mocap.session import Session

    s = Session.load(path)
    if output is not None:
        s = dataclasses.replace(s, output_dir=output.resolve())
    setup_logging(verbose, s.layout.log)
    return s


def run_config(session, config_file: Path | None, *options: tuple[ConfigOptions, dict]) -> RunConfig:
    """The run config: defaults, session.toml, ``--config`` and then the options given on the command line."""
    overrides = {o.table: o.given(kwargs) for o, kwargs in options}
    return RunConfig.load(session, config_file, {k: v for k, v in overrides.items() if v})


def _take_names(s, takes) -> list[str]:
    names = list(takes) or [t.name for t in s.takes]
    if not names:
        raise MocapError("the session has no takes", path=s.file, fix="add [[takes]] entries to session.toml")
    return names


@click.command()
@SESSION
@CONFIG
@click.option("--accept", is_flag=True, help="Write camera_rig.toml even if the quality gate fails.")
@OUTPUT
@VERBOSE
@CALIBRATION.decorate
def calibrate(session, config_file, accept, output, verbose, **options):
    """Calibrate the session's cameras from its ChArUco calibration take, synchronized first as `mocap sync`
    does takes (hand-given [calibration] time_offsets, else sound, else the board's motion); or import the
    calibration file session.toml names with [calibration] rig."""
    from mocap.calibration.pipeline import calibrate_session
    from mocap.sync.calibration import calibration_aligner

    s = load_session(session, output, verbose)
    if s.rig is not None:
        from mocap.calibration.imported import import_session_rig

        imported = import_session_rig(s)
        console().print(f"imported {len(imported.rig)} cameras from {imported.source} ({imported.format})\n"
                        f"  rig {s.layout.calibration.rig}", soft_wrap=True)
        return
    full = run_config(s, config_file, (CALIBRATION, options))
    config = full.calibration
    align = calibration_aligner(s, full.sync, stride=config.detect.stride)
    progress, callback = progress_bars()
    with progress:
        result = calibrate_session(s, config, accept=accept, align=align,
                                   progress=lambda st, c, d, t: callback(st, c, d, t, s.camera_names))
    print_calibration(result)


@click.command()
@SESSION
@TAKES
@CONFIG
@OUTPUT
@VERBOSE
@DETECTION.decorate
def detect(session, takes, config_file, output, verbose, **options):
    """Detect 2D keypoints in every camera of a take (cameras in parallel processes)."""
    from mocap.keypoints2d.stage import detect_take

    s = load_session(session, output, verbose)
    config = run_config(s, config_file, (DETECTION, options)).detection
    for name in _take_names(s, takes):
        progress, callback = progress_bars()
        with progress:
            kp, path = detect_take(s, name, config, progress=lambda c, d, t: callback(name, c, d, t, s.camera_names))
        rates = ", ".join(f"{n} {r:.0%}" for n, r in zip(kp.camera_names, kp.detection_rate()))
        several = f", up to {kp.max_people} people per camera" if hasattr(kp, "max_people") else ""
        console().print(f"{name}: {kp.n_frames} frames{several}, person detected in: {rates}\n  keypoints {path}",
                        soft_wrap=True)


@click.command()
@SESSION
@TAKES
@CONFIG
@OUTPUT
@VERBOSE
@SYNC.decorate
def sync(session, takes, config_file, output, verbose, **options):
    """Find when each camera recorded each frame (time offsets, frame rates, clock drift) from the videos'
    sound and the 2D keypoints -> sync.toml, which triangulation then follows. Hand-given values in
    session.toml (time_offsets, fps, drift_ppm) win."""
    from mocap.sync.stage import sync_take

    s = load_session(session, output, verbose)
    config = run_config(s, config_file, (SYNC, options)).sync
    for name in _take_names(s, takes):
        result = sync_take(s, name, config)
        print_sync(name, result.sync, s.layout.take(name).sync)


@click.command()
@SESSION
@TAKES
@CONFIG
@OUTPUT
@VERBOSE
@PEOPLE.decorate
def people(session, takes, config_file, output, verbose, **options):
    """Tell the performers of a take with several apart: associate the detected people across cameras, track
    identities over the take; writes people.toml and one keypoints2d.npz per performer."""
    from mocap.people.stage import people_take
    from mocap.pipeline import performer_files

    s = load_session(session, output, verbose)
    config = run_config(s, config_file, (PEOPLE, options))
    for name in _take_names(s, takes):
        result = people_take(s, name, config.people, max_people=config.detection.max_people or None,
                             performer_files=lambda f, n: performer_files(f, n, config))
        lines = [f"  {p.id} {p.name}: frames {p.first_frame}-{p.last_frame}, seen in {p.frames_seen}"
                 for p in result.roster.people]
        unassigned = int(result.tracks.n_unassigned.sum())
        console().print(f"{name}: {len(lines)} performers\n" + "\n".join(lines)
                        + (f"\n  {unassigned} groups given to nobody (more people than max_people, or one-off "
                           "ghosts)" if unassigned else "") + f"\n  {result.files[-1]}", soft_wrap=True)


def _performers(s, take: str, chosen) -> list[str | None]:
    """``[None]`` for a single-person take; the chosen (default: all) performers of a take with several."""
    files = s.layout.take(take)
    if not files.people.is_file():
        if chosen:
            raise InputError(f"take {take!r} has one performer (no people.toml)", path=files.people,
                             fix="drop --performer, or run detection with several performers first")
        return [None]
    from mocap.people.roster import read_roster

    names = read_roster(files.people).names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise InputError(f"no performer {unknown[0]!r} in take {take!r} (performers: {', '.join(names)})",
                         path=files.people, fix="pick one of the listed performers")
    return list(chosen) or names


@click.command("import")
@SESSION
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@TAKE
@click.option("--format", "-f", "fmt", required=True,
              help="openpose (also pose2sim), dlc (also deeplabcut), mmpose (also rtmpose).")
@click.option("--keypoint-set", help="The detector's keypoint set, e.g. body25 or body25b (25-point OpenPose "
                                     "files need it); default: from the number of keypoints.")
@click.option("--fps", type=float, help="Frame rate of the videos the keypoints come from (default: read from "
                                        "the take's videos).")
@click.option("--person", default="best", show_default=True,
              help="best (per frame, the person with the highest mean confidence), all (every person, for a take "
                   "with several performers: then run `mocap people`), or the index of the person in each frame's "
                   "list (a DeepLabCut individual's name also works).")
@OUTPUT
def import_(session, paths, take, fmt, keypoint_set, fps, person, output):
    """Import 2D keypoints from another detector (OpenPose/Pose2Sim JSON, DeepLabCut, MMPose) into a take:
    PATHS are one file or folder per camera, in the session's camera order."""
    from mocap.keypoints2d.importers import read_keypoint_files, take_fps

    s = load_session(session, output)
    s.take(take)
    if len(paths) != len(s.cameras):
        raise MocapError(f"got {len(paths)} keypoint paths for {len(s.cameras)} cameras ({', '.join(s.camera_names)})",
                         path=s.file, fix="give one file or folder per camera, in the order of session.toml")
    fps = fps if fps is not None else take_fps(s, take)
    result = read_keypoint_files(paths, fmt, camera_names=s.camera_names, fps=fps, keypoint_set=keypoint_set,
                                 person=int(person) if person.isdigit() else person)
    kp = result.keypoints
    from mocap.keypoints2d.candidates import Candidates2D
    from mocap.keypoints2d.stage import clear_other_mode

    files = s.layout.take(take)
    several = isinstance(kp, Candidates2D)
    out = kp.save(files.candidates2d if several else files.keypoints2d)
    clear_other_mode(files, several)
    rates = ", ".join(f"{n} {r:.0%}" for n, r in zip(kp.camera_names, kp.detection_rate()))
    mended = "".join(f"\n  mended: {note}" for note in result.notes)
    console().print(f"{kp.n_frames} frames of {kp.keypoint_set} ({len(kp.joint_names)} points) at {kp.fps:g} fps; "
                    f"found in: {rates}{mended}\n  keypoints {out}", soft_wrap=True)


@click.command()
@SESSION
@TAKE
@OUTPUT
def overlay(session, take, output):
    """Draw detected keypoints (green) and reprojected 3D points (magenta) on every camera's video."""
    from mocap.pipeline import overlay_take

    s = load_session(session, output)
    progress, callback = progress_bars()
    with progress:
        paths = overlay_take(s, take, progress=lambda c, d, t: callback("overlay", c, d, t, s.camera_names))
    for p in paths:
        console().print(f"  {p}", soft_wrap=True)


@click.command()
@SESSION
@TAKE
@PERFORMER
@click.option("--keypoints", type=click.Path(path_type=Path),
              help="2D keypoints .npz (default: the take's keypoints2d.npz).")
@CONFIG
@OUTPUT
@VERBOSE
@TRIANGULATION.decorate
@SMOOTHING.decorate
def triangulate(session, take, performers, keypoints, config_file, output, verbose, **options):
    """Triangulate a take's 2D keypoints into smoothed 3D points (+ TRC, C3D and CSV files); a take with
    several performers: each performer's."""
    from mocap.smoothing.stage import smooth_take
    from mocap.triangulation.stage import triangulate_take

    s = load_session(session, output, verbose)
    config = run_config(s, config_file, (TRIANGULATION, options), (SMOOTHING, options))
    con = console()
    for who in _performers(s, take, performers):
        raw = triangulate_take(s, take, keypoints_path=keypoints, config=config.triangulation, performer=who)
        result = smooth_take(s, take, config.smoothing, marker_names=config.triangulation.marker_names, performer=who)
        con.print(f"{who + ': ' if who else ''}{raw.xyz.shape[0]} frames x {raw.xyz.shape[1]} joints: "
                  f"{np.isfinite(raw.xyz[..., 0]).mean():.1%} triangulated, median reprojection error "
                  f"{np.nanmedian(raw.reprojection_error):.2f} px, {int(raw.swaps.sum())} left/right swaps fixed")
        for kind, path in result.files.items():
            con.print(f"  {kind:8s} {path}", soft_wrap=True)


@click.command()
@SESSION
@TAKE
@PERFORMER
@click.option("--points", type=click.Path(path_type=Path), help="3D points .npz (default: the take's points3d.npz).")
@CONFIG
@OUTPUT
@VERBOSE
@FIT.decorate
def fit(session, take, performers, points, config_file, output, verbose, **options):
    """Fit an SMPL-X body (shape + per-frame pose) to a take's 3D points -> body_motion.npz (AMASS keys); a
    take with several performers: one body (one shape) per performer."""
    from mocap.fitting.stage import fit_take

    s = load_session(session, output, verbose)
    config = run_config(s, config_file, (FIT, options)).fit
    for who in _performers(s, take, performers):
        result = fit_take(s, take, config, points_path=points, performer=who)
        m = result.motion
        console().print(f"{who + ': ' if who else ''}{m.n_frames} frames fitted with the {m.model} model in "
                        f"{result.seconds:.1f} s ({m.n_frames / max(result.seconds, 1e-9):.0f} frames/s); fit error "
                        f"median {np.nanmedian(m.fit_error_mm):.1f} mm, p95 {np.nanpercentile(m.fit_error_mm, 95):.1f} mm"
                        + (f"; {len(result.sparse_frames)} frames carried by the temporal term"
                           if len(result.sparse_frames) else ""))


def _run_help() -> str:
    return ("Settings (a --config TOML file with these tables, or --set TABLE.SETTING=VALUE; "
            "session.toml's [calibration] table applies first):\n\n\b\n" + settings_listing(RunConfig))


@click.command(epilog=_run_help())
@SESSION
@TAKES
@CONFIG
@click.option("--set", "assignments", multiple=True, metavar="TABLE.SETTING=VALUE",
              help="Override one setting, e.g. --set fit.iterations=30 --set export.rigs='[\"smplx\", \"mixamo\"]'.")
@click.option("--until", type=click.Choice(STAGES), help="Last stage to run [default: report].")
@OUTPUT
@click.option("--accept", is_flag=True, help="Go on even if calibration fails its quality gate.")
@VERBOSE
def run(session, takes, config_file, assignments, until, output, accept, verbose):
    """Run every stage (calibrate, detect, sync, people when a take has several performers, triangulate + smooth,
    fit, export, report), reusing what is already done."""
    from mocap.pipeline import run_session

    overrides = run_overrides(assignments, until)  # a bad --set fails before anything is written
    s = load_session(session, output, verbose)
    config = RunConfig.load(s, config_file, overrides)
    progress, callback = progress_bars()
    with progress:
        runs = run_session(s, config, takes=takes or None, accept=accept, keep_going=True,
                           progress=lambda st, c, d, t: callback(st, c, d, t, s.camera_names))
    print_runs(runs, s)
    failed = [r for r in runs if r.status == "failed"]
    for r in failed:
        console(True).print(f"take {r.take}: {r.stage} failed: {r.message}", soft_wrap=True, markup=False)
    if failed:
        raise SystemExit(2)


@click.command()
@SESSION
@click.option("--take", "-t", "takes", multiple=True, help="Take(s) to report (default: every take, plus the index).")
@OUTPUT
def report(session, takes, output):
    """Write a self-contained HTML report per take, and an index page with a verdict per take."""
    from mocap.report import build_session_report, build_take_report

    s = load_session(session, output)
    if takes:
        for name in takes:
            console().print(f"{name}: {build_take_report(s, name)}", soft_wrap=True)
    else:
        console().print(f"index of all takes: {build_session_report(s)}", soft_wrap=True)


@click.command()
@OUTPUT
def demo(output):
    """Run the whole pipeline on the shipped sample session (a rendered performer with ground truth) into a
    fresh output folder, and compare every stage with the truth."""
    from mocap.evaluation.ground_truth import evaluate_take
    from mocap.pipeline import run_session

    if not (SAMPLE_SESSION / "session.toml").is_file():
        raise InputError("the sample session is not here: it ships with the source repository, not the wheel",
                         path=SAMPLE_SESSION, fix="clone the mocap repository and run `make demo` there")
    out = output or (Path.cwd() / "out" / "demo" / time.strftime("%Y%m%d-%H%M%S"))
    s = load_session(SAMPLE_SESSION, out)
    progress, callback = progress_bars()
    with progress:
        runs = run_session(s, progress=lambda st, c, d, t: callback(st, c, d, t, s.camera_names))
    print_runs(runs, s)
    con = console()
    for take in s.takes:
        ev = evaluate_take(SAMPLE_SESSION, take.name, s.output_dir)
        cal = ev.calibration
        con.print(f"{take.name} against ground truth", style="bold")
        con.print(f"  calibration: focal {cal['focal_error_pct_max']:.2f} % (max), camera centres "
                  f"{cal['center_error_mm_max']:.1f} mm (max), rotations {cal['rotation_error_deg_max']:.2f} deg (max)")
        kp = ev.keypoints2d
        con.print(f"  2D keypoints: detected {kp['detected']:.0%}, median error {kp['median_px']:.1f} px")
        con.print(f"  3D points: MPJPE {ev.points3d.mpjpe:.1f} mm (PA-MPJPE {ev.points3d.pa_mpjpe:.1f} mm) over "
                  f"{len(ev.points3d_names)} BlazePose landmarks")
        if ev.body_joints is not None:
            con.print(f"  fitted body: MPJPE {ev.body_joints.mpjpe:.1f} mm (PA-MPJPE {ev.body_joints.pa_mpjpe:.1f} mm)"
                      f" over the 22 SMPL-X body joints, joint angles {ev.joint_angle_mean_deg:.1f} deg (mean)")
        export_dir = s.layout.take(take.name).export_dir
        con.print(f"  files: {', '.join(sorted(p.name for p in export_dir.iterdir()))} in {export_dir}", soft_wrap=True)
    con.print(f"demo done: open {s.layout.index}", soft_wrap=True)


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--format", "-f", "fmt", required=True,
              type=click.Choice(["bvh", "fbx", "glb", "amass", "trc", "pose2sim"]),
              help="File format to write; pose2sim: a Pose2Sim project (calibration/*.toml, pose-3d/*.trc) from a "
                   "take folder's 3D points.")
@click.option("--rig", help="Rig preset to retarget onto (mixamo, ue5_mannequin, rigify, unity_humanoid, smplx) or a "
                            "rig .toml; default: the SMPL-X skeleton.")
@click.option("--out", "-o", type=click.Path(path_type=Path),
              help="Output file (default: <take>/export/<take>_<rig>.<ext>).")
@EXPORT.decorate
def export(source, fmt, rig, out, **options):
    """Export a take's body motion for animation software, optionally retargeted onto a rig. SOURCE is a take
    folder (with body_motion.npz, or people.toml: every performer, FBX/GLB one armature each, other formats one
    file each) or a body-motion .npz file. With --format pose2sim, SOURCE is a take folder and OUT the
    Pose2Sim project folder to write."""
    from mocap.body.motion import BodyMotion
    from mocap.config import from_dict
    from mocap.export.export import export_motion, export_path, resolve_input
    from mocap.export.mesh import export_mesh
    from mocap.layout import TakeLayout

    setup_logging(False)
    if fmt == "pose2sim":
        from mocap.export.pose2sim import export_pose2sim

        if rig is not None:
            raise MocapError("--rig does not apply to --format pose2sim (it writes the 3D keypoints)",
                             fix="drop --rig")
        project = export_pose2sim(source, out)
        console().print(f"wrote a Pose2Sim project in {project.folder}:\n  {project.calibration}\n  {project.trc}",
                        soft_wrap=True)
        return
    config = from_dict(ExportConfig, EXPORT.given(options), where="export")
    take_files = TakeLayout(Path(source), Path(source).name)
    if Path(source).is_dir() and take_files.people.is_file():
        from mocap.people.roster import read_roster
        from mocap.pipeline import export_people, people_export_plan

        if out is not None:
            raise InputError("--out names one file; a take with several performers gets one file per format "
                             "(FBX/GLB) or per performer", path=source, fix="drop --out")
        run = RunConfig(export=dataclasses.replace(config, formats=(fmt,), rigs=(rig or "smplx",)))
        plan = people_export_plan(take_files, run.export, read_roster(take_files.people).names)
        export_people(take_files, plan, run)
        for _, _, path, who in plan:
            console().print(f"wrote {path} ({', '.join(who)})", soft_wrap=True)
        return
    npz, take = resolve_input(source)
    target = out or export_path(take, fmt, rig)
    motion = BodyMotion.load(npz)
    mesh = export_mesh(motion) if config.mesh and fmt in ("fbx", "glb") and rig in (None, "smplx") else None
    path = export_motion(motion, target, fmt, rig, up=config.up, units=config.units,
                         foot_locking=config.foot_locking, mesh=mesh)
    console().print(f"wrote {path}" + (" (with the skinned body mesh)" if mesh is not None else ""), soft_wrap=True)


COMMANDS = (calibrate, detect, import_, sync, people, overlay, triangulate, fit, run, report, demo, export)
#: The config tables each command takes options from (for the help test and docs).
COMMAND_CONFIGS = {"calibrate": (CALIBRATION,), "detect": (DETECTION,), "sync": (SYNC,), "people": (PEOPLE,),
                   "triangulate": (TRIANGULATION, SMOOTHING),
                   "fit": (FIT,), "export": (EXPORT,)}
