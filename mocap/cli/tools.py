"""Commands around the pipeline: boards, calibration files, synthetic sessions, the Blender add-on."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mocap.cli.display import console, progress_bars, setup_logging
from mocap.cli.session import session
from mocap.errors import MocapError


@click.group(no_args_is_help=True)
def board():
    """ChArUco boards: list them, print them at true scale."""


@board.command("list")
def board_list():
    """List the built-in boards."""
    from mocap.calibration.board import list_boards, load_board

    for name in list_boards():
        b = load_board(name)
        click.echo(f"{name:26s} {b.squares_x}x{b.squares_y} squares, {b.square_length * 1000:.1f} mm, {b.dictionary}"
                   f"{', inverted' if b.inverted else ''}")


@board.command("print")
@click.argument("name")
@click.option("--output", "-o", "out", type=click.Path(path_type=Path), help="Output .png or .pdf (default NAME.pdf).")
@click.option("--paper", help="Paper size (A4, A3, A2, A1, LETTER, TABLOID).")
@click.option("--dpi", type=int, default=300, show_default=True, help="Resolution of the page image.")
def board_print(name, out, paper, dpi):
    """Write a printable PNG/PDF of a board (NAME: a built-in board or a board .toml) at true scale."""
    from mocap.calibration.board import load_board, write_printable

    b = load_board(name)
    target = out or Path(f"{b.name}.pdf")
    try:
        write_printable(b, target, paper=paper, dpi=dpi)
    except ValueError as exc:
        raise MocapError(str(exc), path=target, fix="choose another --paper or output suffix") from exc
    click.echo(f"wrote {target} (print at 100 % / actual size, then measure a square: {b.square_length * 1000:.1f} mm)")


@click.group(no_args_is_help=True)
def calib():
    """Calibration files: convert between tools' formats."""


@calib.command("convert")
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--from", "src_format", help="Input format (default: detected from the file).")
@click.option("--to", "dst_format", default="mocap", show_default=True, help="Output format.")
@click.option("--units", type=click.Choice(["m", "cm", "mm"]), help="Units of anipose/FreeMoCap files [default: mm].")
def calib_convert(src, dst, src_format, dst_format, units):
    """Convert between mocap, anipose, freemocap, pose2sim, caliscope and qualisys calibration files."""
    from mocap.calibration.formats import detect_format, read_calibration, write_calibration

    def opts(fmt):
        return {"units": units} if units and fmt in ("anipose", "freemocap") else {}

    fmt_in = src_format or detect_format(src)
    rig = read_calibration(src, fmt_in, **opts(fmt_in))
    write_calibration(rig, dst, dst_format, **opts(dst_format))
    click.echo(f"read {len(rig)} cameras from {src} ({fmt_in}); wrote {dst} ({dst_format})")


@click.group(no_args_is_help=True)
def synth():
    """Synthetic sessions with known answers."""


@synth.command("calibration")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--board", "board_name", default="charuco_7x5_a1", show_default=True, help="Board to render.")
@click.option("--cameras", type=int, default=4, show_default=True, help="Number of cameras on a ring.")
@click.option("--width", type=int, default=1280, show_default=True, help="Image width.")
@click.option("--height", type=int, default=720, show_default=True, help="Image height.")
@click.option("--mirrored", multiple=True, help="Cameras whose video is mirrored (repeatable).")
@click.option("--suffix", default=".mp4", show_default=True, help="Video container: .mp4 or .avi (MJPG).")
@click.option("--per-camera", type=int, default=30, show_default=True, help="Board views held in front of each camera.")
@click.option("--per-pair", type=int, default=20, show_default=True,
              help="Board views between each pair of neighbouring cameras.")
@click.option("--floor", type=int, default=12, show_default=True, help="Frames of the board lying still on the floor.")
@click.option("--seed", type=int, default=0, show_default=True)
def synth_calibration(out, board_name, cameras, width, height, mirrored, suffix, per_camera, per_pair, floor, seed):
    """Render a calibration take (board moved through the volume, then laid on the floor) with ground truth."""
    from mocap.calibration.board import load_board
    from mocap.io.atomic import atomic_folder
    from mocap.synth.calibration_take import ring_rig, write_calibration_session

    b = load_board(board_name)
    rig = ring_rig(cameras, size=(width, height), focal=0.9 * width, seed=seed)
    with atomic_folder(out) as tmp:  # a failed render leaves no half-built session
        write_calibration_session(tmp, b, rig, mirrored=list(mirrored), video_suffix=suffix, seed=seed,
                                  n_per_camera=per_camera, n_per_pair=per_pair, n_floor=floor)
    click.echo(f"wrote {out}")


@synth.command("session")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--motion", default="demo", show_default=True,
              help="demo, squat, arm_raises, jumping_jack, walk, turn, or a CMU .bvh file.")
@click.option("--cameras", type=int, default=4, show_default=True, help="Number of cameras on a ring.")
@click.option("--size", default="640x480", show_default=True, help="Image size WIDTHxHEIGHT.")
@click.option("--fps", type=float, default=30.0, show_default=True, help="Frame rate of the motion take.")
@click.option("--seconds", type=float, default=3.5, show_default=True,
              help="Length of the motion take (authored motions are stretched).")
@click.option("--start", type=float, default=0.0, show_default=True, help="Seconds into a .bvh clip where the take starts.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--distortion", is_flag=True, help="Give the cameras lens distortion.")
@click.option("--noise", type=float, default=0.0, show_default=True, help="Gaussian sensor noise sigma (grey levels).")
@click.option("--blur", is_flag=True, help="Motion blur (3 sub-frames over half a frame).")
@click.option("--time-offsets", help="Per-camera start times in seconds, comma separated (unsynchronized cameras).")
@click.option("--camera-fps", help="Per-camera frame rates of the motion take, comma separated (e.g. 30,60,29.97,25).")
@click.option("--drift-ppm", help="Per-camera clock drift in parts per million, comma separated.")
@click.option("--audio", is_flag=True, help="Mux a sound track (claps, footsteps, room noise, as each camera heard "
                                            "it on its own clock) into every take video.")
@click.option("--engine", type=click.Choice(["workbench", "cycles"]), default="workbench", show_default=True,
              help="workbench (fast) or cycles.")
@click.option("--samples", "cycles_samples", type=int, default=16, show_default=True,
              help="Cycles samples per pixel (shared by the sub-frames of --blur).")
@click.option("--background", type=click.Choice(["plain", "cluttered"]), default="plain", show_default=True,
              help="plain, or cluttered: textured walls, boxes and pillars, low objects near the performer.")
@click.option("--clothing", type=click.Choice(["plain", "textured"]), default="plain", show_default=True,
              help="plain colours, or textured: a striped shirt and checked shorts.")
@click.option("--out-of-frame", type=int, metavar="CAMERA",
              help="Index of a camera zoomed in 2x so that the performer is partly out of its frame.")
@click.option("--model", type=click.Path(path_type=Path), help="Body model .npz (default: the shipped open model).")
@click.option("--betas", help="Body shape coefficients, comma separated (default: the mean shape).")
@click.option("--board", "board_name", default="charuco_5x4_a0", show_default=True,
              help="Calibration board: charuco_5x4_a0 (1 x 0.8 m), a built-in board or a board .toml.")
@click.option("--people", type=click.IntRange(1, 3), default=1, show_default=True,
              help="Performers: 2 or 3 walk across each other's paths, with distinct shapes (take duet / trio; "
                   "--motion is then not used).")
@click.option("--solo", "solos", multiple=True, help="With --people 2 or 3, also render this performer alone (take "
                                                     "<take>_<name>), for comparisons; 'all': each one.")
def synth_session(out, motion, cameras, size, fps, seconds, start, seed, distortion, noise, blur, time_offsets,
                  camera_fps, drift_ppm, audio, engine, cycles_samples, background, clothing, out_of_frame, model, betas,
                  board_name, people, solos):
    """Render a session with a moving person, or several (calibration take + motion take), and its ground truth."""
    import shlex
    import time

    from mocap.synth.human_take import HumanSessionConfig, take_clocks, write_human_session

    setup_logging(False)
    try:
        width, height = (int(v) for v in size.lower().split("x"))
        offsets, rates, drift, shape = (tuple(float(v) for v in text.split(",")) if text else ()
                                        for text in (time_offsets, camera_fps, drift_ppm, betas))
    except ValueError as exc:
        raise MocapError(f"bad --size, --time-offsets, --camera-fps, --drift-ppm or --betas ({exc})",
                         fix="e.g. --size 640x480 --time-offsets 0,0.012,-1.5,2 --camera-fps 30,60,30,25 "
                             "--betas 1,-0.5") from exc
    if out_of_frame is not None and not 0 <= out_of_frame < cameras:
        raise MocapError(f"--out-of-frame {out_of_frame} is not a camera index (0..{cameras - 1})")
    if start and not motion.lower().endswith(".bvh"):
        raise MocapError(f"--start applies to .bvh clips, not to the authored motion {motion!r}", fix="leave out --start")
    command = "mocap " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    config = HumanSessionConfig(motion=motion, cameras=cameras, size=(width, height), fps=fps, seconds=seconds,
                                seed=seed, distortion=distortion, noise_sigma=noise, blur_subframes=3 if blur else 1,
                                time_offsets=offsets, camera_fps=rates, drift_ppm=drift, audio=audio, engine=engine,
                                model_path=str(model) if model else None, board=board_name, command=command,
                                people=people, solos=tuple(solos), start=start, cycles_samples=cycles_samples,
                                background=background, clothing=clothing, out_of_frame=out_of_frame, betas=shape)
    try:
        take_clocks(config, cameras)
    except ValueError as exc:  # per-camera lists of the wrong length, bad rates
        raise MocapError(str(exc), fix="give one comma-separated value per camera (--cameras), rates > 0") from exc
    from mocap.io.atomic import atomic_folder

    progress, callback = progress_bars()
    t0 = time.perf_counter()
    with progress, atomic_folder(out) as tmp:  # a failed render leaves no half-built session
        write_human_session(tmp, config, progress=lambda step, done, total: callback(step, 0, done, total))
    click.echo(f"wrote {out} in {time.perf_counter() - t0:.0f} s")


@click.group(no_args_is_help=True)
def addon():
    """The Blender add-on."""


@addon.command("build")
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Zip to write (default out/mocap_blender_addon.zip).")
def addon_build(out):
    """Build the Blender add-on zip (install: Blender > Preferences > Get Extensions > Install from Disk)."""
    from mocap.addon import build_addon

    console().print(f"wrote {build_addon(out)}", soft_wrap=True)


GROUPS = (board, calib, session, synth, addon)
