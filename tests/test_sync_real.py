"""Motion sync on real footage: the 4 synchronized 60 fps cameras of the Pose2Sim multi-person
trial (../shared/data/pose2sim_multiperson), BlazePose keypoints (the pipeline's detection).

Known shifts are made from the real keypoints: whole frames cut from one camera, another camera's
tracks resampled at a fractional frame offset; the sync must find those shifts relative to what it
finds on the untouched tracks (the real cameras' own residual offset is not known to a fraction of
a frame).

cam03 is left out: the single-person legacy tracker follows the other (rendered) person there.
The performer barely moves in these 100 frames (30-60 px/s in the image against about 5 px of
detection noise), which limits the sub-frame precision this clip allows to about a tenth of a frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path

from mocap.sync.motion import MotionSyncConfig, motion_sync
from mocap.sync.signals import interpolate_cubic

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

CAMERAS = ("cam01", "cam02", "cam04")



def detect(video: Path) -> tuple[np.ndarray, np.ndarray]:
    """The pipeline's BlazePose detection on every frame: ``xy (F, 33, 2)``, ``conf (F, 33)``."""
    pytest.importorskip("mediapipe")
    from mocap.keypoints2d.stage import DetectionConfig, detect_camera

    xy, conf, *_ = detect_camera(video, DetectionConfig())
    return np.asarray(xy, float), np.asarray(conf, float)


@pytest.fixture(scope="module")
def real_take():
    folder = shared_path("pose2sim_multiperson")
    try:
        from mocap.calibration.formats import qualisys
    except ImportError as exc:  # the package layout is moving; the reader is what matters here
        pytest.skip(f"Qualisys calibration reader not importable: {exc}")
    rig = qualisys.read(folder / "calibration" / "Calib.qca.txt").subset(CAMERAS)
    tracks = [detect(folder / "videos" / f"{name}.mp4") for name in CAMERAS]
    return rig, [t[0] for t in tracks], [t[1] for t in tracks]


def sync_frames(rig, xy, conf, cut: int, frac: float) -> np.ndarray:
    """Offsets (frames) found after cutting ``cut`` frames from cam02 and reading cam04 ``frac``
    of a frame later."""
    n = len(xy[2]) - 1
    shifted = [xy[0], xy[1][cut:], interpolate_cubic(xy[2], np.arange(n) + frac)]
    confs = [conf[0], conf[1][cut:], conf[2][:n]]
    res = motion_sync(rig, shifted, confs, [60.0] * 3, config=MotionSyncConfig(max_lag=0.5))
    return np.array([c.time_offset * 60.0 for c in res.sync])


@pytest.mark.parametrize("cut, frac", [(7, 0.4), (3, 0.37), (12, 0.75), (5, 0.0)])
def test_known_shifts_on_real_keypoints(real_take, cut, frac):
    rig, xy, conf = real_take
    base = sync_frames(rig, xy, conf, 0, 0.0)
    found = sync_frames(rig, xy, conf, cut, frac) - base
    print(f"\nshift ({cut}, {frac}) frames: found ({found[1]:.3f}, {found[2]:.3f}); untouched tracks: {np.round(base, 3)}")
    # whole-frame cuts within 0.05 frame, fractions within 0.17 (measured); a margin for other machines
    assert abs(found[1] - cut) < 0.1 and abs(found[2] - frac) < 0.25
