"""OpenPose and Pose2Sim JSON: one folder per camera, one file per frame.

Layout (OpenPose ``--write_json``; Pose2Sim writes the same for every pose model it runs)::

    cam01/cam01_000000000123_keypoints.json      (or Pose2Sim's cam01_000123.json)
    {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...]}]}

* The frame number is the last number in the file name, so frames without a file (and frames before
  another camera's first file) come out as missing.
* The keypoint set follows from the number of x, y, c triplets: 17 ``coco17``, 26 ``halpe26``,
  33 ``blazepose33``, 133 ``coco_wholebody133``. 25 fits both OpenPose BODY_25 (its default model) and
  BODY_25B (the OpenPose model Pose2Sim recommends), whose joint orders differ, so for 25 the caller must
  say which (``--keypoint-set body25`` or ``body25b``): guessing wrong would silently swap joints.
* With several people in a frame, ``--person best`` takes the one with the highest mean confidence in
  that frame; ``--person N`` takes entry N of ``people`` (missing where the frame has fewer people);
  ``--person all`` keeps everyone (for a take with several performers).
* A keypoint with confidence 0 or at exactly (0, 0) is missing (NaN). Only ``pose_keypoints_2d`` is read.
* What the tools actually write is accepted and counted in the import summary: empty person entries
  (``{"people": [{}]}``, Pose2Sim's placeholder for a person missing from a frame; also a missing, ``null``
  or empty ``pose_keypoints_2d``) are skipped; a person whose list is shorter than the set's (or not a
  multiple of 3) gets its remaining keypoints missing; people lists may vary in length from frame to frame;
  gaps in the frame numbering are frames without keypoints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.keypoints2d.importers.common import CameraTrack, choose_people, clean, load_json, per_frame_files

BY_COUNT: dict[int, str | None] = {17: "coco17", 25: None, 26: "halpe26", 33: "blazepose33",
                                   133: "coco_wholebody133"}
"""Keypoints per person -> keypoint set; ``None`` where the count is ambiguous."""

_FIX = ('write the files with OpenPose --write_json (or Pose2Sim): {"people": [{"pose_keypoints_2d": '
        '[x, y, c, ...]}]}')
_AMBIGUOUS_FIX = ("pass --keypoint-set body25 (OpenPose's default BODY_25 model) or --keypoint-set body25b "
                  "(OpenPose's BODY_25B, the model Pose2Sim uses with OpenPose)")


def read_openpose(folder: str | Path, *, keypoint_set: str | None = None, person: int | str = "best") -> CameraTrack:
    """Read one camera's folder of OpenPose / Pose2Sim JSON files.

    Args:
        folder: the camera's folder of per-frame ``*.json`` files.
        keypoint_set: the set the files follow; ``None`` infers it from the keypoint count (not possible
            for 25 keypoints: see the module docstring).
        person: ``"best"``, ``"all"`` or the index of the person in each frame's ``people`` list.

    Returns the camera's keypoints, one row per file, with the frame numbers from the file names, and in
    ``notes`` how many person entries were empty and how many keypoint lists were short.
    """
    numbered = per_frame_files(Path(folder), "*.json", "OpenPose")
    per_frame, empty = [], 0
    for _, path in numbered:
        people, n_empty = _read_people(path)
        per_frame.append((people, path))
        empty += n_empty
    points, ks, notes = choose_people(per_frame, keypoint_set, person, BY_COUNT, fmt="OpenPose", source=Path(folder),
                                      ambiguous_fix=_AMBIGUOUS_FIX)
    if empty:
        notes = {"empty person entries (skipped)": empty, **notes}
    xy, conf = clean(points)
    frames = np.array([n for n, _ in numbered], dtype=np.int64)
    return CameraTrack(xy, conf, frames, ks, Path(folder), notes)


def _read_people(path: Path) -> tuple[list[np.ndarray], int]:
    """``(K, 3)`` x, y, c of every person in one file, and the number of empty person entries skipped.

    Empty: ``{}`` (Pose2Sim writes ``{"people": [{}]}`` for a person missing from a frame), no or an empty
    ``pose_keypoints_2d``. A list whose length is not a multiple of 3 keeps its complete triplets (a short list).
    """
    data = load_json(path, _FIX)
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise InputError("not an OpenPose keypoints file (no 'people' list)", path=path, fix=_FIX)
    people, empty = [], 0
    for k, entry in enumerate(data["people"]):
        if not isinstance(entry, dict):
            raise InputError(f"person {k} is not a JSON object", path=path, fix=_FIX)
        flat = entry.get("pose_keypoints_2d")
        if flat is None or (isinstance(flat, list) and not flat):
            empty += 1
            continue
        if not isinstance(flat, list):
            raise InputError(f"person {k}: 'pose_keypoints_2d' is not a list", path=path, fix=_FIX)
        try:
            values = np.asarray(flat, dtype=np.float64)  # null -> NaN
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputError(f"person {k}: 'pose_keypoints_2d' holds non-numbers", path=path, fix=_FIX) from exc
        if values.ndim != 1:
            raise InputError(f"person {k}: 'pose_keypoints_2d' is not a flat list of x, y, c values", path=path,
                             fix=_FIX)
        people.append(values[: values.size // 3 * 3].reshape(-1, 3))
    return people, empty
