"""A take's key figures (one number per stage) and whether each passes its limit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.report.inputs import TakeInputs
from mocap.report.joints import bone_stats
from mocap.report.truth import TruthComparison
from mocap.session import Session
from mocap.smoothing.stage import skeleton_tree
from mocap.triangulation.points import Points3D


@dataclass(frozen=True)
class ReportThresholds:
    """Limits beyond which the report marks a figure "warn" (amber) instead of "pass" (green)."""

    max_calibration_px: float = 1.5
    """Mean calibration reprojection error of the worst camera, pixels (the calibration gate's default)."""
    max_reprojection_px: float = 5.0
    """Mean reprojection error of the triangulated points, pixels."""
    min_detection_rate: float = 0.9
    """Share of frames in which each camera found the person (mean over cameras)."""
    min_triangulated: float = 0.9
    """Share of joints x frames that were triangulated."""
    max_fit_error_mm: float = 30.0
    """Mean distance of the fitted body to the 3D keypoints, mm."""
    max_mpjpe_mm: float = 50.0
    """Mean per-joint position error against the ground truth, mm."""
    max_bone_cv: float = 0.10
    """A bone whose length varies over the take (standard deviation) by more than this share of its length is
    unstable: marked in the 3D section, and the take's verdict warns. Scales with the body, the distance and the
    resolution (a limit in mm would not)."""
    min_bone_length_mm: float = 100.0
    """Bones shorter than this are judged as if this long (a 1 cm face bone varies by 10 % with 1 mm of noise; hand,
    foot and face bones are a few cm)."""


@dataclass(frozen=True)
class KeyFigure:
    """One headline number of a take.

    Attributes:
        label: what it is, for people ("Detection rate").
        value: the number (a fraction for ``unit == "%"``); NaN when it cannot be computed.
        unit: ``"px"``, ``"mm"`` or ``"%"``.
        ok: within its limit.
        limit: the limit, for people ("≥ 90 %").
    """

    label: str
    value: float
    unit: str
    ok: bool
    limit: str

    @property
    def status(self) -> str:
        """``"pass"`` or ``"warn"``."""
        return "pass" if self.ok else "warn"

    @property
    def text(self) -> str:
        if not math.isfinite(self.value):
            return "n/a"
        if not self.unit:
            return f"{self.value:g}"
        if self.unit == "%":
            return f"{100 * self.value:.1f} %"
        return f"{self.value:.1f} {self.unit}" if self.unit == "mm" else f"{self.value:.2f} {self.unit}"

    def __str__(self) -> str:
        return f"{self.label}: {self.text} ({self.status}, limit {self.limit})"


def _at_most(label: str, value: float, limit: float, unit: str) -> KeyFigure:
    return KeyFigure(label, float(value), unit, bool(value <= limit), f"≤ {limit:g} {unit}")


def _at_least(label: str, value: float, limit: float) -> KeyFigure:
    return KeyFigure(label, float(value), "%", bool(value >= limit), f"≥ {100 * limit:g} %")


def _nanmean(x) -> float:
    x = np.asarray(x, float)
    return float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")


def key_figures(inputs: TakeInputs, truth: TruthComparison | None = None,
                thresholds: ReportThresholds = ReportThresholds()) -> dict[str, KeyFigure]:
    """The take's key figures, keyed ``calibration_px``, ``detection_rate``, ``triangulated``,
    ``reprojection_px``, ``bone_cv``, ``fit_error_mm``, ``mpjpe_mm`` (each only when its inputs exist)."""
    th = thresholds
    out: dict[str, KeyFigure] = {}
    if inputs.performers:
        return _people_figures(inputs, truth, thresholds)
    q = inputs.calibration_quality
    if q and q.get("cameras"):
        worst = max(float(c.get("reprojection_mean_px", float("nan"))) for c in q["cameras"])
        out["calibration_px"] = _at_most("Calibration error (worst camera)", worst, th.max_calibration_px, "px")
    if inputs.keypoints is not None:
        kp = inputs.keypoints
        first, last = inputs.span if inputs.span is not None else (0, kp.n_frames - 1)
        rate = np.isfinite(kp.xy[:, first:last + 1, :, 0]).any(axis=-1).mean()  # a performer: while tracked
        out["detection_rate"] = _at_least("Detection rate", float(rate), th.min_detection_rate)
    pts = inputs.points_raw if inputs.points_raw is not None else inputs.points
    if pts is not None:
        out["triangulated"] = _at_least("Joints triangulated", float(np.isfinite(pts.xyz[..., 0]).mean()),
                                        th.min_triangulated)
        out["reprojection_px"] = _at_most("Reprojection error (3D)", _nanmean(pts.reprojection_error),
                                          th.max_reprojection_px, "px")
    if inputs.points is not None:
        worst = worst_bone_variation(inputs.points, inputs.keypoint_set, th.min_bone_length_mm)
        if worst is not None:
            out["bone_cv"] = KeyFigure("Bone-length variation (worst bone)", worst, "%",
                                       bool(worst <= th.max_bone_cv), f"≤ {100 * th.max_bone_cv:g} %")
    if inputs.body_motion is not None:
        out["fit_error_mm"] = _at_most("Fit error", _nanmean(inputs.body_motion.fit_error_mm),
                                       th.max_fit_error_mm, "mm")
    if truth is not None:
        cmp = truth.points or truth.fit
        if cmp is not None:
            what = "3D points" if truth.points is not None else "fitted body"
            out["mpjpe_mm"] = _at_most(f"MPJPE vs truth ({what})", cmp.errors.mpjpe, th.max_mpjpe_mm, "mm")
    return out


def worst_bone_variation(points: Points3D, keypoint_set: str | None, min_length_mm: float) -> float | None:
    """The largest length variation (:func:`mocap.report.joints.bone_stats`) over the keypoint set's bones, NaN
    when no bone is seen twice; ``None`` when no skeleton is known for these keypoints."""
    edges = skeleton_tree(points.joint_names, keypoint_set)
    if not len(edges):
        return None
    variation = np.array([s[4] for s in bone_stats(points.xyz, points.joint_names, edges, min_length_mm)])
    return float(np.nanmax(variation)) if np.isfinite(variation).any() else float("nan")
def _people_figures(inputs: TakeInputs, truth: TruthComparison | None, th: ReportThresholds) -> dict[str, KeyFigure]:
    """A take with several performers: each key figure of its worst performer, the calibration's, and the
    identity switches against the truth."""
    from dataclasses import replace

    from mocap.report.truth import compare_with_truth

    out: dict[str, KeyFigure] = {}
    q = inputs.calibration_quality
    if q and q.get("cameras"):
        worst = max(float(c.get("reprojection_mean_px", float("nan"))) for c in q["cameras"])
        out["calibration_px"] = _at_most("Calibration error (worst camera)", worst, th.max_calibration_px, "px")
    out["performers"] = KeyFigure("Performers tracked", float(len(inputs.performers)), "", True, "-")
    for p in inputs.performers:
        mine = key_figures(replace(p, calibration_quality=None), compare_with_truth(p), th)
        for key, fig in mine.items():
            have = out.get(key)
            worse = have is not None and (fig.value < have.value if fig.unit == "%" else fig.value > have.value)
            if have is None or (have.ok and not fig.ok) or (have.ok == fig.ok and worse):
                out[key] = replace(fig, label=f"{fig.label} ({p.performer})")
    if truth is not None and truth.external and "identity_switches" in truth.external:
        n = truth.external["identity_switches"]
        out["identity_switches"] = KeyFigure("Identity switches vs truth", n, "", n == 0, "= 0")
    return out


def report_figures(session: Session | str | Path, take: str,
                   thresholds: ReportThresholds = ReportThresholds()) -> dict[str, KeyFigure]:
    """The key figures of one take (for ``mocap run``'s summary): see :func:`key_figures`.

    Raises ``InputError`` when the take has no outputs yet.
    """
    from mocap.report.inputs import load_take_inputs, sample_long_take
    from mocap.report.truth import compare_with_truth

    session = Session.of(session)
    inputs = sample_long_take(load_take_inputs(session, take))
    return key_figures(inputs, compare_with_truth(inputs), thresholds)
