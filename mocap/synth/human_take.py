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

    OUT/ground_truth/<take>/sync.toml      # the true camera clocks (sync.toml format, relative to the first camera)
Several performers (``people = 2`` or ``3``, :data:`CAST`): one take (``duet`` / ``trio``) in which they walk
across each other's paths (passing 0.7 m apart, hiding each other from some cameras), with distinct body
shapes and shirts, their names as the take's ``performers`` in session.toml, and per-performer truth::

    OUT/ground_truth/<take>/performers.toml          # names = [...], in CAST order
    OUT/ground_truth/<take>/<name>/body_motion.npz, joints.npz

With ``solos`` performers are also rendered alone, same motion, place and shirt (takes ``<take>_<name>``,
single performer truth as above), to compare a performer's accuracy with and without the others.

``joints.npz``: ``smplx_joints (F, 76, 3)`` (55 skeleton joints + smplx's 21 extra landmarks) with
``smplx_joint_names``, ``blazepose (F, 33, 3)`` (the model's BlazePose-comparable surface landmarks)
with ``blazepose_names``, ``fps``, ``timestamps (F,)`` (truth times, seconds), ``camera_names (C,)``,
``time_offsets (C,)``, ``camera_fps (C,)`` and ``drift_ppm (C,)``: camera ``c``'s frame ``f`` shows the
body at truth time ``time_offsets[c] + f / camera_fps[c] * (1 + drift_ppm[c] * 1e-6)`` (between two
truth frames the mesh is interpolated linearly). The truth covers the whole take (``seconds``) at the
fastest camera's rate; each camera starts recording ``time_offsets[c]`` seconds into it and records
until it ends (synchronized cameras at the take's rate: frame ``f`` is ``timestamps[f]``). With ``audio``, every take
video carries the sound of the room (claps, footsteps, hum, voices) as its camera heard it, on its
own clock (:mod:`mocap.synth.audio`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.io.atomic import atomic_path, write_npz, write_text
from mocap.io.tomlio import dumps_toml
from mocap.layout import GroundTruthLayout

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
    camera_fps: tuple[float, ...] = ()
    """Per camera frame rate of the motion take (e.g. 30, 60, 29.97); empty = all ``fps``."""
    drift_ppm: tuple[float, ...] = ()
    """Per camera clock drift, parts per million (positive: its frames are further apart in real time)."""
    audio: bool = False
    """Mux a sound track into every take video: claps (the first when every camera records), footsteps
    and room noise, as each camera heard them on its own clock."""
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
    people: int = 1
    """Performers in the take: 1, or 2-3 walking across each other's paths (:data:`CAST`; ``motion`` and
    ``betas`` are then not used)."""
    solos: tuple[str, ...] = ()
    """With several performers, the ones also rendered alone (takes ``<take>_<name>``; ``("all",)``: each)."""
    command: str = ""
    """The command line that made the session (recorded in session.toml)."""

    @property
    def take_name(self) -> str:
        if self.take:
            return self.take
        if self.people > 1:
            return {2: "duet", 3: "trio"}.get(self.people, f"group{self.people}")
        return Path(self.motion).stem if str(self.motion).lower().endswith(".bvh") else str(self.motion)


OUT_OF_FRAME_ZOOM = 2.0
"""Focal length factor of the ``out_of_frame`` camera: at 3.2 m it sees about 1.3 m of height around the
performer's middle, so head and feet leave the frame."""

#: Several performers: ``(name, betas, heading, centre)``: body shape (beta0 is height: 1.52 m at -1.5, 1.88 m
#: at +1.5), the direction of their walk (degrees about +Z; 0 walks towards -Y, 90 towards +X) and the middle of
#: their path on the floor (metres). ana and ben walk towards each other and pass 0.7 m apart; cleo crosses
#: both their paths (at other times).
CAST: tuple[tuple[str, tuple[float, ...], float, tuple[float, float]], ...] = (
    ("ana", (-1.5,), 90.0, (0.0, 0.35)),
    ("ben", (1.5,), -90.0, (0.0, -0.35)),
    ("cleo", (0.0, 1.5), 180.0, (-0.6, 0.0)),
)


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

    def __init__(self, paths: Sequence[Path], fps: float | Sequence[float], size: tuple[int, int]):
        import contextlib

        import cv2

        self._stack = contextlib.ExitStack()
        self.writers = []
        rates = [float(fps)] * len(paths) if np.isscalar(fps) else [float(f) for f in fps]
        for path, rate in zip(paths, rates):
            tmp = self._stack.enter_context(atomic_path(path))
            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), rate, size, isColor=True)
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
                time_offsets: Sequence[float] = (), blur_subframes: int = 1, clocks: CameraClocks | None = None,
                progress: Progress | None = None) -> None:
    """Render ``vertices (F, V, 3)`` (world; frame ``k`` at truth time ``k / fps``) with every camera
    of ``renderer`` into the videos ``paths``.

    Every camera records ``F`` frames at ``fps``, its frame ``f`` at ``f / fps + time_offsets[c]``; or, with
    ``clocks``, ``clocks.frames[c]`` frames at ``clocks.times(c)`` and its own frame rate."""
    F = len(vertices)
    C = len(paths)
    if clocks is None:
        offsets = np.zeros(C) if not len(time_offsets) else np.asarray(time_offsets, float)
        if len(offsets) != C:
            raise ValueError(f"got {len(offsets)} time offsets for {C} cameras")
        clocks = CameraClocks(tuple(offsets), (float(fps),) * C, (0.0,) * C, (F,) * C)
    n_sub = max(int(blur_subframes), 1)
    size = renderer.rig.cameras[0].size
    total = max(clocks.frames)
    with _VideoWriters(paths, list(clocks.fps), size) as out:
        for f in range(total):
            for c in range(C):
                if f >= clocks.frames[c]:
                    continue
                # motion blur: sub-frames spread over half of this camera's frame interval
                sub = (np.arange(n_sub) - (n_sub - 1) / 2) / n_sub * 0.5 / clocks.fps[c]
                shots = interpolate_frames(vertices, fps, clocks.times(c)[f] + sub)
                out.writers[c].write(renderer.render(c, shots))
            if progress is not None:
                progress("render", f + 1, total)


@dataclass(frozen=True)
class CameraClocks:
    """When each camera of a synthetic take records: truth time of frame ``f`` of camera ``c`` is
    ``offsets[c] + f / fps[c] * (1 + drift_ppm[c] * 1e-6)``, for ``f < frames[c]``."""

    offsets: tuple[float, ...]
    fps: tuple[float, ...]
    drift_ppm: tuple[float, ...]
    frames: tuple[int, ...]

    def times(self, c: int) -> np.ndarray:
        """``(frames[c],)`` truth times of camera ``c``'s frames."""
        return self.offsets[c] + np.arange(self.frames[c]) / self.fps[c] * (1.0 + self.drift_ppm[c] * 1e-6)

    @property
    def span(self) -> tuple[float, float]:
        """Truth times of the first and last frame any camera records."""
        return min(self.offsets), max(float(self.times(c)[-1]) for c in range(len(self.frames)))

    @property
    def synchronized(self) -> bool:
        return len(set(self.offsets)) == 1 and len(set(self.fps)) == 1 and not any(self.drift_ppm)


def take_clocks(config: HumanSessionConfig, n_cameras: int) -> CameraClocks:
    """Every camera's clock from the config. The take (the truth) lasts ``seconds``; camera ``c`` starts
    recording ``time_offsets[c]`` seconds into it (>= 0) and records until the take ends."""

    def per_camera(values: tuple[float, ...], default: float, what: str) -> tuple[float, ...]:
        if values and len(values) != n_cameras:
            raise ValueError(f"{what} needs one value per camera ({n_cameras}), got {len(values)}")
        return tuple(float(v) for v in values) if values else (float(default),) * n_cameras

    offsets = per_camera(config.time_offsets, 0.0, "--time-offsets")
    rates = per_camera(config.camera_fps, config.fps, "--camera-fps")
    drift = per_camera(config.drift_ppm, 0.0, "--drift-ppm")
    if any(not r > 0 for r in rates):
        raise ValueError(f"frame rates must be positive, got {rates}")
    if any(o < 0 for o in offsets):
        raise ValueError(f"time offsets are when each camera starts recording within the take: give values >= 0, "
                         f"got {offsets}")
    synchronized = len(set(offsets)) == 1 and len(set(rates)) == 1 and not any(drift)
    if config.seconds is None:
        if not synchronized:
            raise ValueError("unsynchronized cameras need the take's length (--seconds)")
        return CameraClocks(offsets, rates, drift, (0,) * n_cameras)  # frames: set from the motion's length
    if max(offsets) >= config.seconds:
        raise ValueError(f"every camera must start before the take ends ({config.seconds} s), got {offsets}")
    frames = tuple(int(np.floor((config.seconds - o) * r / (1 + d * 1e-6) + 1e-6)) + 1
                   for o, r, d in zip(offsets, rates, drift))
    return CameraClocks(offsets, rates, drift, frames)


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


def place_clip(model, betas: np.ndarray, clip, heading_deg: float, centre) -> tuple[np.ndarray, np.ndarray]:
    """``(pose, transl)`` of ``clip`` turned by ``heading_deg`` about the vertical through the origin, then moved
    so that the middle of its pelvis path (first to last frame) is at ``centre`` (x, y)."""
    from mocap.body import lbs
    from mocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle

    a = np.radians(heading_deg)
    Rz = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    j0 = lbs.rest_joints(model, betas)[0]
    pose = np.array(clip.pose, float)
    pose[:, 0] = matrix_to_axis_angle(Rz @ axis_angle_to_matrix(pose[:, 0]))
    pelvis = (np.asarray(clip.transl, float) + j0) @ Rz.T  # the rotated pelvis path; transl = pelvis - j0
    pelvis[:, :2] += np.asarray(centre, float) - 0.5 * (pelvis[0, :2] + pelvis[-1, :2])
    return pose, pelvis - j0


def cast_motions(model, config: HumanSessionConfig, fps: float | None = None):
    """``[(name, betas, pose, transl)]`` of the first ``config.people`` performers of :data:`CAST`, at ``fps``
    (default: the take's)."""
    from mocap.synth.motions import make_motion

    if not 2 <= config.people <= len(CAST):
        raise ValueError(f"people must be 1 to {len(CAST)}, got {config.people}")
    out = []
    for name, shape, heading, centre in CAST[: config.people]:
        betas = np.zeros(10)
        betas[: len(shape)] = shape
        clip = make_motion("walk", model, betas, fps=fps or config.fps, seconds=config.seconds)
        out.append((name, betas, *place_clip(model, betas, clip, heading, centre)))
    return out


def write_session_toml(out: Path, config: HumanSessionConfig, rig, board_ref: str,
                       takes: list[dict] | None = None) -> Path:
    session = {
        "schema_version": 1,
        "name": out.name,
        "board": board_ref,
        "output_dir": "output",
        "cameras": [{"name": c.name, "model": c.model, "mirrored": False} for c in rig.cameras],
        "calibration": {"videos": "calibration/{camera}.mp4"},
        "takes": takes or [{"name": config.take_name, "videos": "takes/{take}/{camera}.mp4"}],
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
    clocks = take_clocks(config, len(rig))
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
    board, board_ref = session_board(out, config.board)
    per_camera, per_pair, floor = config.calibration_views
    if progress is not None:
        progress("calibration take", 0, 1)
    write_calibration_session(out, board, rig, video_suffix=".mp4", fps=config.fps, seed=config.seed,
                              n_per_camera=per_camera, n_per_pair=per_pair, n_floor=floor, board_ref=board_ref)
    if progress is not None:
        progress("calibration take", 1, 1)
    # The truth: the whole take at the fastest camera's rate; cameras start within it.
    truth_fps = max(clocks.fps)
    options = RenderOptions(engine=config.engine, noise_sigma=config.noise_sigma, seed=config.seed,
                            cycles_samples=config.cycles_samples, background=config.background,
                            clothing=config.clothing)
    gt = GroundTruthLayout(out / "ground_truth")
    take = config.take_name

    def render(name: str, verts: np.ndarray, shirts=(0,)):
        cams = clocks
        if cams.synchronized:  # every camera records exactly the truth frames
            cams = dataclasses.replace(cams, frames=tuple(len(verts) - int(round(o * truth_fps)) for o in cams.offsets))
        videos = [out / "takes" / name / f"{n}.mp4" for n in rig.names]
        renderer = HumanRenderer(model, rig, options, texture=texture, shirts=shirts)
        try:
            render_take(renderer, verts, truth_fps, videos, clocks=cams, blur_subframes=config.blur_subframes,
                        progress=(lambda s, d, t: progress(f"render {name}", d, t)) if progress else None)
        finally:
            renderer.close()
        if config.audio:
            add_take_audio(videos, rig.names, cams, seed=config.seed)
        true_sync(rig.names, cams).save(gt.sync(name))

    def truth(name: str, performer: str | None, betas, pose, transl) -> np.ndarray:
        verts, motion, arrays = body_ground_truth(model, betas, pose, transl, truth_fps)
        motion.save(gt.body_motion(name, performer))
        write_npz(gt.joints(name, performer), **arrays, camera_names=np.array(rig.names),
                  time_offsets=np.array(clocks.offsets), camera_fps=np.array(clocks.fps),
                  drift_ppm=np.array(clocks.drift_ppm))
        return verts

    if config.people <= 1:
        betas = np.zeros(max(10, len(config.betas)))
        betas[: len(config.betas)] = config.betas  # the rest at the mean
        clip = make_motion(config.motion, model, betas, fps=truth_fps, seconds=config.seconds, start=config.start)
        render(take, truth(take, None, betas, clip.pose, clip.transl))
        write_session_toml(out, config, rig, board_ref)
    else:
        cast = cast_motions(model, config, fps=truth_fps)
        names = [c[0] for c in cast]
        verts = [truth(take, name, betas, pose, transl) for name, betas, pose, transl in cast]
        write_text(gt.performers(take), dumps_toml({"names": names}))
        render(take, np.stack(verts, axis=1), shirts=tuple(range(len(cast))))
        # session.toml names them in the order the people stage numbers them: first seen, then by x and y
        start = [lbs.rest_joints(model, betas)[0] + transl[0] for _, betas, _, transl in cast]
        order = sorted(range(len(cast)), key=lambda k: (start[k][0], start[k][1]))
        takes = [{"name": take, "videos": "takes/{take}/{camera}.mp4", "performers": [names[k] for k in order]}]
        for k, (name, betas, pose, transl) in enumerate(cast):
            if name in config.solos or "all" in config.solos:
                solo = f"{take}_{name}"
                render(solo, truth(solo, None, betas, pose, transl), shirts=(k,))
                takes.append({"name": solo, "videos": "takes/{take}/{camera}.mp4", "performers": []})
        write_session_toml(out, config, rig, board_ref, takes)
    log.info("rendered %s in %.0f s", out, time.perf_counter() - t_start)
    return out


def true_sync(names: Sequence[str], clocks: CameraClocks):
    """The true clocks as a :class:`~mocap.sync.clock.TakeSync`, relative to the first camera (as the
    sync stage writes them)."""
    from mocap.sync.clock import CameraClock, TakeSync

    cams = (CameraClock(n, o, f, d, 1.0, "manual")
            for n, o, f, d in zip(names, clocks.offsets, clocks.fps, clocks.drift_ppm))
    return TakeSync(tuple(cams), {"source": "mocap synth (ground truth)"}).rereferenced()


def add_take_audio(videos: Sequence[Path], names: Sequence[str], clocks: CameraClocks, *, seed: int = 0) -> None:
    """Mux each camera's recording of one room sound into its video: a clap 0.4 s after the last camera
    started and then every 6-9 s, footsteps about every 0.6 s, hum, voices and noise."""
    from mocap.sync.clock import CameraClock
    from mocap.synth.audio import synth_take_audio

    rng = np.random.default_rng(seed + 17)
    start, end = clocks.span
    claps = [min(max(clocks.offsets) + 0.4, 0.5 * (max(clocks.offsets) + end))]
    while claps[-1] < end - 6.0:
        claps.append(claps[-1] + float(rng.uniform(6.0, 9.0)))
    steps = list(start + 0.3 + np.cumsum(rng.uniform(0.5, 0.7, int((end - start) / 0.5) + 1)))
    cams = [CameraClock(n, o, f, d) for n, o, f, d in zip(names, clocks.offsets, clocks.fps, clocks.drift_ppm)]
    seconds = [n / f for n, f in zip(clocks.frames, clocks.fps)]
    synth_take_audio(videos, cams, claps=claps, footsteps=[t for t in steps if t < end], seconds=seconds, seed=seed)
