"""Calibration settings: one typed config, defaults in one place, saved beside the outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mocap.calibration.detect import DetectConfig
from mocap.config import from_dict, to_dict


@dataclass(frozen=True)
class QualityThresholds:
    """The quality gate: calibration fails (non-zero exit) when any of these is exceeded."""

    max_reprojection_mean_px: float = 1.5
    """Mean reprojection error per camera, pixels."""
    max_reprojection_p95_px: float = 4.0
    """95th percentile of the reprojection error per camera, pixels."""
    max_square_error_mm: float = 1.0
    """|mean| error of the triangulated board square length against the true length, mm."""
    max_square_std_mm: float = 2.0
    """Standard deviation of the triangulated square length, mm."""
    min_coverage: float = 0.25
    """Fraction of each image (8x6 cells) the board's corners should have visited; below it the
    report warns (lens distortion near the edges is then extrapolated) but the gate still passes."""
    min_shared_frames: int = 10
    """Frames in which a camera and at least one other camera both see the board."""


@dataclass(frozen=True)
class CalibrationConfig:
    """Settings for ``mocap calibrate``. Every field can be set in session.toml's ``[calibration]``
    table or in a ``--config`` TOML file (``[calibration]`` table)."""

    detect: DetectConfig = field(default_factory=DetectConfig)
    """ChArUco detection settings."""
    min_corners: int = 6
    """A view needs this many corners (spread over 2+ rows and columns) to be used."""
    max_intrinsic_frames: int = 40
    """Views per camera used for intrinsics, chosen for coverage and tilt diversity."""
    max_bundle_frames: int = 200
    """Multi-camera frames used in bundle adjustment (evenly spread, weak camera pairs kept)."""
    distortion: Literal["auto", "k1", "k1k2", "k1k2k3", "k1k2p1p2", "full"] = "auto"
    """Pinhole distortion coefficients to fit: "k1", "k1k2", "k1k2k3" (radial only), "k1k2p1p2", "full"
    (k1 k2 p1 p2 k3), or "auto": radial only, k1k2 when the board covered under 70 % of the image and
    k1k2k3 above (tangential terms trade off against the principal point)."""
    refine_intrinsics: bool = True
    """Refine focal length, principal point and distortion in bundle adjustment."""
    outlier_px: float = 4.0
    """Observations off by more than this (and 5x the median) after the first BA round are dropped."""
    floor: Literal["auto", "board", "none"] = "auto"
    """World frame: "auto" (a still board lying flat defines the floor), "board" (use the still
    board / origin_frame even if tilted), or "none" (Z from the cameras' up direction)."""
    origin_frame: int | None = None
    """Frame index of the calibration take whose board pose defines origin and floor."""
    max_floor_tilt_deg: float = 30.0
    """A still board counts as lying on the floor if its normal is within this of the cameras' up."""
    thresholds: QualityThresholds = field(default_factory=QualityThresholds)
    """The quality gate."""

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str | Path | None = None) -> CalibrationConfig:
        return from_dict(cls, d, source=source, where="calibration")
