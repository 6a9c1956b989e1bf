"""Smoothing of 3D trajectories: the filters (:mod:`mocap.smoothing.filters`, pure functions of arrays)
and the stage that turns a take's raw ``Points3D`` into smoothed points and point files
(:mod:`mocap.smoothing.stage`)."""

from mocap.smoothing.filters import (
    DEFAULT_MAX_GAP_S,
    SmoothConfig,
    bone_lengths,
    butterworth,
    fill_gaps,
    gap_lengths,
    kalman_rts,
    max_gap_frames,
    one_euro,
    smooth,
    stabilize_bone_lengths,
    tree_edges,
)

__all__ = ["DEFAULT_MAX_GAP_S", "SmoothConfig", "bone_lengths", "butterworth", "fill_gaps", "gap_lengths",
           "kalman_rts", "max_gap_frames", "one_euro", "smooth", "stabilize_bone_lengths", "tree_edges"]
