"""The command line: thin wrappers that write files and exit 0, or explain and exit non-zero."""

from __future__ import annotations

import subprocess
import sys

from conftest import ring

from mocap.calibration.formats import read_calibration


def run(*args):
    return subprocess.run([sys.executable, "-m", "mocap.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_board_list_and_print(tmp_path):
    proc = run("board", "list")
    assert proc.returncode == 0 and "charuco_7x5_a3" in proc.stdout
    out = tmp_path / "board.pdf"
    proc = run("board", "print", "charuco_7x5_a3", "-o", out, "--dpi", "100")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(b"%PDF")
    proc = run("board", "print", "charuco_7x5_a1", "-o", tmp_path / "small.png", "--paper", "A4", "--dpi", "50")
    assert proc.returncode == 2 and "does not fit" in proc.stderr
    assert not (tmp_path / "small.png").exists()


def test_calib_convert_round_trip(tmp_path):
    rig = ring(3)
    src = rig.save(tmp_path / "rig.toml")
    proc = run("calib", "convert", src, tmp_path / "Calib.toml", "--to", "pose2sim")
    assert proc.returncode == 0, proc.stderr
    proc = run("calib", "convert", tmp_path / "Calib.toml", tmp_path / "anipose.toml", "--to", "anipose")
    assert proc.returncode == 0, proc.stderr
    back = read_calibration(tmp_path / "anipose.toml", "anipose", units="mm")
    assert back.names == rig.names
    for a, b in zip(rig, back):
        assert abs(a.center - b.center).max() < 1e-6


def test_import_openpose_into_take(tmp_path):
    from conftest import REPO

    from mocap.keypoints2d.keypoints import Keypoints2D

    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "session.toml").write_text('board = "charuco_7x5_a4"\n[[cameras]]\nname = "a"\n[[cameras]]\nname = "b"\n'
                                         '[[takes]]\nname = "walk"\n')
    fixtures = sorted(p for p in (REPO / "tests" / "data" / "importers" / "openpose_body25").iterdir() if p.is_dir())
    args = ("import", folder, *fixtures[:2], "--take", "walk", "--format", "openpose", "--keypoint-set", "body25")
    proc = run(*args)  # no videos to read the frame rate from, and no --fps: never a silent default
    assert proc.returncode == 2 and "--fps" in proc.stderr and "'walk'" in proc.stderr
    proc = run(*args, "--fps", "60")
    assert proc.returncode == 0, proc.stderr
    kp = Keypoints2D.load(folder / "output" / "takes" / "walk" / "keypoints2d.npz")
    assert kp.keypoint_set == "body25" and kp.camera_names == ("a", "b") and kp.fps == 60
    proc = run("import", folder, fixtures[0], "--take", "walk", "--format", "openpose")
    assert proc.returncode == 2 and "one file or folder per camera" in proc.stderr
