"""Several performers: cross-view association, 3D identity tracking, and the ``people`` stage.

* :mod:`mocap.people.association`: :func:`associate` groups one frame's candidates ``(C, P, J, 2)``
  across cameras into people (:class:`FrameGroups`), by ray distances in metres.
* :mod:`mocap.people.tracking`: :func:`track_people` / :class:`PeopleTracker` give the groups
  identities over a take (:class:`PeopleTracks`); :meth:`PeopleTracks.keypoints` extracts one
  person's ``(C, F, J, 2)`` keypoints for the single-person triangulation.
* :mod:`mocap.people.stage`: ``mocap people``: ``candidates2d.npz`` -> ``people.toml`` and one
  ``keypoints2d.npz`` per performer (``people/<name>/``).
* :mod:`mocap.people.roster`: ``people.toml`` (:class:`Roster`, :class:`Performer`).

The multi-person detector is a 2D stage backend (:mod:`mocap.keypoints2d.detectors.blazepose_multi`);
stick-figure walkers with known answers for tests and benchmarks are in :mod:`mocap.synth.walkers`.

Conventions: candidate pixels are video pixels (as in ``keypoints2d.npz``), NaN where missing;
distances are metres in the rig's world frame (Z up for ``up``-aware tracking).
"""
