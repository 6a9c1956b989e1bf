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
    committed: Path | None = None
    """A session in the repository (not rendered here)."""


HARD = dict(size=(640, 480), fps=30.0, distortion=True, blur_subframes=3, engine="cycles", cycles_samples=6,
            background="cluttered", clothing="textured", calibration_views=(2, 2, 2), noise_sigma=2.0)

SETS = {
    "studio4": BenchSet(
        "studio4", "the committed sample session (`make demo`): authored demo motion, 4 cameras, Workbench, plain",
        HumanSessionConfig(take="demo"), {2: (0, 1), 3: (0, 1, 2), 4: (0, 1, 2, 3)},
        committed=REPO / "sample_sessions" / "studio4"),
    "dance4": BenchSet(
        "dance4", "CMU modern dance (4-6 s: fast turns, kicks, arms across the body), 4 cameras, Cycles, "
        "textured clothes, cluttered room, lens distortion, motion blur, camera 3 zoomed (performer partly out)",
        HumanSessionConfig(motion=str(SHARED / "bvh" / "cmu_05_20_moderndance__BVH-Examples.bvh"), start=4.0,
                           seconds=2.0, cameras=4, out_of_frame=3, take="dance", **HARD),
        {2: (0, 1), 3: (0, 1, 2), 4: (0, 1, 2, 3)}),
    "jumps8": BenchSet(
        "jumps8", "CMU jumps (4-5.5 s: jumping forward, arms swinging), 8 cameras, Workbench, textured clothes, "
        "cluttered room, lens distortion, a body shape away from the mean",
        HumanSessionConfig(motion=str(SHARED / "bvh" / "cmu_01_01_jumps__fairmotion.bvh"), start=4.0, seconds=1.5,
                           cameras=8, take="jumps", betas=(1.0, -0.8, 0.6, 0.5, -0.5, 0.4, 0, 0, 0, 0),
                           **{**HARD, "engine": "workbench", "blur_subframes": 1}),
        {2: (0, 2), 3: (0, 3, 5), 4: (0, 2, 4, 6), 8: tuple(range(8))}),
}


def session_of(bench: BenchSet, fresh: bool = False) -> Path:
    """The rendered session of ``bench`` (rendered now when not cached)."""
    import shutil

    from mocap.io.atomic import atomic_folder
    from mocap.synth.human_take import write_human_session

    if bench.committed is not None:
        return bench.committed
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
            write_human_session(tmp, replace(bench.config, command=synth_command(bench.config)), progress=progress)
        print(f"rendered {bench.name} in {time.perf_counter() - t0:.0f} s")
    return out


def synth_command(c: HumanSessionConfig) -> str:
    """The ``mocap synth session`` command line that renders the set (calibration views aside)."""
    motion = Path(c.motion).name if c.motion.endswith(".bvh") else c.motion
    flags = [f"--motion {motion}", f"--start {c.start:g}" if c.start else "", f"--seconds {c.seconds:g}",
             f"--cameras {c.cameras}", f"--size {c.size[0]}x{c.size[1]}", f"--fps {c.fps:g}",
             "--distortion" if c.distortion else "", "--blur" if c.blur_subframes > 1 else "",
             f"--noise {c.noise_sigma:g}" if c.noise_sigma else "", f"--engine {c.engine}",
             f"--samples {c.cycles_samples}" if c.engine == "cycles" else "", f"--background {c.background}",
             f"--clothing {c.clothing}", f"--out-of-frame {c.out_of_frame}" if c.out_of_frame is not None else "",
             "--betas " + ",".join(f"{b:g}" for b in c.betas) if any(c.betas) else ""]
    return "mocap synth session OUT " + " ".join(f for f in flags if f)


def detections(bench: BenchSet, path: Path, fresh: bool = False):
    """BlazePose (full, tracking: ``mocap detect``'s defaults) on every rendered camera, cached beside the set."""
    from mocap.keypoints2d.keypoints import Keypoints2D
    from mocap.keypoints2d.stage import DetectionConfig, detect_views
    from mocap.session import Session

    cached = CACHE / f"{bench.name}_keypoints2d.npz"
    CACHE.mkdir(parents=True, exist_ok=True)
    if cached.is_file() and not fresh:
        return Keypoints2D.load(cached)
    session = Session.load(path)
    t0 = time.perf_counter()
    kp = detect_views(session.take(bench.config.take_name).videos, session.camera_names, DetectionConfig())
    print(f"detected {bench.name} in {time.perf_counter() - t0:.0f} s")
    return Keypoints2D.load(kp.save(cached))


def subset(rig, kp, cams: tuple[int, ...]):
    """The rig and keypoints of cameras ``cams``."""
    from mocap.camera import CameraRig
    from mocap.keypoints2d.keypoints import Keypoints2D

    return (CameraRig(tuple(rig.cameras[i] for i in cams), rig.metadata),
            Keypoints2D(kp.xy[list(cams)], kp.conf[list(cams)], kp.keypoint_set, kp.joint_names,
                        tuple(kp.camera_names[i] for i in cams), kp.timestamps, kp.fps))


def anipose_optim(rig, kp, edges: np.ndarray, min_conf: float = 0.3) -> np.ndarray:
    """aniposelib 0.7.2 ``triangulate_optim`` of the keypoints (confidence below ``min_conf`` missing, as in anipose's
    ``score_threshold``), with the trunk and limb bones as its limb-length constraints."""
    sys.path.insert(0, str(REPO / "bench"))
    from triangulate import anipose_group

    px = np.stack([cam.from_video_pixels(kp.xy[i]) for i, cam in enumerate(rig.cameras)])
    px = np.where((kp.conf >= min_conf)[..., None], px, np.nan)
    import warnings

    warnings.filterwarnings("ignore", module="numba")
    warnings.filterwarnings("ignore", message=".*(object mode|looplifting|NumbaWarning).*")
    return anipose_group(rig).triangulate_optim(px, constraints=[list(map(int, e)) for e in edges],
                                                init_progress=False)


@dataclass
class Row:
    method: str
    landmarks: object      # PointErrors of the 3D landmarks (all 33)
    body: object           # PointErrors of the 12 body landmarks
    fitted: dict           # evaluate_motion of the fit
    jitter_landmarks: float
    jitter_fitted: float
    bone_cv: float         # of the 3D landmarks' trunk and limb bones
    bone_cv_fitted: float  # of the fitted landmarks' trunk and limb bones
    seconds: float


def run_methods(rig, kp, truth, methods=("mocap", "dlt", "anipose"), fit_config=None) -> list[Row]:
    """Triangulate ``kp`` with each method, fit each result, and score both against ``truth``."""
    from real_footage import body_bones, pose2sim_like

    from mocap.evaluation.ground_truth import evaluate_motion
    from mocap.evaluation.metrics import bone_length_cv, evaluate_points, jitter
    from mocap.fitting.fit import FitConfig
    from mocap.fitting.stage import fit_points, point_weights
    from mocap.keypoints2d.keypoints import left_right_pairs
    from mocap.smoothing.stage import skeleton_tree
    from mocap.triangulation.robust import TriangulateConfig, triangulate_keypoints

    fit_config = fit_config or FitConfig()
    names = kp.joint_names
    edges = skeleton_tree(names, kp.keypoint_set)
    bones = body_bones(names, edges)
    body = sorted(set(bones.ravel()))
    order = [truth.blazepose_names.index(n) for n in names]
    true_pts = truth.blazepose[:, order]
    F = min(kp.n_frames, len(true_pts))
    rows = []
    for method in methods:
        t0 = time.perf_counter()
        weights = None
        if method == "mocap":
            label = "mocap: adaptive rejection + smoothing, fit"
            points = mocap_points(rig, kp)
            xyz, weights = points.xyz, point_weights(points) if fit_config.view_weights else None
        elif method == "dlt":
            label = "plain weighted DLT + 6 Hz Butterworth (Pose2Sim, FreeMoCap), same fit"
            xyz = pose2sim_like(triangulate_keypoints(rig, kp, TriangulateConfig(rejection="none"),
                                                      swap_pairs=left_right_pairs(names)).xyz, kp.fps)
        else:
            label = "aniposelib triangulate_optim, same fit"
            xyz = anipose_optim(rig, kp, bones)
        t_tri = time.perf_counter() - t0
        result = fit_points(xyz, names, kp.fps, fit_config, weights=weights)
        markers = np.full(xyz.shape, np.nan)
        markers[:, [names.index(m) for m in result.marker_names]] = result.markers
        fitted = evaluate_motion(result.motion, truth.motion)
        rows.append(Row(label, evaluate_points(xyz[:F], true_pts[:F]), evaluate_points(xyz[:F, body], true_pts[:F, body]),
                        fitted, jitter(xyz[:, body], kp.fps), jitter(result.motion.joint_positions()[:, :22], kp.fps),
                        float(np.nanmean(bone_length_cv(xyz, bones))), float(np.nanmean(bone_length_cv(markers, bones))),
                        time.perf_counter() - t0))
        print(f"    {label}: {t_tri:.1f} s + fit {result.seconds:.1f} s", flush=True)
    return rows


def table(rows: list[Row], truth_figures: tuple[float, float, float]) -> str:
    head = ("| method | 3D landmarks: MPJPE / PA-MPJPE (mm), all 33 | body 12 | jitter (m/s^2) / bone CV | "
            "fitted joints: MPJPE / PA-MPJPE (mm) | joint angles / bone directions (deg) | fitted joints: jitter (m/s^2) / "
            "fitted landmarks: bone CV | time (s) |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = r.fitted["body_joints"]
        lines.append(f"| {r.method} | {r.landmarks.mpjpe:.1f} / {r.landmarks.pa_mpjpe:.1f} | {r.body.mpjpe:.1f} / "
                     f"{r.body.pa_mpjpe:.1f} | {r.jitter_landmarks:.1f} / {100 * r.bone_cv:.1f} % | {b.mpjpe:.1f} / "
                     f"{b.pa_mpjpe:.1f} | {r.fitted['joint_angle_mean_deg']:.1f} / {r.fitted['bone_direction_mean_deg']:.1f} | "
                     f"{r.jitter_fitted:.1f} / "
                     f"{100 * r.bone_cv_fitted:.2f} % | {r.seconds:.1f} |")
    lines.append(f"| truth | | | {truth_figures[0]:.1f} / {100 * truth_figures[2]:.1f} % | | | {truth_figures[1]:.1f} | |")
    return "\n".join(lines)


def bench_set(bench: BenchSet, counts: list[int], fresh: bool, methods=("mocap", "dlt", "anipose")) -> None:
    from mocap.evaluation.metrics import bone_length_cv, jitter

    path = session_of(bench, fresh)
    truth = load_ground_truth(path, bench.config.take_name)
    kp = detections(bench, path, fresh)
    found = np.isfinite(kp.xy[..., 0]).any(-1).mean(axis=1)
    print(f"\n### {bench.name}: {bench.what}\n")
    print(f"{kp.n_frames} frames at {kp.fps:g} fps, {truth.rig[0].size[0]}x{truth.rig[0].size[1]}; BlazePose found "
          "the person in " + ", ".join(f"{n} {f:.0%}" for n, f in zip(kp.camera_names, found))
          + ("" if bench.committed else f"; rendered by `{synth_command(bench.config)}`"))
    from real_footage import body_bones

    from mocap.smoothing.stage import skeleton_tree

    bones = body_bones(kp.joint_names, skeleton_tree(kp.joint_names, kp.keypoint_set))
    true_pts = truth.blazepose[:, [truth.blazepose_names.index(n) for n in kp.joint_names]]
    truth_figures = (jitter(true_pts[:, sorted(set(bones.ravel()))], kp.fps),
                     jitter(truth.motion.joint_positions()[:, :22], kp.fps),
                     float(np.nanmean(bone_length_cv(true_pts, bones))))
    for n in counts:
        if n not in bench.subsets:
            continue
        cams = bench.subsets[n]
        print(f"  {n} cameras ({', '.join(kp.camera_names[i] for i in cams)}):", flush=True)
        rig, sub = subset(truth.rig, kp, cams)
        rows = run_methods(rig, sub, truth, methods)
        print(f"\n#### {bench.name}, {n} cameras ({', '.join(kp.camera_names[i] for i in cams)})\n")
        print(table(rows, truth_figures))
        from mocap.body.skeleton import JOINT_NAMES

        angles = rows[0].fitted["joint_angles_deg"][:22]
        worst = np.argsort(angles)[::-1][:6]
        print("\nLargest joint-angle errors of the first row's fit: "
              + ", ".join(f"{JOINT_NAMES[j]} {angles[j]:.0f}" for j in worst) + " deg", flush=True)
        print(flush=True)


def mocap_points(rig, kp) -> np.ndarray:
    """``mocap triangulate``: adaptive view rejection, left/right swaps fixed, default smoothing."""
    from mocap.keypoints2d.keypoints import left_right_pairs
    from mocap.smoothing.stage import smooth_points
    from mocap.triangulation.robust import TriangulateConfig, triangulate_keypoints

    raw = triangulate_keypoints(rig, kp, TriangulateConfig(), swap_pairs=left_right_pairs(kp.joint_names))
    return smooth_points(raw)


def measure(bench: BenchSet) -> None:
    """Print the detector's offsets from the open model's landmarks on ``bench`` (all cameras), as
    `mocap.fitting.offsets.DETECTOR_OFFSETS` holds them."""
    from mocap.fitting.fit import FitConfig
    from mocap.fitting.offsets import measure_offsets, symmetric
    from mocap.fitting.stage import keypoint_model, load_body_model

    path = session_of(bench)
    truth = load_ground_truth(path, bench.config.take_name)
    kp = detections(bench, path)
    xyz = mocap_points(truth.rig, kp).xyz
    model, cols = keypoint_model(kp.joint_names, load_body_model("open"), FitConfig(detector_offsets=False))
    true = truth.blazepose[:, [truth.blazepose_names.index(kp.joint_names[c]) for c in cols]]
    F = min(len(xyz), len(true))
    offsets = symmetric(measure_offsets(model, xyz[:F, cols], true[:F], truth.motion.global_rotations()[:F]))
    print(f"# measured on {bench.name} ({kp.n_frames} frames, {kp.n_cameras} cameras), left and right averaged as "
          "mirror images")
    print("{")
    for name, (joint, v) in offsets.items():
        print(f'        "{name}": ("{joint}", ({v[0]:.1f}, {v[1]:.1f}, {v[2]:.1f})),')
    print("}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of: {', '.join(SETS)}")
    parser.add_argument("--cameras", default="2,3,4,8", help="camera counts (those a set has)")
    parser.add_argument("--render-only", action="store_true", help="render (and detect) the sets, nothing else")
    parser.add_argument("--fresh", action="store_true", help="render and detect again")
    parser.add_argument("--methods", default="mocap,dlt,anipose", help="of: mocap, dlt, anipose")
    parser.add_argument("--measure-offsets", metavar="SET", help="print the detector's offsets measured on SET")
    args = parser.parse_args()
    if args.measure_offsets:
        measure(SETS[args.measure_offsets])
        return 0
    sys.path.insert(0, str(REPO / "bench"))
    counts = [int(c) for c in args.cameras.split(",")]
    for name in args.sets.split(","):
        if args.render_only:
            session_of(SETS[name], args.fresh)
            continue
        bench_set(SETS[name], counts, args.fresh, tuple(args.methods.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
