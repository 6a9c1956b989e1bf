"""A Pose2Sim project as a session (``mocap session import DIR --from pose2sim``).

Pose2Sim's layout (its README's project trees; ``Pose2Sim.py``, ``triangulation.py``, ``calibration.py``)::

    Project/                       one trial; or a batch session: Session/{Config.toml, calibration/,
      Config.toml                  Trial_1/{Config.toml, videos/}, Trial_2/...}
      calibration/                 any folder whose name contains "calib": Calib.qca.txt, Calib_<type>.toml ...
      videos/                      cam01.mp4 ... (cameras sorted by the last number in the name)
      pose/ pose-sync/ pose-associated/   <video>_json/<video>_<frame>.json (OpenPose JSON per camera)

What the session gets:

* cameras: the calibration's cameras in file order, paired with the videos sorted by their last number
  (Pose2Sim pairs them the same way, and so must their counts agree);
* calibration: the newest ``*.toml`` of the calibration folder that Pose2Sim made or was given (as Pose2Sim
  triangulates with it), except Pose2Sim's own conversion of a Qualisys file (``Calib_qualisys.toml``) when
  the original ``.qca.txt`` is there: that conversion divides the lens distortion by 64, which
  :mod:`mocap.calibration.formats.qualisys` shows does not fit the footage; else the ``.qca.txt`` / ``.xml``;
* each trial a take (the project folder's name for a single trial, as Pose2Sim names its files), its videos;
* fps: ``[project] frame_rate`` of Config.toml, or the videos' rate when it is ``'auto'``;
* 2D keypoints: the newest of ``pose-associated/``, ``pose-sync/``, ``pose/`` (Pose2Sim's preference), as
  OpenPose JSON with the keypoint set of ``[pose] pose_model``; ``mocap run`` imports them instead of
  detecting. Multi-person projects: the session follows the most confident person per frame.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mocap.calibration.formats import detect_format, read_calibration
from mocap.errors import InputError
from mocap.io.tomlio import read_toml
from mocap.projects.draft import SessionDraft, TakeDraft, last_number_key, video_info, videos_in

log = logging.getLogger(__name__)

POSE_DIRS = ("pose-associated", "pose-sync", "pose")
"""Pose2Sim triangulates from the first of these that holds keypoints."""
POSE_MODELS = {
    "body_with_feet": "halpe26", "halpe_26": "halpe26", "body": "coco17", "coco_17": "coco17", "coco": "coco17",
    "whole_body": "coco_wholebody133", "coco_133": "coco_wholebody133", "body_25": "body25", "body_25b": "body25b",
    "blazepose": "blazepose33",
}
"""Pose2Sim ``pose_model`` (case-insensitive; its aliases as in ``Pose2Sim/triangulation.py``) -> keypoint set."""
_CALIB_SUFFIXES = (".toml", ".txt", ".xml", ".qca")


def import_pose2sim(folder: Path) -> SessionDraft:
    """Read a Pose2Sim project (one trial, or a batch session of trials) as a :class:`SessionDraft`."""
    folder = Path(folder)
    config = _config(folder)
    trials = [folder] if (folder / "videos").is_dir() else sorted(
        (d for d in folder.iterdir() if d.is_dir() and (d / "videos").is_dir()), key=lambda d: d.name)
    if not trials:
        raise InputError("no Pose2Sim trial here: neither a videos/ folder nor trial folders holding one",
                         path=folder, fix="pass the Pose2Sim project folder (the one with Config.toml and videos/)")
    rig_path, calib_notes = _calibration_file(folder, trials[0])
    rig = read_calibration(rig_path)
    draft = SessionDraft(name=folder.name, cameras=list(rig.names), takes=[], rig=rig_path, mirrored=False,
                         source=f"Session made from the Pose2Sim project {folder.resolve()}",
                         calibration_notes=calib_notes)
    draft.camera_notes.append("cameras: the calibration's, in file order, paired with each trial's videos sorted by "
                              "the last number in their names (Pose2Sim's pairing)")
    for trial in trials:
        draft.takes.append(_trial(trial, _merged(config, _config(trial)) if trial != folder else config, rig.names))
    if (config.get("project") or {}).get("multi_person"):
        draft.notes.append("Config.toml says multi_person = true: mocap follows one person, the most confident one "
                           "in each camera and frame (set person = N in a take's keypoints to pick another)")
    return draft


def _config(folder: Path) -> dict:
    path = folder / "Config.toml"
    return read_toml(path, what="Pose2Sim Config.toml") if path.is_file() else {}


def _merged(base: dict, over: dict) -> dict:
    """A trial's Config.toml over the session's, table by table (as Pose2Sim's ``recursive_update``)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _calibration_file(project: Path, trial: Path) -> tuple[Path, list[str]]:
    """The calibration file to import and what to say about the choice."""
    dirs = [d for base in dict.fromkeys((project, trial)) for d in sorted(base.iterdir())
            if d.is_dir() and "calib" in d.name.lower()]
    files = [f for d in dirs for f in sorted(d.iterdir()) if f.is_file() and f.name.lower().endswith(_CALIB_SUFFIXES)
             and f.name != "Config.toml"]
    readable = []
    for f in files:
        try:
            readable.append((f, detect_format(f)))
        except InputError:
            continue
    if not readable:
        where = ", ".join(str(d) for d in dirs) or f"no folder named *calib* in {project}"
        raise InputError(f"no calibration file mocap can read in the Pose2Sim project ({where})", path=project,
                         fix="put the calibration (Calib*.toml, .qca.txt, or any `mocap calib convert` format) in "
                             "the project's calibration/ folder")
    originals = [(f, fmt) for f, fmt in readable if fmt == "qualisys"]
    tomls = [(f, fmt) for f, fmt in readable if fmt != "qualisys"
             and not (originals and f.name.lower() == "calib_qualisys.toml")]
    if tomls:
        chosen = max(tomls, key=lambda t: t[0].stat().st_mtime)[0]
        note = f"the newest calibration TOML of the project ({chosen.name}), the one Pose2Sim triangulates with"
    else:
        chosen = originals[0][0]
        note = (f"the original Qualisys calibration ({chosen.name}); Pose2Sim's own conversion of it, when present, "
                "divides the lens distortion by 64 (see mocap.calibration.formats.qualisys)")
    return chosen, [f"calibration: {note}"]


def _trial(trial: Path, config: dict, cameras: list[str]) -> TakeDraft:
    videos = sorted(videos_in(trial / "videos"), key=lambda p: last_number_key(p.stem))
    if len(videos) != len(cameras):
        raise InputError(f"{len(videos)} videos in {trial / 'videos'} for the calibration's {len(cameras)} cameras "
                         f"({', '.join(cameras)})", path=trial / "videos",
                         fix="keep one video per calibrated camera in the trial's videos/ folder")
    take = TakeDraft(trial.name, videos)
    take.notes.append("videos -> cameras: " + ", ".join(f"{v.name} -> {c}" for v, c in zip(videos, cameras)))
    rate = (config.get("project") or {}).get("frame_rate", "auto")
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0:
        take.fps = float(rate)
        take.notes.append("fps: [project] frame_rate of Config.toml")
    else:
        info = video_info(videos[0])
        if not info.fps > 0:
            raise InputError(f"trial {trial.name!r}: Config.toml's frame_rate is {rate!r} and the video does not tell "
                             "its frame rate", path=videos[0], fix="set [project] frame_rate in Config.toml")
        take.fps = info.fps
        take.notes.append(f"fps: from the videos (Config.toml frame_rate = {rate!r}); {videos[0].name}: {info.text}")
    keypoints = _keypoints(trial, config, len(cameras))
    if keypoints is not None:
        take.keypoints = keypoints
        take.synchronized = keypoints["paths"][0].parent.name != "pose"  # pose-sync/, pose-associated/: synchronized
        take.notes.append(f"2D keypoints: Pose2Sim's {keypoints['paths'][0].parent.name}/ folders, imported instead "
                          "of detecting (delete this line to detect with mocap instead)")
    else:
        take.notes.append("no 2D keypoints in the project (pose/, pose-sync/, pose-associated/): mocap detects them")
    return take


def _keypoints(trial: Path, config: dict, n_cameras: int) -> dict | None:
    for name in POSE_DIRS:
        folders = sorted((d for d in (trial / name).glob("*") if d.is_dir() and "json" in d.name
                          and any(d.glob("*.json"))), key=lambda d: last_number_key(d.name)) \
            if (trial / name).is_dir() else []
        if folders:
            if len(folders) != n_cameras:
                raise InputError(f"{len(folders)} keypoint folders for {n_cameras} cameras", path=trial / name,
                                 fix="keep one <video>_json folder per camera")
            model = str((config.get("pose") or {}).get("pose_model", "")).lower()
            out = {"format": "openpose", "paths": folders}
            if model in POSE_MODELS:
                out["keypoint_set"] = POSE_MODELS[model]
            else:
                log.warning("pose_model %r of Config.toml has no mocap keypoint set: the set is inferred from the "
                            "keypoint count", model)
            return out
    return None


__all__ = ["POSE_MODELS", "import_pose2sim"]
