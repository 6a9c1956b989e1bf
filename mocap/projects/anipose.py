"""An Anipose session folder as a mocap session (``mocap session import DIR --from anipose``).

Anipose's layout (its docs ``start3d.rst``, ``params.rst``; ``anipose/common.py``)::

    experiment/config.toml               nesting, video_extension, [triangulation] cam_regex, [calibration] ...
    experiment/session1/videos-raw/vid_abc_cam1.avi ...     trial "vid_abc", camera "1" (cam_regex 'cam([0-9])')
    experiment/session1/calibration/calibration.toml        (or in a parent folder, up to ``nesting`` levels)
    experiment/session1/pose-2d/vid_abc_cam1.h5             DeepLabCut predictions per video

The camera of a video is the first group of ``cam_regex`` matched in its name, the trial the name without
that match (Anipose's ``get_cam_name`` / ``get_video_name``; separators left at the ends are dropped to make
a plain take name). DIR may be a session folder (holding ``videos-raw/``) or the project holding exactly one.
The calibration's cameras (named after the regex group) are the session's, in the calibration's order;
translations are read in millimetres (the usual board unit; see ``mocap calib convert --units``). Trials
lacking a camera are left out (said in a comment). 2D keypoints: ``pose-2d/<video>.h5`` (or ``.csv``) for
every camera of a trial are registered as DeepLabCut files, imported instead of detecting. fps comes from
the videos.
"""

from __future__ import annotations

import re
from pathlib import Path

from mocap.calibration.formats import read_calibration
from mocap.errors import InputError
from mocap.io.tomlio import read_toml
from mocap.projects.draft import SessionDraft, TakeDraft, video_info, videos_in

DEFAULT_CAM_REGEX = "cam([0-9])"
"""Anipose's documented example (``[triangulation] cam_regex``)."""
RAW_VIDEOS = "videos-raw"
CALIBRATION = "calibration/calibration.toml"


def import_anipose(folder: Path) -> SessionDraft:
    """Read an Anipose session folder as a :class:`SessionDraft`."""
    folder = Path(folder)
    config_path = next((d / "config.toml" for d in (folder, *folder.parents[:3]) if (d / "config.toml").is_file()),
                       None)
    config = read_toml(config_path, what="Anipose config.toml") if config_path else {}
    session = _session_folder(folder, int(config.get("nesting", 1)))
    cam_regex = (config.get("triangulation") or {}).get("cam_regex", DEFAULT_CAM_REGEX)
    try:
        pattern = re.compile(cam_regex)
    except re.error as exc:
        raise InputError(f"cam_regex {cam_regex!r} is not a regular expression ({exc})", path=config_path,
                         fix="fix [triangulation] cam_regex") from exc
    calibration = next((d / CALIBRATION for d in (session, *session.parents[:int(config.get("nesting", 1))])
                        if (d / CALIBRATION).is_file()), None)
    if calibration is None:
        raise InputError("no calibration/calibration.toml in the session or its parent folders", path=session,
                         fix="run `anipose calibrate` first, or put the calibration there")
    rig = read_calibration(calibration, "anipose")
    trials: dict[str, dict[str, Path]] = {}
    for video in videos_in(session / RAW_VIDEOS):
        match = pattern.search(video.stem)
        if match is None or not match.groups():
            continue
        name = (pattern.sub("", video.stem, count=1).strip("_- .") or "take")
        trials.setdefault(name, {})[match.group(1)] = video
    if not trials:
        raise InputError(f"no video in {RAW_VIDEOS}/ has a camera name matching cam_regex {cam_regex!r}",
                         path=session / RAW_VIDEOS, fix="check [triangulation] cam_regex in config.toml")
    cameras = list(rig.names)
    draft = SessionDraft(name=session.name, cameras=cameras, takes=[], rig=calibration, mirrored=False,
                         source=f"Session made from the Anipose session {session.resolve()}",
                         camera_notes=[f"cameras: the calibration's, in its order; a video's camera is the first group "
                                       f"of cam_regex {cam_regex!r} in its name"],
                         calibration_notes=[f"calibration: {calibration} (translations read in mm)"])
    for name, by_cam in sorted(trials.items()):
        missing = [c for c in cameras if c not in by_cam]
        if missing:
            draft.notes.append(f"trial {name!r} left out: no video for camera(s) {', '.join(missing)}")
            continue
        videos = [by_cam[c] for c in cameras]
        info = video_info(videos[0])
        if not info.fps > 0:
            raise InputError(f"trial {name!r}: the video does not tell its frame rate", path=videos[0],
                             fix="add fps = ... to the take in session.toml")
        take = TakeDraft(name, videos, info.fps, notes=[f"fps: from the videos ({videos[0].name}: {info.text})"],
                         synchronized=True)  # Anipose works on synchronized videos only
        poses = [next((p for p in (session / "pose-2d" / (v.stem + s) for s in (".h5", ".csv")) if p.is_file()), None)
                 for v in videos]
        if all(poses):
            take.keypoints = {"format": "dlc", "paths": poses}
            take.notes.append("2D keypoints: Anipose's pose-2d/ DeepLabCut files, imported instead of detecting")
        draft.takes.append(take)
    if not draft.takes:
        raise InputError("no trial has a video for every calibrated camera", path=session / RAW_VIDEOS,
                         fix=f"the calibration's cameras are {', '.join(cameras)}")
    return draft


def _session_folder(folder: Path, nesting: int) -> Path:
    if (folder / RAW_VIDEOS).is_dir():
        return folder
    found = sorted({p.parent for p in folder.glob("/".join(["*"] * max(nesting, 1)) + "/" + RAW_VIDEOS) if p.is_dir()})
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError(f"no Anipose session here (no {RAW_VIDEOS}/ folder)", path=folder,
                         fix="pass an Anipose session folder (the one holding videos-raw/)")
    raise InputError(f"{len(found)} Anipose sessions here: {', '.join(str(f.relative_to(folder)) for f in found)}",
                     path=folder, fix="import one session folder at a time, e.g. "
                                      f"`mocap session import {found[0]} --from anipose`")


__all__ = ["import_anipose"]
