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
