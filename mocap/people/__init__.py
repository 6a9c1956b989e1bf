"""Several performers: multi-person 2D detection, cross-view association and 3D identity tracking.

The layer is arrays in, frozen dataclasses out; nothing here reads sessions or writes files.

* :mod:`mocap.people.bundle`: :func:`pose_landmarker_bundle`, the offline ``PoseLandmarker``
  ``.task`` bundle built from the mediapipe wheel's own models (cached, never downloaded).
* :mod:`mocap.people.detector`: :class:`MultiPoseDetector` (``detect(rgb) -> xy (P, 33, 2),
  conf (P, 33)``) and :func:`pad_candidates` (per-frame lists -> ``(F, P, J, 2)`` NaN-padded).
* :mod:`mocap.people.association`: :func:`associate` groups one frame's candidates
  ``(C, P, J, 2)`` across cameras into people (:class:`FrameGroups`).
* :mod:`mocap.people.tracking`: :func:`track_people` / :class:`PeopleTracker` give the groups
  identities over a take (:class:`PeopleTracks`); :meth:`PeopleTracks.keypoints` extracts one
  person's ``(C, F, J, 2)`` keypoints for the single-person triangulation.
* :mod:`mocap.people.synthetic`: stick-figure walkers seen by virtual cameras, with the truth, for
  tests and benchmarks.

Conventions: candidate pixels are video pixels (as in ``keypoints2d.npz``), NaN where missing;
distances are metres in the rig's world frame (Z up for ``up``-aware tracking).
"""
