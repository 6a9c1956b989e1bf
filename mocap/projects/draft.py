"""A session about to be written: what an importer or ``mocap session new`` understood, as a commented
``session.toml`` that points at the original files (nothing is copied)."""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mocap.errors import InputError, MocapError
from mocap.io.atomic import write_text
from mocap.io.frames import open_frames
from mocap.layout import SESSION_FILE, check_name
from mocap.session import SESSION_SCHEMA_VERSION, Session

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm", ".mts")


@dataclass(frozen=True)
class VideoInfo:
    """What a video says about itself."""

    path: Path
    fps: float
    size: tuple[int, int]
    n_frames: int

    @property
    def text(self) -> str:
        seconds = f", {self.n_frames / self.fps:.1f} s" if self.fps > 0 else ""
        return f"{self.size[0]}x{self.size[1]}, {self.fps:g} fps, {self.n_frames} frames{seconds}"


def video_info(path: Path) -> VideoInfo:
    """Frame rate, size and frame count of a video (an ``InputError`` naming it when it cannot be read)."""
    src = open_frames(path)
    return VideoInfo(Path(path), float(src.fps), src.size, int(src.n_frames))


def videos_in(folder: Path) -> list[Path]:
    """The video files directly in ``folder``, in natural order."""
    from mocap.io.frames import natural_key

    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES),
                  key=lambda p: natural_key(p.name))


def last_number_key(name: str) -> tuple:
    """Pose2Sim's and FreeMoCap's order: by the last number in a name (names without one last)."""
    numbers = re.findall(r"\d+", name)
    return (False, int(numbers[-1]), name) if numbers else (True, 0, name)


@dataclass
class TakeDraft:
    """One take: its videos in camera order, frame rate, and 2D keypoints another tool made (or None)."""

    name: str
    videos: list[Path]
    fps: float | None = None
    keypoints: dict | None = None
    """``{"format", "paths" (list in camera order), "keypoint_set"?, "person"?}``."""
    synchronized: bool = False
    """The other tool's files are already synchronized (frame i of every camera is one instant)."""
    notes: list[str] = field(default_factory=list)


@dataclass
class SessionDraft:
    """A session as understood from another tool's project or a folder of videos."""

    name: str
    cameras: list[str]
    takes: list[TakeDraft]
    source: str
    """One line: where it came from (e.g. "the Pose2Sim project /data/demo")."""
    command: str = ""
    rig: Path | None = None
    board: str | Path | None = None
    """A built-in board name, or the path of a board TOML."""
    calibration_videos: list[Path] | None = None
    mirrored: bool | None = None
    """Written for every camera: False for an imported rig (no board to detect mirroring from), None: "auto"."""
    notes: list[str] = field(default_factory=list)
    camera_notes: list[str] = field(default_factory=list)
    calibration_notes: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Names that will become folders and files are plain; every take has a video per camera."""
        for cam in self.cameras:
            check_name(cam, "camera")
        if len(set(self.cameras)) != len(self.cameras):
            raise MocapError(f"camera names repeat: {self.cameras}", fix="rename the videos or calibration cameras")
        for take in self.takes:
            check_name(take.name, "take")
            if len(take.videos) != len(self.cameras):
                raise MocapError(f"take {take.name!r} has {len(take.videos)} videos for {len(self.cameras)} cameras",
                                 fix="give every take one video per camera")

    def to_toml(self, session_dir: Path) -> str:
        """The commented ``session.toml`` text, paths relative to ``session_dir`` where they lie inside it."""
        self.check()
        session_dir = Path(session_dir).resolve()

        def path(p: Path) -> str:
            p = Path(p).resolve()
            if p == session_dir or session_dir in p.parents:
                return _string(p.relative_to(session_dir).as_posix())
            if session_dir.parent in p.parents:  # beside the session folder: ../videos/...
                return _string(Path(os.path.relpath(p, session_dir)).as_posix())
            return _string(p.as_posix())

        def paths(ps) -> str:
            return "[" + ", ".join(path(p) for p in ps) + "]"

        out = [f"# {self.source}"] + ([f"# made with: {self.command}"] if self.command else [])
        out += ["# It points at the original files: nothing was copied. Review it, then run `mocap run` on this folder."]
        out += [f"# {n}" for n in self.notes]
        out += [f"schema_version = {SESSION_SCHEMA_VERSION}", f"name = {_string(self.name)}"]
        if self.board is not None:
            out.append(f"board = {path(self.board) if isinstance(self.board, Path) else _string(self.board)}")
        out.append('output_dir = "output"')
        out.append("")
        out += [f"# {n}" for n in self.camera_notes]
        mirrored = "\"auto\"" if self.mirrored is None else str(self.mirrored).lower()
        for cam in self.cameras:
            out += ["[[cameras]]", f"name = {_string(cam)}", f"mirrored = {mirrored}", ""]
        out.append("[calibration]")
        out += [f"# {n}" for n in self.calibration_notes]
        if self.rig is not None:
            out.append(f"rig = {path(self.rig)}")
        if self.calibration_videos is not None:
            out.append(f"videos = {paths(self.calibration_videos)}")
        if self.rig is None and self.calibration_videos is None:
            out.append('# rig = "path/to/calibration.toml"   # an existing calibration (any `mocap calib convert` format)')
        for take in self.takes:
            out += ["", *(f"# {n}" for n in take.notes), "[[takes]]", f"name = {_string(take.name)}",
                    f"videos = {paths(take.videos)}"]
            if take.fps is not None:
                out.append(f"fps = {float(take.fps)!r}")
            if take.keypoints is not None:
                kp = take.keypoints
                items = [f"format = {_string(kp['format'])}", f"paths = {paths(kp['paths'])}"]
                if kp.get("keypoint_set"):
                    items.append(f"keypoint_set = {_string(kp['keypoint_set'])}")
                if kp.get("person", "best") != "best":
                    items.append(f"person = {int(kp['person'])}")
                out.append("keypoints = { " + ", ".join(items) + " }")
            if take.synchronized:
                out.append("synchronized = true   # synchronized by the tool that made these files: mocap sync keeps "
                           "them so (delete to estimate offsets)")
        return "\n".join(out) + "\n"

    def write(self, session_dir: str | Path, *, force: bool = False) -> Path:
        """Write ``session_dir/session.toml`` (atomically) after checking that it loads as a session (when it
        names a board or a rig: otherwise the user must add one first and the notes say so)."""
        session_dir = Path(session_dir)
        target = session_dir / SESSION_FILE
        if target.exists() and not force:
            raise InputError("a session.toml is already there", path=target,
                             fix="choose another folder with -o, or pass --force to replace it")
        text = self.to_toml(session_dir)
        if self.board is not None or self.rig is not None:
            Session.from_dict(tomllib.loads(text), root=session_dir.resolve(), file=target)
        session_dir.mkdir(parents=True, exist_ok=True)
        return write_text(target, text)


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(str(text), ensure_ascii=False)


__all__ = ["SessionDraft", "TakeDraft", "VIDEO_SUFFIXES", "VideoInfo", "last_number_key", "video_info", "videos_in"]
