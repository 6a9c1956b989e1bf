"""A complete synthetic session: a rendered calibration take and a rendered person, with ground truth.

``write_human_session(out_dir, HumanSessionConfig(...))`` writes::

    OUT/session.toml                       # board, cameras, calibration videos, one motion take
    OUT/board.toml                         # the calibration board (unless a built-in one was used)
    OUT/calibration/camN.mp4               # ChArUco board through the volume, then still on the floor
    OUT/takes/<take>/camN.mp4              # the body model performing the motion
    OUT/ground_truth/camera_rig.toml       # the true cameras
    OUT/ground_truth/board_poses.npz       # the true board poses of the calibration take
    OUT/ground_truth/<take>/body_motion.npz  # the true BodyMotion (SMPL-X parameters, open_smplx)
    OUT/ground_truth/<take>/joints.npz     # true 3D joints and surface landmarks per frame (world, metres)

``joints.npz``: ``smplx_joints (F, 76, 3)`` (55 skeleton joints + smplx's 21 extra landmarks) with
``smplx_joint_names``, ``blazepose (F, 33, 3)`` (the model's BlazePose-comparable surface landmarks)
with ``blazepose_names``, ``fps``, ``timestamps (F,)``, ``camera_names (C,)`` and ``time_offsets (C,)``:
camera ``c``'s frame ``f`` shows the body at ``timestamps[f] + time_offsets[c]`` (between two frames
the mesh is interpolated linearly), while the ground truth is at ``timestamps[f]``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.io.atomic import atomic_path, write_npz, write_text

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``."""


@dataclass(frozen=True)
class HumanSessionConfig:
    """What ``mocap synth session`` renders."""

    motion: str = "demo"
    """An authored motion (demo, squat, arm_raises, jumping_jack, walk, turn) or a CMU ``.bvh`` path."""
    cameras: int = 4
    """Cameras on a ring around the performer."""
    size: tuple[int, int] = (640, 480)
    """Image width and height in pixels."""
    fps: float = 30.0
    """Frame rate of the motion take."""
    seconds: float | None = 3.5
    """Length of the take (an authored motion is stretched to it; a BVH clip is cut); None: natural length."""
    start: float = 0.0
    """A BVH clip starts this many seconds into the file (authored motions: must be 0)."""
    seed: int = 0
    """Seed of the camera layout, the board trajectory and the noise."""
    distortion: bool = False
    """Give the cameras lens distortion (exactly rendered)."""
    noise_sigma: float = 0.0
    """Gaussian sensor noise on the motion take (grey levels)."""
    blur_subframes: int = 1
    """Motion blur: average this many sub-frames spread over half a frame interval (1 = none)."""
    time_offsets: tuple[float, ...] = ()
    """Per camera, seconds by which its frames are late (unsynchronised cameras); empty = all 0."""
    engine: str = "workbench"
    """Renderer: workbench (fast) or cycles."""
    cycles_samples: int = 16
    """Samples per pixel with Cycles (shared by the sub-frames of motion blur)."""
    background: str = "plain"
    """plain (an empty grey world) or cluttered (textured walls, boxes and pillars, low objects near the performer)."""
    clothing: str = "plain"
    """plain (flat colours) or textured (striped shirt, checked shorts)."""
    out_of_frame: int | None = None
    """Index of a camera zoomed in (focal length x `OUT_OF_FRAME_ZOOM`) so the performer is partly out of its frame."""
    board: str = "charuco_5x4_a0"
    """The ChArUco board of the calibration take: a built-in board, a board ``.toml``, or the default
    ``charuco_5x4_a0`` (:data:`LARGE_BOARD`, written into the session as ``board.toml``)."""
    calibration_views: tuple[int, int, int] = (20, 20, 10)
    """Calibration take: board views per camera, per neighbouring pair, and still frames on the floor."""
    take: str | None = None
    """Name of the motion take (default: the motion's name or the BVH file's stem)."""
    model_path: str | None = None
    """Body model ``.npz`` (default: the shipped open model)."""
    texture_path: str | None = None
    """Skin texture (default: ``texture.png`` or ``texture.jpg`` beside the model file, if present)."""
    betas: tuple[float, ...] = field(default_factory=tuple)
    """Body shape coefficients (empty = the mean shape)."""
    command: str = ""
    """The command line that made the session (recorded in session.toml)."""

    @property
    def take_name(self) -> str:
        if self.take:
            return self.take
        return Path(self.motion).stem if str(self.motion).lower().endswith(".bvh") else str(self.motion)


OUT_OF_FRAME_ZOOM = 2.0
"""Focal length factor of the ``out_of_frame`` camera: at 3.2 m it sees about 1.3 m of height around the
performer's middle, so head and feet leave the frame."""

LARGE_BOARD = {"schema_version": 1, "type": "charuco", "name": "charuco_5x4_a0", "squares_x": 5, "squares_y": 4,
               "square_length": 0.2, "marker_length": 0.15, "dictionary": "DICT_4X4_250", "inverted": False,
               "legacy_pattern": False, "paper": "A0"}
"""A 1.0 x 0.8 m board (A0 poster). At 640x480 with cameras 3.2 m away, the A1 board lying on the floor
is too foreshortened to detect; this one is found in every camera, so the world frame comes from it."""


def session_board(out: Path, spec: str):
    """``(CharucoBoard, reference for session.toml)``; a board file is copied to ``out/board.toml``."""
    from mocap.calibration.board import CharucoBoard, load_board
    from mocap.io.tomlio import write_toml

    if spec == LARGE_BOARD["name"]:
        board = CharucoBoard.from_dict(LARGE_BOARD, name=spec)
    elif spec.endswith(".toml"):
        board = load_board(spec)
    else:
        return load_board(spec), spec
    write_toml(out / "board.toml", board.to_dict())
    return board, "board.toml"


def session_rig(config: HumanSessionConfig):
    """The true camera rig: a ring around the origin looking at the performer's middle."""
    from mocap.synth.calibration_take import ring_rig

    width, height = config.size
    from mocap.camera import CameraRig

    kwargs = {} if config.distortion else {"distortion": (0.0, 0.0, 0.0, 0.0, 0.0)}
    rig = ring_rig(config.cameras, size=(width, height), focal=0.9 * width, seed=config.seed, **kwargs)
    k = config.out_of_frame
    if k is None:
        return rig
    if not 0 <= k < len(rig):
        raise ValueError(f"out_of_frame must be a camera index 0..{len(rig) - 1}, got {k}")
    cams = list(rig.cameras)
    K = cams[k].K.copy()
    K[:2, :2] *= OUT_OF_FRAME_ZOOM
    cams[k] = cams[k].replace(K=K)
    return CameraRig(tuple(cams), rig.metadata)


def interpolate_frames(values: np.ndarray, fps: float, times: np.ndarray) -> np.ndarray:
    """Linear interpolation of per-frame ``values (F, ...)`` at ``times (T,)`` seconds (clamped to the take)."""
    pos = np.clip(np.asarray(times, float) * fps, 0, len(values) - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, len(values) - 1)
    w = (pos - i0).reshape((-1,) + (1,) * (values.ndim - 1))
    return (1 - w) * values[i0] + w * values[i1]


class _VideoWriters:
    """One streaming mp4 writer per camera, each renamed into place only when all frames are written."""

    def __init__(self, paths: Sequence[Path], fps: float, size: tuple[int, int]):
        import contextlib

        import cv2

        self._stack = contextlib.ExitStack()
        self.writers = []
        for path in paths:
            tmp = self._stack.enter_context(atomic_path(path))
            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size, isColor=True)
            if not writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write {path}")
            self.writers.append(writer)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for w in self.writers:
            w.release()
        return self._stack.__exit__(*exc)


def render_take(renderer, vertices: np.ndarray, fps: float, paths: Sequence[Path], *,
                time_offsets: Sequence[float] = (), blur_subframes: int = 1,
                progress: Progress | None = None) -> None:
    """Render ``vertices (F, V, 3)`` (world) with every camera of ``renderer`` into the videos ``paths``."""
    F = len(vertices)
    C = len(paths)
    offsets = np.zeros(C) if not len(time_offsets) else np.asarray(time_offsets, float)
    if len(offsets) != C:
        raise ValueError(f"got {len(offsets)} time offsets for {C} cameras")
    n_sub = max(int(blur_subframes), 1)
    sub = (np.arange(n_sub) - (n_sub - 1) / 2) / n_sub * 0.5 / fps  # spread over half a frame interval
    size = renderer.rig.cameras[0].size
    with _VideoWriters(paths, fps, size) as out:
        for f in range(F):
            for c in range(C):
                shots = interpolate_frames(vertices, fps, f / fps + offsets[c] + sub)
                out.writers[c].write(renderer.render(c, shots))
            if progress is not None:
                progress("render", f + 1, F)


def body_ground_truth(model, betas: np.ndarray, pose: np.ndarray, transl: np.ndarray, fps: float):
    """``(vertices (F, V, 3), BodyMotion, joints.npz arrays)`` of a motion."""
    from mocap.body import lbs
    from mocap.body.motion import BodyMotion
    from mocap.keypoints2d.sets import get_keypoint_set

    verts, joints = lbs.pose_vertices(model, betas, pose, transl)
    motion = BodyMotion.from_full_pose(pose, transl, betas, lbs.rest_joints(model, betas), fps, model="open_smplx")
    arrays = {
        "smplx_joints": lbs.all_joints(model, verts, joints),
        "smplx_joint_names": np.array(lbs.JOINT76_NAMES),
        "blazepose": lbs.regress(model, verts, "blazepose_regressor"),
        "blazepose_names": np.array(get_keypoint_set("blazepose33").joint_names),
        "fps": np.array(float(fps)),
        "timestamps": np.arange(len(pose)) / float(fps),
    }
    return verts, motion, arrays


def write_session_toml(out: Path, config: HumanSessionConfig, rig, board_ref: str) -> Path:
    from mocap.io.tomlio import dumps_toml

    session = {
        "schema_version": 1,
        "name": out.name,
        "board": board_ref,
        "output_dir": "output",
        "cameras": [{"name": c.name, "model": c.model, "mirrored": False} for c in rig.cameras],
        "calibration": {"videos": "calibration/{camera}.mp4"},
        "takes": [{"name": config.take_name, "videos": "takes/{take}/{camera}.mp4"}],
    }
    header = "# Synthetic session written by mocap.synth.human_take (ground truth in ground_truth/)\n"
    if config.command:
        header += f"# made with: {config.command}\n"
    return write_text(out / "session.toml", header + dumps_toml(session))


def write_human_session(out_dir: str | Path, config: HumanSessionConfig = HumanSessionConfig(), *,
                        progress: Progress | None = None) -> Path:
    """Render a whole session (see the module docstring); returns its folder."""
    from mocap.body import lbs
    from mocap.synth.calibration_take import write_calibration_session
    from mocap.synth.human_render import HumanRenderer, RenderOptions, load_texture
    from mocap.synth.motions import make_motion

    out = Path(out_dir)
    t_start = time.perf_counter()
    rig = session_rig(config)
    if config.time_offsets and len(config.time_offsets) != len(rig):
        raise ValueError(f"--time-offsets needs one value per camera ({len(rig)}), got {len(config.time_offsets)}")
    model_path = Path(config.model_path) if config.model_path else None
    model = lbs.load_model(model_path)
    if model_path is None:
        from mocap.bodymodels import OPEN_MODEL_PATH

        model_path = Path(OPEN_MODEL_PATH)
    if config.texture_path:
        texture = load_texture(config.texture_path)
    else:
        found = [p for p in (model_path.parent / "texture.png", model_path.parent / "texture.jpg") if p.is_file()]
        texture = load_texture(found[0]) if found else None
    betas = np.zeros(max(10, len(config.betas)))
    betas[: len(config.betas)] = config.betas  # the rest at the mean
    clip = make_motion(config.motion, model, betas, fps=config.fps, seconds=config.seconds, start=config.start)
    board, board_ref = session_board(out, config.board)
    per_camera, per_pair, floor = config.calibration_views
    if progress is not None:
        progress("calibration take", 0, 1)
    write_calibration_session(out, board, rig, video_suffix=".mp4", fps=config.fps, seed=config.seed,
                              n_per_camera=per_camera, n_per_pair=per_pair, n_floor=floor, board_ref=board_ref)
    if progress is not None:
        progress("calibration take", 1, 1)
    verts, motion, arrays = body_ground_truth(model, betas, clip.pose, clip.transl, config.fps)
    take = config.take_name
    gt = out / "ground_truth" / take
    motion.save(gt / "body_motion.npz")
    offsets = np.asarray(config.time_offsets or np.zeros(len(rig)), float)
    write_npz(gt / "joints.npz", **arrays, camera_names=np.array(rig.names), time_offsets=offsets)
    options = RenderOptions(engine=config.engine, noise_sigma=config.noise_sigma, seed=config.seed,
                            cycles_samples=config.cycles_samples, background=config.background,
                            clothing=config.clothing)
    renderer = HumanRenderer(model, rig, options, texture=texture)
    try:
        render_take(renderer, verts, config.fps, [out / "takes" / take / f"{n}.mp4" for n in rig.names],
                    time_offsets=offsets, blur_subframes=config.blur_subframes, progress=progress)
    finally:
        renderer.close()
    write_session_toml(out, config, rig, board_ref)
    log.info("rendered %s in %.0f s", out, time.perf_counter() - t_start)
    return out
