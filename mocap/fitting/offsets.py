"""A detector's known systematic offsets from the body model's landmarks, and how the fit uses them.

A detector's keypoint is not exactly the body model's landmark of the same name: BlazePose's shoulder sits higher
and further in than the open model's BlazePose-like skin point, its thumb 5-6 cm from the model's thumb landmark,
its face points a couple of centimetres in front of the model's. Such offsets are steady in the frame of a bone
the landmark rides on, so they can be measured once on renders with ground truth (`measure_offsets`: the median,
over frames, of the triangulated keypoint minus the true landmark, turned into the frame of the skinning joint in
which it is steadiest: BlazePose's hip follows the pelvis more than the thigh) and added to the model's markers
(`with_offsets`): the fit then compares like with like, and no longer bends joints or stretches the shape to
absorb the difference.

`DETECTOR_OFFSETS` holds the table measured with ``bench/accuracy.py --measure-offsets`` on the committed sample
session ``sample_sessions/studio4`` (BlazePose full, tracking; the open body model's ``blazepose_regressor``
landmarks; mocap's triangulation and smoothing, true cameras). Held-out checks: the harder rendered sets of
``bench/accuracy.py`` (other motions, another renderer, a cluttered room).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from mocap.body import skeleton
from mocap.fitting.model import MarkerModel

#: keypoint set -> body model -> keypoint -> (joint, offset in mm in that joint's rest frame: x the body's left,
#: y up, z forward).
Offsets = dict[str, tuple[str, tuple[float, float, float]]]

DETECTOR_OFFSETS: dict[str, dict[str, Offsets]] = {
    "blazepose33": {"open_smplx": {
        "nose": ("head", (4.9, -12.4, -25.5)),
        "left_eye_inner": ("head", (-3.4, -13.2, -21.7)),
        "left_eye": ("left_eye_smplhf", (-7.1, -14.7, -20.5)),
        "left_eye_outer": ("head", (-10.1, -12.6, -26.6)),
        "right_eye_inner": ("head", (3.4, -13.2, -21.7)),
        "right_eye": ("right_eye_smplhf", (7.1, -14.7, -20.5)),
        "right_eye_outer": ("head", (10.1, -12.6, -26.6)),
        "left_ear": ("head", (-25.5, -7.7, 17.2)),
        "right_ear": ("head", (25.5, -7.7, 17.2)),
        "mouth_left": ("head", (-6.7, -7.0, -29.8)),
        "mouth_right": ("head", (11.5, -6.8, -28.1)),
        "left_shoulder": ("left_shoulder", (13.3, -1.9, 3.7)),
        "right_shoulder": ("right_shoulder", (-13.3, -1.9, 3.7)),
        "left_elbow": ("left_elbow", (8.5, -3.0, -1.1)),
        "right_elbow": ("right_elbow", (-8.5, -3.0, -1.1)),
        "left_wrist": ("left_wrist", (14.8, -2.1, -4.9)),
        "right_wrist": ("right_wrist", (-14.8, -2.1, -4.9)),
        "left_pinky": ("left_pinky1", (-3.2, 0.4, 34.4)),
        "right_pinky": ("right_pinky1", (3.2, 0.4, 34.4)),
        "left_index": ("left_index1", (-17.8, -8.4, -17.8)),
        "right_index": ("right_index1", (17.8, -8.4, -17.8)),
        "left_thumb": ("left_thumb3", (-38.4, 36.8, -61.4)),
        "right_thumb": ("right_thumb3", (38.4, 36.8, -61.4)),
        "left_hip": ("pelvis", (-2.4, 1.2, 11.1)),
        "right_hip": ("pelvis", (2.4, 1.2, 11.1)),
        "left_knee": ("left_knee", (-10.8, 4.9, 3.4)),
        "right_knee": ("right_knee", (10.8, 4.9, 3.4)),
        "left_ankle": ("left_ankle", (-4.4, -0.5, 4.5)),
        "right_ankle": ("right_ankle", (4.4, -0.5, 4.5)),
        "left_heel": ("left_ankle", (-7.8, -8.0, 3.5)),
        "right_heel": ("right_ankle", (7.8, -8.0, 3.5)),
        "left_foot_index": ("left_foot", (-6.1, 13.6, -18.2)),
        "right_foot_index": ("right_foot", (6.1, 13.6, -18.2)),
    }},
}

#: Joints a marker rides on: those with at least this skinning weight on it.
MIN_CARRIER_WEIGHT = 0.05


def with_offsets(model: MarkerModel, offsets: Offsets) -> MarkerModel:
    """``model`` with each named marker moved by its offset (mm, in its joint's rest frame): the posed marker moves
    by that joint's rotation times the offset."""
    c = model.c_template.copy()
    for i, name in enumerate(model.marker_names):
        if name in offsets:
            joint, v = offsets[name]
            c[i, skeleton.joint_index(joint)] += np.asarray(v, float) / 1000.0
    return replace(model, c_template=c)


def _twin(name: str) -> str:
    return name.replace("left_", "right_") if "left_" in name else name.replace("right_", "left_")


def measure_offsets(model: MarkerModel, observed: np.ndarray, truth: np.ndarray, rotations: np.ndarray) -> Offsets:
    """The median offset (mm) of ``observed (F, L, 3)`` keypoints from the ``truth (F, L, 3)`` landmarks (model
    marker order, world metres, NaN missing), in the frame of the skinning joint where it is steadiest (smallest
    mean distance from the median; a left/right pair picks mirror joints together; within 5 %, the joint carrying
    most of the marker), from the true global joint
    ``rotations (F, 55, 3, 3)``. Markers never observed are left out."""
    found: dict[str, dict[str, tuple[float, np.ndarray]]] = {}
    for i, name in enumerate(model.marker_names):
        for j in np.flatnonzero(model.m[i] >= MIN_CARRIER_WEIGHT):
            local = np.einsum("fba,fb->fa", rotations[:, j], observed[:, i] - truth[:, i])  # G^T (observed - truth)
            local = local[np.isfinite(local).all(-1)] * 1000.0
            if len(local):
                median = np.median(local, axis=0)
                found.setdefault(name, {})[skeleton.JOINT_NAMES[j]] = (
                    float(np.linalg.norm(local - median, axis=-1).mean()), median)
    out: Offsets = {}
    i_of = {n: i for i, n in enumerate(model.marker_names)}
    for name, options in found.items():
        twin = found.get(_twin(name), {}) if _twin(name) != name else {}
        spread = {j: options[j][0] + twin.get(_twin(j), (0.0,))[0] + (0.0 if not twin or _twin(j) in twin else np.inf)
                  for j in options}
        best = min(spread.values())
        # near-ties (joints turning together): the joint carrying most of the marker
        joint = max((j for j in options if spread[j] <= 1.05 * best),
                    key=lambda j: model.m[i_of[name], skeleton.joint_index(j)])
        out[name] = (joint, tuple(float(v) for v in np.round(options[joint][1], 1)))
    return out


def symmetric(offsets: Offsets) -> Offsets:
    """Left and right keypoints' offsets averaged as mirror images (x, the body's left, flips sign): the detector
    and the body are left-right symmetric, so what differs between the sides is noise."""
    out: Offsets = {}
    for name, (joint, v) in offsets.items():
        twin = offsets.get(_twin(name))
        if _twin(name) == name or twin is None or twin[0] != _twin(joint):
            out[name] = (joint, v)
            continue
        w = twin[1]
        out[name] = (joint, tuple(float(np.round(x, 1)) for x in ((v[0] - w[0]) / 2, (v[1] + w[1]) / 2,
                                                                   (v[2] + w[2]) / 2)))
    return out
