"""MMPose / RTMPose prediction JSON: one file per camera (video) or one folder of per-image files.

Layouts read (what MMPose 1.x writes with ``pred_out_dir`` or its demo scripts' ``--save-predictions``)::

    cam1.json   [{"frame_id": 0, "instances": [{"keypoints": [[x, y], ...], "keypoint_scores": [s, ...],
                                                "bbox": [[x1, y1, x2, y2]], "bbox_score": 0.98}, ...]}, ...]
    cam1.json   {"meta_info": {...}, "instance_info": [{"frame_id": 1, "instances": [...]}, ...]}
    cam1/       one file per image, each a list of instances (or {"meta_info", "instance_info": [instances]})

* Video files: the frames are the list's entries in order (MMPose writes every frame, with an empty
  ``instances`` list where nobody was found); ``frame_id`` is not used (the inferencer counts from 0,
  the demo scripts from 1). Per-image folders: the frame number is the last number in the file name.
* The keypoint set follows from the keypoint count: 17 ``coco17``, 26 ``halpe26``, 133
  ``coco_wholebody133`` (RTMPose / RTMW whole body); pass ``keypoint_set`` for anything else.
* ``keypoints`` entries may be ``[x, y]`` with ``keypoint_scores`` beside them, or ``[x, y, score]``.
  Scores above 1 (RTMPose's SimCC scores can exceed 1) are clipped to 1; score 0 is missing.
* Several instances in a frame: ``--person best`` takes the highest mean keypoint score in that frame,
  ``--person N`` takes instance N. An instance with fewer keypoints than the set gets the rest missing
  (counted in the import summary). ``--person all`` keeps every instance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.keypoints2d.importers.common import CameraTrack, choose_people, clean, load_json, per_frame_files

BY_COUNT: dict[int, str | None] = {17: "coco17", 26: "halpe26", 133: "coco_wholebody133"}
"""Keypoints per instance -> keypoint set."""

_FIX = ("pass the predictions JSON MMPose wrote (MMPoseInferencer(..., pred_out_dir=...) or the demo's "
        "--save-predictions): frames of {\"instances\": [{\"keypoints\": [[x, y], ...], \"keypoint_scores\": [...]}]}")


def read_mmpose(path: str | Path, *, keypoint_set: str | None = None, person: int | str = "best") -> CameraTrack:
    """Read one camera's MMPose predictions: a video's ``.json`` file or a folder of per-image ``.json`` files.

    Args:
        path: the camera's predictions file or folder.
        keypoint_set: the set the predictions follow; ``None`` infers it from the keypoint count.
        person: ``"best"``, ``"all"`` or the index of the instance in each frame.
    """
    path = Path(path)
    if path.is_dir():
        numbered = per_frame_files(path, "*.json", "MMPose")
        frames = np.array([n for n, _ in numbered], dtype=np.int64)
        per_frame = [(_instances(_unwrap(load_json(f, _FIX), f, video=False), f), f) for _, f in numbered]
    elif path.is_file():
        entries = _unwrap(load_json(path, _FIX), path, video=True)
        per_frame = []
        for k, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("instances"), list):
                raise InputError(f"frame entry {k} has no 'instances' list", path=path, fix=_FIX)
            per_frame.append((_instances(entry["instances"], path, frame=k), path))
        frames = np.arange(len(per_frame), dtype=np.int64)
        if not per_frame:
            raise InputError("the predictions file has no frames", path=path, fix=_FIX)
    else:
        raise InputError("MMPose predictions not found", path=path,
                         fix="pass one predictions .json file (video) or folder of .json files (images) per camera")

    points, ks, notes = choose_people(per_frame, keypoint_set, person, BY_COUNT, fmt="MMPose", source=path)
    xy, conf = clean(points)
    return CameraTrack(xy, conf, frames, ks, path, notes)


def _unwrap(data, path: Path, *, video: bool) -> list:
    """The list inside a predictions file: frames (video) or instances (one image)."""
    if isinstance(data, dict) and "instance_info" in data:
        data = data["instance_info"]
    if not isinstance(data, list):
        raise InputError("not an MMPose predictions file (expected a list, or a dict with 'instance_info')",
                         path=path, fix=_FIX)
    if not video and data and isinstance(data[0], dict) and "instances" in data[0]:
        if len(data) != 1:
            raise InputError(f"a per-image file holds {len(data)} frames", path=path,
                             fix="pass a video's predictions as one .json file, not inside a folder")
        data = data[0]["instances"]
    if video and data and isinstance(data[0], dict) and "keypoints" in data[0]:
        raise InputError("this file holds one image's instances, not a video's frames", path=path,
                         fix="pass the folder of per-image .json files instead of one of its files")
    return data


def _instances(instances: list, path: Path, frame: int | None = None) -> list[np.ndarray]:
    """``(K, 3)`` x, y, score of every instance of one frame."""
    where = f"frame {frame}, " if frame is not None else ""
    people = []
    for k, inst in enumerate(instances):
        if not isinstance(inst, dict) or "keypoints" not in inst:
            raise InputError(f"{where}instance {k} has no 'keypoints'", path=path, fix=_FIX)
        try:
            kp = np.asarray(inst["keypoints"], dtype=np.float64)
            scores = inst.get("keypoint_scores")
            scores = None if scores is None else np.asarray(scores, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputError(f"{where}instance {k}: keypoints or scores are not numbers", path=path,
                             fix=_FIX) from exc
        if kp.ndim != 2 or kp.shape[1] not in (2, 3):
            raise InputError(f"{where}instance {k}: 'keypoints' has shape {kp.shape}, expected [[x, y], ...]",
                             path=path, fix=_FIX)
        if scores is None:
            if kp.shape[1] != 3:
                raise InputError(f"{where}instance {k} has no 'keypoint_scores'", path=path, fix=_FIX)
            scores = kp[:, 2]
        if scores.shape != (kp.shape[0],):
            raise InputError(f"{where}instance {k}: {scores.size} keypoint_scores for {kp.shape[0]} keypoints",
                             path=path, fix=_FIX)
        people.append(np.column_stack([kp[:, :2], scores]))
    return people
