"""The installed ``mocap`` command with bad arguments and bad files: one ``error:`` line naming the problem,
a non-zero exit, never a traceback, nothing written outside the session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MOCAP = Path(sys.executable).parent / "mocap"


def mocap(*args, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    exe = [str(MOCAP)] if MOCAP.is_file() else [sys.executable, "-m", "mocap.cli"]
    return subprocess.run([*exe, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str, code: int | None = 2) -> None:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode != 0 and (code is None or proc.returncode == code), (proc.returncode, out)
    assert any(line.startswith("error: ") for line in proc.stderr.splitlines()), proc.stderr  # after progress bars
    for n in needles:
        assert n in proc.stderr, (n, proc.stderr)


@pytest.mark.parametrize("args, needle", [
    (("calibrate",), "Missing argument 'SESSION'"),
    (("run", "--bogus", "x"), "No such option: --bogus"),
    (("no-such-command",), "No such command 'no-such-command'"),
    (("fit", "s", "--take", "t", "--iterations", "many"), "'many' is not a valid integer"),
    (("triangulate", "s", "-t", "t", "--smoothing-method", "wobbly"), "'wobbly' is not one of"),
    (("export", "x.npz", "--format", "abc"), "'abc' is not one of"),
    (("run", "s", "--set", "fit"), "is not TABLE.SETTING=VALUE"),
])
def test_usage_errors_are_one_line(args, needle):
    proc = mocap(*args)
    assert_clean_error(proc, needle)
    assert len(proc.stderr.strip().splitlines()) == 1


def test_no_arguments_and_help_are_not_errors():
    for args in ((), ("--help",), ("run", "--help"), ("board",)):
        proc = mocap(*args)
        assert proc.returncode == 0 and "Usage:" in proc.stdout and "Traceback" not in proc.stderr, args


def _session(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "session.toml").write_text(text)
    return folder


CAMS = '[[cameras]]\nname = "a"\n[[cameras]]\nname = "b"\n'


@pytest.mark.parametrize("text, needle", [
    ('schema_version = "one"\nboard = "charuco_7x5_a1"\n' + CAMS, "schema_version must be an integer"),
    ('board = "charuco_7x5_a1"\ntakes = 3\n' + CAMS, "setting takes must be a list"),
    ('board = "charuco_7x5_a1"\noutput_dir = 7\n' + CAMS, "setting output_dir must be a folder path"),
    ('board = "charuco_7x5_a1"\ncalibration = "str"\n' + CAMS, "setting calibration must be a [calibration] table"),
    ('board = "charuco_7x5_a1"\n' + CAMS + '[calibraton]\nvideos = "c/{camera}.mp4"\n',
     "unknown setting 'calibraton' (did you mean 'calibration'?)"),
    ('board = "charuco_7x5_a1"\n' + CAMS + '[[takes]]\nname = "../escape"\n', "not a plain name"),
    ('board = "charuco_7x5_a1"\n' + CAMS + '[[takes]]\nname = "/abs/x"\n', "not a plain name"),
    ('board = "charuco_7x5_a1"\n[[cameras]]\nname = "../c"\n', "camera name '../c' is not a plain name"),
    ('board = "charuco_7x5_a1"\n' + CAMS + '[[takes]]\nname = "w"\nvidoes = "x"\n',
     "unknown setting [takes #1] 'vidoes' (did you mean 'videos'?)"),
    ('board = "charuco_7x5_a1"\n' + CAMS + '[[takes]]\nname = "w"\n[[takes]]\nname = "w"\n', "not unique"),
    ('board = "charuco_7x5_a1"\n' + CAMS + '[[takes]]\nname = "w"\nvideos = "same.mp4"\n', "pattern with {camera}"),
])
def test_bad_session_toml_is_a_clear_error(tmp_path, text, needle):
    folder = _session(tmp_path / "s", text)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert_clean_error(mocap("run", folder), "session.toml", needle)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_take_names_cannot_reach_outside_the_output_folder(tmp_path):
    from mocap.errors import InputError
    from mocap.layout import OutputLayout

    layout = OutputLayout(tmp_path / "out")
    for name in ("../escape", "../../../x", "/etc/passwd", "a/b", "..", "", " x", "x\n"):
        with pytest.raises(InputError, match="name"):
            layout.take(name)
    assert layout.take("walk 01.v2").folder == tmp_path / "out" / "takes" / "walk 01.v2"


def test_run_config_errors_name_the_setting(tmp_path):
    folder = _session(tmp_path / "s", 'board = "charuco_7x5_a1"\n' + CAMS)
    (folder / "run.toml").write_text("[fit]\niteration = 3\n")
    assert_clean_error(mocap("run", folder, "--config", folder / "run.toml"), "run.toml",
                       "unknown setting [fit] 'iteration' (did you mean 'iterations'?)")
    assert_clean_error(mocap("run", folder, "--set", "export.formats=3"), "formats must be a list")


# --- bad files ---------------------------------------------------------------------------------------------

STUDIO4 = Path(__file__).resolve().parents[1] / "sample_sessions" / "studio4"


def _damaged_copy(src: Path, dst: Path) -> Path:
    data = bytearray(src.read_bytes())
    n = len(data)
    data[n // 3: n // 3 + 20000] = bytes((i * 7919) % 256 for i in range(20000))  # garbage in the middle
    dst.write_bytes(bytes(data))
    return dst


def test_take_video_damaged_in_the_middle_is_an_error_not_a_short_take(tmp_path):
    folder = tmp_path / "s"
    (folder / "takes" / "demo").mkdir(parents=True)
    import shutil

    shutil.copy(STUDIO4 / "takes" / "demo" / "cam0.mp4", folder / "takes" / "demo" / "cam0.mp4")
    _damaged_copy(STUDIO4 / "takes" / "demo" / "cam1.mp4", folder / "takes" / "demo" / "cam1.mp4")
    _session(folder, 'board = "charuco_7x5_a1"\n[[cameras]]\nname = "cam0"\n[[cameras]]\nname = "cam1"\n'
                     '[[takes]]\nname = "demo"\n')
    proc = mocap("detect", folder, timeout=300)
    assert_clean_error(proc, "cam1.mp4", "decoding stopped at frame")
    assert not (folder / "output" / "takes" / "demo" / "keypoints2d.npz").exists()


def test_calibration_videos_of_different_lengths_are_reported(tmp_path, caplog):
    import cv2

    from mocap.calibration.board import load_board
    from mocap.calibration.detect import DetectConfig, detect_cameras

    ring = Path(__file__).resolve().parents[1] / "sample_sessions" / "ring4"
    short = tmp_path / "short.mp4"
    cap = cv2.VideoCapture(str(ring / "calibration" / "cam1.mp4"))
    writer = None
    for _ in range(20):
        ok, img = cap.read()
        if writer is None:
            writer = cv2.VideoWriter(str(short), cv2.VideoWriter_fourcc(*"mp4v"), 30, img.shape[1::-1])
        writer.write(img)
    writer.release()
    cap.release()
    with caplog.at_level("WARNING"):
        det = detect_cameras([ring / "calibration" / "cam0.mp4", short], load_board("charuco_7x5_a1"),
                             camera_names=["cam0", "cam1"], config=DetectConfig(workers=1))
    assert det.corners.shape[1] > 20
    assert "different lengths" in caplog.text and "cam1 20" in caplog.text


def test_failed_synthetic_session_leaves_no_folder(tmp_path):
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n")
    out = tmp_path / "session"
    proc = mocap("synth", "session", out, "--motion", bad, "--seconds", "0.2", timeout=300)
    assert_clean_error(proc, "bad.bvh")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".session")]
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_clean_error(mocap("synth", "session", out, "--motion", "squat"), "already exists and is not empty")
    assert (out / "keep.txt").read_text() == "mine"
    assert_clean_error(mocap("synth", "session", tmp_path / "s2", "--cameras", "2", "--out-of-frame", "2"),
                       "--out-of-frame 2 is not a camera index")
    assert_clean_error(mocap("synth", "session", tmp_path / "s3", "--motion", "squat", "--start", "1"),
                       "--start applies to .bvh clips")
    assert not (tmp_path / "s2").exists() and not (tmp_path / "s3").exists()


# --- calibration files: mocap calib convert ---------------------------------------------------------------

RIG = """schema_version = 1
units = "m"

[[cameras]]
name = "a"
size = SIZE
model = "pinhole"
mirrored = false
K = KMAT
dist = DIST
R = RMAT
t = [0.0, 0.0, 3.0]
"""


def _rig(tmp_path: Path, **changes) -> Path:
    values = {"SIZE": "[640, 480]", "KMAT": "[[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]",
              "DIST": "[0.0, 0.0, 0.0, 0.0, 0.0]", "RMAT": "[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]"}
    values.update(changes)
    text = RIG
    for k, v in values.items():
        text = text.replace(k, v)
    path = tmp_path / "rig.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("changes, needle", [
    ({"SIZE": "[640]"}, "size must be [width, height]"),
    ({"SIZE": "[" + "9" * 400 + ", 480]"}, "too large"),
    ({"KMAT": "[[" + "9" * 400 + ", 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]"}, "too large"),
    ({"DIST": "[inf, 0.0, 0.0, 0.0, 0.0]"}, "distortion coefficients must be finite"),
    ({"RMAT": "[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]"}, "R is not a rotation"),
    ({"RMAT": "[[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]"}, "R is not a rotation"),
    ({"KMAT": "[[-500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]"}, "positive focal lengths"),
    ({"KMAT": "[[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [1.0, 0.0, 1.0]]"}, "last row"),
])
def test_physically_impossible_rigs_are_refused(tmp_path, changes, needle):
    proc = mocap("calib", "convert", _rig(tmp_path, **changes), tmp_path / "out.toml", "--to", "anipose")
    assert_clean_error(proc, "rig.toml", needle)
    assert not (tmp_path / "out.toml").exists()


def test_qualisys_file_with_an_unknown_encoding(tmp_path):
    path = tmp_path / "Calib.qca.txt"
    path.write_text('<?xml version="1.0" encoding="no-such-encoding"?>\n<calibration></calibration>\n')
    assert_clean_error(mocap("calib", "convert", path, tmp_path / "out.toml"), "Calib.qca.txt", "not valid XML")


# --- body motions: mocap export ------------------------------------------------------------------------------

def _motion_file(tmp_path: Path, **changes) -> Path:
    import numpy as np

    from mocap.body import lbs
    from mocap.body.motion import BodyMotion

    model = lbs.load_model()
    path = BodyMotion.from_full_pose(np.zeros((3, 55, 3)), np.zeros((3, 3)), np.zeros(10),
                                     lbs.rest_joints(model, np.zeros(10)), 30.0).save(tmp_path / "take" / "m.npz")
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    data.update(changes)
    np.savez(path, **data)
    return path


@pytest.mark.parametrize("changes, needle", [
    ({"mocap_framerate": 0.0, "mocap_frame_rate": 0.0}, "fps must be a positive frame rate"),
    ({"trans": __import__("numpy").zeros((2, 3))}, "transl: expected shape"),
    ({"poses": __import__("numpy").zeros((0, 165)), "trans": __import__("numpy").zeros((0, 3)),
      "fit_error_mm": __import__("numpy").zeros(0), "timestamps": __import__("numpy").zeros(0)}, "no frames"),
])
def test_broken_body_motion_is_refused_and_writes_nothing(tmp_path, changes, needle):
    path = _motion_file(tmp_path, **changes)
    for fmt in ("bvh", "fbx"):
        assert_clean_error(mocap("export", path, "--format", fmt), "m.npz", needle)
    assert not (path.parent / "export").exists()
