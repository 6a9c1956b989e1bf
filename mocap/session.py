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
    performers = ["ana", "ben"]       # optional: several performers (names in order of appearance)

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
    # performers = ["ana", "ben"]           # optional: this take's performers (overrides the session's)

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
    performers: tuple[str, ...] | None = None
    """This take's performers (overrides the session's); None: the session's."""


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
    performers: tuple[str, ...] = ()
    """Names of the performers of a take with several, in order of first appearance (``people.toml``'s
    ids); their number is the default ``max_people`` of detection. Empty: one performer, or counted."""

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

    def performers_of(self, take: str) -> tuple[str, ...]:
        """The performers of a take: its own ``performers``, else the session's (empty: not said)."""
        own = self.take(take).performers
        return own if own is not None else self.performers

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

        version = data.get("schema_version", SESSION_SCHEMA_VERSION)
        if int(version) > SESSION_SCHEMA_VERSION:
            raise bad(f"schema_version {version} is newer than this mocap supports", "upgrade mocap")
        raw_cams = data.get("cameras")
        if not isinstance(raw_cams, list) or not raw_cams:
            raise bad("no cameras listed", 'add one [[cameras]] table per camera, e.g. name = "cam0"')
        cameras = []
        for i, c in enumerate(raw_cams):
            if isinstance(c, str):
                c = {"name": c}
            if not isinstance(c, dict) or "name" not in c:
                raise bad(f"camera #{i + 1} has no name", 'give every [[cameras]] entry a name = "..."')
            model = c.get("model", "pinhole")
            if model not in ("pinhole", "fisheye"):
                raise bad(f"camera {c['name']!r}: unknown model {model!r}", 'use model = "pinhole" or "fisheye"')
            mirrored = c.get("mirrored", "auto")
            if mirrored not in (True, False, "auto"):
                raise bad(f"camera {c['name']!r}: mirrored must be true, false or \"auto\"", 'e.g. mirrored = "auto"')
            cameras.append(CameraEntry(str(c["name"]), model, None if mirrored == "auto" else bool(mirrored)))
        names = [c.name for c in cameras]
        if len(set(names)) != len(names):
            raise bad(f"camera names are not unique: {names}", "rename the duplicated [[cameras]] entries")
        if "board" not in data:
            raise bad("no board given", 'add board = "charuco_7x5_a3" (a built-in board) or a path to a board TOML')

        def videos(spec: Any, where: str, take: str = "") -> tuple[Path, ...]:
            if isinstance(spec, str):
                paths = [spec.format(camera=n, take=take) for n in names]
            elif isinstance(spec, list) and len(spec) == len(names):
                paths = [str(p) for p in spec]
            else:
                raise bad(f"{where}: videos must be a pattern with {{camera}} or a list of {len(names)} paths",
                          'e.g. videos = "calibration/{camera}.mp4"')
            return tuple((root / p) if not Path(p).is_absolute() else Path(p) for p in paths)

        def performer_names(spec: Any, where: str) -> tuple[str, ...]:
            if not isinstance(spec, list):
                raise bad(f"{where}performers must be a list of names", 'e.g. performers = ["ana", "ben"]')
            found = tuple(check_name(p, "performer", source=file) for p in spec)
            if len(set(found)) != len(found):
                raise bad(f"{where}performer names are not unique: {list(found)}",
                          "give every performer a distinct name")
            return found

        performers = performer_names(data.get("performers", []), "")
        calib = dict(data.get("calibration", {}))
        calib_videos = videos(calib.pop("videos", DEFAULT_CALIBRATION_VIDEOS), "[calibration]")
        floor_spec = calib.pop("floor_videos", None)
        floor_videos = videos(floor_spec, "[calibration] floor_videos") if floor_spec else ()
        takes = []
        for t in data.get("takes", []):
            if "name" not in t:
                raise bad("a [[takes]] entry has no name", 'add name = "..." to every [[takes]] entry')
            cast = performer_names(t["performers"], f"take {t['name']}: ") if "performers" in t else None
            takes.append(Take(str(t["name"]), videos(t.get("videos", DEFAULT_TAKE_VIDEOS), f"take {t['name']}", t["name"]),
                              cast))
        out = Path(data.get("output_dir", "output"))
        board = str(data["board"])
        if board.endswith(".toml") and not Path(board).is_absolute():
            board = str(root / board)
        return cls(root=root, name=str(data.get("name", root.name)), cameras=tuple(cameras), board=board,
                   calibration_videos=calib_videos, floor_videos=floor_videos, takes=tuple(takes),
                   output_dir=out if out.is_absolute() else root / out, calibration_options=calib,
                   performers=performers)
