"""Cameras and camera rigs: the calibrated geometry every stage shares.

Conventions (the same as OpenCV's):

* world-to-camera: ``x_cam = R @ x_world + t``; metres; camera looks along its +Z, image +x right,
  image +y down.
* ``K`` is the 3x3 intrinsic matrix in pixels; ``dist`` are OpenCV distortion coefficients:
  pinhole ``(k1, k2, p1, p2[, k3[, k4, k5, k6]])``, fisheye ``(k1, k2, k3, k4)``.
* ``mirrored``: the camera's video is horizontally flipped (a webcam "mirror" setting). ``K``,
  ``dist`` and the pose describe the *un-mirrored* image; pixel coordinates measured on the video
  map to model pixels with ``x -> width - 1 - x`` (see :meth:`Camera.from_video_pixels`).
* ``video_offset``: where the take videos' top-left pixel lies in the calibrated image, ``[x, y]`` pixels
  (``[0, 0]`` unless a video is cropped or padded a little against its calibration, e.g. 1080 vs 1088 wide);
  measured in the image as the camera records it, before un-mirroring: model ``x = width - 1 - (x_video +
  offset_x)`` for a mirrored camera, ``x_video + offset_x`` otherwise. One home for video-to-model pixels:
  :meth:`Camera.from_video_pixels` and :meth:`Camera.to_video_pixels`.

A rig is saved as TOML with ``schema_version`` and ``[[cameras]]`` as an ordered list, so the camera
order never depends on sorting names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mocap.errors import InputError
from mocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from mocap.named import NamedCameras

CameraModel = Literal["pinhole", "fisheye"]
CAMERA_MODELS = ("pinhole", "fisheye")
RIG_SCHEMA_VERSION = 1


# --------------------------------------------------------------------------------------------------
# Pure projection math (vectorized; shared by the Camera class and bundle adjustment)
# --------------------------------------------------------------------------------------------------


def distort_normalized(xn: np.ndarray, dist: np.ndarray, model: CameraModel) -> np.ndarray:
    """Apply lens distortion to normalized image coordinates.

    Args:
        xn: ``(..., 2)`` undistorted normalized coordinates ``(X/Z, Y/Z)``.
        dist: ``(k,)`` or ``(..., k)`` distortion coefficients, broadcast against ``xn[..., 0]``.
        model: ``"pinhole"`` (OpenCV radial-tangential, up to 8 coefficients) or ``"fisheye"``.

    Returns:
        ``(..., 2)`` distorted normalized coordinates.
    """
    x, y = xn[..., 0], xn[..., 1]
    dist = np.asarray(dist, dtype=float)
    r2 = x * x + y * y
    if model == "fisheye":
        d = _pad(dist, 4)
        k1, k2, k3, k4 = (d[..., i] for i in range(4))
        r = np.sqrt(r2)
        theta = np.arctan(r)
        t2 = theta * theta
        theta_d = theta * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
        scale = np.where(r > 1e-12, theta_d / np.where(r > 1e-12, r, 1.0), 1.0)
        return np.stack([x * scale, y * scale], axis=-1)
    d = _pad(dist, 8)
    k1, k2, p1, p2, k3, k4, k5, k6 = (d[..., i] for i in range(8))
    radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def _pad(dist: np.ndarray, n: int) -> np.ndarray:
    if dist.shape[-1] >= n:
        return dist[..., :n]
    pad = np.zeros(dist.shape[:-1] + (n - dist.shape[-1],))
    return np.concatenate([dist, pad], axis=-1)


def project_camera_points(
    x_cam: np.ndarray, K: np.ndarray, dist: np.ndarray, model: CameraModel
) -> np.ndarray:
    """Project points in camera coordinates ``(..., 3)`` to pixels ``(..., 2)``.

    Points at or behind the camera (``Z <= 0``) give NaN.
    """
    z = x_cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        xn = x_cam[..., :2] / np.where(z > 1e-9, z, np.nan)[..., None]
    xd = distort_normalized(xn, dist, model)
    u = K[0, 0] * xd[..., 0] + K[0, 1] * xd[..., 1] + K[0, 2]
    v = K[1, 1] * xd[..., 1] + K[1, 2]
    return np.stack([u, v], axis=-1)


# --------------------------------------------------------------------------------------------------
# Camera and rig
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera.

    Attributes:
        name: unique camera name (matches the session's camera list).
        size: image ``(width, height)`` in pixels.
        K: ``(3, 3)`` intrinsic matrix.
        dist: ``(k,)`` distortion coefficients (OpenCV order for the model).
        R: ``(3, 3)`` world-to-camera rotation.
        t: ``(3,)`` world-to-camera translation, metres.
        model: ``"pinhole"`` or ``"fisheye"``.
        mirrored: the video is horizontally flipped relative to this model.
        video_offset: ``(x, y)`` pixels, where the take videos' top-left pixel lies in the calibrated image.
    """

    name: str
    size: tuple[int, int]
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))
    model: CameraModel = "pinhole"
    mirrored: bool = False
    video_offset: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "K", np.asarray(self.K, dtype=float).reshape(3, 3))
        object.__setattr__(self, "dist", np.asarray(self.dist, dtype=float).reshape(-1))
        object.__setattr__(self, "R", np.asarray(self.R, dtype=float).reshape(3, 3))
        object.__setattr__(self, "t", np.asarray(self.t, dtype=float).reshape(3))
        size = tuple(self.size)
        if len(size) != 2 or not all(isinstance(v, (int, np.integer, float)) and float(v).is_integer() for v in size):
            raise ValueError(f"camera {self.name!r}: size must be [width, height] in whole pixels, got {list(size)}")
        object.__setattr__(self, "size", (int(size[0]), int(size[1])))
        offset = tuple(self.video_offset)
        if len(offset) != 2 or not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                                       and np.isfinite(v) for v in offset):
            raise ValueError(f"camera {self.name!r}: video_offset must be [x, y] in pixels, got {list(offset)}")
        object.__setattr__(self, "video_offset", (float(offset[0]), float(offset[1])))
        if self.model not in CAMERA_MODELS:
            raise ValueError(f"camera {self.name!r}: model must be one of {CAMERA_MODELS}, got {self.model!r}")
        check_camera(self)

    # -- derived geometry --------------------------------------------------------------------------
    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates ``(3,)``, metres."""
        return -self.R.T @ self.t

    @property
    def rvec(self) -> np.ndarray:
        """World-to-camera rotation as an axis-angle vector ``(3,)``."""
        return matrix_to_axis_angle(self.R)

    @property
    def P(self) -> np.ndarray:
        """``(3, 4)`` projection matrix ``K [R | t]`` (ignores distortion)."""
        return self.K @ np.hstack([self.R, self.t[:, None]])

    def replace(self, **changes: Any) -> Camera:
        return dataclasses.replace(self, **changes)

    # -- projection --------------------------------------------------------------------------------
    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world points -> ``(..., 3)`` camera-frame points."""
        return np.asarray(points, dtype=float) @ self.R.T + self.t

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project world points ``(..., 3)`` to model pixels ``(..., 2)``; NaN behind the camera."""
        return project_camera_points(self.world_to_camera(points), self.K, self.dist, self.model)

    def undistort_points(self, xy: np.ndarray) -> np.ndarray:
        """Model pixels ``(..., 2)`` -> undistorted normalized coordinates ``(..., 2)``; NaN kept."""
        import cv2

        xy = np.asarray(xy, dtype=float)
        flat = xy.reshape(-1, 2)
        out = np.full(flat.shape, np.nan)
        ok = np.isfinite(flat).all(axis=1)
        if ok.any():
            pts = np.ascontiguousarray(flat[ok]).reshape(-1, 1, 2)
            if self.model == "fisheye":
                und = cv2.fisheye.undistortPoints(pts, self.K, self.dist[:4].reshape(4, 1))
            else:
                crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-10)
                dist = _pad(self.dist, 4) if len(self.dist) < 4 else self.dist  # OpenCV needs 4+
                und = cv2.undistortPointsIter(pts, self.K, dist, None, None, crit)
            out[ok] = und.reshape(-1, 2)
        return out.reshape(xy.shape)

    def from_video_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Pixels measured on this camera's video ``(..., 2)`` -> model pixels (shifts by ``video_offset``,
        un-mirrors)."""
        xy = np.array(xy, dtype=float)
        xy += self.video_offset
        if self.mirrored:
            xy[..., 0] = self.size[0] - 1 - xy[..., 0]
        return xy

    def to_video_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Model pixels ``(..., 2)`` -> pixels on this camera's video (the inverse of :meth:`from_video_pixels`)."""
        xy = np.array(xy, dtype=float)
        if self.mirrored:
            xy[..., 0] = self.size[0] - 1 - xy[..., 0]
        xy -= self.video_offset
        return xy

    # -- (de)serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": list(self.size),
            "model": self.model,
            "mirrored": self.mirrored,
            **({"video_offset": list(self.video_offset)} if any(self.video_offset) else {}),
            "K": self.K.tolist(),
            "dist": self.dist.tolist(),
            "R": self.R.tolist(),
            "t": self.t.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str | Path | None = None) -> Camera:
        from mocap.config import check_keys

        check_keys(d, CAMERA_KEYS, f"cameras {d.get('name', '?') if isinstance(d, dict) else '?'}",
                   Path(source) if source is not None else Path("<rig>"))
        try:
            return cls(
                name=str(d["name"]),
                size=tuple(d["size"]),
                K=d["K"],
                dist=d.get("dist", []),
                R=d.get("R", np.eye(3)),
                t=d.get("t", np.zeros(3)),
                model=d.get("model", "pinhole"),
                mirrored=bool(d.get("mirrored", False)),
                video_offset=tuple(d.get("video_offset", (0.0, 0.0))),
            )
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            raise InputError(
                f"camera entry {d.get('name', '?') if isinstance(d, dict) else '?'!r} is malformed ({exc})",
                path=source,
                fix="each [[cameras]] needs name, size=[w,h], K (3x3), dist, R (3x3), t (3), model",
            ) from exc


_MATRIX = ((list,), "a list of 3 rows of 3 numbers")
#: What a [[cameras]] table of a camera rig TOML may hold.
CAMERA_KEYS = {"name": ((str,), "a string"), "size": ((list,), "[width, height]"), "K": _MATRIX,
               "dist": ((list,), "a list of numbers"), "R": _MATRIX, "t": ((list,), "[x, y, z] in metres"),
               "model": ((str,), '"pinhole" or "fisheye"'), "mirrored": ((bool,), "true or false"),
               "video_offset": ((list,), "[x, y] pixels")}
#: The top level of a camera rig TOML.
RIG_KEYS = {"schema_version": ((int,), "1"), "kind": ((str,), '"mocap.camera_rig"'), "units": ((str,), '"m"'),
            "cameras": ((list,), "[[cameras]] tables"),
            "metadata": ((dict,), "a [metadata] table")}

def _check_finite_metadata(value, where: str = "metadata") -> None:
    """Provenance may hold anything but non-finite numbers (inf/nan: nothing downstream should meet them)."""
    if isinstance(value, float) and not np.isfinite(value):
        raise ValueError(f"{where} is {value}, not a finite number")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for k, v in items:
        _check_finite_metadata(v, f"{where}.{k}")


#: Distortion coefficient counts OpenCV accepts, per model.
DIST_COUNTS = {"pinhole": (0, 1, 2, 3, 4, 5, 8, 12, 14), "fisheye": (0, 4)}


def check_camera(cam: Camera) -> None:
    """Physical sense of a camera, whatever file it came from: a ``ValueError`` saying what is wrong.

    Size 1..100000 px; ``K`` finite with positive focal lengths, last row ``[0, 0, 1]``; distortion finite with
    a count OpenCV accepts; ``R`` a proper rotation (orthonormal within 1e-4, determinant +1); ``t`` finite."""
    w, h = cam.size
    if not (0 < w <= 100_000 and 0 < h <= 100_000):
        raise ValueError(f"camera {cam.name!r}: size {w}x{h} is not a plausible image size")
    K = cam.K
    if not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0 or not np.allclose(K[2], [0, 0, 1], atol=1e-9):
        raise ValueError(f"camera {cam.name!r}: K must be finite with positive focal lengths and last row "
                         f"[0, 0, 1], got {K.tolist()}")
    if not np.isfinite(cam.dist).all():
        raise ValueError(f"camera {cam.name!r}: distortion coefficients must be finite, got {cam.dist.tolist()}")
    if cam.dist.size not in DIST_COUNTS[cam.model]:
        raise ValueError(f"camera {cam.name!r}: {cam.dist.size} distortion coefficients; the {cam.model} model "
                         f"takes {', '.join(map(str, DIST_COUNTS[cam.model]))}")
    R = cam.R
    if not (np.isfinite(R).all() and np.abs(R @ R.T - np.eye(3)).max() < 1e-4 and np.linalg.det(R) > 0):
        raise ValueError(f"camera {cam.name!r}: R is not a rotation matrix (orthonormal, determinant +1)")
    if not np.isfinite(cam.t).all():
        raise ValueError(f"camera {cam.name!r}: t must be finite, got {cam.t.tolist()}")


@dataclass(frozen=True, eq=False)
class CameraRig(NamedCameras[Camera]):
    """An ordered set of calibrated cameras sharing one world frame (metres).

    Attributes:
        cameras: cameras in session order.
        metadata: free-form provenance (tool, date, errors); saved as the ``[metadata]`` table.
    """

    cameras: tuple[Camera, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._freeze_cameras()
        _check_finite_metadata(self.metadata)

    def with_video_offsets(self, offsets: dict[str, tuple[float, float] | None]) -> CameraRig:
        """The rig with ``video_offset`` of the named cameras set (``None``: left as it is)."""
        return CameraRig(tuple(c.replace(video_offset=offsets[c.name]) if offsets.get(c.name) is not None else c
                               for c in self.cameras), dict(self.metadata))

    def subset(self, names: Sequence[str]) -> CameraRig:
        """The rig restricted to (and ordered as) ``names``."""
        return CameraRig(tuple(self[n] for n in names), dict(self.metadata))

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` -> pixels ``(C, ..., 2)`` in every camera."""
        return np.stack([cam.project(points) for cam in self.cameras])

    def transformed(self, R: np.ndarray, t: np.ndarray, scale: float = 1.0) -> CameraRig:
        """Re-express the rig in a new world frame where ``x_new = scale * (R x_old + t)``."""
        cams = []
        for cam in self.cameras:
            # x_cam = Rc x_old + tc and x_old = R^T (x_new / s - t)
            Rc = cam.R @ R.T
            tc = scale * (cam.t - Rc @ t)
            cams.append(cam.replace(R=Rc, t=tc))
        return CameraRig(tuple(cams), dict(self.metadata))

    # -- files -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": RIG_SCHEMA_VERSION,
            "kind": "mocap.camera_rig",
            "units": "m",
            "metadata": dict(self.metadata),
            "cameras": [c.to_dict() for c in self.cameras],
        }

    def save(self, path: str | Path) -> Path:
        """Write the rig as TOML (atomically)."""
        from mocap.io.tomlio import write_toml

        return write_toml(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> CameraRig:
        """Read a rig written by :meth:`save` (use ``mocap.calibration.formats`` for other tools)."""
        from mocap.io.tomlio import read_toml

        data = read_toml(path, what="camera rig", fix="run `mocap calibrate SESSION` to create it")
        return cls.from_dict(data, source=path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | Path | None = None) -> CameraRig:
        version = data.get("schema_version")
        if version is not None and "cameras" in data:
            from mocap.config import check_keys

            check_keys(data, RIG_KEYS, "", Path(source) if source is not None else Path("<rig>"))
            if data.get("units", "m") != "m":
                raise InputError(f"units = {data['units']!r}: camera rig files are in metres", path=source,
                                 fix='set units = "m" (and the translations in metres)')
        if version is None or "cameras" not in data:
            raise InputError(
                "not a mocap camera rig (no schema_version / [[cameras]])",
                path=source,
                fix="for anipose, Pose2Sim, caliscope or Qualisys files use "
                "`mocap calib convert FILE --from FORMAT`",
            )
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise InputError(f"camera rig schema_version must be a positive integer, not {version!r}", path=source,
                             fix="set schema_version = 1")
        if version > RIG_SCHEMA_VERSION:
            raise InputError(
                f"camera rig schema_version {version} is newer than this mocap supports ({RIG_SCHEMA_VERSION})",
                path=source,
                fix="upgrade mocap",
            )
        cameras, metadata = data["cameras"], data.get("metadata", {})
        if not isinstance(cameras, list) or not cameras or not all(isinstance(c, dict) for c in cameras):
            raise InputError("[[cameras]] must be a non-empty list of camera tables", path=source,
                             fix="each [[cameras]] needs name, size=[w,h], K (3x3), dist, R (3x3), t (3), model")
        if not isinstance(metadata, dict):
            raise InputError("[metadata] must be a table", path=source, fix="remove or fix the metadata entry")
        cams = tuple(Camera.from_dict(c, source=source) for c in cameras)
        try:
            return cls(cams, dict(metadata))
        except ValueError as exc:
            raise InputError(str(exc), path=source, fix="give every camera a unique name") from exc


def look_at(
    center: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])
) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera ``(R, t)`` for a camera at ``center`` looking at ``target`` (Z-up world)."""
    center = np.asarray(center, float)
    z = np.asarray(target, float) - center
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:
        x = np.cross(z, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return R, -R @ center


__all__ = [
    "Camera",
    "CameraRig",
    "CameraModel",
    "distort_normalized",
    "project_camera_points",
    "look_at",
    "axis_angle_to_matrix",
]
