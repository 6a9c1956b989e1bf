"""The 2D stage: keypoints per camera and frame.

* :mod:`~mocap.keypoints2d.keypoints` -- the ``Keypoints2D`` type (the stage's output, saved as ``.npz``).
* :mod:`~mocap.keypoints2d.sets` -- keypoint sets: joint names, skeleton edges, the SMPL-X correspondence.
* :mod:`~mocap.keypoints2d.detectors` -- detector backends (BlazePose, Holistic) and their registry.
* :mod:`~mocap.keypoints2d.importers` -- other tools' 2D files (OpenPose/Pose2Sim, DeepLabCut, MMPose).
* :mod:`~mocap.keypoints2d.stage` -- ``mocap detect``: every camera of a take, in parallel processes.
* :mod:`~mocap.keypoints2d.overlay` -- keypoints drawn on the videos.
"""
