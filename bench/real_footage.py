"""Real footage benchmark: the Pose2Sim multi-person take (4 cameras, 1088x1920, 60 fps, Qualisys calibration).

Run from the repository root::

    .venv/bin/python bench/real_footage.py [--fresh]

There is no ground truth: the figures show agreement between the views and smoothness, side by side with what
mocap did before (the fixed 12 px view rejection) and with what Pose2Sim and FreeMoCap do (a plain
confidence-weighted DLT over every view, gaps filled, 6 Hz Butterworth), all computed here on the same detections.

1. The videos against the calibration (sizes), and the frame numbering (OpenCV's frames against PyAV's
   presentation timestamps).
2. Detection. BlazePose (one person, tracking) follows the rendered second person in cameras 1, 2 and 4 and the
   real person in camera 3. To measure the real person, a second pass masks the second person out of every frame
   (her 3D from the first pass, projected, its outline widened) and detects again: the real person in all four
   cameras. Detections are cached in ``~/.cache/mocap/bench/real_footage`` (``--fresh`` recomputes them).
3. Triangulation of the real person: views kept per point, reprojection error, 3D difference to the plain DLT.
4. Smoothness: jitter (mean acceleration, m/s^2) and bone-length CV (std / mean of a bone's length over the take,
   averaged over bones) of the triangulated, smoothed and fitted points: of the body (the 12 shoulder, elbow, wrist,
   hip, knee and ankle points; the 11 trunk and limb bones), and of all 33 keypoints and the skeleton's 30 bones
   (face, hands and feet included); the fitted body's 22 skeleton joints; time per stage.
Both for the person ``mocap detect`` follows (A) and for the real person (B).
5. Timing: each camera's best frame lag against the other cameras' 3D (0 when in step), and the whole-frame
   shifts that best bring the cameras in step.
"""

from __future__ import annotations

import argparse
import os
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.calibration.formats import read_calibration  # noqa: E402
from mocap.evaluation.alignment import camera_lags  # noqa: E402
from mocap.evaluation.metrics import bone_length_cv, jitter  # noqa: E402
from mocap.keypoints2d.keypoints import Keypoints2D, left_right_pairs  # noqa: E402
from mocap.smoothing.filters import SmoothConfig, butterworth, fill_gaps, max_gap_frames, smooth  # noqa: E402
from mocap.smoothing.stage import skeleton_tree  # noqa: E402
from mocap.triangulation.robust import TriangulateConfig, triangulate_keypoints  # noqa: E402

DATA = Path(os.environ.get("MOCAP_SHARED_DATA", REPO.parent / "shared" / "data")) / "pose2sim_multiperson"
CACHE = Path.home() / ".cache" / "mocap" / "bench" / "real_footage"
MASK_GROWTH = 1.2
"""The second person's outline (convex hull of her projected landmarks) is widened by this factor about its centre."""


def videos() -> list[Path]:
    return sorted((DATA / "videos").glob("cam*.mp4"))


def cache_key() -> str:
    h = hashlib.sha256()
    for v in videos():
        h.update(f"{v.name}:{v.stat().st_size}:{v.stat().st_mtime_ns}".encode())
    return h.hexdigest()[:12]


def check_frames(rig) -> list[str]:
    """Sizes against the calibration, and OpenCV's frame k against PyAV's frame of the k-th presentation time."""
    import av

    from mocap.io.frames import open_frames
    from mocap.keypoints2d.video_size import check_video_size

    lines = []
    for video, cam in zip(videos(), rig.cameras):
        source = open_frames(video)
        note = check_video_size(cam, source.size, video) or "matches"
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            time_base = float(stream.time_base)
            decoded = [(f.pts, f.to_ndarray(format="bgr24")) for f in container.decode(stream)]
        decoded.sort(key=lambda p: p[0])
        same = sum(int(np.abs(img.astype(int) - decoded[k][1].astype(int)).mean() < 1.0)
                   for k, img in source.frames() if k < len(decoded))
        first = decoded[0][0] * time_base
        lines.append(f"| {cam.name} | {source.size[0]}x{source.size[1]} | {cam.size[0]}x{cam.size[1]} | {note} | "
                     f"{source.n_frames} | {same} / {len(decoded)} | {first:.3f} s |")
    return lines


def detect_first_pass(rig) -> Keypoints2D:
    from mocap.keypoints2d.stage import DetectionConfig, detect_views

    path = CACHE / f"pass1_{cache_key()}.npz"
    if path.is_file():
        return Keypoints2D.load(path)
    t0 = time.perf_counter()
    kp = detect_views(videos(), rig.names, DetectionConfig())
    print(f"first pass (mocap detect, 2 workers): {time.perf_counter() - t0:.1f} s")
    return Keypoints2D.load(kp.save(path))


def masks_of(rig, xyz: np.ndarray) -> list[list[np.ndarray | None]]:
    """Per camera and frame, the widened outline (polygon, pixels) of the person ``xyz (F, J, 3)``."""
    import cv2

    out = []
    for cam in rig.cameras:
        polys = []
        for frame in cam.to_video_pixels(cam.project(xyz)):
            pts = frame[np.isfinite(frame).all(-1)]
            if len(pts) < 3:
                polys.append(None)
                continue
            hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)
            centre = hull.mean(axis=0)
            polys.append(np.round(centre + MASK_GROWTH * (hull - centre)).astype(np.int32))
        out.append(polys)
    return out


def detect_masked(rig, masks) -> tuple[Keypoints2D, float]:
    """BlazePose (tracking) on every frame with the second person painted out; (keypoints, frames/s on one core)."""
    import cv2

    from mocap.io.frames import open_frames
    from mocap.keypoints2d.detectors import create_detector

    path = CACHE / f"pass2_{cache_key()}.npz"
    timing = CACHE / f"pass2_{cache_key()}.fps"
    if path.is_file() and timing.is_file():
        return Keypoints2D.load(path), float(timing.read_text())
    xys, confs, n, t0 = [], [], 0, time.perf_counter()
    for video, polys in zip(videos(), masks):
        detector = create_detector("blazepose")
        xy, conf = [], []
        try:
            for k, bgr in open_frames(video).frames():
                if k < len(polys) and polys[k] is not None:
                    cv2.fillPoly(bgr, [polys[k]], (127, 127, 127))
                a, b = detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                xy.append(a)
                conf.append(b)
                n += 1
        finally:
            detector.close()
        xys.append(np.stack(xy))
        confs.append(np.stack(conf))
    fps = n / (time.perf_counter() - t0)
    frames = min(len(x) for x in xys)
    kp = Keypoints2D(np.stack([x[:frames] for x in xys]), np.stack([c[:frames] for c in confs]), "blazepose33",
                     detector.joint_names, tuple(rig.names), np.arange(frames) / 60.0, 60.0)
    kp.save(path)
    timing.write_text(f"{fps}")
    return kp, fps


def pose2sim_like(xyz: np.ndarray, fps: float) -> np.ndarray:
    """Pose2Sim's and FreeMoCap's post-processing: gaps filled (cubic), zero-phase 6 Hz Butterworth."""
    return butterworth(fill_gaps(xyz, max_gap_frames(SmoothConfig().max_gap_s, fps), "cubic"), fps, 6.0)


def fit(xyz, names, fps):
    from mocap.fitting.stage import fit_points

    t0 = time.perf_counter()
    result = fit_points(xyz, names, fps)
    return result, time.perf_counter() - t0


SMALL_PARTS = ("eye", "ear", "mouth", "nose", "pinky", "index", "thumb", "heel", "foot")
"""Face, hand and foot points: left out of the body figures (their bones are a few cm long)."""


def body_bones(names, edges: np.ndarray) -> np.ndarray:
    """The trunk and limb bones of ``edges`` (shoulders, elbows, wrists, hips, knees, ankles): 11 for BlazePose."""
    return np.array([e for e in edges if not any(w in names[j] for j in e for w in SMALL_PARTS)])


def figures(xyz: np.ndarray, fps: float, names, edges: np.ndarray) -> str:
    """``"jitter / bone CV"`` of the body (12 joints, 11 bones), then of every keypoint and bone."""
    body = body_bones(names, edges)
    joints = sorted(set(body.ravel()))
    return (f"{jitter(xyz[:, joints], fps):.1f} / {100 * np.nanmean(bone_length_cv(xyz, body)):.1f} % "
            f"(all: {jitter(xyz, fps):.1f} / {100 * np.nanmean(bone_length_cv(xyz, edges)):.1f} %)")


def compare(rig, kp: Keypoints2D, title: str, reference: list[int] | None = None) -> None:
    """Triangulate, smooth and fit ``kp`` with each rule and print the two tables. ``reference``: cameras that
    follow the same person, whose plain DLT the 3D is compared with (default: every camera)."""
    print(f"\n#### {title}\n")
    pairs = left_right_pairs(kp.joint_names)
    edges = skeleton_tree(kp.joint_names, kp.keypoint_set)
    rules = {"mocap (adaptive rejection)": TriangulateConfig(),
             "mocap before (fixed 12 px)": TriangulateConfig(rejection="fixed"),
             "plain weighted DLT": TriangulateConfig(rejection="none")}
    raw, seconds = {}, {}
    for name, cfg in rules.items():
        t0 = time.perf_counter()
        raw[name] = triangulate_keypoints(rig, kp, cfg, swap_pairs=pairs)
        seconds[name] = time.perf_counter() - t0
    agree = kp if reference is None else Keypoints2D(
        kp.xy[reference], kp.conf[reference], kp.keypoint_set, kp.joint_names,
        tuple(kp.camera_names[i] for i in reference), kp.timestamps, kp.fps)
    plain = triangulate_keypoints(rig, agree, rules["plain weighted DLT"], swap_pairs=pairs).xyz
    against = "plain DLT of cameras " + ", ".join(agree.camera_names) if reference else "plain DLT"
    n = kp.n_cameras
    print(f"| triangulation | views per point: {' / '.join(str(v) for v in range(n, 1, -1))} / none | "
          f"reprojection px median / p95 | 3D vs {against}, median / p90 (mm) | time (s) |")
    print("|---|---|---|---|---|")
    for name, pts in raw.items():
        views = np.where(np.isfinite(pts.xyz[..., 0]), pts.n_views, 0)
        shares = " / ".join(f"{(views == v).mean():.0%}" for v in range(n, 1, -1)) + f" / {(views < 2).mean():.0%}"
        err = pts.reprojection_error
        diff = np.linalg.norm(pts.xyz - plain, axis=-1) * 1000
        print(f"| {name} | {shares} | {np.nanmedian(err):.1f} / {np.nanpercentile(err, 95):.1f} | "
              f"{np.nanmedian(diff):.1f} / {np.nanpercentile(diff, 90):.1f} | {seconds[name]:.2f} |")
    print("\n| method | triangulated: jitter (m/s^2) / bone CV | smoothed | fitted landmarks | "
          "fitted joints: jitter | smoothing + fit time (s) |")
    print("|---|---|---|---|---|---|")
    for name, pts in raw.items():
        t0 = time.perf_counter()
        smoothed = pose2sim_like(pts.xyz, kp.fps) if "plain" in name else smooth(pts.xyz, kp.fps)
        t_smooth = time.perf_counter() - t0
        result, t_fit = fit(smoothed, kp.joint_names, kp.fps)
        markers = np.full(smoothed.shape, np.nan)
        markers[:, [list(kp.joint_names).index(m) for m in result.marker_names]] = result.markers
        cols = [figures(x, kp.fps, kp.joint_names, edges) for x in (pts.xyz, smoothed, markers)]
        joints = jitter(result.motion.joint_positions()[:, :22], kp.fps)
        label = name + (" + 6 Hz Butterworth (Pose2Sim, FreeMoCap)" if "plain" in name else " + default smoothing")
        print(f"| {label} | " + " | ".join(cols) + f" | {joints:.1f} | {t_smooth:.2f} + {t_fit:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="detect again instead of using the cached detections")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"the real footage is not here: {DATA}")
        return 1
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        for old in CACHE.glob("pass*"):
            old.unlink()
    rig = read_calibration(DATA / "calibration" / "Calib.qca.txt")
    print("### Real footage: Pose2Sim's multi-person take (4 cameras, 1088x1920, 60 fps)\n")
    print("| camera | video | calibration | size check | frames | OpenCV frame k = PyAV's k-th | first pts |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(check_frames(rig)))

    first = detect_first_pass(rig)
    followed = triangulate_keypoints(rig, first, TriangulateConfig(), swap_pairs=left_right_pairs(first.joint_names))
    second_person = smooth(followed.xyz, first.fps)
    kp, det_fps = detect_masked(rig, masks_of(rig, second_person))
    found = np.isfinite(kp.xy[..., 0]).any(-1).mean(axis=1)
    print(f"\nDetection of the real person (second person masked out, BlazePose full, tracking): "
          f"{det_fps:.1f} frames/s on one core (decoding included); person found: "
          + ", ".join(f"{n} {f:.0%}" for n, f in zip(kp.camera_names, found)))

    compare(rig, first, "A. The person `mocap detect` follows: the rendered second person in cameras 1, 2 and 4; "
                        "camera 3 follows the real person until about frame 50 (a wrong view)",
            reference=[0, 1, 3])
    compare(rig, kp, "B. The real person (the second person masked out), in all four cameras")
    lags, stderr = camera_lags(rig, kp)
    print("\nTiming of the real person (B), each camera's 2D against the other cameras' 3D (frames): "
          + ", ".join(f"{n} {lag:+.2f} ± {se:.2f}" if np.isfinite(se) else f"{n} beyond {lag:+.0f}"
                      for n, lag, se in zip(kp.camera_names, lags, stderr)))
    offsets, before, after = frame_offsets(rig, kp)
    print(f"Whole-frame offsets that best bring the cameras in step (camera {kp.camera_names[1]} fixed): "
          + ", ".join(f"{n} {d:+d}" for n, d in zip(kp.camera_names, offsets))
          + f"; median reprojection error of the plain DLT {before:.1f} px as recorded, {after:.1f} px shifted")
    return 0


def frame_offsets(rig, kp: Keypoints2D, search: int = 8, fixed: int = 1) -> tuple[list[int], float, float]:
    """Whole-frame shifts per camera (camera ``fixed`` at 0) that minimise the median reprojection error of a
    plain DLT (coordinate descent), and that error before and after."""
    from mocap.triangulation.robust import triangulate_views

    px = np.stack([c.from_video_pixels(kp.xy[i]) for i, c in enumerate(rig.cameras)])
    frames = np.arange(search, kp.n_frames - search)

    def cost(shift):
        sel = np.stack([px[c][frames + d] for c, d in enumerate(shift)])
        conf = np.stack([kp.conf[c][frames + d] for c, d in enumerate(shift)])
        return float(np.nanmedian(triangulate_views(rig, sel, conf, TriangulateConfig(rejection="none"))[1]))

    shift = [0] * kp.n_cameras
    for _ in range(3):
        for c in range(kp.n_cameras):
            if c != fixed:
                shift[c] = min(range(-search, search + 1), key=lambda d: cost(shift[:c] + [d] + shift[c + 1:]))
    return shift, cost([0] * kp.n_cameras), cost(shift)


if __name__ == "__main__":
    raise SystemExit(main())
