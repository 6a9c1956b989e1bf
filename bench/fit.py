"""Body-fitting benchmark: our whole-take fit vs a plain per-frame SMPLify-style Adam fit, same targets.

Run from the repository root::

    .venv/bin/python bench/fit.py [--frames 1000] [--noise-mm 5] [--baseline-frames 100] [--device auto]

A take is built from the project's authored motions (demo, walk, squat, arm_raises, turn, jumping_jack,
repeated until ``--frames``; each clip continues where the last one ended, turned to its heading) for
the shipped open body model with a non-mean shape. Its exact BlazePose-comparable landmarks come from the
model's ``blazepose_regressor`` (truth is exact: the fits use the same model), then get Gaussian noise
(``--noise-mm`` per axis) and 3 % random dropouts (NaN). The same arrays go to:

* ours: ``fit_points`` with the default ``FitConfig`` (batched Levenberg-Marquardt over the whole take),
  on the full take and, separately, on its first ``--baseline-frames`` frames;
* baseline: per-frame Adam (lr 0.05) then L-BFGS on ``global_orient, body_pose, transl, betas``, every
  step a full-mesh ``smplx`` forward of the open model with the landmarks regressed from the vertices;
  started from the zero pose turned Y-up -> Z-up with the pelvis on the hip midpoint, no temporal term.
  It runs on the first ``--baseline-frames`` frames (all frames in one batch, each frame independent).

It prints, per method: time, frames/s, residual to the noisy targets, error of the fitted landmarks vs
the true ones, MPJPE of the 22 body joints and the mean angle between their fitted and true global
rotations; then the goals (>= 60 frames/s at 1000 frames on 2 CPU cores, residual <= 20 mm).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from mocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mocap.body import lbs, skeleton  # noqa: E402
from mocap.body.motion import BodyMotion  # noqa: E402
from mocap.fitting.fit import FitConfig  # noqa: E402
from mocap.fitting.stage import fit_points, keypoint_weights, load_body_model  # noqa: E402
from mocap.keypoints2d.sets import get_keypoint_set  # noqa: E402
from mocap.synth.motions import make_motion  # noqa: E402

BLAZE = get_keypoint_set("blazepose33").joint_names
BETAS = np.array([0.8, -0.5, 0.3, 0, 0, 0, 0, 0, 0, 0])
CLIPS = ("demo", "walk", "squat", "arm_raises", "turn", "jumping_jack")
FPS = 30.0
DROPOUT = 0.03
BODY = slice(0, 22)
GOAL_FPS, GOAL_RESIDUAL_MM = 60.0, 20.0


# --------------------------------------------------------------------------------------------------
# The take and its truth
# --------------------------------------------------------------------------------------------------


def _heading(root_aa: np.ndarray) -> float:
    """Heading (radians about world Z) of the body's forward axis (model +Z) for a root axis-angle."""
    fwd = axis_angle_to_matrix(root_aa) @ np.array([0.0, 0.0, 1.0])
    return float(np.arctan2(fwd[1], fwd[0]))


def _continue_from(pose: np.ndarray, transl: np.ndarray, pelvis0: np.ndarray, prev_pose, prev_transl):
    """Turn and move a clip about the vertical so that it starts with the heading and place of the
    previous clip's last frame (the pelvis rest position ``pelvis0`` is what ``transl`` moves)."""
    if prev_pose is None:
        return pose, transl
    yaw = _heading(prev_pose[-1, 0]) - _heading(pose[0, 0])
    Rz = axis_angle_to_matrix(np.array([0.0, 0.0, yaw]))
    pelvis = transl + pelvis0                                  # world pelvis, (F, 3)
    start, end = pelvis[0], prev_transl[-1] + pelvis0
    pelvis = (pelvis - start) @ Rz.T + np.r_[end[:2], start[2]]
    pose = pose.copy()
    pose[:, 0] = matrix_to_axis_angle(Rz @ axis_angle_to_matrix(pose[:, 0]))
    return pose, pelvis - pelvis0


def make_take(model, n_frames: int) -> tuple[np.ndarray, np.ndarray, str]:
    """``pose (F, 55, 3), transl (F, 3)``: the authored clips one after another, and a description."""
    pelvis0 = lbs.rest_joints(model, BETAS)[0]
    poses, transls, names, total = [], [], [], 0
    prev_pose = prev_transl = None
    while total < n_frames:
        name = CLIPS[len(names) % len(CLIPS)]
        clip = make_motion(name, model, BETAS, fps=FPS)
        pose, transl = _continue_from(clip.pose, clip.transl, pelvis0, prev_pose, prev_transl)
        poses.append(pose)
        transls.append(transl)
        names.append(name)
        total += len(pose)
        prev_pose, prev_transl = pose, transl
    desc = f"{len(names)} clips ({', '.join(CLIPS)}, cycled) at {FPS:.0f} fps"
    return np.concatenate(poses)[:n_frames], np.concatenate(transls)[:n_frames], desc


def landmarks_and_joints(model, pose: np.ndarray, transl: np.ndarray, chunk: int = 200):
    """True ``landmarks (F, 33, 3)`` (``blazepose_regressor`` on the posed mesh) and ``joints (F, 55, 3)``."""
    lms, joints = [], []
    for s in range(0, len(pose), chunk):
        verts, j = lbs.pose_vertices(model, BETAS, pose[s:s + chunk], transl[s:s + chunk])
        lms.append(lbs.regress(model, verts))
        joints.append(j)
    return np.concatenate(lms), np.concatenate(joints)


def observe(landmarks: np.ndarray, noise_mm: float, seed: int = 0) -> np.ndarray:
    """Gaussian noise (``noise_mm`` per axis) and ``DROPOUT`` of the landmarks set to NaN."""
    rng = np.random.default_rng(seed)
    obs = landmarks + rng.normal(size=landmarks.shape) * noise_mm / 1000.0
    obs[rng.random(obs.shape[:2]) < DROPOUT] = np.nan
    return obs


# --------------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------------


def global_rotations(pose: np.ndarray) -> np.ndarray:
    """``(F, 55, 3, 3)`` world rotations of the joint frames for ``pose (F, 55, 3)`` (shape-independent)."""
    _, G = skeleton.forward_kinematics(np.zeros((skeleton.NUM_JOINTS, 3)), pose)
    return G


def scores(markers, joints, pose, targets, truth_markers, truth_joints, truth_pose) -> dict[str, float]:
    """Mean figures in mm / degrees: residual to the targets (where finite), markers vs the true
    landmarks, MPJPE and global-rotation angle of the 22 body joints."""
    residual = np.linalg.norm(markers - targets, axis=-1)
    Ra, Rb = global_rotations(pose)[:, BODY], global_rotations(truth_pose)[:, BODY]
    cos = (np.trace(np.swapaxes(Ra, -1, -2) @ Rb, axis1=-2, axis2=-1) - 1) / 2
    return {
        "residual": float(np.nanmean(residual)) * 1000,
        "markers": float(np.linalg.norm(markers - truth_markers, axis=-1).mean()) * 1000,
        "mpjpe": float(np.linalg.norm(joints[:, BODY] - truth_joints[:, BODY], axis=-1).mean()) * 1000,
        "angle": float(np.degrees(np.arccos(np.clip(cos, -1, 1))).mean()),
    }


# --------------------------------------------------------------------------------------------------
# The two methods
# --------------------------------------------------------------------------------------------------


def run_ours(body, targets: np.ndarray, device: str):
    """``fit_points`` with the default config (no detector offsets: the targets are the model's own landmarks):
    seconds, markers, joints, pose."""
    config = FitConfig(device=device, detector_offsets=False)  # the model's own landmarks: no detector
    t0 = time.perf_counter()
    res = fit_points(targets, BLAZE, FPS, config, body=body)
    seconds = time.perf_counter() - t0
    m: BodyMotion = res.motion
    return seconds, res.markers, m.joint_positions(), m.full_pose()


def baseline_start(targets: np.ndarray, pelvis_rest: np.ndarray) -> np.ndarray:
    """``transl (F, 3)`` that puts the zero-pose pelvis on the hip midpoint (else the markers' mean)."""
    hips = targets[:, [BLAZE.index("left_hip"), BLAZE.index("right_hip")]]
    centre = np.where(np.isfinite(hips).all(-1).any(-1)[:, None], np.nanmean(hips, axis=1),
                      np.nanmean(targets, axis=1))
    return centre - pelvis_rest


def run_baseline(model, targets: np.ndarray, device: str, adam_steps: int, lbfgs_steps: int,
                 shape_prior: float = 0.01):
    """Per-frame SMPLify-style fit with ``smplx``: Adam then L-BFGS on all frames as one batch.

    Loss per frame: mean over the visible landmarks of ``w * |marker - target|^2`` in cm^2 (``w`` the
    same keypoint weights as ours: face points 0.3), plus ``shape_prior * |betas|^2``.
    Returns ``[(label, seconds, markers, joints, pose), ...]`` after Adam and after L-BFGS.
    """
    import torch

    from mocap.bodymodels import OPEN_MODEL_PATH, create_smplx
    from mocap.synth.motions import MODEL_TO_WORLD

    F = len(targets)
    smplx_model = create_smplx(OPEN_MODEL_PATH, num_betas=10).to(device)
    T = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)  # noqa: E731
    reg = T(model["blazepose_regressor"])                                   # (33, V)
    finite = np.isfinite(targets).all(-1)
    w = T(finite * keypoint_weights(BLAZE)[None])                          # (F, 33)
    y = T(np.nan_to_num(targets))
    pelvis_rest = np.asarray(model["J_regressor"], float)[0] @ np.asarray(model["v_template"], float)
    params = {
        "global_orient": T(np.tile(matrix_to_axis_angle(MODEL_TO_WORLD), (F, 1))),
        "body_pose": torch.zeros((F, 63), device=device),
        "transl": T(baseline_start(targets, pelvis_rest)),
        "betas": torch.zeros((F, 10), device=device),
    }
    for p in params.values():
        p.requires_grad_(True)
    fixed = {k: torch.zeros((F, n), device=device) for k, n in (
        ("left_hand_pose", 45), ("right_hand_pose", 45), ("jaw_pose", 3), ("leye_pose", 3), ("reye_pose", 3),
        ("expression", 10))}

    def forward():
        out = smplx_model(**params, **fixed)
        return out, torch.einsum("lv,fvc->flc", reg, out.vertices)

    def loss_fn():
        _, mk = forward()
        sq = ((mk - y) * 100.0).pow(2).sum(-1)                              # (F, 33) cm^2
        data = (w * sq).sum(-1) / w.sum(-1).clamp_min(1e-9)
        return (data + shape_prior * params["betas"].pow(2).sum(-1)).sum()

    def snapshot(label, seconds):
        with torch.no_grad():
            out, mk = forward()
        pose = torch.cat([params["global_orient"], params["body_pose"]], 1).detach().cpu().numpy()
        full = np.zeros((F, skeleton.NUM_JOINTS, 3))
        full[:, :22] = pose.reshape(F, 22, 3)
        return label, seconds, mk.cpu().numpy(), out.joints[:, :55].detach().cpu().numpy(), full

    results = []
    t0 = time.perf_counter()
    opt = torch.optim.Adam(params.values(), lr=0.05)
    for _ in range(adam_steps):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    elapsed = time.perf_counter() - t0
    results.append(snapshot(f"baseline: smplx per-frame Adam x{adam_steps}", elapsed))
    if lbfgs_steps:
        t0 = time.perf_counter()
        opt = torch.optim.LBFGS(params.values(), lr=1.0, max_iter=lbfgs_steps, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        opt.step(closure)
        elapsed += time.perf_counter() - t0
        results.append(snapshot(f"baseline: smplx per-frame Adam x{adam_steps} + L-BFGS x{lbfgs_steps}", elapsed))
    return results


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def row(name: str, frames: int, seconds: float, s: dict[str, float]) -> list[str]:
    return [name, str(frames), f"{seconds:.2f}", f"{frames / seconds:.1f}", f"{s['residual']:.1f}",
            f"{s['markers']:.1f}", f"{s['mpjpe']:.1f}", f"{s['angle']:.1f}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="frames in the take (ours fits all of them)")
    parser.add_argument("--noise-mm", type=float, default=5.0, help="Gaussian noise on the landmarks, per axis")
    parser.add_argument("--baseline-frames", type=int, default=100,
                        help="the first N frames, fitted by the baseline and again by ours alone")
    parser.add_argument("--baseline-steps", type=int, default=300, help="Adam steps of the baseline")
    parser.add_argument("--baseline-lbfgs", type=int, default=30, help="L-BFGS iterations after Adam (0: none)")
    parser.add_argument("--device", default="auto", help="auto (a GPU when torch sees one), cpu or cuda")
    args = parser.parse_args()

    import torch

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    body = load_body_model("open")
    model = body.arrays
    pose, transl, desc = make_take(model, args.frames)
    truth_markers, truth_joints = landmarks_and_joints(model, pose, transl)
    targets = observe(truth_markers, args.noise_mm)
    noise = float(np.nanmean(np.linalg.norm(targets - truth_markers, axis=-1))) * 1000
    truth = (truth_markers, truth_joints, pose)
    nb = min(args.baseline_frames, args.frames)
    part = slice(0, nb)
    truth_part = tuple(a[part] for a in truth)

    run_ours(body, targets[:10], device)  # warm-up: torch's first-call costs are not the fit's
    rows = []
    ours_seconds, mk, jt, ps = run_ours(body, targets, device)
    full = scores(mk, jt, ps, targets, *truth)
    rows.append(row("ours: fit_points (whole take)", args.frames, ours_seconds, full))
    sec, mk, jt, ps = run_ours(body, targets[part], device)
    rows.append(row(f"ours: fit_points (first {nb} frames alone)", nb, sec,
                    scores(mk, jt, ps, targets[part], *truth_part)))
    for label, sec, mk, jt, ps in run_baseline(model, targets[part], device, args.baseline_steps, args.baseline_lbfgs):
        rows.append(row(label, nb, sec, scores(mk, jt, ps, targets[part], *truth_part)))

    cpu = f"{os.cpu_count()} CPU cores" + (f", {torch.cuda.get_device_name()}" if device == "cuda" else "")
    print("## Body fitting: mocap fit_points vs a per-frame smplx Adam fit (same model, same targets)\n")
    print(f"Take: {args.frames} frames, {desc}, betas {BETAS[:3].tolist()} + 0; open body model "
          f"({np.asarray(model['v_template']).shape[0]} vertices); 33 BlazePose landmarks from its regressor.")
    print(f"Targets: {args.noise_mm:g} mm Gaussian noise per axis (mean landmark displacement {noise:.1f} mm), "
          f"{DROPOUT:.0%} dropouts.")
    print(f"Device: {device} ({cpu}); torch {torch.__version__}, {torch.get_num_threads()} threads "
          f"(ours runs with FitConfig.threads = {FitConfig().threads}; the baseline with torch's default).")
    print("Errors: mean mm / degrees; residual vs the noisy targets, the rest vs the truth; MPJPE and angle"
          " over the 22 body joints (global rotations).\n")
    print(table(["method", "frames", "seconds", "frames/s", "residual (mm)", "markers vs truth (mm)",
                 "MPJPE (mm)", "angle (deg)"], rows))
    fps = args.frames / ours_seconds
    print(f"\nGoals (issue): >= {GOAL_FPS:.0f} frames/s for 1000 frames on 2 CPU cores: "
          f"{fps:.0f} frames/s at {args.frames} frames -> {'met' if fps >= GOAL_FPS else 'NOT met'}; "
          f"residual <= {GOAL_RESIDUAL_MM:.0f} mm: {full['residual']:.1f} mm -> "
          f"{'met' if full['residual'] <= GOAL_RESIDUAL_MM else 'NOT met'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
