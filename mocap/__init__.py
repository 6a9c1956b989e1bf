"""mocap: multi-camera markerless motion capture for animation.

The packages follow the data, each stage one package (see the README's "Architecture"):

* ``mocap.session`` / ``mocap.layout`` -- the ``session.toml`` folder convention and the name of every
  output file of a session and of a take.
* ``mocap.calibration``  -- ChArUco boards, detection, intrinsics, bundle adjustment, world frame,
  quality gate, and other tools' calibration files (``mocap.camera``: ``Camera`` / ``CameraRig``).
* ``mocap.keypoints2d``  -- 2D keypoints per camera: detectors (BlazePose, Holistic), importers of other
  tools' files, the ``Keypoints2D`` type, keypoint sets, overlay videos.
* ``mocap.sync``         -- when each camera recorded each frame (sound, motion, hand-given values):
  ``sync.toml``, and every camera's 2D keypoints on one timeline.
* ``mocap.triangulation`` -- robust batched triangulation into ``Points3D``.
* ``mocap.smoothing``    -- gap filling and zero-lag filters for 3D trajectories.
* ``mocap.fitting``      -- SMPL-X (or the shipped open body model) fitted to a whole take, giving
  ``mocap.body.motion.BodyMotion``.
* ``mocap.export``       -- BVH / FBX / glTF / AMASS / TRC, rig presets and retargeting.
* ``mocap.report``       -- the per-take HTML report and the session index.
* ``mocap.pipeline``     -- ``mocap run``: every stage with caching and resume.
* ``mocap.batch``        -- ``mocap batch``: many sessions as a task graph, on local processes or Ray.
* ``mocap.evaluation``   -- errors against ground truth (MPJPE, PA-MPJPE, 2D px, angles).

The functions ``mocap.run``, ``run_batch``, ``calibrate``, ``detect``, ``synchronize``, ``triangulate``, ``fit``,
``export_motion`` and ``write_report`` mirror the CLI (see ``mocap.api``).

Heavy dependencies (torch, bpy, mediapipe) are imported only inside the stages that need them, so
``import mocap`` stays fast.
"""

from mocap._version import __version__
from mocap.api import (
    calibrate,
    detect,
    export_motion,
    fit,
    load_body_motion,
    run,
    run_batch,
    synchronize,
    triangulate,
    write_report,
)
from mocap.errors import MocapError

__all__ = ["MocapError", "__version__", "calibrate", "detect", "synchronize", "triangulate", "fit", "export_motion",
           "write_report", "run", "run_batch", "load_body_motion"]
