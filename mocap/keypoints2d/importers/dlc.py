"""DeepLabCut predictions: one ``.csv`` or ``.h5`` file per camera (``analyze_videos`` output).

CSV layout (single animal; multi-animal files have an ``individuals`` row after ``scorer``)::

    scorer,DLC_resnet50_walkJan1shuffle1_100000,DLC_resnet50_walkJan1shuffle1_100000,...
    bodyparts,nose,nose,nose,left_wrist,left_wrist,left_wrist,...
    coords,x,y,likelihood,x,y,likelihood,...
    0,312.4,140.2,0.998,290.1,260.7,0.94,...

The ``.h5`` file holds the same table (a pandas DataFrame with column levels scorer / [individuals] /
bodyparts / coords), read with ``h5py`` without unpickling anything (``pandas.read_hdf`` would run code a
crafted file carries; see :mod:`mocap.io.hdf5_table`).

* Rows are frames in order, from 0. Empty or NaN cells are missing; the likelihood becomes ``conf``.
* The keypoint set is custom: ``"dlc:<scorer>"`` with the body parts as joint names, no edges and no
  body-model correspondence; ``--keypoint-set`` a registered set instead requires body parts with exactly
  that set's joint names (in any order; they are put in the set's order).
* Multi-animal files: ``person="best"`` takes the individual with the highest mean likelihood over the
  whole file (DeepLabCut's individuals are already tracked across frames), an index takes that individual
  in file order, and a string takes the individual of that name. The ``single`` pseudo-individual (unique
  body parts) is only chosen by name.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.keypoints2d.importers.common import CameraTrack, clean
from mocap.keypoints2d.sets import KeypointSet, get_keypoint_set

_FIX = ("pass the .csv or .h5 file written by DeepLabCut's analyze_videos (header rows scorer, bodyparts, "
        "coords with x, y, likelihood per body part)")
_COORDS = ("x", "y", "likelihood")


def read_dlc(path: str | Path, *, keypoint_set: str | None = None, person: int | str = "best") -> CameraTrack:
    """Read one camera's DeepLabCut predictions (``.csv`` or ``.h5``).

    Args:
        path: the camera's predictions file.
        keypoint_set: ``None`` for the custom ``"dlc:<scorer>"`` set, or a registered set whose joint names
            are the body parts.
        person: for multi-animal files, ``"best"``, an individual's index, or its name.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("DeepLabCut file not found" if not path.exists() else "expected a file, got a folder",
                         path=path, fix="pass one DeepLabCut .csv or .h5 predictions file per camera")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        scorer, columns, values = _read_csv(path)
    elif suffix in (".h5", ".hdf5", ".hdf"):
        scorer, columns, values = _read_h5(path)
    else:
        raise InputError(f"unknown DeepLabCut file type {path.suffix!r}", path=path, fix=_FIX)
    if len(values) == 0:
        raise InputError("the file has no frames (only header rows)", path=path, fix=_FIX)
    bodyparts, points = _select(path, columns, values, person)
    ks = _keypoint_set(path, scorer, bodyparts, keypoint_set)
    if ks.joint_names != tuple(bodyparts):
        points = points[:, [bodyparts.index(n) for n in ks.joint_names]]
    xy, conf = clean(points)
    return CameraTrack(xy, conf, np.arange(len(points), dtype=np.int64), ks, path)


def _read_csv(path: Path) -> tuple[str, list[tuple[str | None, str, str]], np.ndarray]:
    """``(scorer, [(individual, bodypart, coord)] per column, values (N, K))`` of a predictions CSV."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if r and any(cell.strip() for cell in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"CSV file is unreadable ({exc})", path=path, fix=_FIX) from exc
    n_header = 4 if len(rows) > 1 and rows[1][0].strip() == "individuals" else 3
    if len(rows) < n_header:
        raise InputError(f"the file has {len(rows)} rows, fewer than DeepLabCut's {n_header} header rows",
                         path=path, fix=_FIX)
    header = rows[:n_header]
    labels = ["scorer", "individuals", "bodyparts", "coords"] if n_header == 4 else ["scorer", "bodyparts", "coords"]
    for k, (row, label) in enumerate(zip(header, labels)):
        if row[0].strip() != label:
            raise InputError(f"header row {k + 1} starts with {row[0]!r}, expected {label!r}", path=path, fix=_FIX)
        if len(row) != len(header[0]):
            raise InputError(f"header row {k + 1} has {len(row)} cells, row 1 has {len(header[0])}", path=path,
                             fix=_FIX)
    cells = [[c.strip() for c in row[1:]] for row in header]
    individuals = cells[1] if n_header == 4 else [None] * len(cells[0])
    columns = list(zip(individuals, cells[-2], cells[-1]))
    values = np.empty((len(rows) - n_header, len(columns)))
    for i, row in enumerate(rows[n_header:]):
        line = n_header + i + 1
        if len(row) != len(columns) + 1:
            raise InputError(f"line {line} has {len(row)} cells, the header has {len(columns) + 1}", path=path,
                             fix=_FIX)
        try:
            values[i] = [float(c) if c.strip() else np.nan for c in row[1:]]
        except ValueError as exc:
            raise InputError(f"line {line} has a value that is not a number ({exc})", path=path, fix=_FIX) from exc
    return cells[0][0] if cells[0] else "", columns, values


def _read_h5(path: Path) -> tuple[str, list[tuple[str | None, str, str]], np.ndarray]:
    """``(scorer, columns, values)`` of DeepLabCut's HDF5 predictions, read without unpickling anything
    (:mod:`mocap.io.hdf5_table`: a crafted ``.h5`` cannot run code here)."""
    from mocap.io.hdf5_table import read_frame

    labels, values = read_frame(path, fix=_FIX)
    if not labels or len({len(c) for c in labels}) != 1 or len(labels[0]) not in (3, 4):
        raise InputError("the HDF5 table is not DeepLabCut predictions (columns scorer / [individuals] / bodyparts "
                         "/ coords)", path=path, fix=_FIX)
    if len(labels[0]) == 4:
        columns = [(c[1], c[2], c[3]) for c in labels]
    else:
        columns = [(None, c[1], c[2]) for c in labels]
    return labels[0][0], columns, values


def _select(path: Path, columns, values: np.ndarray, person) -> tuple[list[str], np.ndarray]:
    """One individual's body parts and ``(N, J, 3)`` x, y, likelihood."""
    layout: dict[str | None, dict[str, dict[str, int]]] = {}
    for k, (ind, part, coord) in enumerate(columns):
        if coord not in _COORDS:
            raise InputError(f"column {k + 2} has coordinate {coord!r}, expected x, y or likelihood", path=path,
                             fix=_FIX)
        layout.setdefault(ind, {}).setdefault(part, {})[coord] = k
    for ind, parts in layout.items():
        for part, coords in parts.items():
            if len(coords) != 3:
                who = f" of individual {ind!r}" if ind is not None else ""
                raise InputError(f"body part {part!r}{who} lacks {sorted(set(_COORDS) - set(coords))}", path=path,
                                 fix=_FIX)
    if not layout:
        raise InputError("the file has no body parts", path=path, fix=_FIX)

    def points_of(ind) -> np.ndarray:
        cols = [[layout[ind][p][c] for c in _COORDS] for p in layout[ind]]
        return values[:, np.array(cols, dtype=int)]

    individuals = list(layout)
    if individuals == [None]:
        chosen = None
    elif isinstance(person, str) and person != "best":
        if person not in layout:
            raise InputError(f"no individual {person!r} in the file (it has {individuals})", path=path,
                             fix="pass --person with one of the individuals' names, an index, or best")
        chosen = person
    else:
        animals = [i for i in individuals if i != "single"] or individuals
        if person == "best":
            scores = [np.nan_to_num(points_of(i)[..., 2], nan=0.0).mean() if len(values) else 0.0 for i in animals]
            chosen = animals[int(np.argmax(scores))]
        elif person < len(animals):
            chosen = animals[person]
        else:
            raise InputError(f"person {person} requested, but the file has {len(animals)} individuals ({animals})",
                             path=path, fix="pass --person with an index below that, an individual's name, or best")
    return list(layout[chosen]), points_of(chosen)


def _keypoint_set(path: Path, scorer: str, bodyparts: list[str], keypoint_set: str | None) -> KeypointSet:
    if keypoint_set is None:
        return KeypointSet.custom(f"dlc:{scorer}", bodyparts, source=f"DeepLabCut body parts of {path.name}")
    ks = get_keypoint_set(keypoint_set)
    if set(ks.joint_names) != set(bodyparts) or len(bodyparts) != ks.n_joints:
        extra, lacking = sorted(set(bodyparts) - set(ks.joint_names)), sorted(set(ks.joint_names) - set(bodyparts))
        raise InputError(f"the body parts do not match keypoint set {ks.name!r} (not in the set: {extra}; "
                         f"missing: {lacking})", path=path,
                         fix="leave --keypoint-set out to use the body parts as a custom set")
    return ks
