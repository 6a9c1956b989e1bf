"""Triangulation of 2D observations from calibrated cameras into 3D points."""

from mocap.triangulation.dlt import triangulate_dlt, undistort_views

__all__ = ["triangulate_dlt", "undistort_views"]
