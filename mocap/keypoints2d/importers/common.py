"""What every importer shares: the per-camera result, person selection, and keypoint-set checks."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.errors import InputError, MocapError
from mocap.keypoints2d.sets import KEYPOINT_SETS, KeypointSet, get_keypoint_set


@dataclass(frozen=True)
class CameraTrack:
    """One camera's keypoints as read from its files, before the cameras are aligned.

    Attributes:
        xy: ``(F, J, 2)`` float32 pixels; NaN where not detected (every person, ``person="all"``:
            ``(F, P, J, 2)``, empty slots NaN).
        conf: ``(F, J)`` float32 in [0, 1]; 0 where not detected (``(F, P, J)``).
        frames: ``(F,)`` increasing frame numbers of the rows (gaps are frames without a file).
        keypoint_set: the set the rows follow.
        source: the file or folder read.
        notes: what had to be mended while reading, ``{what: count}`` (e.g. ``"empty person entries"``);
            empty when the files were clean.
    """

    xy: np.ndarray
    conf: np.ndarray
    frames: np.ndarray
    keypoint_set: KeypointSet
    source: Path
    notes: Mapping[str, int] = field(default_factory=dict)


PERSON_FIX = ("pass --person best (per frame, the highest mean confidence), --person N (the N-th person, from 0) "
              "or --person all (everyone, for a take with several performers)")


def check_person(person) -> None:
    """``person`` must be ``"best"``, ``"all"`` or a non-negative index (DeepLabCut also takes an individual's
    name)."""
    if isinstance(person, (bool, np.bool_)) or not (
            isinstance(person, str) or (isinstance(person, (int, np.integer)) and person >= 0)):
        raise MocapError(f"person must be 'best', 'all', an index >= 0 or a name, got {person!r}", fix=PERSON_FIX)


def pick_person(candidates: np.ndarray, person) -> np.ndarray | None:
    """One person's ``(J, 3)`` x, y, confidence out of ``candidates (P, J, 3)``.

    ``person="best"`` takes the highest mean confidence (missing joints count as 0); an index takes that
    entry of the list. Returns ``None`` when there is no such person in this frame.
    """
    if len(candidates) == 0:
        return None
    if person == "best":
        scores = np.nan_to_num(candidates[:, :, 2], nan=0.0).mean(axis=1)
        return candidates[int(np.argmax(scores))]
    if isinstance(person, str):
        raise MocapError(f"person {person!r} is not an index", fix=PERSON_FIX)
    return candidates[person] if person < len(candidates) else None


def clean(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(..., 3)`` x, y, confidence -> ``xy (..., 2)`` float32 with NaN where missing, ``conf (...)`` in [0, 1].

    Missing: confidence <= 0 or not finite, a coordinate not finite or beyond a million pixels, or the point
    at exactly (0, 0) (how OpenPose and Pose2Sim write "not detected"). Confidences above 1 (RTMPose's SimCC scores can exceed 1)
    are clipped to 1.
    """
    points = np.asarray(points, dtype=np.float64)
    x, y, c = points[..., 0], points[..., 1], points[..., 2]
    # beyond a million pixels a coordinate is garbage (and 1e308 would become inf as float32): missing
    plausible = (np.abs(np.nan_to_num(x, nan=np.inf)) < 1e6) & (np.abs(np.nan_to_num(y, nan=np.inf)) < 1e6)
    missing = ~(plausible & np.isfinite(c) & (c > 0)) | ((x == 0) & (y == 0))
    xy = np.where(missing[..., None], np.nan, points[..., :2]).astype(np.float32)
    conf = np.where(missing, 0.0, np.clip(np.nan_to_num(c), 0.0, 1.0)).astype(np.float32)
    return xy, conf


def resolve_set(n_joints: int, keypoint_set: str | None, by_count: dict[int, str | None], *, path: Path,
                fmt: str, ambiguous_fix: str | None = None) -> KeypointSet:
    """The keypoint set for ``n_joints`` per person: the caller's choice (checked) or inferred from the count.

    ``by_count[n] = None`` marks a count that fits several sets; then the caller must choose.
    """
    if keypoint_set is not None:
        ks = get_keypoint_set(keypoint_set)
        if ks.n_joints != n_joints:
            fits = _sets_with(n_joints)
            hint = f" (sets with {n_joints}: {', '.join(fits)})" if fits else ""
            raise InputError(f"{n_joints} keypoints per person, but keypoint set {ks.name!r} has {ks.n_joints}",
                             path=path, fix=f"pass --keypoint-set with the set the detector used{hint}, or leave "
                                            "--keypoint-set out to infer it from the count")
        return ks
    if n_joints not in by_count:
        known = ", ".join(f"{n} ({name or 'ambiguous'})" for n, name in sorted(by_count.items()))
        raise InputError(f"{n_joints} keypoints per person match no keypoint set known for {fmt} files",
                         path=path, fix=f"pass --keypoint-set NAME (known counts: {known})")
    name = by_count[n_joints]
    if name is None:
        options = " or ".join(f"--keypoint-set {s}" for s in _sets_with(n_joints))
        raise InputError(f"{n_joints} keypoints per person fit several keypoint sets", path=path,
                         fix=ambiguous_fix or f"pass {options} (the model that wrote the files)")
    return get_keypoint_set(name)


def choose_people(per_frame: Sequence[tuple[Sequence[np.ndarray], Path]], keypoint_set: str | None, person,
                  by_count: dict[int, str | None], *, fmt: str, source: Path, ambiguous_fix: str | None = None,
                  ) -> tuple[np.ndarray, KeypointSet, dict[str, int]]:
    """What every per-frame reader does once it has each frame's people: find the keypoint count over all
    frames, resolve the keypoint set, and pick one person per frame.

    Args:
        per_frame: per frame, ``(people, file)``: each person a ``(K, 3)`` x, y, confidence array (``K`` may
            differ between people: a short list is a person whose last keypoints are missing).
        keypoint_set: the caller's set (``--keypoint-set``), or ``None`` to infer it from the largest count.
        person: ``"best"`` or an index (:func:`pick_person`), or ``"all"``: everyone.
        by_count: keypoints per person -> set name, ``None`` where ambiguous (:func:`resolve_set`).
        fmt, source, ambiguous_fix: for the messages.

    Returns ``points (F, J, 3)`` (NaN where the frame has no such person; with ``person="all"``
    ``(F, P, J, 3)``, padded with empty slots to the most people in a frame), the keypoint set, and
    ``{"short keypoint lists": n}`` when some people had fewer keypoints than the set (filled with NaN).
    A person with more keypoints than the set is an error naming the file.
    """
    counts = Counter()
    first_file: dict[int, Path] = {}
    for people, path in per_frame:
        for p in people:
            counts[len(p)] += 1
            first_file.setdefault(len(p), path)
    if keypoint_set is None and not counts:
        raise InputError("no file has a detected person, so the keypoint set cannot be inferred", path=source,
                         fix="pass --keypoint-set NAME, or check that the detector found the person")
    if keypoint_set is None:
        ks = resolve_set(max(counts), None, by_count, path=first_file[max(counts)], fmt=fmt,
                         ambiguous_fix=ambiguous_fix)
    elif counts and max(counts) > get_keypoint_set(keypoint_set).n_joints or (counts and len(counts) == 1):
        ks = resolve_set(max(counts), keypoint_set, by_count, path=first_file[max(counts)], fmt=fmt)
    else:
        ks = get_keypoint_set(keypoint_set)
    n = ks.n_joints
    short = 0
    slots = max((len(people) for people, _ in per_frame), default=0) if person == "all" else None
    points = np.full((len(per_frame), n, 3) if slots is None else (len(per_frame), slots, n, 3), np.nan)
    for row, (people, _) in enumerate(per_frame):
        if not len(people):
            continue
        padded = np.full((len(people), n, 3), np.nan)
        for k, p in enumerate(people):
            padded[k, : len(p)] = p
            short += len(p) < n
        if slots is not None:
            points[row, : len(people)] = padded
            continue
        chosen = pick_person(padded, person)
        if chosen is not None:
            points[row] = chosen
    return points, ks, ({"short keypoint lists (filled with missing keypoints)": short} if short else {})


def _sets_with(n_joints: int) -> list[str]:
    return [name for name, s in KEYPOINT_SETS.items() if s.n_joints == n_joints]


_DIGITS = re.compile(r"(\d+)")


def frame_number(path: Path) -> int:
    """The frame number in a per-frame file name: the last run of digits in the name without its suffix
    (``cam1_000000000123_keypoints.json`` -> 123, ``cam01_000123.json`` -> 123)."""
    runs = _DIGITS.findall(path.stem)
    if not runs:
        raise InputError("the file name has no frame number", path=path,
                         fix="name per-frame files with their frame number, e.g. cam1_000000000123_keypoints.json")
    return int(runs[-1])


def per_frame_files(folder: Path, pattern: str, what: str) -> list[tuple[int, Path]]:
    """``(frame number, file)`` for the files matching ``pattern`` in ``folder``, by frame number."""
    if not folder.is_dir():
        raise InputError(f"{what} folder not found" if not folder.exists() else f"expected a folder of {what} files",
                         path=folder, fix=f"pass one folder of per-frame {what} JSON files per camera")
    files = sorted(folder.glob(pattern))
    if not files:
        raise InputError(f"the folder has no {what} files ({pattern})", path=folder,
                         fix=f"pass the folder the {what} JSON files were written to (one folder per camera)")
    numbered = sorted(((frame_number(f), f) for f in files), key=lambda t: t[0])
    for (a, fa), (b, fb) in zip(numbered, numbered[1:]):
        if a == b:
            raise InputError(f"two files have frame number {a}: {fa.name} and {fb.name}", path=folder,
                             fix="keep one camera's files per folder, named with their frame number")
    return numbered


def load_json(path: Path, fix: str):
    """Parse a JSON file; a missing or malformed file is an ``InputError`` naming it."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError as exc:
        raise InputError("file not found", path=path, fix=fix) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"file is unreadable ({exc})", path=path, fix=fix) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", path=path,
                         fix=fix) from exc
