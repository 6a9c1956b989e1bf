"""``people.toml``: the performers of a take, in the order of their ids, with the paths of their files.

Written by the ``people`` stage (:mod:`mocap.people.stage`); read by the pipeline (which runs the later
stages once per performer), the report, ``mocap export`` and the Blender add-on. Paths are relative to the
take folder::

    schema_version = 1
    take = "duet"
    frames = 120
    fps = 30.0
    cameras = ["cam0", "cam1", "cam2", "cam3"]
    max_people = 2                    # 0: as many as were found

    [[people]]
    id = 0                            # 0..N-1 by first appearance
    name = "ana"                      # session.toml's performers[id], else "person<id>"
    first_frame = 0
    last_frame = 119
    frames_seen = 118                 # frames in which two or more cameras saw them
    folder = "people/ana"
    [people.files]
    keypoints2d = "people/ana/keypoints2d.npz"
    points3d = "people/ana/points3d.npz"
    body_motion = "people/ana/body_motion.npz"
    export = ["export/duet_ana_smplx.bvh", "export/duet_smplx.fbx"]

Only the standard library and :mod:`mocap.io.tomlio` (the add-on ships this module).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mocap.errors import InputError
from mocap.io.tomlio import read_toml

PEOPLE_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Performer:
    """One performer of a take (an entry of ``people.toml``).

    Attributes:
        id: ``0..N-1``, in order of first appearance.
        name: a plain name (folder and file names use it).
        first_frame, last_frame: first and last frame tracked.
        frames_seen: frames in which two or more cameras saw them.
        folder: their folder, relative to the take folder (``people/<name>``).
        files: role -> path(s) relative to the take folder (``keypoints2d``, ``points3d``, ``body_motion``,
            ``export``: a list, ...).
    """

    id: int
    name: str
    first_frame: int
    last_frame: int
    frames_seen: int
    folder: str
    files: dict[str, str | list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "first_frame": self.first_frame, "last_frame": self.last_frame,
                "frames_seen": self.frames_seen, "folder": self.folder, "files": dict(self.files)}


@dataclass(frozen=True)
class Roster:
    """A loaded ``people.toml``: the take's performers and what the tracking saw."""

    take: str
    people: tuple[Performer, ...]
    frames: int
    fps: float
    cameras: tuple[str, ...]
    max_people: int = 0

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.people]

    def to_dict(self) -> dict:
        return {"schema_version": PEOPLE_SCHEMA_VERSION, "take": self.take, "frames": self.frames, "fps": self.fps,
                "cameras": list(self.cameras), "max_people": self.max_people,
                "people": [p.to_dict() for p in self.people]}


def read_roster(path: str | Path) -> Roster:
    """Load a take's ``people.toml``; an ``InputError`` naming the file when it is missing or malformed."""
    path = Path(path)
    data = read_toml(path, what="people file", fix="run the people stage (`mocap people` or `mocap run`) again")
    try:
        if int(data.get("schema_version", 1)) > PEOPLE_SCHEMA_VERSION:
            raise InputError("people.toml is newer than this mocap supports", path=path, fix="upgrade mocap")
        people = tuple(Performer(int(p["id"]), str(p["name"]), int(p["first_frame"]), int(p["last_frame"]),
                                 int(p["frames_seen"]), str(p["folder"]), dict(p.get("files", {})))
                       for p in data["people"])
        return Roster(str(data["take"]), people, int(data["frames"]), float(data["fps"]),
                      tuple(str(c) for c in data["cameras"]), int(data.get("max_people", 0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"people.toml is malformed ({exc!r})", path=path,
                         fix="run the people stage (`mocap people` or `mocap run`) again") from exc
