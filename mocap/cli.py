"""The ``mocap`` command line. Each command is a thin wrapper over a library function."""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from mocap.errors import MocapError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Multi-camera markerless motion capture for animation.")
board_app = typer.Typer(no_args_is_help=True, help="ChArUco boards: list them, print them at true scale.")
calib_app = typer.Typer(no_args_is_help=True, help="Calibration files: convert between tools' formats.")
synth_app = typer.Typer(no_args_is_help=True, help="Synthetic sessions with known answers.")
app.add_typer(board_app, name="board")
app.add_typer(calib_app, name="calib")
addon_app = typer.Typer(no_args_is_help=True, help="The Blender add-on.")
app.add_typer(synth_app, name="synth")
app.add_typer(addon_app, name="addon")

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SESSION = REPO_ROOT / "sample_sessions" / "studio4"


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=_console(True), show_path=False, show_time=False)])
    for noisy in ("matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _detect_progress():
    """A rich progress display with one bar per camera; returns (progress, callback)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=_console(True), transient=False)
    tasks: dict[tuple[str, int], int] = {}

    def callback(step: str, cam: int, done: int, total: int, names=None):
        key = (step, cam)
        if key not in tasks:
            label = step if step == "fit" else f"{step} {names[cam] if names else cam}"
            tasks[key] = progress.add_task(label, total=total)
        progress.update(tasks[key], completed=done, total=total)

    return progress, callback


def run_calibration(session_path: Path, config_file: Optional[Path], accept: bool, output: Optional[Path] = None):
    from mocap.calibration.config import CalibrationConfig
    from mocap.calibration.pipeline import calibrate_session
    from mocap.io.tomlio import read_toml
    from mocap.session import Session

    session = Session.load(session_path)
    if output is not None:
        session = dataclasses.replace(session, output_dir=output.resolve())
    options = dict(session.calibration_options)
    if config_file is not None:
        options.update(read_toml(config_file, what="config file").get("calibration", {}))
    config = CalibrationConfig.from_dict(options, source=config_file or session.file)
    progress, callback = _detect_progress()
    with progress:
        result = calibrate_session(session, config, accept=accept,
                                   progress=lambda s, c, d, t: callback(s, c, d, t, session.camera_names))
    _print_calibration(result)
    return result


def _print_calibration(result) -> None:
    from rich.table import Table

    q = result.quality
    table = Table(title="Calibration quality")
    for col in ("camera", "mean px", "p95 px", "views", "shared", "coverage", "height m"):
        table.add_column(col, justify="right" if col != "camera" else "left")
    for cq, cam in zip(q.cameras, result.rig.cameras):
        table.add_row(cq.name, f"{cq.reprojection_mean_px:.2f}", f"{cq.reprojection_p95_px:.2f}", str(cq.views),
                      str(cq.shared_frames), f"{cq.coverage:.0%}", f"{cam.center[2]:.2f}")
    con = _console()
    con.print(table)
    con.print(f"board square length error: {q.square_error_mean_mm:+.2f} ± {q.square_error_std_mm:.2f} mm "
              f"({q.square_pairs} corner pairs); world frame from: {q.world.get('source')}")
    for w in q.warnings:
        con.print(f"[yellow]warning:[/] {w}")
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    con.print(f"timings: {timings}")
    for kind, path in result.files.items():
        con.print(f"  {kind:12s} {path}")


@app.command()
def calibrate(
    session: Path = typer.Argument(..., help="Session folder (with session.toml)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file with a [calibration] table."),
    accept: bool = typer.Option(False, "--accept", help="Write camera_rig.toml even if the quality gate fails."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output folder (default: session's)."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
):
    """Calibrate the session's cameras from its ChArUco calibration take."""
    _setup_logging(verbose)
    run_calibration(session, config, accept, output)


@app.command()
def detect(
    session: Path = typer.Argument(..., help="Session folder (with session.toml)."),
    take: Optional[list[str]] = typer.Option(None, "--take", "-t", help="Take(s) to process (default: all)."),
    detector: str = typer.Option("blazepose", help="blazepose (33 body points) or holistic (+ hands)."),
    model_complexity: int = typer.Option(1, help="BlazePose model: 1 = full (bundled); 0/2 only if installed."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
):
    """Detect 2D keypoints in every camera of a take (cameras in parallel processes)."""
    from mocap.detection import DetectionConfig, detect_take
    from mocap.session import Session

    _setup_logging(verbose)
    s = Session.load(session)
    takes = take or [t.name for t in s.takes]
    if not takes:
        raise MocapError("the session has no takes", path=s.file, fix="add [[takes]] entries to session.toml")
    config = DetectionConfig(detector=detector, model_complexity=model_complexity)
    for name in takes:
        progress, callback = _detect_progress()
        with progress:
            kp, path = detect_take(s, name, config,
                                   progress=lambda c, d, t: callback(f"{name}", c, d, t, s.camera_names))
        rates = ", ".join(f"{n} {r:.0%}" for n, r in zip(kp.camera_names, kp.detection_rate()))
        _console().print(f"{name}: {kp.n_frames} frames, person detected in: {rates}\n  keypoints {path}")


@app.command("import")
def import_(
    session: Path = typer.Argument(..., help="Session folder (with session.toml)."),
    paths: list[Path] = typer.Argument(..., help="One keypoint file/folder per camera, in the session's camera order."),
    take: str = typer.Option(..., "--take", "-t", help="Take the keypoints belong to."),
    fmt: str = typer.Option(..., "--format", "-f", help="openpose (also Pose2Sim), dlc, mmpose (also RTMPose)."),
    keypoint_set: Optional[str] = typer.Option(None, help="e.g. body25 or body25b (needed for 25-point OpenPose)."),
    fps: float = typer.Option(30.0, help="Frame rate of the videos the keypoints come from."),
):
    """Import 2D keypoints from another detector (OpenPose/Pose2Sim JSON, DeepLabCut, MMPose) into a take."""
    from mocap.importers import import_keypoints
    from mocap.session import Session

    _setup_logging(False)
    s = Session.load(session)
    s.take(take)
    if len(paths) != len(s.cameras):
        raise MocapError(f"got {len(paths)} keypoint paths for {len(s.cameras)} cameras ({', '.join(s.camera_names)})",
                         path=s.file, fix="give one file or folder per camera, in the order of session.toml")
    kp = import_keypoints(paths, fmt, camera_names=s.camera_names, fps=fps, keypoint_set=keypoint_set)
    out = kp.save(s.take_dir(take) / "keypoints2d.npz")
    rates = ", ".join(f"{n} {r:.0%}" for n, r in zip(kp.camera_names, kp.detection_rate()))
    _console().print(f"{kp.n_frames} frames of {kp.keypoint_set} ({len(kp.joint_names)} points); found in: {rates}\n"
                     f"  keypoints {out}")


@app.command()
def overlay(
    session: Path = typer.Argument(..., help="Session folder (with session.toml)."),
    take: str = typer.Option(..., "--take", "-t", help="Take name."),
):
    """Draw detected keypoints (green) and reprojected 3D points (magenta) on every camera's video."""
    from mocap.overlay import overlay_take
    from mocap.session import Session

    _setup_logging(False)
    s = Session.load(session)
    progress, callback = _detect_progress()
    with progress:
        paths = overlay_take(s, take, progress=lambda c, d, t: callback("overlay", c, d, t, s.camera_names))
    for p in paths:
        _console().print(f"  {p}")


@app.command()
def triangulate(
    session: Path = typer.Argument(..., help="Session folder (with session.toml)."),
    take: str = typer.Option(..., "--take", "-t", help="Take name (a [[takes]] entry)."),
    keypoints: Optional[Path] = typer.Option(None, help="2D keypoints .npz (default: the take's keypoints2d.npz)."),
    smoothing: str = typer.Option("butterworth", help="butterworth, kalman, one_euro or none."),
    cutoff: float = typer.Option(6.0, help="Butterworth cut-off (Hz)."),
    max_error: float = typer.Option(12.0, help="Views with a larger reprojection error (px) are rejected."),
    fix_swaps: bool = typer.Option(True, help="Detect and fix left/right swaps per camera and frame."),
    stabilize_bones: bool = typer.Option(False, help="Give every bone of the skeleton a constant length."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
):
    """Triangulate a take's 2D keypoints into smoothed 3D points (+ TRC, C3D and CSV exports)."""
    from mocap.smoothing import SmoothConfig
    from mocap.triangulation.robust import TriangulateConfig
    from mocap.triangulation.stage import triangulate_take

    _setup_logging(verbose)
    try:
        smooth_cfg = SmoothConfig(method=smoothing, cutoff_hz=cutoff)
    except ValueError as exc:
        raise MocapError(str(exc), fix="see `mocap triangulate --help`") from exc
    result = triangulate_take(session, take, keypoints_path=keypoints, smoothing=smooth_cfg,
                              config=TriangulateConfig(max_reprojection_px=max_error, fix_swaps=fix_swaps),
                              stabilize_bones=stabilize_bones)
    raw = result.raw
    con = _console()
    con.print(f"{raw.xyz.shape[0]} frames x {raw.xyz.shape[1]} joints: {np.isfinite(raw.xyz[..., 0]).mean():.1%} "
              f"triangulated, median reprojection error {np.nanmedian(raw.reprojection_error):.2f} px, "
              f"{int(raw.swaps.sum())} left/right swaps fixed")
    for kind, path in result.files.items():
        con.print(f"  {kind:8s} {path}")


@app.command()
def fit(
    session: Path = typer.Argument(..., help="Session folder (with session.toml)."),
    take: str = typer.Option(..., "--take", "-t", help="Take name (a [[takes]] entry)."),
    model: str = typer.Option("open", "--model", "-m", envvar="MOCAP_BODY_MODEL",
                              help="open (shipped, licence-free), smplx (licensed files from $MOCAP_SMPLX_PATH) "
                                   "or a path to an SMPL-X .npz / folder."),
    points: Optional[Path] = typer.Option(None, help="3D points .npz (default: the take's points3d.npz)."),
    hands: str = typer.Option("auto", help="Fit fingers: auto (when hand keypoints exist), yes or no."),
    iterations: int = typer.Option(20, help="Levenberg-Marquardt iterations over the whole take."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
):
    """Fit an SMPL-X body (shape + per-frame pose) to a take's 3D points -> body_motion.npz (AMASS keys)."""
    from mocap.fitting.fit import FitConfig
    from mocap.fitting.stage import fit_take

    _setup_logging(verbose)
    result = fit_take(session, take, FitConfig(model=model, fit_hands=hands, iterations=iterations),
                      points_path=points)
    m = result.motion
    con = _console()
    con.print(f"{m.n_frames} frames fitted with the {m.model} model in {result.seconds:.1f} s "
              f"({m.n_frames / max(result.seconds, 1e-9):.0f} frames/s); fit error median "
              f"{np.nanmedian(m.fit_error_mm):.1f} mm, p95 {np.nanpercentile(m.fit_error_mm, 95):.1f} mm"
              + (f"; {len(result.sparse_frames)} frames carried by the temporal term" if len(result.sparse_frames) else ""))


def _print_runs(runs, session) -> None:
    """What ran, what was reused, the main quality figures, and where the files are."""
    from rich.table import Table

    from mocap.io.tomlio import read_toml
    from mocap.keypoints import Keypoints2D
    from mocap.triangulation.robust import Points3D

    table = Table(title="mocap run")
    for col in ("stage", "take", "status", "seconds", "quality"):
        table.add_column(col)
    for r in runs:
        quality = ""
        if r.status == "failed":
            quality = r.message.splitlines()[0]
        elif r.stage == "calibrate":
            q = read_toml(session.calibration_dir / "calibration_quality.toml")
            worst = max(c["reprojection_mean_px"] for c in q["cameras"])
            quality = (f"reprojection <= {worst:.2f} px, square {q['square_error_mean_mm']:+.2f} ± "
                       f"{q['square_error_std_mm']:.2f} mm, world: {q['world']['source']}")
        elif r.stage == "detect":
            kp = Keypoints2D.load(r.outputs[0])
            quality = "person found: " + ", ".join(f"{n} {v:.0%}" for n, v in zip(kp.camera_names,
                                                                                    kp.detection_rate()))
        elif r.stage == "triangulate":
            raw = Points3D.load(session.take_dir(r.take) / "points3d_raw.npz")
            ok = np.isfinite(raw.xyz[..., 0])
            err = f", median reprojection {np.nanmedian(raw.reprojection_error):.1f} px" if ok.any() else ""
            quality = f"{ok.mean():.0%} of joints triangulated{err}"
        elif r.stage == "fit":
            q = read_toml(session.take_dir(r.take) / "fit.toml")
            quality = (f"fit error median {q['fit_error_mm']['median']:.1f} mm, p95 {q['fit_error_mm']['p95']:.1f} mm"
                       + (f", {len(q['sparse_frames'])} frames interpolated" if q["sparse_frames"] else ""))
        elif r.stage == "export":
            quality = ", ".join(p.name for p in r.outputs)
        elif r.stage == "report":
            quality = str(r.outputs[0]) if r.outputs else ""
        table.add_row(r.stage, r.take or "-", r.status, f"{r.seconds:.1f}" if r.status == "ran" else "", quality)
    _console().print(table)
    _console().print(f"outputs in {session.output_dir}")


@app.command()
def run(
    session: Path = typer.Argument(..., help="Session folder (with session.toml)."),
    take: Optional[list[str]] = typer.Option(None, "--take", "-t", help="Take(s) to process (default: all)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML with [calibration], [detection], "
                                          "[triangulation] and [smoothing] tables."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output folder (default: session's)."),
    accept: bool = typer.Option(False, "--accept", help="Go on even if calibration fails its quality gate."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
):
    """Run every stage (calibrate, detect, triangulate + smooth), reusing what is already done."""
    from mocap.run import RunConfig, run_session
    from mocap.session import Session

    _setup_logging(verbose)
    s = Session.load(session)
    if output is not None:
        s = dataclasses.replace(s, output_dir=output.resolve())
    progress, callback = _detect_progress()
    with progress:
        runs = run_session(s, RunConfig.load(s, config), takes=take, accept=accept, keep_going=True,
                           progress=lambda st, c, d, t: callback(st, c, d, t, s.camera_names))
    _print_runs(runs, s)
    failed = [r for r in runs if r.status == "failed"]
    for r in failed:
        _console(True).print(f"[red]take {r.take}: {r.stage} failed[/red]: {r.message}", soft_wrap=True)
    if failed:
        raise typer.Exit(2)


@app.command()
def report(
    session: Path = typer.Argument(..., help="Session folder (with session.toml)."),
    take: Optional[list[str]] = typer.Option(None, "--take", "-t",
                                             help="Take(s) to report (default: every take, plus the index page)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output folder (default: session's)."),
):
    """Write a self-contained HTML report per take, and an index page with a verdict per take."""
    from mocap.report import build_session_report, build_take_report
    from mocap.session import Session

    _setup_logging(False)
    s = Session.load(session)
    if output is not None:
        s = dataclasses.replace(s, output_dir=output.resolve())
    if take:
        for name in take:
            _console().print(f"{name}: {build_take_report(s, name)}", soft_wrap=True)
    else:
        _console().print(f"index of all takes: {build_session_report(s)}", soft_wrap=True)


@app.command()
def demo(
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Output folder (default: a fresh folder under out/demo)."),
):
    """Run the whole pipeline on the shipped sample session (a rendered performer with ground truth) into a
    fresh output folder, and compare every stage with the truth."""
    import time

    from mocap.run import run_session
    from mocap.session import Session
    from mocap.synth.ground_truth import evaluate_take

    _setup_logging(False)
    out = output or (REPO_ROOT / "out" / "demo" / time.strftime("%Y%m%d-%H%M%S"))
    s = dataclasses.replace(Session.load(SAMPLE_SESSION), output_dir=out.resolve())
    progress, callback = _detect_progress()
    with progress:
        runs = run_session(s, progress=lambda st, c, d, t: callback(st, c, d, t, s.camera_names))
    _print_runs(runs, s)
    con = _console()
    for take in s.takes:
        ev = evaluate_take(SAMPLE_SESSION, take.name, s.output_dir)
        cal = ev.calibration
        con.print(f"[bold]{take.name} against ground truth[/bold]")
        con.print(f"  calibration: focal {cal['focal_error_pct_max']:.2f} % (max), camera centres "
                  f"{cal['center_error_mm_max']:.1f} mm (max), rotations {cal['rotation_error_deg_max']:.2f} deg (max)")
        kp = ev.keypoints2d
        con.print(f"  2D keypoints: detected {kp['detected']:.0%}, median error {kp['median_px']:.1f} px")
        con.print(f"  3D points: MPJPE {ev.points3d.mpjpe:.1f} mm (PA-MPJPE {ev.points3d.pa_mpjpe:.1f} mm) over "
                  f"{len(ev.points3d_names)} BlazePose landmarks")
        if ev.body_joints is not None:
            con.print(f"  fitted body: MPJPE {ev.body_joints.mpjpe:.1f} mm (PA-MPJPE {ev.body_joints.pa_mpjpe:.1f} mm)"
                      f" over the 22 SMPL-X body joints, joint angles {ev.joint_angle_mean_deg:.1f} deg (mean)")
        export_dir = s.take_dir(take.name) / "export"
        con.print(f"  files: {', '.join(sorted(p.name for p in export_dir.iterdir()))} in {export_dir}", soft_wrap=True)
    con.print(f"[green]demo done[/]: open {s.output_dir / 'index.html'}", soft_wrap=True)


@app.command()
def export(
    source: Path = typer.Argument(..., help="Take folder (with body_motion.npz) or a body-motion .npz file."),
    fmt: str = typer.Option(..., "--format", "-f", help="bvh, amass (SMPL-X .npz), trc, fbx or glb."),
    rig: Optional[str] = typer.Option(None, help="Rig preset to retarget onto (mixamo, ue5_mannequin, rigify, "
                                      "unity_humanoid, smplx) or a rig .toml; default: the SMPL-X skeleton."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default: <take>/export/<take>_<rig>.<ext>)."),
    up: str = typer.Option("Y", help="Up axis of BVH/TRC files: Y or Z."),
    units: str = typer.Option("m", help="Units of BVH (m, cm, mm) and TRC (m, mm) files."),
    foot_locking: bool = typer.Option(True, help="Pin planted feet when retargeting onto a rig."),
    mesh_opt: bool = typer.Option(True, "--mesh/--no-mesh", help="FBX/GLB of the SMPL-X skeleton: include the "
                                  "skinned body mesh."),
):
    """Export a take's body motion for animation software, optionally retargeted onto a rig."""
    from mocap.body.motion import BodyMotion
    from mocap.export.export import default_export_path, export_motion, resolve_input

    _setup_logging(False)
    npz, take = resolve_input(source)
    target = out or default_export_path(npz, take, fmt, rig)
    motion = BodyMotion.load(npz)
    mesh = None
    if mesh_opt and fmt in ("fbx", "glb") and rig in (None, "smplx"):
        from mocap.export.mesh import body_mesh

        try:
            mesh = body_mesh(motion, "open" if motion.model == "open_smplx" else "smplx")
        except MocapError as exc:  # licensed model not installed: the skeleton alone is still useful
            _console(True).print(f"no body mesh in the file: {exc}")
    path = export_motion(motion, target, fmt, rig, up=up, units=units, foot_locking=foot_locking, mesh=mesh)
    _console().print(f"wrote {path}" + (" (with the skinned body mesh)" if mesh is not None else ""))


@board_app.command("list")
def board_list():
    """List the built-in boards (calibration/boards/*.toml)."""
    from mocap.calibration.board import list_boards, load_board

    for name in list_boards():
        b = load_board(name)
        print(f"{name:26s} {b.squares_x}x{b.squares_y} squares, {b.square_length * 1000:.1f} mm, {b.dictionary}"
              f"{', inverted' if b.inverted else ''}")


@board_app.command("print")
def board_print(
    board: str = typer.Argument(..., help="Built-in board name or a board .toml file."),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="Output .png or .pdf (default BOARD.pdf)."),
    paper: Optional[str] = typer.Option(None, help="Paper size (A4, A3, A2, A1, LETTER, TABLOID)."),
    dpi: int = typer.Option(300, help="Resolution of the page image."),
):
    """Write a printable PNG/PDF of a board at true scale (print at 100 %)."""
    from mocap.calibration.board import load_board, write_printable

    b = load_board(board)
    target = out or Path(f"{b.name}.pdf")
    try:
        write_printable(b, target, paper=paper, dpi=dpi)
    except ValueError as exc:
        raise MocapError(str(exc), path=target, fix="choose another --paper or output suffix") from exc
    print(f"wrote {target} (print at 100 % / actual size, then measure a square: {b.square_length * 1000:.1f} mm)")


@calib_app.command("convert")
def calib_convert(
    src: Path = typer.Argument(..., help="Calibration file to read."),
    dst: Path = typer.Argument(..., help="File to write."),
    src_format: Optional[str] = typer.Option(None, "--from", help="Input format (default: detect)."),
    dst_format: str = typer.Option("mocap", "--to", help="Output format."),
    units: Optional[str] = typer.Option(None, help="Units of anipose/FreeMoCap files (mm, cm, m)."),
):
    """Convert between mocap, anipose, freemocap, pose2sim, caliscope and qualisys calibration files."""
    from mocap.calibration.formats import read_calibration, write_calibration

    def opts(fmt):
        return {"units": units} if units and fmt in ("anipose", "freemocap") else {}

    from mocap.calibration.formats import detect_format

    fmt_in = src_format or detect_format(src)
    rig = read_calibration(src, fmt_in, **opts(fmt_in))
    write_calibration(rig, dst, dst_format, **opts(dst_format))
    print(f"read {len(rig)} cameras from {src} ({fmt_in}); wrote {dst} ({dst_format})")


@synth_app.command("calibration")
def synth_calibration(
    out: Path = typer.Argument(..., help="Session folder to create."),
    board: str = typer.Option("charuco_7x5_a1", help="Board to render."),
    cameras: int = typer.Option(4, help="Number of cameras on a ring."),
    width: int = typer.Option(1280, help="Image width."),
    height: int = typer.Option(720, help="Image height."),
    mirrored: list[str] = typer.Option([], help="Cameras whose video is mirrored (repeatable)."),
    suffix: str = typer.Option(".mp4", help="Video container: .mp4 or .avi (MJPG)."),
    per_camera: int = typer.Option(30, help="Board views held in front of each camera."),
    per_pair: int = typer.Option(20, help="Board views between each pair of neighbouring cameras."),
    floor: int = typer.Option(12, help="Frames of the board lying still on the floor."),
    seed: int = typer.Option(0),
):
    """Render a calibration take (board moved through the volume, then laid on the floor) with ground truth."""
    from mocap.calibration.board import load_board
    from mocap.synth.calibration_take import ring_rig, write_calibration_session

    b = load_board(board)
    rig = ring_rig(cameras, size=(width, height), focal=0.9 * width, seed=seed)
    write_calibration_session(out, b, rig, mirrored=mirrored, video_suffix=suffix, seed=seed,
                              n_per_camera=per_camera, n_per_pair=per_pair, n_floor=floor)
    print(f"wrote {out}")


@synth_app.command("session")
def synth_session(
    out: Path = typer.Argument(..., help="Session folder to create."),
    motion: str = typer.Option("demo", help="demo, squat, arm_raises, jumping_jack, walk, turn, or a CMU .bvh file."),
    cameras: int = typer.Option(4, help="Number of cameras on a ring."),
    size: str = typer.Option("640x480", help="Image size WIDTHxHEIGHT."),
    fps: float = typer.Option(30.0, help="Frame rate of the motion take."),
    seconds: Optional[float] = typer.Option(3.5, help="Length of the motion take (authored motions are stretched)."),
    seed: int = typer.Option(0),
    distortion: bool = typer.Option(False, "--distortion", help="Give the cameras lens distortion."),
    noise: float = typer.Option(0.0, help="Gaussian sensor noise sigma (grey levels)."),
    blur: bool = typer.Option(False, "--blur", help="Motion blur (3 sub-frames over half a frame)."),
    time_offsets: Optional[str] = typer.Option(None, help="Per-camera delays in seconds, comma separated."),
    engine: str = typer.Option("workbench", help="workbench (fast) or cycles."),
    model: Optional[Path] = typer.Option(None, help="Body model .npz (default: the shipped open model)."),
    board: str = typer.Option("charuco_5x4_a0", help="Calibration board: charuco_5x4_a0 (1 x 0.8 m), a built-in "
                              "board or a board .toml."),
):
    """Render a session with a moving person (calibration take + motion take) and its ground truth."""
    import shlex
    import time

    from mocap.synth.human_take import HumanSessionConfig, write_human_session

    try:
        width, height = (int(v) for v in size.lower().split("x"))
        offsets = tuple(float(v) for v in time_offsets.split(",")) if time_offsets else ()
    except ValueError as exc:
        raise MocapError(f"bad --size or --time-offsets ({exc})", fix="e.g. --size 640x480 --time-offsets 0,0.01,0,0") from exc
    command = "mocap " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    config = HumanSessionConfig(motion=motion, cameras=cameras, size=(width, height), fps=fps, seconds=seconds,
                                seed=seed, distortion=distortion, noise_sigma=noise, blur_subframes=3 if blur else 1,
                                time_offsets=offsets, engine=engine, model_path=str(model) if model else None,
                                board=board, command=command)
    progress, callback = _detect_progress()
    t0 = time.perf_counter()
    with progress:
        write_human_session(out, config, progress=lambda step, done, total: callback(step, 0, done, total))
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s")


@addon_app.command("build")
def addon_build(out: Optional[Path] = typer.Option(None, "--out", "-o",
                                                   help="Zip to write (default out/mocap_blender_addon.zip).")):
    """Build the Blender add-on zip (install: Blender > Preferences > Get Extensions > Install from Disk)."""
    from mocap.addon import build_addon

    _console().print(f"wrote {build_addon(out)}")


def main() -> None:
    try:
        rc = app(standalone_mode=False)  # a typer.Exit(code) comes back as its code in this mode
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except MocapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors come through here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise


if __name__ == "__main__":
    main()
