"""mocap: multi-camera markerless motion capture for animation.

Stages (each a module with pure functions and a frozen dataclass output):

* ``mocap.camera``       -- ``Camera`` / ``CameraRig``: the calibrated cameras (TOML on disk).
* ``mocap.session``      -- ``Session``: the ``session.toml`` folder convention.
* ``mocap.calibration``  -- ChArUco boards, detection, intrinsics, bundle adjustment, world frame,
  quality gate, and import/export of other tools' calibration files.
* ``mocap.detection``    -- ``mocap detect``: 2D keypoints per camera (``mocap.detectors``: BlazePose,
  Holistic), giving ``mocap.keypoints.Keypoints2D``; ``mocap.importers`` reads other detectors' files;
  ``mocap.keypoint_sets`` names every keypoint set and maps it to SMPL-X joints.
* ``mocap.triangulation`` -- robust batched triangulation (``Points3D``) and the ``mocap triangulate`` stage.
* ``mocap.smoothing``    -- gap filling and zero-lag filters for 3D trajectories.
* ``mocap.io``           -- atomic writes, frame sources, BVH, TRC / C3D / CSV point files.
* ``mocap.fitting``      -- ``mocap fit``: SMPL-X (or the shipped open body model, ``mocap.bodymodels``)
  fitted to a whole take, giving ``mocap.body.motion.BodyMotion``.
* ``mocap.export``       -- BVH / FBX / glTF / AMASS / TRC, rig presets (``rigs/``) and retargeting.
* ``mocap.report``       -- the per-take HTML report and the session index.
* ``mocap.run``          -- ``mocap run``: every stage with caching and resume.
* ``mocap.evaluation``   -- errors against ground truth (MPJPE, PA-MPJPE, 2D px, angles).

The functions ``mocap.run``, ``calibrate``, ``detect``, ``triangulate``, ``fit``, ``export`` and ``report``
mirror the CLI (see ``mocap.api``).

Heavy dependencies (torch, bpy, mediapipe) are imported only inside the stages that need them, so
``import mocap`` stays fast.
"""

from mocap import run  # the module is callable: ``mocap.run(session, config)`` (see mocap.api.run)
from mocap.api import calibrate, detect, export, fit, load_body_motion, report, triangulate
from mocap.errors import MocapError

__version__ = "0.1.0"

__all__ = ["MocapError", "__version__", "calibrate", "detect", "triangulate", "fit", "export", "report",
           "run", "load_body_motion"]
