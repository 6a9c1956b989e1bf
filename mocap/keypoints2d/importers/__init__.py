"""Import 2D keypoints that other tools already computed, as ``Keypoints2D``.

Each format is one module with one reader, ``read_<format>(path, *, keypoint_set, person) ->
CameraTrack``, for one camera's files; :func:`import_keypoints` reads every camera and aligns them.

==========  ========================================  ====================================================
format      per camera                                keypoint set
==========  ========================================  ====================================================
openpose    folder of per-frame ``*_keypoints.json``  from the count (17, 26, 33, 133; 25 must be named:
            (OpenPose, Pose2Sim)                      ``body25`` or ``body25b``)
dlc         DeepLabCut ``.csv`` or ``.h5``            custom ``dlc:<scorer>`` (the body parts)
mmpose      MMPose / RTMPose predictions ``.json``    from the count (17, 26, 133)
            (video) or folder of per-image ``.json``
==========  ========================================  ====================================================

Aliases: ``pose2sim`` = ``openpose``, ``deeplabcut`` = ``dlc``, ``rtmpose`` = ``mmpose``.
Register a new format by adding an :class:`mocap.registry.Entry` with its reader to ``IMPORTERS``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputError, MocapError
from mocap.keypoints2d.candidates import Candidates2D
from mocap.keypoints2d.importers.common import PERSON_FIX, CameraTrack, check_person
from mocap.keypoints2d.keypoints import Keypoints2D
from mocap.registry import Entry, Registry

log = logging.getLogger(__name__)

_M = "mocap.keypoints2d.importers."
IMPORTERS = Registry("keypoint format", [
    Entry("openpose", "OpenPose / Pose2Sim JSON: a folder of per-frame *_keypoints.json per camera",
          {"read": _M + "openpose:read_openpose"}, aliases=("pose2sim",)),
    Entry("dlc", "DeepLabCut .csv or .h5 per camera", {"read": _M + "dlc:read_dlc"}, suffixes=(".h5",),
          aliases=("deeplabcut",)),
    Entry("mmpose", "MMPose / RTMPose predictions .json (video) or a folder of per-image .json",
          {"read": _M + "mmpose:read_mmpose"}, aliases=("rtmpose",)),
])
"""Format name -> reader of one camera's files: ``read(path, *, keypoint_set, person) -> CameraTrack``."""

_MAX_SPAN_FACTOR = 100  # frame numbers may have gaps, but not a span 100x the number of files


@dataclass(frozen=True, eq=False)
class ImportResult:
    """Imported keypoints and what had to be mended on the way, one line per camera (empty when clean),
    e.g. ``"cam01: 3 empty person entries (skipped)"``."""

    keypoints: Keypoints2D
    notes: tuple[str, ...] = ()


def import_keypoints(paths_per_camera: Sequence[str | Path], fmt: str, *, camera_names: Sequence[str], fps: float,
                     keypoint_set: str | None = None, person: int | str = "best") -> Keypoints2D:
    """:func:`read_keypoint_files` without the notes (they are logged as a warning)."""
    return read_keypoint_files(paths_per_camera, fmt, camera_names=camera_names, fps=fps, keypoint_set=keypoint_set,
                               person=person).keypoints


def read_keypoint_files(
    paths_per_camera: Sequence[str | Path],
    fmt: str,
    *,
    camera_names: Sequence[str],
    fps: float,
    keypoint_set: str | None = None,
    person: int | str = "best",
) -> ImportResult:
    """Read another tool's 2D keypoints, one path per camera, into ``Keypoints2D`` (and the import notes).

    Args:
        paths_per_camera: ``C`` files or folders, in the order of ``camera_names``.
        fmt: a name in ``IMPORTERS`` (or an alias): ``"openpose"``, ``"dlc"``, ``"mmpose"``.
        camera_names: ``C`` camera names (the session's camera order).
        fps: frames per second of the videos the keypoints came from.
        keypoint_set: the keypoint set the files follow; ``None`` infers it where the format allows
            (see each format's module).
        person: ``"best"`` (per frame, the person with the highest mean confidence; for DeepLabCut, the
            individual with the highest mean likelihood) or the index of the person to take; ``"all"``
            (OpenPose, MMPose) keeps every person: a ``Candidates2D`` for the ``people`` stage.

    Returns the ``Keypoints2D`` with ``xy (C, F, J, 2)`` (NaN where missing) and ``conf (C, F, J)`` (0 where
    missing), or with ``person="all"`` a ``Candidates2D`` (``(C, F, P, J, 2)``), and the notes: per camera, the
    quirks met (empty person entries, short keypoint lists), counted. Cameras are aligned by frame number
    (per-frame files) or by row (one file per video);
    cameras with fewer frames than the longest are padded with missing keypoints and named in a warning.
    ``timestamps`` are frame number / fps.
    """
    entry = IMPORTERS.get(fmt, "read")
    reader = entry.function("read")
    paths = [Path(p) for p in paths_per_camera]
    names = tuple(str(n) for n in camera_names)
    if not paths:
        raise MocapError("no camera paths given", fix="pass one file or folder of keypoints per camera")
    if len(paths) != len(names):
        raise MocapError(f"{len(paths)} camera paths but {len(names)} camera names",
                         fix="pass one camera name per path, in the same order")
    if len(set(names)) != len(names):
        raise MocapError(f"camera names repeat: {list(names)}", fix="give every camera a distinct name")
    if not (np.isfinite(fps) and fps > 0):
        raise MocapError(f"fps must be a positive number, got {fps}", fix="pass --fps with the videos' frame rate")
    check_person(person)
    if isinstance(person, str) and person not in ("best", "all") and entry.name != "dlc":
        raise MocapError(f"person {person!r}: names are only understood for DeepLabCut individuals", fix=PERSON_FIX)
    if person == "all" and entry.name == "dlc":
        raise MocapError("person 'all' is not supported for DeepLabCut files",
                         fix="import one individual at a time (its name or index)")
    tracks = [reader(p, keypoint_set=keypoint_set, person=person) for p in paths]
    _check_same_joints(tracks, names)
    notes = tuple(f"{name}: " + ", ".join(f"{n} {what}" for what, n in t.notes.items())
                  for t, name in zip(tracks, names) if t.notes)
    if notes:
        log.warning("keypoint files mended while importing: %s", "; ".join(notes))
    return ImportResult(combine_tracks(tracks, names, float(fps)), notes)


def take_fps(session, take: str) -> float:
    """The frame rate of a take: its ``fps`` in session.toml, else its videos' (the first camera whose video
    tells), for keypoints imported from another tool; an error naming the take when neither gives it (then
    pass ``--fps``). Never a silent default."""
    from mocap.io.frames import open_frames

    t = session.take(take)
    if getattr(t, "fps", None):
        return float(t.fps)
    videos = t.videos
    for video in videos:
        try:
            fps = open_frames(video).fps
        except InputError:
            continue
        if np.isfinite(fps) and fps > 0:
            return float(fps)
    raise InputError(f"cannot tell the frame rate of take {take!r}: none of its videos could be read",
                     path=videos[0] if videos else session.file,
                     fix="pass --fps (the frame rate of the videos the keypoints come from)")


def import_take_keypoints(session, take: str) -> ImportResult:
    """Import the 2D keypoints session.toml registers for ``take`` (``[[takes]] keypoints = {...}``) and write
    the take's ``keypoints2d.npz``; the frame rate is the take's (:func:`take_fps`)."""
    files = session.take(take).keypoints
    if files is None:
        raise InputError(f"take {take!r} has no keypoints entry", path=session.file,
                         fix='add keypoints = { format = "openpose", paths = "..." } to the take, or detect them')
    rig_path = session.layout.calibration.rig
    if rig_path.is_file():  # the keypoints are in their videos' pixels: those videos must fit the calibration
        from mocap.camera import CameraRig
        from mocap.keypoints2d.video_size import check_video_sizes

        check_video_sizes(session, take, CameraRig.load(rig_path), missing_ok=True)
    result = read_keypoint_files(files.paths, files.format, camera_names=session.camera_names,
                                 fps=take_fps(session, take), keypoint_set=files.keypoint_set, person=files.person)
    result.keypoints.save(session.layout.take(take).keypoints2d)
    return result


def _check_same_joints(tracks: list[CameraTrack], names: tuple[str, ...]) -> None:
    ref = tracks[0].keypoint_set
    for track, name in zip(tracks[1:], names[1:]):
        ks = track.keypoint_set
        same = ks.joint_names == ref.joint_names and (ks.name == ref.name or ks.name.startswith("dlc:"))
        if not same:
            raise InputError(f"camera {name!r} has keypoint set {ks.name!r} ({ks.n_joints} joints), camera "
                             f"{names[0]!r} has {ref.name!r} ({ref.n_joints} joints)", path=track.source,
                             fix="use the same pose model (and body parts) for every camera, or pass --keypoint-set")


def combine_tracks(tracks: Sequence[CameraTrack], camera_names: Sequence[str], fps: float
                   ) -> Keypoints2D | Candidates2D:
    """Align per-camera tracks by frame number into ``Keypoints2D`` (``Candidates2D`` for tracks of every
    person); a camera's frames without keypoints are NaN, and every camera that lacks frames is named in a
    warning."""
    first = min(int(t.frames[0]) for t in tracks if len(t.frames))
    last = max(int(t.frames[-1]) for t in tracks if len(t.frames))
    n_frames = last - first + 1
    n_files = max(len(t.frames) for t in tracks)
    if n_frames > _MAX_SPAN_FACTOR * n_files + 1000:
        raise InputError(f"frame numbers run from {first} to {last}, but the longest camera has {n_files} frames",
                         path=tracks[0].source, fix="check the numbers in the file names: the last number in "
                                                    "each name must be its frame number")
    ks = tracks[0].keypoint_set
    people = tracks[0].xy.ndim == 4
    slots = (max(max(t.xy.shape[1] for t in tracks), 1),) if people else ()
    xy = np.full((len(tracks), n_frames, *slots, ks.n_joints, 2), np.nan, np.float32)
    conf = np.zeros((len(tracks), n_frames, *slots, ks.n_joints), np.float32)
    short = []
    for c, t in enumerate(tracks):
        rows = t.frames - first
        if people:
            xy[c, rows, : t.xy.shape[1]], conf[c, rows, : t.xy.shape[1]] = t.xy, t.conf
        else:
            xy[c, rows], conf[c, rows] = t.xy, t.conf
        if len(t.frames) < n_frames:
            missing = np.setdiff1d(np.arange(first, last + 1), t.frames)
            shown = ", ".join(str(m) for m in missing[:8]) + (", ..." if len(missing) > 8 else "")
            short.append(f"{camera_names[c]!r} has {len(t.frames)} of {n_frames} frames "
                         f"(missing frame numbers {shown})")
    if short:
        log.warning("cameras with fewer frames than the longest, padded with missing keypoints: %s", "; ".join(short))
    if first != 0:
        log.info("keypoint frames start at frame %d; timestamps start at %.3f s", first, first / fps)
    timestamps = (first + np.arange(n_frames)) / fps
    if people:
        return Candidates2D(xy, conf, ks.name, ks.joint_names, tuple(camera_names), timestamps, float(fps))
    return Keypoints2D(xy, conf, ks.name, ks.joint_names, tuple(camera_names), timestamps, float(fps))


__all__ = ["CameraTrack", "IMPORTERS", "ImportResult", "combine_tracks", "import_keypoints", "import_take_keypoints",
           "read_keypoint_files", "take_fps"]
