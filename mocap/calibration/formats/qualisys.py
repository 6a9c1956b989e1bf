"""Qualisys Track Manager calibration export (``*.qca.txt``, XML), read and written.

Each ``<cameras><camera serial=...>`` element holds (the camera is named after ``serial``):

* ``<fov_video left top right bottom>``: the video window in sensor pixels, inclusive bounds;
  image size ``w = right - left + 1``, ``h = bottom - top + 1``.
* ``<intrinsic>``: ``focalLengthU/V`` and ``centerPointU/V`` in 1/64 sensor pixels, so
  ``fx = focalLengthU / 64``, ``cx = centerPointU / 64 - left`` (likewise v with ``top``);
  ``skew`` likewise in 1/64 pixels; ``radialDistortion1..3`` = OpenCV ``k1..k3`` and
  ``tangentalDistortion1..2`` = ``p1, p2`` (same scale as OpenCV's).
* ``<transform r11..r33 x y z>``: the camera's pose in the lab frame (Z up), position in mm. With
  ``M`` the matrix read row by row (``r11 r12 r13`` first) and ``c`` the position, world-to-camera
  is ``R = F M``, ``t = -R c`` where ``F = diag(1, -1, -1)`` turns Qualisys' camera frame (looking
  along -Z, y up) into OpenCV's (looking along +Z, y down). This is Pose2Sim's conversion: the stored
  matrix transposed is camera-to-world, then a 180-degree turn about the camera x axis.

Writing inverts exactly this (``fov_video`` starting at 0, position in mm), so reading a written
file gives back the same rig. Qualisys has only the pinhole model with ``k1, k2, p1, p2, k3``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from mocap.calibration.formats._common import Source, dist_for, refuse_fisheye
from mocap.camera import CameraRig
from mocap.errors import InputError
from mocap.io.atomic import write_text

FMT = "Qualisys .qca.txt"
SUBPIXEL = 64.0  # Qualisys intrinsics are in 1/64 pixel
FLIP = np.diag([1.0, -1.0, -1.0])
_ROT_KEYS = [f"r{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3)]


def _child(el: ET.Element, tag: str, where: str, source: Source) -> ET.Element:
    child = el.find(tag)
    if child is None:
        raise source.error(f"{where} has no <{tag}> element", fix=f"add <{tag}> to {where}")
    return child


def _nums(el: ET.Element, keys: list[str], where: str, source: Source, zero: tuple = ()) -> np.ndarray:
    """Attributes ``keys`` of ``el`` as floats; those in ``zero`` default to 0."""
    out = []
    for key in keys:
        raw = el.get(key, "0" if key in zero else None)
        if raw is None:
            raise source.error(f"<{el.tag}> of {where} has no {key!r} attribute", fix=f"add {key}=\"...\"")
        try:
            out.append(float(raw))
        except ValueError:
            raise source.error(f"<{el.tag}> of {where}: {key}={raw!r} is not a number") from None
    arr = np.array(out)
    if not np.all(np.isfinite(arr)):
        raise source.error(f"<{el.tag}> of {where} has NaN or infinite values")
    return arr


def from_xml(root: ET.Element, source: Source) -> CameraRig:
    """Parsed ``.qca.txt`` XML -> rig (file order; metres; OpenCV conventions)."""
    elements = root.findall("cameras/camera")
    if not elements:
        raise source.error("no <cameras><camera> elements", fix="export the calibration from QTM again")
    cams = []
    for i, el in enumerate(elements):
        name = el.get("serial")
        where = f"<camera serial={name!r}>" if name else f"camera #{i + 1}"
        if not name:
            raise source.error(f"{where} has no 'serial' attribute", fix="add serial=\"NAME\"")
        fov = _child(el, "fov_video", where, source)
        left, top, right, bottom = _nums(fov, ["left", "top", "right", "bottom"], where, source)
        size = (right - left + 1, bottom - top + 1)
        if min(size) <= 0 or any(s != round(s) for s in size):
            raise source.error(f"<fov_video> of {where} gives an invalid image size {size}")
        intr = _child(el, "intrinsic", where, source)
        pixels = ["focalLengthU", "focalLengthV", "centerPointU", "centerPointV", "skew"]
        fu, fv, cu, cv, skew = _nums(intr, pixels, where, source, zero=("skew",)) / SUBPIXEL
        lens = [f"radialDistortion{i}" for i in (1, 2, 3)] + [f"tangentalDistortion{i}" for i in (1, 2)]
        k1, k2, k3, p1, p2 = _nums(intr, lens, where, source, zero=("radialDistortion3",))
        tr = _child(el, "transform", where, source)
        M = source.rotation(_nums(tr, _ROT_KEYS, where, source).reshape(3, 3), f"<transform> of {where}")
        center = _nums(tr, ["x", "y", "z"], where, source) / 1000.0
        R = FLIP @ M
        cams.append(
            source.camera(
                name=name,
                size=(int(size[0]), int(size[1])),
                K=[[fu, skew, cu - left], [0.0, fv, cv - top], [0.0, 0.0, 1.0]],
                dist=[k1, k2, p1, p2, k3],
                R=R,
                t=-R @ center,
            )
        )
    return source.rig(cams, {})


def to_xml(rig: CameraRig, path: str | Path = "calibration.qca.txt") -> str:
    """Rig -> ``.qca.txt`` XML text (pinhole cameras with at most 5 distortion coefficients)."""
    refuse_fisheye(rig, FMT, path)
    num = lambda x: repr(float(x))  # noqa: E731 - shortest text that reads back exactly
    root = ET.Element("calibration", {"source": "mocap", "type": "regular"})
    ET.SubElement(root, "results", {"min-max-diff": "0.", "std-dev": "0."})
    cameras = ET.SubElement(root, "cameras")
    for cam in rig:
        attrs = {"active": "1", "avg-residual": "0.0", "model": "none", "point-count": "0"}
        el = ET.SubElement(cameras, "camera", {**attrs, "serial": cam.name, "viewrotation": "0"})
        w, h = cam.size
        fov = {"bottom": str(h - 1), "left": "0", "right": str(w - 1), "top": "0"}
        for tag in ("fov_marker", "fov_marker_max", "fov_video", "fov_video_max"):
            ET.SubElement(el, tag, fov)
        M = FLIP @ cam.R
        attrs = {key: num(v) for key, v in zip(_ROT_KEYS, M.ravel())}
        attrs.update({axis: num(v * 1000.0) for axis, v in zip("xyz", cam.center)})
        ET.SubElement(el, "transform", attrs)
        k1, k2, p1, p2, k3 = dist_for(cam, 5, FMT, path)
        K = cam.K * SUBPIXEL
        ET.SubElement(
            el,
            "intrinsic",
            {
                "centerPointU": num(K[0, 2]),
                "centerPointV": num(K[1, 2]),
                "focalLengthU": num(K[0, 0]),
                "focalLengthV": num(K[1, 1]),
                "skew": num(K[0, 1]),
                "radialDistortion1": num(k1),
                "radialDistortion2": num(k2),
                "radialDistortion3": num(k3),
                "tangentalDistortion1": num(p1),
                "tangentalDistortion2": num(p2),
                "sensorMinU": "0",
                "sensorMaxU": num((w - 1) * SUBPIXEL),
                "sensorMinV": "0",
                "sensorMaxV": num((h - 1) * SUBPIXEL),
            },
        )
    ET.indent(root, space="  ")
    return "<?xml version='1.0' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode") + "\n"


def read(path: str | Path) -> CameraRig:
    """Read a Qualisys ``.qca.txt`` calibration."""
    path = Path(path)
    if not path.is_file():
        raise InputError("Qualisys calibration file not found", path=path, fix="check the path and spelling")
    source = Source(path, FMT)
    try:
        root = ET.fromstring(path.read_bytes())
    except (ET.ParseError, LookupError, ValueError) as exc:  # LookupError: an encoding Python does not know
        raise source.error(f"not valid XML ({exc})", fix="re-export the calibration from QTM") from None
    return from_xml(root, source)


def write(rig: CameraRig, path: str | Path) -> Path:
    """Write ``rig`` as a Qualisys ``.qca.txt`` calibration (atomically)."""
    return write_text(path, to_xml(rig, path))
