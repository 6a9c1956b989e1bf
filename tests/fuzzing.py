"""Seeded fuzzing of every parser of files users hand us: mutations of valid files, run in a child process.

Each case's outcome is one of: ``error`` (a clean `MocapError` naming the problem), ``valid`` (a result
with no infinite value anywhere), ``crash`` (any other exception, or the child process dying), ``hang``
(over the time limit) or ``nonfinite`` (a result holding inf). A parser is sound when the last three are 0.

Used by ``tests/test_fuzz.py`` (a few hundred cases per parser, in ``make test``) and ``bench/fuzz.py``
(10,000 per parser). Seeds are built from our own writers and the repository's test fixtures.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "importers"

EXTREME = ["0", "-0", "nan", "inf", "-inf", "1e308", "-1e308", "1" * 400, "", "abc", "1e-320", "-1", "3.5",
           "[]", "{}", '"x"', "true", "2147483648", "-9999999", "0x10", "1_000", "∞", "\x00"]


# ------------------------------------------------------------------------------------------ mutations

def mutate_text(text: str, rng: random.Random) -> str:
    """One random edit of a text file: lines, tokens, numbers, bytes or encoding."""
    lines = text.splitlines(keepends=True) or [""]
    kind = rng.randrange(9)
    i = rng.randrange(len(lines))
    if kind == 0:
        del lines[i]
    elif kind == 1:
        lines.insert(i, lines[i])
    elif kind == 2:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 3:
        return text[: rng.randrange(len(text) + 1)]
    elif kind in (4, 5):  # a number (or any token) replaced by an extreme value
        import re

        tokens = list(re.finditer(r"-?\d+(\.\d+)?([eE][-+]?\d+)?" if kind == 4 else r"[^\s,=\[\]{}:\"]+", lines[i]))
        if tokens:
            m = rng.choice(tokens)
            lines[i] = lines[i][: m.start()] + rng.choice(EXTREME) + lines[i][m.end():]
    elif kind == 6:
        pos = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:pos] + rng.choice(["\x00", "\ufeff", "é", "\t", "\n", "\r", '"', "[", "]", "{", "}",
                                                ",", "=", "#"]) + lines[i][pos:]
    elif kind == 7:
        return text.replace("\n", rng.choice(["\r\n", "\r", "\n\n"]))
    else:
        lines = lines * rng.randrange(2, 4)
    return "".join(lines)


def mutate_structure(data, rng: random.Random):
    """One random edit of parsed TOML/JSON data: a value's type or size, a key removed, renamed or added."""
    data = json.loads(json.dumps(data, default=str))
    containers = []

    def walk(node):
        if isinstance(node, dict):
            containers.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            containers.append(node)
            for v in node:
                walk(v)

    walk(data)
    node = rng.choice(containers) if containers else data
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    if not keys:
        return data
    k = rng.choice(keys)
    choice = rng.randrange(7)
    values = [None, 0, -1, 1e308, float("inf"), float("nan"), "", "x", [], {}, [1, 2], True, 10 ** 400 if False else
              123456789012345678901234567890]
    if choice == 0 and isinstance(node, dict):
        del node[k]
    elif choice == 1 and isinstance(node, dict):
        node[str(k) + "_typo"] = node.pop(k)
    elif choice == 2:
        node[k] = rng.choice(values)
    elif choice == 3 and isinstance(node[k], list) and node[k]:
        node[k] = node[k][: rng.randrange(len(node[k]))]
    elif choice == 4 and isinstance(node[k], list):
        node[k] = node[k] + node[k][:1] * rng.randrange(1, 3)
    elif choice == 5 and isinstance(node[k], (int, float)) and not isinstance(node[k], bool):
        node[k] = rng.choice([-node[k], node[k] * 1e12, 0, float("nan")])
    else:
        node[k] = str(node[k])
    return data


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0 and b:
        for _ in range(rng.randrange(1, 16)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:
        b = b[: rng.randrange(len(b) + 1)]
    elif kind == 2 and b:
        start = rng.randrange(len(b))
        b[start: start + 64] = bytes(rng.randrange(256) for _ in range(min(64, len(b) - start)))
    else:
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 32)))
    return bytes(b)


def _dump_toml(data) -> str:
    from mocap.io.tomlio import dumps_toml

    return dumps_toml(data)


# ------------------------------------------------------------------------------------------ targets

@dataclasses.dataclass(frozen=True)
class Target:
    """A parser to fuzz: ``seed(folder)`` writes a valid input and returns the file to mutate;
    ``parse(path, folder)`` runs the parser; ``kind`` says how to mutate (text, toml, json, bytes)."""

    name: str
    kind: str
    seed: Callable[[Path], Path]
    parse: Callable[[Path, Path], object]


def _motion():
    from mocap.body import lbs
    from mocap.body.motion import BodyMotion

    model = lbs.load_model()
    rng = np.random.default_rng(0)
    pose = rng.normal(0, 0.3, (4, 55, 3))
    return BodyMotion.from_full_pose(pose, rng.normal(0, 0.1, (4, 3)), np.zeros(10),
                                     lbs.rest_joints(model, np.zeros(10)), 30.0)


def _points(folder: Path, fmt: str) -> Path:
    from mocap.io.points3d_formats import write_points

    rng = np.random.default_rng(1)
    xyz = rng.normal(0, 0.5, (5, 3, 3))
    xyz[2, 1] = np.nan
    return write_points(folder / f"points.{fmt}", xyz, ["hip", "knee", "ankle"], 30.0)


def _seed_bvh(folder: Path) -> Path:
    from mocap.body.animation import from_body_motion
    from mocap.export.bvh import write_bvh

    return write_bvh(folder / "take.bvh", from_body_motion(_motion()))


def _parse_bvh(path: Path, folder: Path):
    from mocap.export.bvh import bvh_to_animation, read_bvh

    return bvh_to_animation(read_bvh(path))


def _seed_copy(src: Path, name: str | None = None):
    def seed(folder: Path) -> Path:
        if src.is_dir():
            dst = folder / src.name
            shutil.copytree(src, dst)
            return sorted(dst.iterdir())[0]
        return Path(shutil.copy(src, folder / (name or src.name)))
    return seed


def _seed_rig(fmt: str):
    def seed(folder: Path) -> Path:
        from mocap.calibration.formats import write_calibration
        from mocap.camera import Camera, CameraRig, look_at

        cams = []
        for k in range(3):
            a = 2 * np.pi * k / 3
            R, t = look_at(np.array([3 * np.cos(a), 3 * np.sin(a), 1.8]), np.array([0, 0, 1.0]))
            cams.append(Camera(name=f"cam{k}", size=(640, 480), K=[[520.0, 0, 321], [0, 518, 239], [0, 0, 1]],
                               dist=[-0.05, 0.01, 0, 0, 0] if fmt != "pose2sim" else [-0.05, 0.01, 0, 0], R=R, t=t))
        suffix = ".qca.txt" if fmt == "qualisys" else ".toml"
        return write_calibration(CameraRig(tuple(cams)), folder / f"calib{suffix}", fmt)
    return seed


def _parse_rig(fmt: str):
    def parse(path: Path, folder: Path):
        from mocap.calibration.formats import read_calibration

        return read_calibration(path, fmt)
    return parse


SESSION_TEXT = """schema_version = 1
name = "s"
board = "charuco_7x5_a1"
output_dir = "output"

[[cameras]]
name = "cam0"
model = "pinhole"
mirrored = "auto"

[[cameras]]
name = "cam1"
model = "fisheye"
mirrored = false

[calibration]
videos = "calibration/{camera}.mp4"
distortion = "k1k2"

[[takes]]
name = "walk"
videos = ["takes/walk/a.mp4", "takes/walk/b.mp4"]
"""

RUN_TEXT = """until = "fit"

[detection]
detector = "blazepose"
model_complexity = 1

[triangulation]
max_reprojection_px = 15.0
min_views = 2

[smoothing]
method = "butterworth"
cutoff_hz = 6.0

[fit]
iterations = 10
fit_hands = "no"

[export]
formats = ["bvh", "fbx"]
rigs = ["smplx", "mixamo"]
units = "cm"
"""


def _seed_text(name: str, text: str):
    def seed(folder: Path) -> Path:
        path = folder / name
        path.write_text(text)
        return path
    return seed


def _parse_session(path: Path, folder: Path):
    from mocap.session import Session

    return Session.load(path)


def _parse_run_config(path: Path, folder: Path):
    from mocap.pipeline import RunConfig
    from mocap.session import Session

    (folder / "session.toml").write_text(SESSION_TEXT)
    return RunConfig.load(Session.load(folder), path)


def _import(fmt: str, keypoint_set: str | None = None):
    def parse(path: Path, folder: Path):
        from mocap.keypoints2d.importers import import_keypoints

        target = path.parent if fmt == "openpose" else path
        return import_keypoints([target], fmt, camera_names=["a"], fps=30.0, keypoint_set=keypoint_set)
    return parse


def _parse_points(path: Path, folder: Path):
    from mocap.io.points3d_formats import read_points

    return read_points(path)


def _seed_dlc_h5(folder: Path) -> Path:
    import h5py

    labels = [("DLC_x", part, c) for part in ("nose", "wrist") for c in ("x", "y", "likelihood")]
    import pickle  # the fixture imitates what pandas writes; mocap never unpickles

    path = folder / "pred.h5"
    with h5py.File(path, "w") as fh:
        grp = fh.create_group("df_with_missing")
        table = np.zeros(3, dtype=[("index", "<i8"), ("values_block_0", "<f8", (6,))])
        table["values_block_0"] = np.arange(18.0).reshape(3, 6)
        ds = grp.create_dataset("table", data=table)
        ds.attrs["values_block_0_kind"] = np.bytes_(pickle.dumps(labels, protocol=0))
    return path


TARGETS: dict[str, Target] = {t.name: t for t in [
    Target("bvh", "text", _seed_bvh, _parse_bvh),
    Target("trc", "text", lambda f: _points(f, "trc"), _parse_points),
    Target("csv", "text", lambda f: _points(f, "csv"), _parse_points),
    Target("c3d", "bytes", lambda f: _points(f, "c3d"), _parse_points),
    Target("openpose_json", "json", _seed_copy(DATA / "openpose_body25" / "cam01"), _import("openpose", "body25")),
    Target("mmpose_json", "json", _seed_copy(DATA / "mmpose" / "cam01.json"), _import("mmpose")),
    Target("dlc_csv", "text", _seed_copy(DATA / "dlc" / "cam01DLC_resnet50_walkJan1shuffle1_1000.csv"),
           _import("dlc")),
    Target("dlc_h5", "bytes", _seed_dlc_h5, _import("dlc")),
    *[Target(f"calib_{fmt}", "text" if fmt == "qualisys" else "toml", _seed_rig(fmt), _parse_rig(fmt))
      for fmt in ("mocap", "anipose", "freemocap", "pose2sim", "caliscope", "qualisys")],
    Target("session_toml", "toml", _seed_text("session.toml", SESSION_TEXT), _parse_session),
    Target("run_config", "toml", _seed_text("run.toml", RUN_TEXT), _parse_run_config),
]}


# ------------------------------------------------------------------------------------------ running

def _nonfinite(value, depth: int = 0) -> bool:
    """Whether a parsed result holds an infinite float anywhere (NaN is how we mark missing)."""
    if depth > 6:
        return False
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fc" and bool(np.isinf(value).any())
    if isinstance(value, float):
        return value in (float("inf"), float("-inf"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_nonfinite(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value))
    if isinstance(value, (list, tuple)):
        return any(_nonfinite(v, depth + 1) for v in value[:1000])
    if isinstance(value, dict):
        return any(_nonfinite(v, depth + 1) for v in list(value.values())[:1000])
    if hasattr(value, "cameras"):
        return _nonfinite(list(value.cameras), depth + 1)
    return False


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _case_input(target: Target, seed_path: Path, path: Path, rng: random.Random) -> Path:
    """Overwrite ``path`` (the seed file's copy in the case's folder) with a mutation of the seed file."""
    if target.kind == "bytes":
        path.write_bytes(mutate_bytes(seed_path.read_bytes(), rng))
        return path
    text = seed_path.read_text(encoding="utf-8", errors="replace")
    if target.kind in ("toml", "json") and rng.random() < 0.5:
        try:
            data = tomllib.loads(text) if target.kind == "toml" else json.loads(text)
            mutated = mutate_structure(data, rng)
            text = _dump_toml(mutated) if target.kind == "toml" else json.dumps(mutated)
        except Exception:  # noqa: BLE001 - a mutation that cannot be written: mutate the text instead
            text = mutate_text(text, rng)
    else:
        for _ in range(rng.randrange(1, 4)):
            text = mutate_text(text, rng)
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    return path


def _child(name: str, start: int, stop: int, seed: int, timeout_s: float, report_path: str) -> None:
    """Run cases ``start..stop`` of ``name``; append ``index outcome`` lines to ``report_path``."""
    import logging

    from mocap.errors import MocapError

    logging.disable(logging.CRITICAL)
    target = TARGETS[name]
    signal.signal(signal.SIGALRM, _alarm)
    base = Path(tempfile.mkdtemp(prefix=f"fuzz_{name}_"))
    seed_dir = base / "seed"
    seed_dir.mkdir()
    seed_path = target.seed(seed_dir)
    with open(report_path, "a", buffering=1) as report:
        for i in range(start, stop):
            rng = random.Random(seed * 1_000_003 + i)
            case = base / f"case{i}"
            shutil.copytree(seed_dir, case)
            report.write(f"{i} start\n")
            try:
                path = _case_input(target, seed_path, case / seed_path.relative_to(seed_dir), rng)
                signal.setitimer(signal.ITIMER_REAL, timeout_s)
                try:
                    result = target.parse(path, case)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                outcome = "nonfinite" if _nonfinite(result) else "valid"
            except MocapError:
                outcome = "error"
            except _Timeout:
                outcome = "hang"
            except Exception as exc:  # noqa: BLE001 - that is what we count
                outcome = f"crash {type(exc).__name__}: {str(exc)[:200]!r}"
            report.write(f"{i} {outcome}\n")
            shutil.rmtree(case, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)


def _watch(proc, report: Path, timeout_s: float) -> bool:
    """Wait for the child; kill it (and return True) when one case runs longer than ``timeout_s + 5``."""
    last_size, last_change = 0, time.monotonic()
    while proc.is_alive():
        proc.join(0.2)
        size = report.stat().st_size if report.exists() else 0
        if size != last_size:
            last_size, last_change = size, time.monotonic()
        elif time.monotonic() - last_change > timeout_s + 5:
            proc.kill()
            proc.join()
            return True
    return False


def fuzz(name: str, cases: int, *, seed: int = 0, timeout_s: float = 10.0) -> dict:
    """Fuzz one target: ``{"cases", "error", "valid", "crash", "hang", "nonfinite", "seconds", "examples"}``.

    Cases run in a child process; a case that kills it (a segfault in a C library) counts as a crash and
    the run goes on in a new child from the next case."""
    ctx = mp.get_context("spawn")
    counts: Counter = Counter()
    examples: list[str] = []
    t0 = time.perf_counter()
    next_case = 0
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.txt"
        while next_case < cases:
            report.write_text("")
            proc = ctx.Process(target=_child, args=(name, next_case, cases, seed, timeout_s, str(report)))
            proc.start()
            hung = _watch(proc, report, timeout_s)
            done, last_started = set(), None
            for line in report.read_text().splitlines():
                index, _, outcome = line.partition(" ")
                if outcome == "start":
                    last_started = int(index)
                    continue
                done.add(int(index))
                kind = outcome.split()[0]
                counts[kind] += 1
                if kind in ("crash", "hang", "nonfinite") and len(examples) < 5:
                    examples.append(f"case {index}: {outcome}")
            if hung and last_started is not None and last_started not in done:
                counts["hang"] += 1  # stuck in C code, where the alarm cannot interrupt it
                examples.append(f"case {last_started}: no answer after {timeout_s + 5:g} s (killed)")
                next_case = last_started + 1
            elif proc.exitcode != 0 and last_started is not None and last_started not in done:
                counts["crash"] += 1
                examples.append(f"case {last_started}: the process died (exit code {proc.exitcode})")
                next_case = last_started + 1
            else:
                next_case = cases
    result = {k: counts.get(k, 0) for k in ("error", "valid", "crash", "hang", "nonfinite")}
    return {"target": name, "cases": sum(result.values()), **result, "seconds": time.perf_counter() - t0,
            "examples": examples}


if __name__ == "__main__":  # quick manual run: python tests/fuzzing.py NAME CASES
    import sys

    print(fuzz(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100))
    os._exit(0)
