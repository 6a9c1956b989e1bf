"""``mocap batch`` end to end on tiny sessions (copies of sample_sessions/studio4, 15 frames per take):
the local backend against ``mocap run``, a broken session and a corrupt take among good ones, reuse on a
rerun, and a real Ray cluster (a head and a second node started here) that ends with the local backend's
outputs, also when a worker is killed in the middle of a detection.

Every session gets a copy of one calibration (so calibrate is reused); takes run up to export (BVH only),
one session also through the report. About 1.5-2 minutes on 2 idle cores."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from mocap.batch import Batch, open_backend, run_batch
from mocap.batch.tasks import code_fingerprint
from mocap.errors import MocapError
from mocap.io.tomlio import read_toml
from mocap.pipeline import RunConfig, calibrate_stage, run_session
from mocap.session import Session
from mocap.synth.trimmed import trimmed_session

# one worker of pytest -n runs the whole module: its module fixtures (sessions, a Ray cluster) once, and no
# second Ray cluster or batch beside it to kill the wrong worker of
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("batch")]

STUDIO4 = REPO / "sample_sessions" / "studio4"
TAKES = {"a": (0, 15), "b": (40, 15)}
#: 15 frames of a synchronized render: too little motion to time the cameras by (sync would rightly refuse)
SYNC_NONE = {"sync": {"method": "none"}}
OVERRIDES = {"until": "export", "export": {"formats": ["bvh"]}, **SYNC_NONE}
SESSIONS = ("s0", "s1", "s2")
OUTPUTS = ("keypoints2d.npz", "points3d_raw.npz", "points3d.npz", "body_motion.npz")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One tiny session, calibrated (its output folder holds only the calibration)."""
    folder = tmp_path_factory.mktemp("template") / "s"
    session = Session.load(trimmed_session(STUDIO4, folder, TAKES))
    assert calibrate_stage(session, RunConfig.load(session, None, SYNC_NONE)).status == "ran"
    return folder


def make_tree(template: Path, root: Path, names=SESSIONS, broken: bool = True) -> Path:
    """Sessions ``names`` (copies of the template), plus a broken session.toml and, in the last session,
    a third take whose videos are corrupt."""
    for name in names:
        shutil.copytree(template, root / "day" / name)
        text = (root / "day" / name / "session.toml").read_text().replace(f'name = "{template.name}"',
                                                                         f'name = "{name}"')
        (root / "day" / name / "session.toml").write_text(text)
    if broken:
        (root / "day" / "broken").mkdir()
        (root / "day" / "broken" / "session.toml").write_text('board = "charuco_7x5_a1"\ncameras = [\n')
        last = root / "day" / names[-1]
        text = (last / "session.toml").read_text()
        (last / "session.toml").write_text(text.replace(
            "takes = [\n", 'takes = [\n    { name = "corrupt", videos = "takes/{take}/{camera}.avi" },\n'))
        for cam in ("cam0", "cam1", "cam2", "cam3"):
            (last / "takes" / "corrupt").mkdir(parents=True, exist_ok=True)
            (last / "takes" / "corrupt" / f"{cam}.avi").write_bytes(b"not a video" * 100)
    return root / "day"


def statuses(result):
    return [(Path(t.session).name, t.take, t.status) for t in result.takes]


def assert_same_outputs(a_root: Path, b_root: Path, names=SESSIONS):
    for name in names:
        for take in TAKES:
            a = Session.load(a_root / name).layout.take(take)
            b = Session.load(b_root / name).layout.take(take)
            for file in OUTPUTS:
                with np.load(a.folder / file) as x, np.load(b.folder / file) as y:
                    assert sorted(x.files) == sorted(y.files)
                    for key in x.files:
                        np.testing.assert_array_equal(x[key], y[key], err_msg=f"{name}/{take}/{file}:{key}")
            bvh = f"{take}_smplx.bvh"
            assert (a.export_dir / bvh).read_text() == (b.export_dir / bvh).read_text(), f"{name}/{take}"


EXPECTED = [("broken", "", "failed"), ("s0", "a", "done"), ("s0", "b", "done"), ("s1", "a", "done"),
            ("s1", "b", "done"), ("s2", "corrupt", "failed"), ("s2", "a", "done"), ("s2", "b", "done")]


@pytest.fixture(scope="module")
def local(template, tmp_path_factory):
    """The local backend on 3 sessions x 2 takes, a broken session and a corrupt take."""
    root = make_tree(template, tmp_path_factory.mktemp("local"))
    seen = []
    result = run_batch([root], workers=2, output=root.parent / "out", overrides=OVERRIDES,
                       progress=lambda status: seen.append(status.active))
    return root, result, seen


def test_local_batch_records_every_take_and_goes_on_after_failures(local):
    root, result, _ = local
    assert statuses(result) == EXPECTED
    summary = read_toml(result.layout.summary)
    assert summary["counts"] == {"done": 6, "reused": 0, "failed": 2} and summary["backend"] == "local"
    takes = summary["takes"]
    assert [(Path(t["session"]).name, t["take"], t["status"]) for t in takes] == EXPECTED
    broken, corrupt = takes[0], takes[5]
    assert broken["failed_stage"] == "session" and "not valid TOML" in broken["error"]
    assert corrupt["failed_stage"] == "detect" and "corrupt" in corrupt["error"]
    done = takes[1]
    assert set(done["seconds"]) == {"detect", "sync", "triangulate", "fit", "export"} and done["error"] == ""
    assert all(v >= 0 for v in done["seconds"].values()) and done["seconds"]["detect"] > 0
    html = result.layout.index.read_text()
    assert html.count("<tr>") == 1 + len(EXPECTED) and "FAILED" in html


def test_local_batch_overlaps_one_takes_later_stages_with_the_next_takes_detection(local):
    """Both workers busy across takes: at some moment a take's triangulation, fit or export runs while
    another take's cameras are being detected."""
    def overlap(active):
        detecting = {a.split()[0] for a in active if " detect cam" in a}
        later = {a.split()[0] for a in active if a.split()[1] in ("detect", "triangulate", "fit", "export")
                 and " detect cam" not in a}
        return any(d != t for d in detecting for t in later)

    assert any(overlap(active) for active in local[2])


def test_local_batch_matches_mocap_run_and_shares_its_stamps(local, template, tmp_path):
    root = local[0]
    # mocap run finds the batch's work done ...
    session = Session.load(root / "s0")
    runs = run_session(session, RunConfig.load(session, None, OVERRIDES))
    assert {r.status for r in runs} == {"reused"}
    # ... and on a fresh copy computes the same outputs.
    copy = make_tree(template, tmp_path, names=("s0",), broken=False)
    session = Session.load(copy / "s0")
    runs = run_session(session, RunConfig.load(session, None, OVERRIDES))
    assert [r.status for r in runs] == ["reused"] + ["ran"] * 10  # 2 takes: detect, sync, triangulate, fit, export
    assert_same_outputs(root, copy, names=("s0",))


def test_local_rerun_reuses_and_reports_with_verdicts(local):
    root = local[0]
    again = run_batch([root], workers=2, output=root.parent / "out2", overrides=OVERRIDES)
    assert statuses(again) == [(s, t, "reused" if st == "done" else st) for s, t, st in EXPECTED]
    # The whole pipeline on one session: everything before the report is reused.
    full = run_batch([root / "s0"], workers=2, output=root.parent / "out3", overrides={"export": {"formats": ["bvh"]}, **SYNC_NONE})
    assert statuses(full) == [("s0", "a", "done"), ("s0", "b", "done")]
    for take in full.takes:
        assert set(take.seconds) == {"detect", "sync", "triangulate", "fit", "export", "report"}
        assert take.seconds["detect"] == 0.0 and take.seconds["report"] > 0
        assert take.verdict in ("pass", "warn") and take.verdict_detail and Path(take.report).is_file()
    html = full.layout.index.read_text()
    assert 'href="../day/s0/output/takes/a/report.html"' in html
    assert 'href="../day/s0/output/index.html"' in html
    assert [t.status for t in run_batch([root / "s0"], workers=2, output=root.parent / "out3",
                                        overrides={"export": {"formats": ["bvh"]}, **SYNC_NONE}).takes] == ["reused", "reused"]


def _kill_during_detection(find_pid):
    """A progress callback that kills one worker process (found by ``find_pid``) while it detects."""
    killed = []

    def progress(status):
        if not killed and any(" detect cam" in a for a in status.active):
            pid = find_pid()
            if pid:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    return progress, killed


def test_local_worker_killed_during_detection(local, template, tmp_path, caplog):
    root = local[0]
    tree = make_tree(template, tmp_path, names=("s0",), broken=False)
    batch = Batch.plan([tree], overrides=OVERRIDES)
    pool = open_backend("local", workers=2, log_file=tmp_path / "batch.log")
    try:
        progress, killed = _kill_during_detection(
            lambda: next((pid for pid, task in pool.running.items() if task.kind == "detect_camera"), None))
        result = batch.run(pool, output=tmp_path / "out", progress=progress, code=code_fingerprint())
    finally:
        pool.close()
    assert killed and statuses(result) == [("s0", "a", "done"), ("s0", "b", "done")]
    assert f"worker pid {killed[0]} killed by SIGKILL during s0/" in caplog.text
    assert_same_outputs(root, tree, names=("s0",))


# A real Ray cluster: a head and a second node, one CPU each, started on this machine.


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    temp = tempfile.mkdtemp(prefix="mocap-ray-", dir="/tmp")  # short: Ray's socket paths must stay short
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False,
                                                          "temp_dir": temp})
    try:
        nodes.add_node(num_cpus=1)
        nodes.wait_for_nodes()
        yield nodes
    finally:
        nodes.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def test_ray_cluster_batch_matches_the_local_backend(cluster, local, template, tmp_path):
    root, reference, _ = local
    tree = make_tree(template, tmp_path)
    result = run_batch([tree], backend="ray", address=cluster.address, output=tmp_path / "out",
                       overrides=OVERRIDES)
    assert statuses(result) == EXPECTED
    summary = read_toml(result.layout.summary)
    assert summary["backend"] == "ray" and summary["slots"] == 2
    assert [t["failed_stage"] for t in summary["takes"]] == [t.failed_stage for t in reference.takes]
    assert_same_outputs(root, tree)


def _descendants(pid: int) -> list[int]:
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parent[int(entry)] = int(fh.read().rsplit(") ", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def _ray_detection_worker() -> int | None:
    """A Ray worker of this test's cluster (a descendant of this process) running a detection task."""
    for pid in _descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if fh.read().startswith(b"ray::mocap.detect_camera"):
                    return pid
        except OSError:
            continue
    return None


def test_ray_worker_killed_during_detection(cluster, local, template, tmp_path):
    root = local[0]
    tree = make_tree(template, tmp_path, names=("s0",), broken=False)
    progress, killed = _kill_during_detection(_ray_detection_worker)
    result = run_batch([tree], backend="ray", address=cluster.address, output=tmp_path / "out",
                       overrides=OVERRIDES, progress=progress)
    assert killed, "no detection worker was found to kill"
    assert statuses(result) == [("s0", "a", "done"), ("s0", "b", "done")]
    assert_same_outputs(root, tree, names=("s0",))


def test_ray_nodes_must_run_the_same_mocap_and_see_the_sessions(cluster, tmp_path):
    from mocap.batch.ray_backend import RayExecutor

    with pytest.raises(MocapError, match="runs mocap .*, this driver mocap 0.0.0"):
        RayExecutor(cluster.address, code="0.0.0+000000000000")
    with pytest.raises(MocapError, match="does not see .*nowhere"):
        RayExecutor(cluster.address, check_paths=[tmp_path / "nowhere" / "session.toml"], code=code_fingerprint())
