"""Calibration on real footage from other projects (skipped when ../shared/data is absent).

* caliscope: 4 real 720p webcams, an inverted board, and (in 4_cam_recording) a mirrored camera.
  Our rig and caliscope's own camera_array.toml triangulate the same detections; both figures are
  printed side by side and ours must be at least as good.
* sleap-anipose: 4 cameras, 21 still photos each, a large 8x11 board.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_path

from mocap.calibration.board import load_board
from mocap.calibration.formats import read_calibration
from mocap.calibration.pipeline import calibrate_session
from mocap.calibration.quality import square_length_errors
from mocap.multiview import triangulate_dlt

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def make_session(folder, board, cameras, videos):
    cams = "".join(f'[[cameras]]\nname = "{c}"\n' for c in cameras)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "session.toml").write_text(f'board = "{board}"\n{cams}[calibration]\nvideos = "{videos}"\n')
    return folder


def triangulation_figures(rig, corners, board):
    pts = triangulate_dlt(rig, corners)
    err = np.linalg.norm(rig.project(pts) - corners, axis=-1)
    sq = square_length_errors(rig, corners, board) * 1000
    return {"reproj_mean_px": float(np.nanmean(err)), "reproj_p95_px": float(np.nanpercentile(err, 95)),
            "square_mean_mm": float(sq.mean()), "square_std_mm": float(sq.std())}


@pytest.mark.parametrize("recording,max_sq_mean,max_sq_std", [("charuco_calibration", 0.5, 1.5),
                                                              ("4_cam_recording", 1.0, 2.5)])
def test_caliscope_footage_vs_caliscope_result(tmp_path, recording, max_sq_mean, max_sq_std):
    root = shared_path(f"caliscope/{recording}")
    board = load_board("caliscope_4x5_inverted")
    folder = make_session(tmp_path / recording, board.name, [f"cam_{k}" for k in range(4)],
                          f"{root}/calibration/extrinsic/{{camera}}.mp4")
    # 4_cam_recording is 48 frames at 6 fps with the board in a small part of each image; its mirrored
    # camera stays above the default 1.5 px gate, so accept it and compare figures instead.
    result = calibrate_session(folder, accept=recording == "4_cam_recording")
    theirs = read_calibration(root / "camera_array.toml")
    corners = result.detections.corners.astype(float)
    ours_fig = triangulation_figures(result.rig, corners, board)
    theirs_fig = triangulation_figures(theirs, corners, board)
    print(f"\n{recording}: ours {ours_fig}\n{recording}: caliscope {theirs_fig}")
    assert result.quality.passed or recording == "4_cam_recording"
    assert ours_fig["reproj_mean_px"] <= 1.05 * theirs_fig["reproj_mean_px"]
    # (caliscope's own 4_cam_recording rig models its mirrored/rotated camera differently, so its
    # figures on these detections are poor; ours must still be metric.)
    assert abs(ours_fig["square_mean_mm"]) < max_sq_mean
    assert ours_fig["square_std_mm"] < max_sq_std
    if recording == "4_cam_recording":
        assert [c.mirrored for c in result.rig] == [False, True, False, False]


def test_sleap_anipose_still_images(tmp_path):
    root = shared_path("sleap_anipose/minimal_session")
    folder = make_session(tmp_path / "sleap", "sleap_anipose_8x11", ["back", "mid", "side", "top"],
                          f"{root}/{{camera}}/calibration_images/*.jpg")
    result = calibrate_session(folder)
    q = result.quality
    print(f"\nsleap: square {q.square_error_mean_mm:+.3f} ± {q.square_error_std_mm:.3f} mm, reprojection "
          f"{[round(c.reprojection_mean_px, 2) for c in q.cameras]} px")
    assert q.passed
    assert abs(q.square_error_mean_mm) < 0.2 and q.square_error_std_mm < 0.5
    assert all(c.views >= 15 for c in q.cameras)
