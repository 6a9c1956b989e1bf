"""Camera synchronization: when each camera recorded each frame.

* :mod:`mocap.sync.clock`: the time model (``CameraClock``, ``TakeSync``, ``sync.toml``).
* :mod:`mocap.sync.audio`: offsets and drift from the videos' sound (claps, footsteps).
* :mod:`mocap.sync.motion`: offsets and drift from 2D keypoints (speed correlation, then sub-frame
  refinement by reprojection error).
* :mod:`mocap.sync.resample`: every camera's 2D keypoints on one common timeline.
* :mod:`mocap.sync.stage`: one take's clocks from all of these (audio, motion for the rest,
  hand-set values from session.toml last).
* :mod:`mocap.synth.unsynced` (a later layer): unsynchronized synthetic takes with known clocks.

Only numpy is imported here; PyAV and scipy are imported by the functions that need them.
"""

from mocap.sync.clock import (
    CameraClock,
    TakeSync,
    apply_overrides,
    check_overlap,
    read_sync,
    unsynchronized,
    write_sync,
)
from mocap.sync.resample import SyncedKeypoints, Timeline, common_timeline, resample_camera, resample_take

__all__ = [
    "CameraClock",
    "TakeSync",
    "apply_overrides",
    "check_overlap",
    "read_sync",
    "unsynchronized",
    "write_sync",
    "SyncedKeypoints",
    "Timeline",
    "common_timeline",
    "resample_camera",
    "resample_take",
]
