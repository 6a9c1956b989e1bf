"""Can BlazePose see the rendered person? Detection rate and per-joint 2D error on the sample session.

Run from the repository root::

    .venv/bin/python bench/detectability.py [--session sample_sessions/studio4] [--take demo]

Detects BlazePose (full, bundled, video mode, via ``mocap.keypoints2d.stage``) in every camera of the take and
compares each landmark with the true BlazePose-comparable surface landmark of the body model projected
through the true cameras (``ground_truth/``). Goal: person found in >= 95 % of frames, median error of
the body joints <= 5 px at 640x480. Landmarks BlazePose itself marks as unsure (visibility < 0.5,
mostly self-occluded) are reported separately.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.evaluation.ground_truth import load_ground_truth  # noqa: E402
from mocap.keypoints2d.stage import DetectionConfig, detect_views  # noqa: E402
from mocap.session import Session  # noqa: E402

BODY = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
        "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
"""The joints the goal is about (face and hand/foot tips are listed but not in the headline)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--session", type=Path, default=REPO / "sample_sessions" / "studio4")
    parser.add_argument("--take", default=None, help="take name (default: the first)")
    args = parser.parse_args()
    session = Session.load(args.session)
    take = args.take or session.takes[0].name
    truth = load_ground_truth(args.session, take)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory():
        kp = detect_views(session.take(take).videos, session.camera_names, DetectionConfig())
    seconds = time.perf_counter() - t0
    index = {n: i for i, n in enumerate(truth.blazepose_names)}
    order = [index[n] for n in kp.joint_names]
    true_xy = truth.blazepose_2d()[:, : kp.n_frames][:, :, order]  # (C, F, J, 2)
    err = np.linalg.norm(kp.xy - true_xy, axis=-1)  # NaN where not detected
    sure = kp.conf >= 0.5
    found = np.isfinite(kp.xy[..., 0]).any(axis=-1)  # (C, F)
    print(f"## BlazePose on {args.session.name}/{take}: {kp.n_cameras} cameras x {kp.n_frames} frames, "
          f"{kp.xy.shape[2]} landmarks ({seconds:.0f} s detection)\n")
    print("person found per camera: " + ", ".join(f"{n} {r:.0%}" for n, r in zip(kp.camera_names, found.mean(axis=1))))
    print(f"person found overall: {found.mean():.1%} (goal >= 95 %)\n")
    print("| landmark | median px | p90 px | median px, visibility >= 0.5 | share visible |")
    print("|---|---|---|---|---|")
    for j, name in enumerate(kp.joint_names):
        e = err[..., j]
        es = np.where(sure[..., j], e, np.nan)
        print(f"| {name} | {np.nanmedian(e):.1f} | {np.nanpercentile(e, 90):.1f} | "
              f"{np.nanmedian(es) if np.isfinite(es).any() else float('nan'):.1f} | {sure[..., j].mean():.0%} |")
    body = [kp.joint_names.index(n) for n in BODY]
    med_body = float(np.nanmedian(err[..., body]))
    med_body_sure = float(np.nanmedian(np.where(sure[..., body], err[..., body], np.nan)))
    per_joint = np.nanmedian(err[..., body].reshape(-1, len(body)), axis=0)
    print(f"\nbody joints ({len(BODY)}): median {med_body:.2f} px (goal <= 5 px), visible only {med_body_sure:.2f} px, "
          f"worst joint median {per_joint.max():.2f} px ({BODY[int(np.argmax(per_joint))]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
