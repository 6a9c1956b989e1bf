"""Small copies of a session for tests and benchmarks: takes cut from one of its takes, a few frames each.

The copy's session.toml points at the original calibration videos and board (absolute paths), so its
calibration is the original's (the same stamp key: a copied ``calibration`` output folder is reused).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mocap.io.tomlio import read_toml, write_toml
from mocap.layout import SESSION_FILE
from mocap.session import Session


def trim_video(source: Path, target: Path, start: int, count: int) -> Path:
    """Frames ``start .. start + count - 1`` of ``source`` as an MJPG ``.avi`` (OpenCV)."""
    import cv2

    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    for _ in range(count):
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise ValueError(f"{source}: no frames from {start}")
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), fps, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()
    return target


def trimmed_session(source: str | Path, folder: str | Path, takes: Mapping[str, tuple[int, int]], *,
                    source_take: str | None = None) -> Path:
    """Write a session in ``folder`` whose takes are ``{name: (first frame, frame count)}`` cut from
    ``source_take`` (default: the first take) of the session ``source``; returns its session.toml."""
    src = Session.load(source)
    take = src.take(source_take) if source_take else src.takes[0]
    folder = Path(folder)
    for name, (start, count) in takes.items():
        for camera, video in zip(src.camera_names, take.videos):
            trim_video(video, folder / "takes" / name / f"{camera}.avi", start, count)
    data = read_toml(src.file)
    calibration = dict(data.get("calibration", {}))
    calibration["videos"] = [str(p) for p in src.calibration_videos]
    if src.floor_videos:
        calibration["floor_videos"] = [str(p) for p in src.floor_videos]
    data.update(name=folder.name, board=src.board, output_dir="output", calibration=calibration,
                takes=[{"name": name, "videos": "takes/{take}/{camera}.avi"} for name in takes])
    write_toml(folder / SESSION_FILE, data)
    return folder / SESSION_FILE
