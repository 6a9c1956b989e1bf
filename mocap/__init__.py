"""mocap: multi-camera markerless motion capture for animation.

Stages (each a module with pure functions and a frozen dataclass output):

* ``mocap.camera``       -- ``Camera`` / ``CameraRig``: the calibrated cameras (TOML on disk).
* ``mocap.session``      -- ``Session``: the ``session.toml`` folder convention.
* ``mocap.calibration``  -- ChArUco boards, detection, intrinsics, bundle adjustment, world frame,
  quality gate, and import/export of other tools' calibration files.
* ``mocap.triangulation`` -- batched DLT triangulation.

Heavy dependencies (torch, bpy, mediapipe) are imported only inside the stages that need them, so
``import mocap`` stays fast.
"""

from mocap.errors import MocapError

__version__ = "0.1.0"

__all__ = ["MocapError", "__version__"]
