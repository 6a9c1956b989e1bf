"""The session folder convention (``session.toml``).

A session is one capture: a camera rig, its calibration take, and the motion takes::

    my_session/
      session.toml
      calibration/cam0.mp4 cam1.mp4 ...      # the board moved through the volume (and laid on the floor)
      takes/walk/cam0.mp4 cam1.mp4 ...      # one folder per take, one video per camera
      output/                               # everything mocap writes (configurable)
        calibration/camera_rig.toml, calibration_quality.toml, calibration_quality.png, ...
        takes/walk/...

``session.toml``::

    schema_version = 1
    name = "my_session"
    board = "charuco_7x5_a1"          # a built-in board (calibration/boards) or a .toml path
    output_dir = "output"             # optional, relative to the session folder

    [[cameras]]                       # the camera order used in every output file
    name = "cam0"
    model = "pinhole"                 # or "fisheye" (optional, default pinhole)
    mirrored = "auto"                 # true / false / "auto" (detect a flipped webcam image)

    [calibration]
    videos = "calibration/{camera}.mp4"     # a pattern, or a list in camera order
    # floor_videos = "floor/{camera}.mp4"   # optional: a separate take of the board on the floor
    # any CalibrationConfig field may be set here too, e.g. floor = "auto"

    [[takes]]
    name = "walk"
    videos = "takes/{take}/{camera}.mp4"    # the default pattern

Paths are relative to the session folder unless absolute. A video entry may also be a folder of
still images (sorted naturally) or a glob pattern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mocap.errors import InputError
from mocap.io.tomlio import read_toml
from mocap.layout import SESSION_FILE, GroundTruthLayout, OutputLayout, check_name

SESSION_SCHEMA_VERSION = 1
DEFAULT_TAKE_VIDEOS = "takes/{take}/{camera}.mp4"
DEFAULT_CALIBRATION_VIDEOS = "calibration/{camera}.mp4"


@dataclass(frozen=True)
class CameraEntry:
    """One camera of the session: name, lens model, and whether its video is mirrored.

    ``mirrored`` is ``None`` for "auto" (detected from the calibration video).
    """

    name: str
    model: str = "pinhole"
    mirrored: bool | None = None


@dataclass(frozen=True)
class Take:
    name: str
    videos: tuple[Path, ...]


@dataclass(frozen=True)
class Session:
    """A loaded ``session.toml``; all paths are absolute."""

    root: Path
    name: str
    cameras: tuple[CameraEntry, ...]
    board: str
    calibration_videos: tuple[Path, ...]
    floor_videos: tuple[Path, ...] = ()
    takes: tuple[Take, ...] = ()
    output_dir: Path = Path("output")
    calibration_options: dict[str, Any] = field(default_factory=dict)

    @property
    def file(self) -> Path:
        return self.root / SESSION_FILE

    @property
    def camera_names(self) -> list[str]:
        return [c.name for c in self.cameras]

    @property
    def layout(self) -> OutputLayout:
        """Every output file of the session (:class:`mocap.layout.OutputLayout`)."""
        return OutputLayout(self.output_dir)

    @property
    def ground_truth(self) -> GroundTruthLayout:
        """The known answers of a synthetic session (the folder may not exist)."""
        return GroundTruthLayout(self.root / "ground_truth")

    def take(self, name: str) -> Take:
        for t in self.takes:
            if t.name == name:
                return t
        raise InputError(f"no take named {name!r} (takes: {', '.join(t.name for t in self.takes) or 'none'})",
                         path=self.file, fix="add it as a [[takes]] entry or pick one of the listed takes")

    @classmethod
    def load(cls, path: str | Path) -> Session:
        """Load ``path/session.toml`` (or the given ``.toml`` file)."""
        path = Path(path)
        file = path / SESSION_FILE if path.is_dir() or path.suffix != ".toml" else path
        data = read_toml(file, what="session file",
                         fix="create session.toml in the session folder (see the README, 'Session folders')")
        return cls.from_dict(data, root=file.parent.resolve(), file=file)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, root: Path, file: Path | None = None) -> Session:
        file = file or root / SESSION_FILE

        def bad(problem: str, fix: str):
            return InputError(problem, path=file, fix=fix)

        check_table(data, SESSION_KEYS, "", file)
        check_finite(data, file)
        version = data.get("schema_version", SESSION_SCHEMA_VERSION)
        if version > SESSION_SCHEMA_VERSION:
            raise bad(f"schema_version {version} is newer than this mocap supports", "upgrade mocap")
        if version < 1:
            raise bad(f"schema_version must be 1 or more, not {version}", "set schema_version = 1")
        raw_cams = data.get("cameras")
        if not raw_cams:
            raise bad("no cameras listed", 'add one [[cameras]] table per camera, e.g. name = "cam0"')
        cameras = []
        for i, c in enumerate(raw_cams):
            if isinstance(c, str):
                c = {"name": c}
            if not isinstance(c, dict) or "name" not in c:
                raise bad(f"camera #{i + 1} has no name", 'give every [[cameras]] entry a name = "..."')
            check_table(c, CAMERA_KEYS, f"cameras #{i + 1}", file)
            name = check_name(c["name"], "camera", source=file)
            model = c.get("model", "pinhole")
            if model not in ("pinhole", "fisheye"):
                raise bad(f"camera {name!r}: unknown model {model!r}", 'use model = "pinhole" or "fisheye"')
            mirrored = c.get("mirrored", "auto")
            if mirrored not in (True, False, "auto"):
                raise bad(f"camera {name!r}: mirrored must be true, false or \"auto\"", 'e.g. mirrored = "auto"')
            cameras.append(CameraEntry(name, model, None if mirrored == "auto" else bool(mirrored)))
        names = [c.name for c in cameras]
        if len(set(names)) != len(names):
            raise bad(f"camera names are not unique: {names}", "rename the duplicated [[cameras]] entries")
        if "board" not in data:
            raise bad("no board given", 'add board = "charuco_7x5_a3" (a built-in board) or a path to a board TOML')

        def videos(spec: Any, where: str, take: str = "") -> tuple[Path, ...]:
            if isinstance(spec, str) and ("{camera}" in spec or len(names) == 1):
                try:
                    paths = [spec.format(camera=n, take=take) for n in names]
                except (KeyError, IndexError, ValueError) as exc:
                    raise bad(f"{where}: videos pattern {spec!r} is malformed ({exc})",
                              'use {camera} (and {take}), e.g. videos = "takes/{take}/{camera}.mp4"') from exc
            elif isinstance(spec, list) and len(spec) == len(names) and all(isinstance(p, str) for p in spec):
                paths = list(spec)
            else:
                raise bad(f"{where}: videos must be a pattern with {{camera}} or a list of {len(names)} paths",
                          'e.g. videos = "calibration/{camera}.mp4"')
            return tuple((root / p) if not Path(p).is_absolute() else Path(p) for p in paths)

        calib = dict(data.get("calibration", {}))
        calib_videos = videos(calib.pop("videos", DEFAULT_CALIBRATION_VIDEOS), "[calibration]")
        floor_spec = calib.pop("floor_videos", None)
        floor_videos = videos(floor_spec, "[calibration] floor_videos") if floor_spec else ()
        takes = []
        for i, t in enumerate(data.get("takes", [])):
            if not isinstance(t, dict) or "name" not in t:
                raise bad(f"[[takes]] entry #{i + 1} has no name", 'add name = "..." to every [[takes]] entry')
            check_table(t, TAKE_KEYS, f"takes #{i + 1}", file)
            name = check_name(t["name"], "take", source=file)
            takes.append(Take(name, videos(t.get("videos", DEFAULT_TAKE_VIDEOS), f"take {name}", name)))
        take_names = [t.name for t in takes]
        if len(set(take_names)) != len(take_names):
            raise bad(f"take names are not unique: {take_names}", "rename the duplicated [[takes]] entries")
        out = Path(data.get("output_dir", "output"))
        board = str(data["board"])
        if board.endswith(".toml") and not Path(board).is_absolute():
            board = str(root / board)
        return cls(root=root, name=str(data.get("name", root.name)), cameras=tuple(cameras), board=board,
                   calibration_videos=calib_videos, floor_videos=floor_videos, takes=tuple(takes),
                   output_dir=out if out.is_absolute() else root / out, calibration_options=calib)


# ------------------------------------------------------------------------------------------------ schema

#: What each table of session.toml may hold: key -> (accepted types, what to write). Unknown keys are errors
#: with a "did you mean"; the [calibration] table also takes every calibration setting (checked by
#: `mocap.calibration.config.CalibrationConfig` when the run config is built).
SESSION_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "schema_version": ((int,), "an integer (1)"),
    "name": ((str,), "a string"),
    "board": ((str,), 'a built-in board name or a board .toml path, e.g. "charuco_7x5_a1"'),
    "output_dir": ((str,), 'a folder path, e.g. "output"'),
    "cameras": ((list,), 'a list of [[cameras]] tables, e.g. [[cameras]] name = "cam0"'),
    "calibration": ((dict,), "a [calibration] table"),
    "takes": ((list,), 'a list of [[takes]] tables, e.g. [[takes]] name = "walk"'),
}
CAMERA_KEYS = {
    "name": ((str,), "a plain name"),
    "model": ((str,), '"pinhole" or "fisheye"'),
    "mirrored": ((bool, str), 'true, false or "auto"'),
}
TAKE_KEYS = {
    "name": ((str,), "a plain name"),
    "videos": ((str, list), 'a pattern with {camera} or a list of paths, e.g. "takes/{take}/{camera}.mp4"'),
}


def check_table(data: Any, keys: dict[str, tuple[tuple[type, ...], str]], where: str, file: Path) -> None:
    """Every key of ``data`` is known and of an accepted type; else an ``InputError`` naming the table, the
    key and what to write (with a "did you mean" for misspelt keys)."""
    import difflib

    label = f"[{where}] " if where else ""
    if not isinstance(data, dict):
        raise InputError(f"{label or 'the file '}must be a table, not {type(data).__name__}", path=file,
                         fix="see the README, 'Session folders', for the layout of session.toml")
    for key, value in data.items():
        if key not in keys:
            close = difflib.get_close_matches(key, list(keys), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"unknown setting {label}{key!r}{hint}", path=file,
                             fix=f"valid settings{' in ' + label.strip() if label else ''}: {', '.join(keys)}")
        types, expected = keys[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise InputError(f"setting {label}{key} must be {expected}, not {value!r}", path=file,
                             fix=f"set {key} to {expected}")


def check_finite(data: Any, file: Path, where: str = "") -> None:
    """No setting of session.toml takes inf or nan (TOML allows them): an ``InputError`` naming the key."""
    import math

    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        name = f"{where}.{key}" if where else str(key)
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"setting {name} is {value}, not a finite number", path=file,
                             fix=f"give {name} a finite value")
        check_finite(value, file, name)
