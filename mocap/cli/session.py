"""``mocap session``: make a session from another tool's project or from a plain folder of videos."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from mocap.cli.display import console, setup_logging

OUT = click.option("--output", "-o", "out", type=click.Path(path_type=Path),
                   help="Session folder to write session.toml into (default: the folder given).")
FORCE = click.option("--force", is_flag=True, help="Replace a session.toml already there.")


@click.group(no_args_is_help=True)
def session():
    """Sessions from your own recordings or from other tools' projects."""


def _report(draft, path: Path) -> None:
    con = console()
    con.print(f"{draft.source}: {len(draft.cameras)} cameras ({', '.join(draft.cameras)})", soft_wrap=True)
    if draft.rig is not None:
        con.print(f"  calibration: {draft.rig}", soft_wrap=True)
    elif draft.calibration_videos is not None:
        con.print(f"  calibration take: {draft.calibration_videos[0].parent if draft.calibration_videos else '-'} "
                  f"(board {draft.board})", soft_wrap=True)
    for take in draft.takes:
        extra = f", {take.fps:g} fps" if take.fps else ""
        extra += f", 2D keypoints from {take.keypoints['format']} files" if take.keypoints else ""
        con.print(f"  take {take.name}: {len(take.videos)} videos{extra}", soft_wrap=True)
    for note in draft.notes:
        con.print(f"  note: {note}", soft_wrap=True)
    con.print(f"wrote {path}\nreview it, then run: mocap run {shlex.quote(str(path.parent))}", soft_wrap=True)


@session.command("import")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--from", "tool", required=True, type=click.Choice(["pose2sim", "freemocap", "anipose"]),
              help="The tool whose project FOLDER is.")
@OUT
@FORCE
def session_import(folder, tool, out, force):
    """Write a session.toml for another tool's project (Pose2Sim project, FreeMoCap recording, Anipose session)
    that points at its files: cameras, videos per take, the calibration, fps and existing 2D keypoints."""
    from mocap.projects import import_project

    setup_logging(False)
    draft = import_project(folder, tool)
    draft.command = "mocap " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    _report(draft, draft.write(out or folder, force=force))


@session.command("new")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--board", help="The calibration board (a built-in name or a board .toml); default: found in the "
                              "calibration take's videos.")
@OUT
@FORCE
def session_new(folder, board, out, force):
    """Write a commented session.toml for a folder of videos: takes and cameras from the file names
    (walk_cam1.mp4, Cam 2 - walk.MOV, walk_1.mp4, or one subfolder per take), fps, size and length of every
    video, and the calibration take (by its name, or by finding the board in it)."""
    from mocap.projects import new_session

    setup_logging(False)
    draft = new_session(folder, board=board)
    draft.command = "mocap " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    _report(draft, draft.write(out or folder, force=force))


GROUPS = (session,)
