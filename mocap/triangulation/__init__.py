"""The triangulation stage: a take's 2D keypoints -> robust 3D points.

* :mod:`~mocap.triangulation.robust` -- robust batched triangulation (view rejection, left/right swaps).
* :mod:`~mocap.triangulation.points` -- the ``Points3D`` type (the stage's output).
* :mod:`~mocap.triangulation.stage` -- ``mocap triangulate`` on a session's take.
* :mod:`~mocap.triangulation.bounds` -- what pixel noise alone implies for 3D accuracy.

The linear multi-view math (weighted DLT) lives in :mod:`mocap.multiview`, beside the camera model, because
calibration uses it too.
"""
