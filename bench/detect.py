"""2D detection benchmark: BlazePose (full, bundled) frames per second per core, and the speed-up
from running cameras in parallel worker processes.

Run from the repository root::

    .venv/bin/python bench/detect.py [--frames N]

Real footage (the Pose2Sim demo's 4 portrait cameras in ../shared/data) is cropped around the person
to landscape and scaled to 640x480 and 1280x720, written as MJPG clips, then:

* one camera in this process: frames/s including decoding (one core);
* 4 cameras with 1 worker, then with 2 workers (both cores): wall time and speed-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.keypoints2d.stage import DetectionConfig, detect_camera, detect_views  # noqa: E402

VIDEOS = [REPO.parent / "shared" / "data" / "pose2sim_multiperson" / "videos" / f"cam0{k}.mp4" for k in range(1, 5)]


def make_clips(folder: Path, size: tuple[int, int], n_frames: int) -> list[Path]:
    import cv2

    w, h = size
    clips = []
    for k, video in enumerate(VIDEOS):
        cap = cv2.VideoCapture(str(video))
        out = folder / f"cam{k}_{w}x{h}.avi"
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 60, (w, h))
        for _ in range(n_frames):
            ok, img = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, img = cap.read()
            H, W = img.shape[:2]
            ch = int(W * h / w)  # landscape crop of the portrait frame, centred on the middle
            y0 = (H - ch) // 2
            writer.write(cv2.resize(img[y0 : y0 + ch], (w, h), interpolation=cv2.INTER_AREA))
        writer.release()
        clips.append(out)
    return clips


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames per camera clip")
    args = parser.parse_args()
    if not all(v.exists() for v in VIDEOS):
        print(f"Skipped: the shared real data ({VIDEOS[0].parent}) is absent.")
        return 0
    print("## 2D detection: BlazePose full (bundled model), real footage\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in ((640, 480), (1280, 720)):
            clips = make_clips(Path(tmp), size, args.frames)
            cfg = DetectionConfig()
            detect_camera(clips[0], cfg)  # warm-up: model load
            t0 = time.perf_counter()
            xy = detect_camera(clips[0], cfg).xy
            one = args.frames / (time.perf_counter() - t0)
            rate = np.isfinite(xy[:, :, 0]).any(axis=1).mean()
            wall = {}
            for workers in (1, 2):
                t0 = time.perf_counter()
                detect_views(clips, [f"cam{k}" for k in range(4)], DetectionConfig(workers=workers))
                wall[workers] = time.perf_counter() - t0
            total = 4 * args.frames
            rows.append(f"| {size[0]}x{size[1]} | {one:.1f} | {rate:.0%} | {total / wall[1]:.1f} | "
                        f"{total / wall[2]:.1f} | {wall[1] / wall[2]:.2f}x |")
    print(f"{args.frames} frames per camera, 4 cameras, {os.cpu_count()} cores. Frame rates include decoding; "
          "the 4-camera figures include starting the worker processes and loading the model in each.\n")
    print("| size | frames/s, one core | person found | 4 cameras, 1 worker (frames/s) | "
          "4 cameras, 2 workers (frames/s) | speed-up |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
