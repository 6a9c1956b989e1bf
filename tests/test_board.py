"""Board definitions and printable boards at true scale."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from mocap.calibration.board import (
    list_boards,
    load_board,
    printable_page,
    write_printable,
)
from mocap.errors import InputError


def test_builtin_boards_load_and_have_consistent_geometry():
    names = list_boards()
    for required in ("caliscope_4x5_inverted", "sleap_anipose_8x11", "freemocap_7x5", "charuco_7x5_a4",
                     "charuco_7x5_a3"):
        assert required in names
    for name in names:
        b = load_board(name)
        pts = b.corners_3d
        assert pts.shape == (b.n_corners, 3)
        d = np.linalg.norm(pts[b.adjacent_pairs()[:, 0]] - pts[b.adjacent_pairs()[:, 1]], axis=1)
        np.testing.assert_allclose(d, b.square_length, rtol=1e-6)


@pytest.mark.parametrize("name", ["charuco_7x5_a4", "caliscope_4x5_inverted"])
def test_printable_page_is_true_scale_and_detectable(tmp_path, name):
    board = load_board(name)
    dpi = 150
    out = write_printable(board, tmp_path / f"{name}.png", dpi=dpi)
    img = Image.open(out)
    assert abs(img.info["dpi"][0] - dpi) < 0.05  # PNG stores dots per metre, rounded
    page = np.array(img)
    gray = 255 - page if board.inverted else page
    det = cv2.aruco.CharucoDetector(board.cv_board())
    corners, ids, _, _ = det.detectBoard(gray)
    assert ids is not None and len(ids) == board.n_corners
    c = dict(zip(ids.ravel(), corners.reshape(-1, 2)))
    nx = board.squares_x - 1
    spacing = np.linalg.norm(c[1] - c[0]), np.linalg.norm(c[nx] - c[0])
    expected = board.square_length * 1000 / 25.4 * dpi  # pixels per square at this dpi
    np.testing.assert_allclose(spacing, expected, rtol=0.005)


def test_pdf_has_physical_page_size(tmp_path):
    board = load_board("charuco_7x5_a4")
    pdf = write_printable(board, tmp_path / "b.pdf", dpi=100)
    text = pdf.read_bytes()
    import re

    box = re.search(rb"MediaBox \[ ?0 0 ([\d.]+) ([\d.]+)", text)
    # A4 landscape is 297 x 210 mm = 841.9 x 595.3 PDF points (1/72 inch)
    np.testing.assert_allclose([float(box.group(1)), float(box.group(2))], [841.9, 595.3], atol=1.0)


def test_board_too_big_for_paper():
    with pytest.raises(ValueError, match="does not fit"):
        printable_page(load_board("freemocap_7x5"), paper="A4", dpi=50)


def test_bad_board_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_board("no_such_board")
    f = tmp_path / "b.toml"
    f.write_text('type = "charuco"\nsquares_x = 5\n')
    with pytest.raises(InputError, match="lacks 'squares_y'"):
        load_board(f)
    f.write_text('squares_x = 5\nsquares_y = 4\nsquare_length = 0.03\nmarker_length = 0.04\n')
    with pytest.raises(InputError, match="marker_length"):
        load_board(f)
