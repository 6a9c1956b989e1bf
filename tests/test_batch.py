"""``mocap batch`` without running the pipeline: finding sessions, the task graph, tasks that fail for their
data, the local worker pool (a killed worker is replaced, workers exit with their parent), Ray imported
only by its backend, and the front door (an unreachable --address is a clear error and starts nothing).

The whole pipeline through the local backend and on a real Ray cluster: tests/test_batch_run.py."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import REPO

from mocap.batch.local import LocalExecutor
from mocap.batch.plan import SessionPlan, Task, build_graph, find_sessions, plan_session
from mocap.batch.tasks import code_fingerprint, run_task
from mocap.errors import InputError
from mocap.pipeline import RunConfig
from mocap.session import Session

SESSION = """name = "{name}"
board = "charuco_7x5_a1"
cameras = [{{ name = "cam0" }}, {{ name = "cam1" }}, {{ name = "cam2" }}]
takes = [{{ name = "walk" }}, {{ name = "jump" }}]
"""


def write_session(folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "session.toml").write_text(SESSION.format(name=name or folder.name))
    return folder / "session.toml"


def test_find_sessions_recursively_once_each(tmp_path):
    a = write_session(tmp_path / "day1" / "a")
    b = write_session(tmp_path / "day2" / "deep" / "b")
    write_session(tmp_path / "day1" / ".trash" / "old")  # hidden folders are not searched
    found = find_sessions([tmp_path, tmp_path / "day1", a])
    assert found == [a.resolve(), b.resolve()]
    with pytest.raises(InputError, match="no such folder"):
        find_sessions([tmp_path / "not_there"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no session.toml found"):
        find_sessions([tmp_path / "empty"])


def _plan(file: Path, until="report") -> SessionPlan:
    session = Session.load(file)
    return SessionPlan(file, session, RunConfig(until=until))


def test_graph_calibration_once_detection_per_camera_and_index_after_reports(tmp_path):
    plans = [_plan(write_session(tmp_path / "a")), _plan(write_session(tmp_path / "b"), until="triangulate")]
    nodes = build_graph(plans, code="x")
    kinds = [n.task.kind for n in nodes]
    # a: calibrate + 2 takes x (3 cameras + merge + triangulate + fit + export + report) + index; b: up to triangulate
    assert kinds.count("calibrate") == 2 and kinds.count("index") == 1
    assert kinds.count("detect_camera") == 2 * 2 * 3 and kinds.count("detect") == 4
    assert kinds.count("fit") == 2 and kinds.count("report") == 2 and kinds.count("triangulate") == 4
    by_id = {i: n for i, n in enumerate(nodes)}
    for n in nodes:
        t = n.task
        if t.kind == "detect_camera":
            assert by_id[n.needs[0]].task.kind == "calibrate" and by_id[n.needs[0]].task.session == t.session
        if t.kind == "detect":
            assert sorted(by_id[i].task.camera for i in n.needs) == ["cam0", "cam1", "cam2"]
        if t.kind == "index":
            assert [by_id[i].task.kind for i in n.after] == ["report", "report"]
    # Priorities: an earlier take's later stage comes before a later take's detection.
    walk_fit = next(n for n in nodes if n.task.take == "walk" and n.task.kind == "fit")
    jump_cam = next(n for n in nodes if n.task.take == "jump" and n.task.kind == "detect_camera")
    assert walk_fit.order < jump_cam.order
    # Tasks travel as plain data.
    assert Task.from_json(nodes[3].task.to_json()) == nodes[3].task


def test_broken_session_and_missing_videos_are_recorded_not_raised(tmp_path):
    bad = tmp_path / "bad" / "session.toml"
    bad.parent.mkdir()
    bad.write_text("cameras = [\n")
    plan = plan_session(bad)
    assert plan.session is None and "not valid TOML" in plan.error
    weird = tmp_path / "weird" / "session.toml"
    weird.parent.mkdir()
    weird.write_text('board = "x"\ncameras = ["cam0"]\ntakes = ["walk"]\n')  # takes must be tables
    assert plan_session(weird).session is None
    good = plan_session(write_session(tmp_path / "good"))
    assert good.session is not None and set(good.take_errors) == {"walk", "jump"}
    assert "has no video" in good.take_errors["walk"]


def test_a_task_fails_with_its_message_and_never_raises(tmp_path):
    file = write_session(tmp_path / "s")
    result = run_task(Task(0, "detect_camera", str(file), {}, take="walk", camera="cam0", code=code_fingerprint()))
    assert result["status"] == "failed" and "walk" in result["error"] and result["worker"]
    other = run_task(Task(1, "fit", str(file), {}, take="walk", code="0.0.1+0123456789ab"))
    assert other["status"] == "failed" and "install the same mocap on every node" in other["error"]
    missing = run_task(Task(2, "calibrate", str(tmp_path / "gone" / "session.toml"), {}))
    assert missing["status"] == "failed" and "session file not found" in missing["error"]


def test_ray_is_imported_only_by_its_backend():
    importers = []
    for path in (REPO / "mocap").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "ray" or n.startswith("ray.") for n in names):
                importers.append(path.relative_to(REPO).as_posix())
    assert set(importers) == {"mocap/batch/ray_backend.py"}
    code = ("import sys, mocap.cli, mocap.batch, mocap.batch.local, mocap.batch.worker, mocap.batch.tasks\n"
            "from mocap.batch import open_backend\n"
            "assert 'ray' not in sys.modules, 'ray imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_local_pool_replaces_a_killed_worker_and_reruns_its_task(tmp_path):
    file = write_session(tmp_path / "s")
    pool = LocalExecutor(2, log_file=tmp_path / "batch.log")
    try:
        assert pool.slots == 2 and len(pool.pids) == 2
        # A task that fails for its data comes back failed, with its message.
        pool.submit(Task(7, "detect", str(file), {}, take="nope", code=code_fingerprint()))
        events = _wait(pool, 7)
        assert events[-1].result.status == "failed" and "no take named 'nope'" in events[-1].result.error
        # A worker killed in the middle of a task is replaced and the task runs again.
        pool.submit(Task(8, "index", str(file), {}, code=code_fingerprint()))
        pid = next(iter(pool.running))
        os.kill(pid, signal.SIGKILL)
        events = _wait(pool, 8)
        assert [e.kind for e in events][0] == "retry" and "killed by SIGKILL" in events[0].message
        assert events[-1].result.status == "ran"
        assert pid not in pool.pids and len(pool.pids) == 2
    finally:
        pool.close()
    assert (tmp_path / "batch.log").is_file()


def _wait(pool, task_id, timeout=120):
    events, t0 = [], time.monotonic()
    while time.monotonic() - t0 < timeout:
        for e in pool.poll(0.2):
            if e.task == task_id:
                events.append(e)
                if e.kind == "done":
                    return events
    raise AssertionError(f"task {task_id} did not finish")


def test_workers_exit_with_their_parent(tmp_path):
    """A driver killed outright leaves no worker behind."""
    driver = textwrap.dedent("""
        import sys, time
        from mocap.batch.local import LocalExecutor
        pool = LocalExecutor(2)
        print(" ".join(map(str, pool.pids)), flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", driver], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] not in "ZX"
    except FileNotFoundError:
        return False


# The front door: one line, exit 2, no traceback, nothing started or written.


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "mocap.cli", "batch", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_cli_unreachable_ray_address_starts_nothing(tmp_path):
    pytest.importorskip("ray")
    write_session(tmp_path / "sessions" / "a")
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    proc = _cli(tmp_path / "sessions", "--backend", "ray", "--address", f"127.0.0.1:{port}", "-o", tmp_path / "out",
                cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "cannot reach a Ray cluster at 127.0.0.1:" in proc.stderr and "Traceback" not in proc.stderr
    assert time.monotonic() - t0 < 60
    assert not (tmp_path / "out").exists() and not (tmp_path / "sessions" / "a" / "output").exists()


@pytest.mark.parametrize("args, words", [
    (["--address", "10.0.0.1:6379"], "--address is for the Ray backend"),
    (["--set", "fit.iterations=many"], "iterations"),
    (["--backend", "ray", "--address", "nonsense"], "is not HOST:PORT or auto"),
])
def test_cli_bad_options(tmp_path, args, words):
    write_session(tmp_path / "sessions" / "a")
    proc = _cli(tmp_path / "sessions", *args, "-o", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_cli_output_not_writable(tmp_path):
    write_session(tmp_path / "sessions" / "a")
    (tmp_path / "file").write_text("")
    proc = _cli(tmp_path / "sessions", "-o", tmp_path / "file" / "out", cwd=tmp_path)
    assert proc.returncode == 2 and "give --output a folder you can write to" in proc.stderr, proc.stderr
    assert not (tmp_path / "sessions" / "a" / "output").exists()


def test_cli_no_sessions(tmp_path):
    proc = _cli(tmp_path, cwd=tmp_path)
    assert proc.returncode == 2 and "no session.toml found" in proc.stderr


def test_per_camera_detections_merge_like_detect_views(tmp_path):
    """One camera's detections go through their file unchanged and merge into the take's keypoints: session
    camera order, shorter cameras padded with NaN, each camera's own frame count and rate (an image folder's
    unknown rate is the take's); a camera with several people makes candidates."""
    import numpy as np

    from mocap.keypoints2d.candidates import Candidates2D
    from mocap.keypoints2d.stage import CameraDetections, cameras_to_detect_again, merge_detections

    rng = np.random.default_rng(0)
    results = [CameraDetections(rng.random((n, 3, 2)).astype(np.float32), rng.random((n, 3)).astype(np.float32),
                                ("a", "b", "c"), "blazepose33", fps) for n, fps in ((5, float("nan")), (7, 25.0), (6, 30.0))]
    loaded = [CameraDetections.load(r.save(tmp_path / f"cam{i}.npz")) for i, r in enumerate(results)]
    for a, b in zip(results, loaded):
        np.testing.assert_array_equal(a.xy, b.xy)
        assert (a.joint_names, a.keypoint_set, a.people, a.dropped) == (b.joint_names, b.keypoint_set, b.people, None)
    kp = merge_detections(loaded, ["cam0", "cam1", "cam2"], 25.0)
    assert kp.camera_names == ("cam0", "cam1", "cam2") and kp.xy.shape == (3, 7, 3, 2) and kp.fps == 25.0
    assert list(kp.frame_counts) == [5, 7, 6] and list(kp.camera_fps) == [25.0, 25.0, 30.0]
    np.testing.assert_array_equal(kp.xy[0, :5], results[0].xy)
    assert np.isnan(kp.xy[0, 5:]).all() and (kp.conf[2, 6:] == 0).all()
    np.testing.assert_allclose(kp.timestamps, np.arange(7) / 25.0)
    assert cameras_to_detect_again(loaded) == ([], 1)
    two = CameraDetections(rng.random((7, 2, 3, 2)).astype(np.float32), rng.random((7, 2, 3)).astype(np.float32),
                           ("a", "b", "c"), "blazepose33", 25.0, np.zeros(7, np.int32), people=2)
    two = CameraDetections.load(two.save(tmp_path / "two.npz"))
    assert two.people == 2 and two.multi and cameras_to_detect_again([loaded[0], two]) == ([0], 2)
    several = merge_detections([loaded[0], two], ["cam0", "cam1"], 25.0)
    assert isinstance(several, Candidates2D) and several.xy.shape[:3] == (2, 7, 2)


def test_interrupted_batch_writes_its_summary_and_stops_its_workers(tmp_path):
    from mocap.batch import Batch, open_backend
    from mocap.io.tomlio import read_toml

    write_session(tmp_path / "sessions" / "a")
    batch = Batch.plan([tmp_path / "sessions"])
    pool = open_backend("local", workers=2)
    pids = pool.pids

    def interrupt(status):
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            batch.run(pool, output=tmp_path / "out", progress=interrupt, code=code_fingerprint())
    finally:
        pool.close()
    summary = read_toml(tmp_path / "out" / "batch.toml")
    assert summary["sessions"][0]["status"] == "failed" and "interrupted" in summary["sessions"][0]["error"]
    assert [t["take"] for t in summary["takes"]] == ["walk", "jump"]
    assert not any(_alive(p) for p in pids)
