"""Settings of the report stage (``[report]`` in a run config)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportConfig:
    """The per-take HTML report and the session index."""

    enabled: bool = True
    """Write ``report.html`` per take and ``index.html`` for the session."""
