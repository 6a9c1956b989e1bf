"""A FreeMoCap recording as a session (``mocap session import DIR --from freemocap``).

FreeMoCap's layout (v1: ``freemocap/system/paths_and_filenames/file_and_folder_names.py``,
``path_getters.py``; kept by v2)::

    <recording>/
      synchronized_videos/Camera_000_synchronized.mp4 ...   one video per camera
      <recording>_camera_calibration.toml                   anipose layout, translations in mm
      output_data/ ...                                      FreeMoCap's own results (not used)

What the session gets: one take (the recording) with its synchronized videos in natural order, the
recording's calibration (or, when the recording has none, the newest ``*camera_calibration.toml`` beside it),
and the cameras named as in that calibration (FreeMoCap names them after the video files; when those names
are not plain names, cam0, cam1, ... paired in file order). fps comes from the videos. FreeMoCap's 2D data
(``output_data/raw_data/*.npy``) is not imported: ``mocap run`` detects the keypoints again.
"""

from __future__ import annotations

from pathlib import Path

from mocap.calibration.formats import read_calibration
from mocap.errors import InputError
from mocap.layout import check_name
from mocap.projects.draft import SessionDraft, TakeDraft, video_info, videos_in

VIDEOS = "synchronized_videos"
CALIBRATION_GLOB = "*camera_calibration.toml"


def import_freemocap(folder: Path) -> SessionDraft:
    """Read a FreeMoCap recording folder as a :class:`SessionDraft`."""
    folder = Path(folder)
    if not (folder / VIDEOS).is_dir():
        inner = sorted(d.name for d in folder.iterdir() if (d / VIDEOS).is_dir()) if folder.is_dir() else []
        raise InputError(f"not a FreeMoCap recording: no {VIDEOS}/ folder"
                         + (f" (recordings inside: {', '.join(inner)})" if inner else ""), path=folder,
                         fix="pass one recording folder (the one holding synchronized_videos/)")
    videos = videos_in(folder / VIDEOS)
    if not videos:
        raise InputError("no videos in the recording", path=folder / VIDEOS, fix="check the recording folder")
    calibration = _calibration(folder)
    rig = read_calibration(calibration, "freemocap")
    if len(rig) != len(videos):
        raise InputError(f"the calibration has {len(rig)} cameras, the recording {len(videos)} videos", path=calibration,
                         fix="use the calibration made for this recording's cameras")
    names = list(rig.names)
    by_name = {v.stem: v for v in videos}
    note = "cameras: named as in the calibration, which FreeMoCap names after the videos"
    if set(names) <= set(by_name):
        videos = [by_name[n] for n in names]
    else:
        note = "cameras: the calibration's, paired with the videos in order (FreeMoCap's cam_0, cam_1, ... order)"
    try:
        for n in names:
            check_name(n, "camera")
    except InputError:
        names = [f"cam{i}" for i in range(len(videos))]
        note += "; renamed cam0, cam1, ... (the calibration's names are not plain names)"
    info = video_info(videos[0])
    if not info.fps > 0:
        raise InputError(f"recording {folder.name!r}: the videos do not tell their frame rate", path=videos[0],
                         fix="add fps = ... to the take in session.toml")
    take = TakeDraft(folder.name, videos, info.fps, notes=[
        "videos -> cameras: " + ", ".join(f"{v.name} -> {c}" for v, c in zip(videos, names)),
        f"fps: from the videos ({videos[0].name}: {info.text})",
        "FreeMoCap's own 2D data (output_data/raw_data) is not imported: mocap detects the keypoints"],
        synchronized=True)  # FreeMoCap's synchronized_videos/
    return SessionDraft(name=folder.name, cameras=names, takes=[take], rig=calibration, mirrored=False,
                        source=f"Session made from the FreeMoCap recording {folder.resolve()}", camera_notes=[note],
                        calibration_notes=[f"calibration: {calibration.name} (anipose layout, translations in mm)"])


def _calibration(folder: Path) -> Path:
    own = folder / f"{folder.name}_camera_calibration.toml"
    if own.is_file():
        return own
    found = sorted((p for d in (folder, folder.parent) for p in d.glob(CALIBRATION_GLOB) if p.is_file()),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        raise InputError(f"no calibration: neither {own.name} nor another {CALIBRATION_GLOB} here or beside it",
                         path=folder, fix="calibrate the recording in FreeMoCap first (it writes "
                                          "<recording>_camera_calibration.toml), or copy the calibration there")
    return found[-1]


__all__ = ["import_freemocap"]
