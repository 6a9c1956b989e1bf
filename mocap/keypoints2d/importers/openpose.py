"""OpenPose and Pose2Sim JSON: one folder per camera, one file per frame.

Layout (OpenPose ``--write_json``; Pose2Sim writes the same for every pose model it runs)::

    cam01/cam01_000000000123_keypoints.json      (or Pose2Sim's cam01_000123.json)
    {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...]}]}

* The frame number is the last number in the file name, so frames without a file (and frames before
  another camera's first file) come out as missing.
* The keypoint set follows from the number of x, y, c triplets: 17 ``coco17``, 26 ``halpe26``,
  33 ``blazepose33``, 133 ``coco_wholebody133``. 25 fits both OpenPose BODY_25 (its default model) and
  BODY_25B (the OpenPose model Pose2Sim recommends), whose joint orders differ, so for 25 the caller must
  say which (``keypoint_set="body25"`` or ``"body25b"``): guessing wrong would silently swap joints.
* With several people in a frame, ``person="best"`` takes the one with the highest mean confidence in
  that frame; an index takes that entry of ``people`` (missing where the frame has fewer people).
* A keypoint with confidence 0 or at exactly (0, 0) is missing (NaN). Only ``pose_keypoints_2d`` is read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.keypoints2d.importers.common import CameraTrack, clean, load_json, per_frame_files, pick_person, resolve_set
from mocap.keypoints2d.sets import get_keypoint_set

BY_COUNT: dict[int, str | None] = {17: "coco17", 25: None, 26: "halpe26", 33: "blazepose33",
                                   133: "coco_wholebody133"}
"""Keypoints per person -> keypoint set; ``None`` where the count is ambiguous."""

_FIX = ('write the files with OpenPose --write_json (or Pose2Sim): {"people": [{"pose_keypoints_2d": '
        '[x, y, c, ...]}]}')
_AMBIGUOUS_FIX = ("pass keypoint_set='body25' (OpenPose's default BODY_25 model) or keypoint_set='body25b' "
                  "(OpenPose's BODY_25B, the model Pose2Sim uses with OpenPose)")


def read_openpose(folder: str | Path, *, keypoint_set: str | None = None, person: int | str = "best") -> CameraTrack:
    """Read one camera's folder of OpenPose / Pose2Sim JSON files.

    Args:
        folder: the camera's folder of per-frame ``*.json`` files.
        keypoint_set: the set the files follow; ``None`` infers it from the keypoint count (not possible
            for 25 keypoints: see the module docstring).
        person: ``"best"`` or the index of the person in each frame's ``people`` list.

    Returns the camera's keypoints, one row per file, with the frame numbers from the file names.
    """
    numbered = per_frame_files(Path(folder), "*.json", "OpenPose")
    chosen: list[np.ndarray | None] = []
    n_joints, first_file = None, None
    for _, path in numbered:
        people = _read_people(path)
        if people.shape[0]:
            if n_joints is None:
                n_joints, first_file = people.shape[1], path
            elif people.shape[1] != n_joints:
                raise InputError(f"{people.shape[1]} keypoints per person, but {first_file.name} has {n_joints}",
                                 path=path, fix="keep the files of one pose model per folder")
        chosen.append(pick_person(people, person))
    if n_joints is None:
        if keypoint_set is None:
            raise InputError("no file has a detected person, so the keypoint set cannot be inferred",
                             path=folder, fix="pass keypoint_set, or check that the detector found the person")
        ks = get_keypoint_set(keypoint_set)
    else:
        ks = resolve_set(n_joints, keypoint_set, BY_COUNT, path=first_file, fmt="OpenPose",
                         ambiguous_fix=_AMBIGUOUS_FIX)
    points = np.full((len(numbered), ks.n_joints, 3), np.nan)
    for row, p in enumerate(chosen):
        if p is not None:
            points[row] = p
    xy, conf = clean(points)
    frames = np.array([n for n, _ in numbered], dtype=np.int64)
    return CameraTrack(xy, conf, frames, ks, Path(folder))


def _read_people(path: Path) -> np.ndarray:
    """``(P, J, 3)`` x, y, c of every person in one file (people with no body keypoints are skipped)."""
    data = load_json(path, _FIX)
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise InputError("not an OpenPose keypoints file (no 'people' list)", path=path, fix=_FIX)
    people = []
    for k, entry in enumerate(data["people"]):
        flat = entry.get("pose_keypoints_2d") if isinstance(entry, dict) else None
        if not isinstance(flat, list):
            raise InputError(f"person {k} has no 'pose_keypoints_2d' list", path=path, fix=_FIX)
        if not flat:
            continue
        try:
            values = np.asarray(flat, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputError(f"person {k}: 'pose_keypoints_2d' holds non-numbers", path=path, fix=_FIX) from exc
        if values.ndim != 1 or values.size % 3:
            raise InputError(f"person {k}: 'pose_keypoints_2d' has {values.size} values, not x, y, c triplets",
                             path=path, fix=_FIX)
        people.append(values.reshape(-1, 3))
    if len({p.shape[0] for p in people}) > 1:
        raise InputError(f"people have different keypoint counts ({[p.shape[0] for p in people]})", path=path,
                         fix=_FIX)
    return np.stack(people) if people else np.zeros((0, 0, 3))
