"""Calibration benchmark: detection speed, calibration time and accuracy, side by side.

Run from the repository root::

    .venv/bin/python bench/calibration.py [--quick]

It prints markdown tables (paste them into the README) for three measurements:

1. **ChArUco detection speed on real 720p footage** (caliscope's ``charuco_calibration`` take,
   4 cameras x 111 frames, inverted 4x5 board). All frames are decoded first (decoding is not
   timed), then each detector runs on one core (``cv2.setNumThreads(1)``): our ``BoardDetector``
   (default fast path), our detector with ``DetectConfig(fast=False)`` (OpenCV's full
   adaptive-threshold search + our corner refinement), and aniposelib 0.7.2's
   ``CharucoBoard.detect_image``. aniposelib is slow (about 0.3 s a frame), so it is timed on a
   fixed, evenly spaced subset of the frames; every detector's recall is also shown on that subset.
2. **Synthetic sample session** ``sample_sessions/ring4``: total ``calibrate_session`` time with
   the time of each step, and the result against the ground-truth rig (focal, camera centre and
   rotation errors, triangulated square length, reprojection error).
3. **Real footage** (caliscope ``charuco_calibration``): our calibration against caliscope's own
   ``camera_array.toml``. Both rigs triangulate the *same* detections (ours); the table gives the
   reprojection error of those triangulated corners and the triangulated square length (54 mm).

Sections 1 and 3 need the shared real data (``../shared/data`` beside the repository) and are
skipped with a note when it is absent.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.calibration.board import load_board  # noqa: E402
from mocap.calibration.compare import compare_rigs  # noqa: E402
from mocap.calibration.detect import CHARUCO_PIXEL_BIAS, BoardDetector, DetectConfig  # noqa: E402
from mocap.calibration.formats import read_calibration  # noqa: E402
from mocap.calibration.pipeline import calibrate_session  # noqa: E402
from mocap.calibration.quality import square_length_errors  # noqa: E402
from mocap.camera import CameraRig  # noqa: E402
from mocap.session import Session  # noqa: E402
from mocap.triangulation import triangulate_dlt  # noqa: E402

DATA = REPO.parent / "shared" / "data"
CALISCOPE = DATA / "caliscope" / "charuco_calibration"
CALISCOPE_VIDEOS = [CALISCOPE / "calibration" / "extrinsic" / f"cam_{i}.mp4" for i in range(4)]
CALISCOPE_BOARD = "caliscope_4x5_inverted"
RING4 = REPO / "sample_sessions" / "ring4"


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def seconds(t: float) -> str:
    return f"{t:.2f} s"


# -- 1. detection speed ----------------------------------------------------------------------------

def decode_gray(paths: list[Path]) -> list[np.ndarray]:
    import cv2

    frames = []
    for path in paths:
        cap = cv2.VideoCapture(str(path))
        while True:
            ok, img = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
        cap.release()
    return frames


def run_detector(detect, frames: list[np.ndarray]) -> tuple[float, np.ndarray]:
    """Time ``detect(gray) -> corner count`` over ``frames``; returns seconds and per-frame counts."""
    t0 = time.perf_counter()
    counts = np.array([detect(f) for f in frames])
    return time.perf_counter() - t0, counts


def bench_detection(quick: bool) -> None:
    import cv2

    print("## 1. ChArUco detection speed, real 720p footage (one core)\n")
    if not DATA.is_dir():
        print(f"Skipped: the shared real data ({DATA}) is absent.\n")
        return
    try:
        from aniposelib.boards import CharucoBoard as AniposeCharuco
    except ImportError:
        print("Skipped: aniposelib is not installed (pip install aniposelib==0.7.2).\n")
        return
    cv2.setNumThreads(1)
    frames = decode_gray(CALISCOPE_VIDEOS)
    n_sub = 12 if quick else 40
    subset = np.linspace(0, len(frames) - 1, n_sub).round().astype(int)
    board = load_board(CALISCOPE_BOARD)
    min_corners = DetectConfig().min_corners

    def ours(config: DetectConfig):
        det = BoardDetector(board, config)
        return lambda gray: int(np.isfinite(det.detect(gray)[:, 0]).sum())

    anipose = AniposeCharuco(squaresX=4, squaresY=5, square_length=54, marker_length=40.5, marker_bits=4,
                             dict_size=1000)

    def aniposelib(gray):
        corners, ids = anipose.detect_image(255 - gray)  # inverted board: invert as our detector does
        return len(ids)

    runs = {
        "mocap BoardDetector (fast, default)": (ours(DetectConfig()), frames, None),
        "mocap BoardDetector (fast=False)": (ours(DetectConfig(fast=False)), frames, None),
        "aniposelib 0.7.2 detect_image": (aniposelib, [frames[i] for i in subset], subset),
    }
    rows, fps = [], {}
    for name, (detect, imgs, idx) in runs.items():
        detect(imgs[0])  # warm-up (dictionary and buffer allocation)
        t, counts = run_detector(detect, imgs)
        sub = counts if idx is not None else counts[subset]
        fps[name] = len(imgs) / t
        rows.append([name, len(imgs), f"{1000 * t / len(imgs):.1f}", f"{fps[name]:.1f}",
                     f"{(counts >= min_corners).sum()} / {len(imgs)}", int(counts[counts >= min_corners].sum()),
                     f"{(sub >= min_corners).sum()} / {n_sub}", int(sub[sub >= min_corners].sum())])
    print(f"{len(frames)} frames (4 cameras x {len(frames) // 4}), decoded before timing; a board counts as "
          f"found with >= {min_corners} corners (of {board.n_corners}). aniposelib is timed on {n_sub} evenly "
          "spaced frames only; the last two columns compare every detector on those same frames.\n")
    print(table(["detector", "frames timed", "ms / frame", "frames/s per core", "boards found", "corners",
                 f"boards ({n_sub}-frame subset)", "corners (subset)"], rows))
    names = list(runs)
    print(f"\nSpeed ours / aniposelib: fast path {fps[names[0]] / fps[names[2]]:.0f}x, "
          f"fast=False {fps[names[1]] / fps[names[2]]:.0f}x.\n")


# -- 2. synthetic session --------------------------------------------------------------------------

def calibrate(session: Session) -> tuple[object, float]:
    t0 = time.perf_counter()
    result = calibrate_session(session, accept=True)
    return result, time.perf_counter() - t0


def timing_line(result, total: float) -> str:
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
    return (f"Total calibration time {seconds(total)} on {os.cpu_count()} cores ({steps}; detection includes the "
            "automatic mirroring check and runs one process per camera; the rest is writing the outputs).")


def bench_synthetic() -> None:
    print("## 2. Synthetic sample session `sample_sessions/ring4` vs ground truth\n")
    with tempfile.TemporaryDirectory() as tmp:
        session = dataclasses.replace(Session.load(RING4), output_dir=Path(tmp))
        result, total = calibrate(session)
    truth = CameraRig.load(RING4 / "ground_truth" / "camera_rig.toml")
    cmp = compare_rigs(result.rig, truth)
    q = result.quality
    reproj = np.mean([c.reprojection_mean_px for c in q.cameras])
    n_frames = result.detections.n_frames
    print(f"{len(result.rig)} cameras x {n_frames} frames, {result.detections.image_sizes[0][0]}x"
          f"{result.detections.image_sizes[0][1]}. {timing_line(result, total)}\n")
    print(table(["figure", "value"], [
        ["max focal length error", f"{cmp['focal_error_pct_max']:.3f} %"],
        ["max principal point error", f"{cmp['principal_point_error_px_max']:.2f} px"],
        ["max camera centre error", f"{cmp['center_error_mm_max']:.2f} mm"],
        ["max camera rotation error", f"{cmp['rotation_error_deg_max']:.3f} deg"],
        ["square length error (mean ± std)", f"{q.square_error_mean_mm:+.3f} ± {q.square_error_std_mm:.3f} mm"],
        ["mean reprojection error (BA)", f"{reproj:.3f} px"],
    ]))
    print()


# -- 3. real footage vs caliscope ------------------------------------------------------------------

SESSION_TOML = """schema_version = 1
name = "caliscope_charuco"
board = "{board}"
output_dir = "{out}"
cameras = [{cameras}]

[calibration]
videos = [{videos}]
"""


def rig_figures(rig: CameraRig, corners: np.ndarray, board) -> list[str]:
    pts = triangulate_dlt(rig, corners)  # (F, N, 3)
    err = np.linalg.norm(rig.project(pts) - corners, axis=-1)
    err = err[np.isfinite(err)]
    sq = square_length_errors(rig, corners, board) * 1000
    return [f"{err.mean():.3f}", f"{np.percentile(err, 95):.3f}", f"{sq.mean():+.3f} ± {sq.std():.3f}",
            str(len(sq))]


def bench_real() -> None:
    print("## 3. Real footage (caliscope `charuco_calibration`): our rig vs caliscope's\n")
    if not DATA.is_dir():
        print(f"Skipped: the shared real data ({DATA}) is absent.\n")
        return
    names = [p.stem for p in CALISCOPE_VIDEOS]
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "session.toml"
        file.write_text(SESSION_TOML.format(
            board=CALISCOPE_BOARD, out=Path(tmp, "output").as_posix(),
            cameras=", ".join(f'{{ name = "{n}" }}' for n in names),
            videos=", ".join(f'"{p.as_posix()}"' for p in CALISCOPE_VIDEOS)))
        result, total = calibrate(Session.load(file))
    board = load_board(CALISCOPE_BOARD)
    corners = result.detections.corners.astype(float)
    theirs = read_calibration(CALISCOPE / "camera_array.toml").subset(names)
    header = ["rig", "reprojection mean (px)", "reprojection p95 (px)", "square length error (mm)",
              "square pairs"]
    rows = [
        ["mocap (this run)", *rig_figures(result.rig, corners, board)],
        ["caliscope camera_array.toml", *rig_figures(theirs, corners, board)],
        # caliscope calibrated on OpenCV's raw ChArUco corners, which sit half a pixel down-right of ours.
        [f"caliscope, detections +{CHARUCO_PIXEL_BIAS} px (its corner convention)",
         *rig_figures(theirs, corners + CHARUCO_PIXEL_BIAS, board)],
    ]
    counts = result.detections.counts()
    print(f"{len(names)} cameras x {result.detections.n_frames} frames; board seen in "
          f"{(counts >= 4).sum()} camera-frames, corners seen by 2+ cameras triangulated with each rig "
          f"(DLT). {timing_line(result, total)}\n")
    print(table(header, rows))
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="time aniposelib on 12 frames instead of 40")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    bench_detection(args.quick)
    bench_synthetic()
    bench_real()
    print(f"Benchmark wall time: {seconds(time.perf_counter() - t0)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
