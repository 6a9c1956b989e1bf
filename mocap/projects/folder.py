"""A session from a plain folder of videos (``mocap session new FOLDER``), for people who come with nothing
but their recordings.

Videos are grouped into takes and cameras from their names, in one of these documented layouts:

1. **One subfolder per take**, the same camera file names in each: ``walk/cam1.mp4``, ``walk/cam2.mp4``,
   ``calib/cam1.mp4`` ... (a camera word and number in the file name is the camera: ``walk/walk_cam1.mp4``).
2. **Take and camera in the file name**, the camera being a camera word followed by a number, before or after
   the take, with any separators: ``walk_cam1.mp4``, ``Cam 2 - walk.MOV``, ``calibration phone3.mp4``.
   Camera words: cam, camera, phone, iphone, android, gopro, view, angle, device, webcam.
3. **A trailing number** when no name holds a camera word: ``walk_1.mp4``, ``walk_2.mp4`` (camera 1, 2).

Cameras are named by their word and number (``cam1``, ``phone3``; ``cam1`` for layout 3) and ordered by
number. Every take must have exactly one video per camera; anything else is an error that shows how each file
was understood. Each video's fps, size and length are read and written as comments.

The calibration take is the take whose name says so (calib, calibration, charuco, board, checker), else the
take in whose frames a ChArUco board is found. The board is ``--board`` (a built-in name or a board TOML), or
found by trying a board TOML lying in the folder and every built-in board on a few frames of that take.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mocap.calibration.board import CharucoBoard, list_boards, load_board
from mocap.errors import InputError
from mocap.io.frames import natural_key
from mocap.io.tomlio import read_toml
from mocap.projects.draft import SessionDraft, TakeDraft, video_info, videos_in

CAMERA_WORDS = ("camera", "cam", "phone", "iphone", "android", "gopro", "view", "angle", "device", "webcam")
_CAMERA = re.compile(r"(?i)(?<![a-z])(" + "|".join(CAMERA_WORDS) + r")[\s_\-.]*(\d+)(?!\d)")
_TRAILING = re.compile(r"^(.*?)[\s_\-.]*(\d+)$")
_SEPARATORS = re.compile(r"[\s_\-.]+")
CALIBRATION_WORDS = re.compile(r"(?i)calib|charuco|board|checker")
SAMPLE_FRAMES = 8
"""Frames per video tried when looking for the board."""


def new_session(folder: str | Path, *, board: str | None = None) -> SessionDraft:
    """Group a folder's videos into cameras and takes, find the calibration take and its board."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("folder not found", path=folder, fix="pass the folder holding your videos")
    grid, how = _group(folder)
    cameras = sorted({c for cams in grid.values() for c in cams}, key=natural_key)
    _check_grid(grid, cameras, folder)
    takes = {take: [grid[take][c] for c in cameras] for take in sorted(grid, key=natural_key)}
    infos = {take: [video_info(v) for v in videos] for take, videos in takes.items()}
    chosen = _board(folder, board)
    calib, calib_note, found_board = _calibration_take(takes, chosen)
    draft = SessionDraft(name=folder.name, cameras=cameras, takes=[], board=None, mirrored=None,
                         source=f"Session made from the videos in {folder.resolve()}",
                         camera_notes=[f"cameras and takes from the file names ({how}); cameras ordered by number; "
                                       "mirrored = \"auto\" is detected from the calibration take"])
    if found_board is not None:
        draft.board = found_board.source
    draft.calibration_notes.append(calib_note)
    for take, videos in takes.items():
        notes = [f"{c}: {v.path.name}: {v.text}" for c, v in zip(cameras, infos[take])]
        rates = {round(v.fps, 3) for v in infos[take]}
        if len(rates) > 1:
            notes.append(f"WARNING: the cameras' frame rates differ ({', '.join(f'{r:g}' for r in sorted(rates))} fps)")
        if take == calib:
            draft.calibration_videos = videos
            draft.calibration_notes += notes
        else:
            draft.takes.append(TakeDraft(take, videos, notes=notes))
    if calib is None:
        draft.notes.append("NO CALIBRATION TAKE FOUND: record one (see the README, 'Calibrating your cameras'), or set "
                           "rig = \"FILE\" in [calibration] to use an existing calibration, and board = ...")
    return draft


class _FoundBoard:
    """A board to try, and how session.toml names it (a built-in name, or the path of its TOML)."""

    def __init__(self, board: CharucoBoard, source: str | Path):
        self.board, self.source = board, source

    @property
    def label(self) -> str:
        return self.source.name if isinstance(self.source, Path) else self.source


def _group(folder: Path) -> tuple[dict[str, dict[str, Path]], str]:
    """``{take: {camera: video}}`` and which layout was used."""
    top = videos_in(folder)
    subs = [d for d in sorted(folder.iterdir(), key=lambda d: natural_key(d.name)) if d.is_dir() and videos_in(d)]
    if top and subs:
        raise InputError(f"videos both in the folder ({top[0].name}, ...) and in subfolders ({subs[0].name}/, ...)",
                         path=folder, fix="put every take in its own subfolder, or all the videos in the folder")
    if subs:
        grid: dict[str, dict[str, Path]] = {}
        for sub in subs:
            for video in videos_in(sub):
                match = list(_CAMERA.finditer(video.stem))
                cam = _camera_name(match[0]) if len(match) == 1 else _SEPARATORS.sub("_", video.stem).strip("_")
                _put(grid, sub.name, cam, video, folder)
        return grid, "layout 1: one subfolder per take"
    if not top:
        raise InputError("no videos in the folder or its subfolders", path=folder,
                         fix=f"put the videos there ({', '.join(s for s in ('.mp4', '.mov', '.avi'))} ...)")
    parsed = {v: list(_CAMERA.finditer(v.stem)) for v in top}
    grid = {}
    if any(parsed.values()):
        for video, match in parsed.items():
            if len(match) != 1:
                raise InputError(f"{video.name}: {'no' if not match else 'several'} camera names (a camera word and "
                                 f"a number, e.g. cam1) in the name", path=video,
                                 fix="name every video <take>_<camera>, e.g. walk_cam1.mp4 (see `mocap session new "
                                     "--help` for the layouts)\n" + _understood(parsed))
            m = match[0]
            rest = _SEPARATORS.sub("_", video.stem[:m.start()] + " " + video.stem[m.end():]).strip("_")
            _put(grid, rest or "take", _camera_name(m), video, folder)
        return grid, "layout 2: <take>_<camera> with a camera word and number"
    for video in top:
        m = _TRAILING.match(video.stem)
        take = _SEPARATORS.sub("_", m.group(1)).strip("_") if m else ""
        if not m or not take:
            raise InputError(f"{video.name}: cannot tell its take and camera", path=video,
                             fix="name the videos <take>_<camera>, e.g. walk_cam1.mp4, or put each take in a subfolder")
        _put(grid, take, f"cam{m.group(2)}", video, folder)
    return grid, "layout 3: <take>_<number>, the number being the camera"


def _camera_name(match: re.Match) -> str:
    return f"{match.group(1).lower()}{match.group(2)}"


def _put(grid: dict, take: str, camera: str, video: Path, folder: Path) -> None:
    cams = grid.setdefault(take, {})
    if camera in cams:
        raise InputError(f"take {take!r} has two videos for camera {camera!r}: {cams[camera].name} and {video.name}",
                         path=folder, fix="rename one of them so each take has one video per camera")
    cams[camera] = video


def _understood(parsed: dict[Path, list[re.Match]]) -> str:
    lines = []
    for video, match in parsed.items():
        what = f"camera {_camera_name(match[0])}" if len(match) == 1 else f"{len(match)} camera names"
        lines.append(f"    {video.name}: {what}")
    return "  understood:\n" + "\n".join(lines)


def _check_grid(grid: dict[str, dict[str, Path]], cameras: list[str], folder: Path) -> None:
    incomplete = {t: [c for c in cameras if c not in cams] for t, cams in grid.items()}
    incomplete = {t: m for t, m in incomplete.items() if m}
    if incomplete:
        table = "\n".join(f"    take {t}: " + ", ".join(f"{c} = {p.name}" for c, p in sorted(grid[t].items()))
                          for t in sorted(grid, key=natural_key))
        first = next(iter(incomplete))
        raise InputError(f"take {first!r} has no video for camera(s) {', '.join(incomplete[first])} "
                         f"(cameras found: {', '.join(cameras)})", path=folder,
                         fix="give every take one video per camera, named alike\n  understood:\n" + table)


def _board(folder: Path, board: str | None) -> list[_FoundBoard]:
    """The boards to try: ``--board``, else a board TOML in the folder and every built-in board."""
    if board is not None:
        b = load_board(board, search=[folder])
        return [_FoundBoard(b, Path(board).resolve() if Path(board).suffix == ".toml" else board)]
    out = []
    for path in sorted(folder.glob("*.toml")):
        try:
            data = read_toml(path)
        except InputError:
            continue
        if data.get("type") == "charuco":
            out.append(_FoundBoard(load_board(path), path.resolve()))
    return out + [_FoundBoard(load_board(name), name) for name in list_boards()]


def _calibration_take(takes: dict[str, list[Path]], boards: list[_FoundBoard]
                      ) -> tuple[str | None, str, _FoundBoard | None]:
    """``(calibration take, what was understood, its board)``."""
    by_name = [t for t in takes if CALIBRATION_WORDS.search(t)]
    candidates = by_name[:1] or list(takes)
    best, best_score, scores = None, (0, 0), {}
    for take in candidates:
        for b in boards:
            scores[take, b.label] = score = board_seen(takes[take], b.board)
            if score > best_score:
                best, best_score = (take, b), score
    twins = ""
    if best is not None:
        same = [b.label for b in boards if b is not best[1] and _pattern(b.board) == _pattern(best[1].board)
                and scores[best[0], b.label] == best_score]
        if same:
            twins = (f" (so would {', '.join(same)}: the same pattern in other sizes, which a video cannot tell "
                     "apart; set board to the one you printed, its square size sets the scale)")
    if by_name:
        take = by_name[0]
        if best is None:
            return take, (f"calibration take: {take!r} (by its name); NO BOARD FOUND in its videos: set board = "
                          "\"NAME\" (a built-in board) or a board TOML path"), None
        return take, (f"calibration take: {take!r} (by its name); board {best[1].label!r} found in "
                      f"{best_score[0]} of its sampled frames{twins}"), best[1]
    if best is None:
        return None, "no take is named as a calibration take, and no board was found in any take", None
    return best[0], (f"calibration take: {best[0]!r} (board {best[1].label!r} found in {best_score[0]} of its "
                     f"sampled frames{twins})"), best[1]


def _pattern(board: CharucoBoard) -> tuple:
    """What a camera sees of a board, whatever its printed size (and nearly whatever its marker size)."""
    return board.squares_x, board.squares_y, board.dictionary, board.inverted, board.legacy_pattern


def board_seen(videos: Sequence[Path], board: CharucoBoard, samples: int = SAMPLE_FRAMES) -> tuple[int, int]:
    """``(frames where the board is found, corners found)`` over ``samples`` frames spread over each video."""
    import cv2

    from mocap.calibration.detect import BoardDetector, DetectConfig

    detector = BoardDetector(board, DetectConfig(track=False))
    frames = corners = 0
    for video in videos:
        cap = cv2.VideoCapture(str(video))
        try:
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or samples
            for index in np.linspace(0, max(n - 1, 0), samples).astype(int):
                cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
                ok, img = cap.read()
                if not ok:
                    continue
                gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
                found = int(np.isfinite(detector.detect(gray)[:, 0]).sum())
                if not found:
                    found = int(np.isfinite(detector.detect(gray[:, ::-1].copy())[:, 0]).sum())  # a mirrored video
                frames += found > 0
                corners += found
        finally:
            cap.release()
    return frames, corners


__all__ = ["CAMERA_WORDS", "board_seen", "new_session"]
