"""Reports for people: a self-contained HTML page per take (``<take_dir>/report.html``) and a session
index (``<output>/index.html``) with a one-line verdict per take.

* :func:`build_take_report` -- one take; sections appear only when their stage outputs exist.
* :func:`build_session_report` -- every take's report plus the index.
* :func:`report_figures` -- a take's key figures with pass/warn status (for summaries).

Plots use matplotlib's Agg canvas directly (no pyplot, no global backend); matplotlib and OpenCV are
imported only when a report is built.
"""

from mocap.report.figures import KeyFigure, ReportThresholds, report_figures
from mocap.report.index import build_session_report
from mocap.report.take import build_take_report, write_take_report

__all__ = ["KeyFigure", "ReportThresholds", "build_session_report", "build_take_report", "report_figures",
           "write_take_report"]
