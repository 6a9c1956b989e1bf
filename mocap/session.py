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
    # video_offset = [4, 0]           # optional: the take videos are cropped/padded by a few pixels against the
    #                                 # calibration: where their top-left pixel lies in the calibrated image

    [calibration]
    videos = "calibration/{camera}.mp4"     # a pattern, or a list in camera order
    # floor_videos = "floor/{camera}.mp4"   # optional: a separate take of the board on the floor
    # any CalibrationConfig field may be set here too, e.g. floor = "auto"

    [[takes]]
    name = "walk"
    videos = "takes/{take}/{camera}.mp4"    # the default pattern
    # performers = ["ana", "ben"]           # optional: this take's performers (overrides the session's)
    # fps = 60                              # optional: the take's frame rate (default: from its videos)
    # keypoints = { format = "openpose", paths = "pose/{camera}_json", keypoint_set = "halpe26" }
    #                                       # optional: 2D keypoints another tool made, imported instead of
    #                                       # detecting (format, paths: a pattern or a list in camera order,
    #                                       # optional keypoint_set and person = "best" | N)
    # time_offsets = { cam1 = 0.25 }        # optional: seconds after the first camera, set by hand
    # synchronized = true                   # optional: frame i of every camera is one instant (hardware sync,
    #                                       # or a tool that synchronized these files): nothing to estimate

Unsynchronized cameras (see the README): a ``[[cameras]]`` entry may give ``fps`` (its true frame
rate, when the file's is wrong), ``drift_ppm`` (its clock's rate error against the first camera) and
``time_offset`` (seconds after the first camera, in every take); a take's ``time_offsets`` table (and
``[calibration] time_offsets`` for the calibration take) wins over ``time_offset``. Hand-given values
override what the sync stage finds.

An existing calibration instead of a calibration take: ``rig = "calibration/Calib.qca.txt"`` in
``[calibration]`` (any format ``mocap calib convert`` reads, detected the same way); then ``board`` and the
calibration ``videos`` are optional, and ``mocap run`` imports the rig as its calibration stage.

Paths are relative to the session folder unless absolute. A video entry may also be a folder of
still images (sorted naturally) or a glob pattern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mocap.config import check_keys
from mocap.errors import InputError
from mocap.io.tomlio import read_toml
from mocap.layout import SESSION_FILE, GroundTruthLayout, OutputLayout, check_name

SESSION_SCHEMA_VERSION = 1
DEFAULT_TAKE_VIDEOS = "takes/{take}/{camera}.mp4"
DEFAULT_CALIBRATION_VIDEOS = "calibration/{camera}.mp4"


@dataclass(frozen=True)
class CameraEntry:
    """One camera of the session: name, lens model, and whether its video is mirrored.

    ``mirrored`` is ``None`` for "auto" (detected from the calibration video). ``video_offset`` is ``None``
    unless set: where the take videos' top-left pixel lies in the calibrated image (``Camera.video_offset``).
    """

    name: str
    model: str = "pinhole"
    mirrored: bool | None = None
    video_offset: tuple[float, float] | None = None
    fps: float | None = None
    drift_ppm: float | None = None
    time_offset: float | None = None


@dataclass(frozen=True)
class KeypointFiles:
    """2D keypoints another tool already made for a take (``[[takes]] keypoints = {...}``): one path per
    camera in the session's camera order, read by ``mocap.keypoints2d.importers`` format ``format``."""

    format: str
    paths: tuple[Path, ...]
    keypoint_set: str | None = None
    person: int | str = "best"


@dataclass(frozen=True)
class Take:
    name: str
    videos: tuple[Path, ...]
    fps: float | None = None
    keypoints: KeypointFiles | None = None
    time_offsets: dict[str, float] = field(default_factory=dict, hash=False)
    synchronized: bool = False
    performers: tuple[str, ...] | None = None
    """This take's performers (overrides the session's); None: the session's."""


@dataclass(frozen=True)
class Session:
    """A loaded ``session.toml``; all paths are absolute."""

    root: Path
    name: str
    cameras: tuple[CameraEntry, ...]
    board: str | None
    calibration_videos: tuple[Path, ...]
    floor_videos: tuple[Path, ...] = ()
    takes: tuple[Take, ...] = ()
    output_dir: Path = Path("output")
    calibration_options: dict[str, Any] = field(default_factory=dict)
    rig: Path | None = None
    """An existing calibration file (``[calibration] rig``), imported instead of calibrating."""
    calibration_time_offsets: dict[str, float] = field(default_factory=dict)
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

    def sync_overrides(self, take: str | None) -> dict[str, dict[str, float]]:
        """Hand-given clock values per camera name (``time_offset``, ``fps``, ``drift_ppm``) for ``take``
        (None: the calibration take), for :func:`mocap.sync.clock.apply_overrides`."""
        offsets = self.calibration_time_offsets if take is None else self.take(take).time_offsets
        if take is not None and self.take(take).synchronized:  # every camera at 0, unless given otherwise
            offsets = {**{c.name: 0.0 for c in self.cameras}, **offsets}
        out: dict[str, dict[str, float]] = {}
        for cam in self.cameras:
            values = {"fps": cam.fps, "drift_ppm": cam.drift_ppm, "time_offset": offsets.get(cam.name, cam.time_offset)}
            values = {k: v for k, v in values.items() if v is not None}
            if values:
                out[cam.name] = values
        return out

    @classmethod
    def of(cls, session: Session | str | Path) -> Session:
        """``session`` itself, or the session loaded from that folder (or ``session.toml`` path)."""
        return session if isinstance(session, Session) else cls.load(session)

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

        check_keys(data, SESSION_KEYS, "", file)
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
            check_keys(c, CAMERA_KEYS, f"cameras #{i + 1}", file)
            name = check_name(c["name"], "camera", source=file)
            model = c.get("model", "pinhole")
            if model not in ("pinhole", "fisheye"):
                raise bad(f"camera {name!r}: unknown model {model!r}", 'use model = "pinhole" or "fisheye"')
            mirrored = c.get("mirrored", "auto")
            if mirrored not in (True, False, "auto"):
                raise bad(f"camera {name!r}: mirrored must be true, false or \"auto\"", 'e.g. mirrored = "auto"')
            offset = c.get("video_offset")
            if offset is not None and not (len(offset) == 2 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in offset)):
                raise bad(f"camera {name!r}: video_offset must be two numbers [x, y] (pixels)",
                          "e.g. video_offset = [4, 0] for a video 8 pixels narrower than its calibration, centred")
            if "fps" in c and not c["fps"] > 0:
                raise bad(f"camera {name!r}: fps must be positive, got {c['fps']!r}", "e.g. fps = 29.97")
            clock = {k: float(c[k]) for k in ("fps", "drift_ppm", "time_offset") if k in c}
            cameras.append(CameraEntry(name, model, None if mirrored == "auto" else bool(mirrored),
                                       None if offset is None else (float(offset[0]), float(offset[1])), **clock))
        names = [c.name for c in cameras]
        if len(set(names)) != len(names):
            raise bad(f"camera names are not unique: {names}", "rename the duplicated [[cameras]] entries")

        def offsets(table: Any, where: str) -> dict[str, float]:
            if not isinstance(table, dict):
                raise bad(f"{where}: time_offsets must be a table of camera = seconds",
                          f"e.g. time_offsets = {{ {names[-1]} = 0.25 }}")
            for key, value in table.items():
                if key not in names:
                    raise bad(f"{where}: time_offsets names an unknown camera {key!r}",
                              f"use the [[cameras]] names: {', '.join(names)}")
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise bad(f"{where}: time_offsets.{key} must be a number of seconds, not {value!r}",
                              f"e.g. time_offsets = {{ {key} = 0.25 }}")
            return {str(k): float(v) for k, v in table.items()}

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
        calib_offsets = offsets(calib.pop("time_offsets", {}), "[calibration]")
        rig = calib.pop("rig", None)
        if rig is not None and not (isinstance(rig, str) and rig.strip()):
            raise bad("[calibration] rig must be the path of a calibration file",
                      'e.g. rig = "calibration/Calib.qca.txt" (any format `mocap calib convert` reads)')
        if "board" not in data and rig is None:
            raise bad("no board given", 'add board = "charuco_7x5_a3" (a built-in board) or a path to a board TOML, '
                                        'or rig = "FILE" in [calibration] to use an existing calibration')

        def videos(spec: Any, where: str, take: str = "", what: str = "videos") -> tuple[Path, ...]:
            if isinstance(spec, str) and ("{camera}" in spec or len(names) == 1):
                try:
                    paths = [spec.format(camera=n, take=take) for n in names]
                except (KeyError, IndexError, ValueError) as exc:
                    raise bad(f"{where}: {what} pattern {spec!r} is malformed ({exc})",
                              'use {camera} (and {take}), e.g. videos = "takes/{take}/{camera}.mp4"') from exc
            elif isinstance(spec, list) and len(spec) == len(names) and all(isinstance(p, str) for p in spec):
                paths = list(spec)
            else:
                raise bad(f"{where}: {what} must be a pattern with {{camera}} or a list of {len(names)} paths",
                          f'e.g. {what} = "calibration/{{camera}}.mp4"')
            return tuple(_absolute(root, p) for p in paths)

        default_calib = None if rig is not None else DEFAULT_CALIBRATION_VIDEOS
        calib_spec = calib.pop("videos", default_calib)
        calib_videos = videos(calib_spec, "[calibration]") if calib_spec is not None else ()
        floor_spec = calib.pop("floor_videos", None)
        floor_videos = videos(floor_spec, "[calibration] floor_videos") if floor_spec else ()
        takes = []
        for i, t in enumerate(data.get("takes", [])):
            if not isinstance(t, dict) or "name" not in t:
                raise bad(f"[[takes]] entry #{i + 1} has no name", 'add name = "..." to every [[takes]] entry')
            check_keys(t, TAKE_KEYS, f"takes #{i + 1}", file)
            name = check_name(t["name"], "take", source=file)
            where = f"take {name}"
            fps = t.get("fps")
            if fps is not None and not fps > 0:
                raise bad(f"{where}: fps must be a positive number, got {fps!r}", "e.g. fps = 60, or leave it out")
            kp = t.get("keypoints")
            if kp is not None:
                check_keys(kp, KEYPOINTS_KEYS, f"takes #{i + 1} keypoints", file)
                if "format" not in kp or "paths" not in kp:
                    raise bad(f"{where}: keypoints must be a table with format and paths",
                              'e.g. keypoints = { format = "openpose", paths = "pose/{camera}_json" }')
                person = kp.get("person", "best")
                if person != "best" and (isinstance(person, str) or person < 0):
                    raise bad(f"{where}: keypoints person must be \"best\" or an index >= 0", 'e.g. person = "best"')
                kp = KeypointFiles(kp["format"], videos(kp["paths"], f"{where} keypoints", name, "paths"),
                                   kp.get("keypoint_set"), person)
            cast = performer_names(t["performers"], f"{where}: ") if "performers" in t else None
            takes.append(Take(name, videos(t.get("videos", DEFAULT_TAKE_VIDEOS), where, name),
                              float(fps) if fps is not None else None, kp, offsets(t.get("time_offsets", {}), where),
                              t.get("synchronized", False), cast))
        take_names = [t.name for t in takes]
        if len(set(take_names)) != len(take_names):
            raise bad(f"take names are not unique: {take_names}", "rename the duplicated [[takes]] entries")
        out = Path(data.get("output_dir", "output"))
        board = str(data["board"]) if "board" in data else None
        if board is not None and board.endswith(".toml") and not Path(board).is_absolute():
            board = str(root / board)
        return cls(root=root, name=str(data.get("name", root.name)), cameras=tuple(cameras), board=board,
                   calibration_videos=calib_videos, floor_videos=floor_videos, takes=tuple(takes),
                   output_dir=out if out.is_absolute() else root / out, calibration_options=calib,
                   rig=_absolute(root, rig) if rig is not None else None, calibration_time_offsets=calib_offsets,
                   performers=performers)


def _absolute(root: Path, path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else root / path


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
    "performers": ((list,), 'a list of names, e.g. ["ana", "ben"]'),
}
CAMERA_KEYS = {
    "name": ((str,), "a plain name"),
    "model": ((str,), '"pinhole" or "fisheye"'),
    "mirrored": ((bool, str), 'true, false or "auto"'),
    "video_offset": ((list,), "[x, y] pixels: where the take videos' top-left pixel lies in the calibrated image, "
                              "e.g. [4, 0]"),
    "fps": ((int, float), "the camera's real frames per second, e.g. 29.97"),
    "drift_ppm": ((int, float), "its clock's rate error against the first camera, parts per million"),
    "time_offset": ((int, float), "seconds after the first camera, in every take"),
}
TAKE_KEYS = {
    "name": ((str,), "a plain name"),
    "videos": ((str, list), 'a pattern with {camera} or a list of paths, e.g. "takes/{take}/{camera}.mp4"'),
    "fps": ((int, float), "the take's frames per second, e.g. 60"),
    "keypoints": ((dict,), 'a table of another tool\'s 2D keypoints, e.g. { format = "openpose", paths = '
                           '"pose/{camera}_json" }'),
    "time_offsets": ((dict,), "a table of camera = seconds after the first camera, e.g. { cam1 = 0.25 }"),
    "synchronized": ((bool,), "true when frame i of every camera is one instant (nothing for mocap sync to find)"),
    "performers": ((list,), 'this take\'s performer names, e.g. ["ana", "ben"]'),
}
KEYPOINTS_KEYS = {
    "format": ((str,), 'a keypoint file format: "openpose", "dlc" or "mmpose"'),
    "paths": ((str, list), 'a pattern with {camera} or a list of paths, one per camera'),
    "keypoint_set": ((str,), 'a keypoint set, e.g. "halpe26"'),
    "person": ((str, int), '"best" or the index of the person'),
}


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
