"""What every section of a take's report is built from."""

from __future__ import annotations

from dataclasses import dataclass

from mocap.report.figures import KeyFigure, ReportThresholds
from mocap.report.inputs import TakeInputs
from mocap.report.truth import TruthComparison


@dataclass(frozen=True, eq=False)
class ReportContext:
    """A take's loaded outputs plus what is derived from them once.

    Attributes:
        inputs: the take's stage outputs.
        truth: comparisons with the ground truth (``None`` without ground truth).
        figures: the key figures.
        thresholds: the pass/warn limits.
    """

    inputs: TakeInputs
    truth: TruthComparison | None
    figures: dict[str, KeyFigure]
    thresholds: ReportThresholds
