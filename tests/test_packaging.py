"""mocap as users install it: a wheel (not the editable checkout) finds its boards, rigs and body model, and
the repository's user-facing copies of the package data are the same files."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("copy, source", [("calibration/boards", "mocap/data/boards"), ("rigs", "mocap/data/rigs")])
def test_user_facing_copies_match_the_package_data(copy, source):
    """``calibration/boards`` and ``rigs`` are for people to read and copy; the package ships ``mocap/data``.
    One source of truth: the files must be identical (``cp mocap/data/rigs/* rigs/`` after an edit)."""
    a = {p.name: p.read_bytes() for p in (REPO / source).iterdir() if p.is_file()}
    b = {p.name: p.read_bytes() for p in (REPO / copy).iterdir() if p.is_file()}
    assert a.keys() == b.keys(), f"{copy} and {source} list different files"
    different = [n for n in a if a[n] != b[n]]
    assert not different, f"{copy} differs from {source} in {different}: copy the package data over"


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    """A fresh venv with mocap installed from a wheel built from this checkout (not editable). Its
    dependencies come from the test environment's site-packages through a .pth file (installing 3 GB of
    dependencies again would prove nothing about our packaging)."""
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp / "dist"), str(REPO)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next((tmp / "dist").glob("mocap-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    site = Path(subprocess.run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # numpy, cv2, bpy...: not mocap
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install",
                              "--no-deps", "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    return bin_dir, site


def _run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MOCAP_RIGS_DIR", "MOCAP_BOARDS")}
    return subprocess.run([str(bin_dir / "mocap"), *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=env)


@pytest.mark.slow
def test_wheel_install_finds_its_data_from_any_folder(wheel_venv, tmp_path):
    bin_dir, site = wheel_venv
    where = subprocess.run([str(bin_dir / "python"), "-c", "import mocap; print(mocap.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(site), f"mocap was imported from {where}, not from the wheel"
    boards = _run(bin_dir, "board", "list", cwd=tmp_path)
    assert boards.returncode == 0 and "charuco_7x5_a1" in boards.stdout, boards.stderr

    from mocap.camera import Camera, CameraRig

    rig = CameraRig([Camera(name=f"cam{i}", size=(640, 480), K=np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]),
                            dist=np.zeros(5), R=np.eye(3), t=np.array([i * 0.5, 0, 3.0])) for i in range(2)])
    rig.save(tmp_path / "rig.toml")
    convert = _run(bin_dir, "calib", "convert", "rig.toml", "anipose.toml", "--to", "anipose", cwd=tmp_path)
    assert convert.returncode == 0 and (tmp_path / "anipose.toml").is_file(), convert.stderr

    from mocap.body import lbs
    from mocap.body.motion import BodyMotion

    model = lbs.load_model()
    pose = np.zeros((3, 55, 3))
    BodyMotion.from_full_pose(pose, np.zeros((3, 3)), np.zeros(10), lbs.rest_joints(model, np.zeros(10)), 30.0).save(
        tmp_path / "take" / "body_motion.npz")
    export = _run(bin_dir, "export", "take", "--format", "bvh", "--rig", "mixamo", cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    assert (tmp_path / "take" / "export" / "take_mixamo.bvh").is_file()
