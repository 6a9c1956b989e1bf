"""Calibration benchmark: detection speed, calibration time and accuracy, side by side.

Run from the repository root::

    .venv/bin/python bench/calibration.py [--quick]

It prints markdown tables (paste them into the README) for three measurements:

1. **ChArUco detection speed on real 720p footage** (caliscope's ``charuco_calibration`` take,
   4 cameras x 111 frames, inverted 4x5 board). All frames are decoded first (decoding is not
   timed), then each detector runs on one core (``cv2.setNumThreads(1)``): our ``BoardDetector``
   (default fast path), our detector with ``DetectConfig(fast=False)`` (OpenCV's full
   adaptive-threshold search + our corner refinement), and aniposelib 0.7.2's
   ``CharucoBoard.detect_image``, on the same evenly spaced frames with and without the board
   (timed separately: the costs differ), plus our detector over all frames in video order.
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

from mocap.geometry import axis_angle_to_matrix

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.calibration.board import load_board  # noqa: E402
from mocap.calibration.compare import compare_rigs  # noqa: E402
from mocap.calibration.detect import CHARUCO_PIXEL_BIAS, BoardDetector, DetectConfig  # noqa: E402
from mocap.calibration.formats import read_calibration  # noqa: E402
from mocap.calibration.pipeline import calibrate_session  # noqa: E402
from mocap.calibration.quality import square_length_errors  # noqa: E402
from mocap.camera import CameraRig  # noqa: E402
from mocap.multiview import triangulate_dlt  # noqa: E402
from mocap.session import Session  # noqa: E402

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

    # Split the frames by whether OpenCV's full search finds the board; time each kind separately
    # (a detector's cost differs a lot between the two), on the same evenly spaced frames for all.
    _, reference = run_detector(ours(DetectConfig(fast=False, track=False)), frames)
    n_sub = 12 if quick else 30
    kinds = {}
    for kind, idx in (("with board", np.flatnonzero(reference >= min_corners)),
                      ("without board", np.flatnonzero(reference < min_corners))):
        kinds[kind] = idx[np.linspace(0, len(idx) - 1, min(n_sub, len(idx))).round().astype(int)]
    share = (reference >= min_corners).mean()
    detectors = {
        "mocap BoardDetector (default)": ours,
        "mocap BoardDetector (fast=False: OpenCV's full search)": lambda: ours(DetectConfig(fast=False)),
        "aniposelib 0.7.2 detect_image": lambda: aniposelib,
    }
    rows, per_frame = [], {}
    for name, make in detectors.items():
        make = make if name != "mocap BoardDetector (default)" else (lambda: ours(DetectConfig()))
        cells, total = [], 0.0
        for kind, idx in kinds.items():
            detect = make()
            detect(frames[idx[0]])  # warm-up
            t, counts = run_detector(detect, [frames[i] for i in idx])
            ms = 1000 * t / len(idx)
            total += ms * (share if kind == "with board" else 1 - share)
            cells.append(f"{ms:.1f}")
            if kind == "with board":
                found = f"{(counts >= min_corners).sum()} / {len(idx)}, {int(counts.sum())} corners"
        per_frame[name] = total
        rows.append([name, *cells, found, f"{1000 / total:.0f}"])
    # Our detector on the whole videos in order (as in a real run, where tracking helps).
    t, counts = run_detector(ours(DetectConfig()), frames)
    print(f"{len(frames)} frames (4 cameras x {len(frames) // 4}, 1280x720), decoded before timing; "
          f"{share:.0%} show the board (>= {min_corners} of its {board.n_corners} corners). Each detector is "
          f"timed on the same {len(kinds['with board'])} frames with and {len(kinds['without board'])} without "
          "the board; frames/s is for this footage's mix of the two.\n")
    print(table(["detector", "ms / frame with board", "ms / frame without", "boards found (with)",
                 "frames/s per core"], rows))
    names = list(detectors)
    print(f"\nOur default detector over all {len(frames)} frames in video order: {1000 * t / len(frames):.1f} ms "
          f"a frame = {len(frames) / t:.0f} frames/s per core; boards found in {(counts >= min_corners).sum()} "
          f"frames (full search: {(reference >= min_corners).sum()}), {int(counts.sum())} corners "
          f"(full search: {int(reference.sum())}).")
    print(f"Speed ours / aniposelib: {per_frame[names[2]] / per_frame[names[0]]:.0f}x on this footage "
          f"({float(rows[2][1]) / float(rows[0][1]):.0f}x on frames with the board).\n")


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


# -- 4. bundle adjustment: ours vs scipy's sparse least squares -------------------------------------

def bundle_problem(n_boards: int, seed: int = 0):
    """4 cameras, ``n_boards`` board poses, 0.3 px noise, 1 % outliers, perturbed starting values."""
    from mocap.calibration.bundle import BundleState, Observations
    from mocap.camera import Camera, look_at

    rng = np.random.default_rng(seed)
    board = load_board("charuco_7x5_a1")
    cams = []
    for k in range(4):
        a = np.pi / 2 * k + 0.4
        R, t = look_at(np.array([3 * np.cos(a), 3 * np.sin(a), 1.8]), np.array([0, 0, 1.0]))
        cams.append(Camera(f"c{k}", (1280, 720), [[1000, 0, 640], [0, 1000, 360], [0, 0, 1]],
                           [-0.2, 0.05, 0.001, -0.001, 0.0], R, t))
    yaw = rng.uniform(0, 2 * np.pi, n_boards)
    upright = axis_angle_to_matrix(np.array([-np.pi / 2, 0.0, 0.0]))  # face towards -y, standing up
    bR = (axis_angle_to_matrix(np.stack([np.zeros(n_boards), np.zeros(n_boards), yaw], 1)) @ upright
          @ axis_angle_to_matrix(rng.normal(0, 0.3, (n_boards, 3))))
    bt = rng.normal([0, 0, 1], 0.4, (n_boards, 3))
    X = np.einsum("bij,nj->bni", bR, board.corners_3d) + bt[:, None]
    rows = []
    for c, cam in enumerate(cams):
        px = cam.project(X)
        facing = np.einsum("bi,bi->b", -bR[:, :, 2], cam.center - bt) > 0.3
        ok = np.isfinite(px).all(-1) & (px[..., 0] > 0) & (px[..., 0] < 1280) & (px[..., 1] > 0) & (px[..., 1] < 720)
        b_idx, n_idx = np.nonzero(ok & facing[:, None])
        rows.append((np.full(len(b_idx), c), b_idx, n_idx, px[b_idx, n_idx]))
    cam_i, frame_i, corner_i, xy = (np.concatenate(v) for v in zip(*rows))
    xy = xy + rng.normal(0, 0.3, xy.shape)
    bad = rng.random(len(xy)) < 0.01
    xy[bad] += rng.normal(0, 20, (bad.sum(), 2))
    obs = Observations(cam_i, frame_i, corner_i, xy)
    init = BundleState(
        K=np.stack([c.K * [[1.02, 1, 1.003], [1, 1.02, 1.003], [1, 1, 1]] for c in cams]),
        dist=[c.dist * 0.5 for c in cams],
        R=np.stack([c.R @ axis_angle_to_matrix(rng.normal(0, 0.01 * (k > 0), 3)) for k, c in enumerate(cams)]),
        t=np.stack([c.t + rng.normal(0, 0.02 * (k > 0), 3) for k, c in enumerate(cams)]),
        board_R=bR @ axis_angle_to_matrix(rng.normal(0, 0.02, (n_boards, 3))), board_t=bt + rng.normal(0, 0.02, bt.shape),
        models=("pinhole",) * 4)
    return init, obs, board.corners_3d, cams, ~bad


def scipy_bundle(init, obs, obj):
    """Reference: the same problem with scipy.optimize.least_squares (trf, Huber, sparse Jacobian)."""
    from scipy.optimize import least_squares
    from scipy.sparse import lil_matrix

    from mocap.calibration.bundle import _pack, _residuals

    cams, boards = _pack(init)
    n_c, n_p = cams.shape
    free = np.ones((n_c, n_p), bool)
    free[0, :6] = False
    skew = init.K[:, 0, 1]

    def unpack(x):
        c = cams.copy()
        c[free] = x[: free.sum()]
        return c, x[free.sum():].reshape(-1, 6)

    def fun(x):
        c, b = unpack(x)
        return _residuals(c, b, init.models, skew, obs, obj).ravel()

    m = len(obs.cam)
    sp = lil_matrix((2 * m, free.sum() + boards.size), dtype=np.int8)
    col = np.cumsum(free.ravel()) - 1
    for k in range(2 * m):
        o = k // 2
        for p in range(n_p):
            if free[obs.cam[o], p]:
                sp[k, col[obs.cam[o] * n_p + p]] = 1
        sp[k, free.sum() + 6 * obs.frame[o]: free.sum() + 6 * obs.frame[o] + 6] = 1
    x0 = np.concatenate([cams[free], boards.ravel()])
    res = least_squares(fun, x0, jac_sparsity=sp.tocsr(), method="trf", loss="huber", f_scale=1.0, x_scale="jac",
                        xtol=1e-10, ftol=1e-10, max_nfev=500)
    c, b = unpack(res.x)
    return c, b, res.nfev


def bench_bundle() -> None:
    from mocap.calibration.bundle import bundle_adjust
    from mocap.geometry import rotation_angle_deg

    print("## 4. Bundle adjustment: ours (Levenberg-Marquardt + Schur complement) vs scipy least_squares\n")
    rows = []
    for n_boards in (60, 200):
        init, obs, obj, truth, good = bundle_problem(n_boards)
        t0 = time.perf_counter()
        ours = bundle_adjust(init, obs, obj)
        t_ours = time.perf_counter() - t0
        err = np.linalg.norm(ours.residuals[good], axis=1)
        rot = max(rotation_angle_deg(ours.state.R[k], c.R) for k, c in enumerate(truth))
        rows.append([f"ours, {n_boards} board poses, {len(obs.cam)} corners", f"{t_ours:.2f}",
                     f"{np.sqrt(np.mean(err ** 2)):.3f}", f"{rot:.3f}"])
        t0 = time.perf_counter()
        c, b, nfev = scipy_bundle(init, obs, obj)
        t_ref = time.perf_counter() - t0
        from mocap.calibration.bundle import _residuals

        r = _residuals(c, b, init.models, init.K[:, 0, 1], obs, obj)
        err = np.linalg.norm(r[good], axis=1)

        Rs = axis_angle_to_matrix(c[:, :3])
        rot = max(rotation_angle_deg(Rs[k], cam.R) for k, cam in enumerate(truth))
        rows.append([f"scipy trf (sparse), {n_boards} board poses", f"{t_ref:.2f}", f"{np.sqrt(np.mean(err ** 2)):.3f}",
                     f"{rot:.3f}"])
    print("4 cameras at 1280x720, 0.3 px corner noise plus 1 % gross outliers, both with a Huber loss from "
          "the same perturbed start; RMS over the non-outlier corners.\n")
    print(table(["solver", "time (s)", "RMS reprojection (px)", "max camera rotation error (deg)"], rows))
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
    bench_bundle()
    print(f"Benchmark wall time: {seconds(time.perf_counter() - t0)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
