"""A detector's known systematic offsets from the body model's landmarks, and how the fit uses them.

A detector's keypoint is not exactly the body model's landmark of the same name: BlazePose's shoulder sits higher
and further in than the open model's BlazePose-like skin point, its thumb 5-6 cm from the model's thumb landmark,
its face points a couple of centimetres in front of the model's. Such offsets are steady in the frame of the bone
the landmark rides on, so they can be measured once on renders with ground truth (`measure_offsets`: the median,
over frames, of the triangulated keypoint minus the true landmark, turned into that bone's frame) and added to the
model's markers (`with_offsets`): the fit then compares like with like, and no longer bends joints or stretches
the shape to absorb the difference.

`DETECTOR_OFFSETS` holds the table measured with ``bench/accuracy.py --measure-offsets`` on the committed sample
session ``sample_sessions/studio4`` (BlazePose full, tracking; the open body model's ``blazepose_regressor``
landmarks; mocap's triangulation and smoothing, true cameras). Held-out checks: the harder rendered sets of
``bench/accuracy.py`` (other motions, another renderer, a cluttered room).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from mocap.fitting.model import MarkerModel

#: keypoint set -> body model -> keypoint -> offset (mm) in the model's rest frame of the joint that carries most
#: of the landmark's skinning weight (x: the body's left, y: up, z: forward).
DETECTOR_OFFSETS: dict[str, dict[str, dict[str, tuple[float, float, float]]]] = {
    "blazepose33": {"open_smplx": {
        "nose": (4.9, -12.4, -25.5),
        "left_eye_inner": (-3.4, -13.2, -21.7),
        "left_eye": (-7.1, -14.7, -20.5),
        "left_eye_outer": (-10.1, -12.6, -26.6),
        "right_eye_inner": (3.4, -13.2, -21.7),
        "right_eye": (7.1, -14.7, -20.5),
        "right_eye_outer": (10.1, -12.6, -26.6),
        "left_ear": (-25.5, -7.7, 17.2),
        "right_ear": (25.5, -7.7, 17.2),
        "mouth_left": (-6.7, -7.0, -29.8),
        "mouth_right": (11.5, -6.8, -28.1),
        "left_shoulder": (13.3, -1.9, 3.7),
        "right_shoulder": (-13.3, -1.9, 3.7),
        "left_elbow": (8.5, -3.0, -1.1),
        "right_elbow": (-8.5, -3.0, -1.1),
        "left_wrist": (14.8, -2.1, -4.9),
        "right_wrist": (-14.8, -2.1, -4.9),
        "left_pinky": (-3.2, 0.4, 34.4),
        "right_pinky": (3.2, 0.4, 34.4),
        "left_index": (-17.8, -8.4, -17.8),
        "right_index": (17.8, -8.4, -17.8),
        "left_thumb": (-38.4, 36.8, -61.4),
        "right_thumb": (38.4, 36.8, -61.4),
        "left_hip": (-3.3, -2.1, 8.2),
        "right_hip": (3.3, -2.1, 8.2),
        "left_knee": (-10.8, 2.7, 3.6),
        "right_knee": (10.8, 2.7, 3.6),
        "left_ankle": (-4.4, -0.5, 4.5),
        "right_ankle": (4.4, -0.5, 4.5),
        "left_heel": (-7.8, -8.0, 3.5),
        "right_heel": (7.8, -8.0, 3.5),
        "left_foot_index": (-6.1, 13.6, -18.2),
        "right_foot_index": (6.1, 13.6, -18.2),
    }},
}


def carrier_joints(model: MarkerModel) -> np.ndarray:
    """``(L,)`` the joint that carries most of each marker's skinning weight."""
    return np.argmax(model.m, axis=1)


def with_offsets(model: MarkerModel, offsets_mm: dict[str, tuple[float, float, float]]) -> MarkerModel:
    """``model`` with each named marker moved by its offset (mm, in its carrier joint's rest frame): the posed
    marker moves by that joint's rotation times the offset."""
    c = model.c_template.copy()
    carrier = carrier_joints(model)
    for i, name in enumerate(model.marker_names):
        if name in offsets_mm:
            c[i, carrier[i]] += np.asarray(offsets_mm[name], float) / 1000.0
    return replace(model, c_template=c)


def measure_offsets(model: MarkerModel, observed: np.ndarray, truth: np.ndarray,
                    rotations: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """The median offset (mm) of ``observed (F, L, 3)`` keypoints from the ``truth (F, L, 3)`` landmarks (model
    marker order, world metres, NaN missing) in each marker's carrier joint frame, from the true global joint
    ``rotations (F, 55, 3, 3)``. Markers never observed are left out."""
    carrier = carrier_joints(model)
    out = {}
    for i, name in enumerate(model.marker_names):
        G = rotations[:, carrier[i]]
        local = np.einsum("fba,fb->fa", G, observed[:, i] - truth[:, i])  # G^T (observed - truth)
        ok = np.isfinite(local).all(-1)
        if ok.any():
            out[name] = tuple(float(v) for v in np.round(np.median(local[ok], axis=0) * 1000.0, 1))
    return out


def symmetric(offsets_mm: dict[str, tuple[float, float, float]]) -> dict[str, tuple[float, float, float]]:
    """Left and right keypoints' offsets averaged as mirror images (x, the body's left, flips sign): the detector
    and the body are left-right symmetric, so what differs between the sides is noise."""
    out = {}
    for name, v in offsets_mm.items():
        twin = name.replace("left_", "right_") if "left_" in name else name.replace("right_", "left_")
        w = offsets_mm.get(twin)
        if twin == name or w is None:
            out[name] = v
            continue
        out[name] = tuple(float(np.round(x, 1)) for x in ((v[0] - w[0]) / 2, (v[1] + w[1]) / 2, (v[2] + w[2]) / 2))
    return out
