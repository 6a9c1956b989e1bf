"""Worker processes: they never re-run the user's script, leave nothing behind when their parent is killed,
and keep native libraries' output off the terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "user_script.py"
    path.write_text(f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n" + textwrap.dedent(body))
    return path


def test_unguarded_user_script_runs_once(tmp_path):
    """A script without `if __name__ == "__main__":` (as users copy README snippets) must work: the spawned
    workers must not import it again."""
    marker = tmp_path / "runs.txt"
    script = _script(tmp_path, f"""
        import parallel_jobs
        from mocap.parallel import map_cameras
        open({str(marker)!r}, "a").write("run\\n")
        seen = []
        pids = map_cameras(parallel_jobs.sleeper, [(0.2,), (0.2,)], workers=2,
                           progress=lambda i, d, t: seen.append(i))
        assert len(set(pids)) == 2 and sorted(set(seen)) == [0, 1], (pids, seen)
        print("ok")
    """)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
    assert marker.read_text() == "run\n"  # the script ran once, not once per worker


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not reaped by its dead parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    script = _script(tmp_path, """
        import parallel_jobs
        from mocap.parallel import map_cameras
        map_cameras(parallel_jobs.sleeper, [(120,), (120,)], workers=2, progress=lambda i, d, t: None)
    """)
    parent = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE, text=True)
    workers = []
    deadline = time.time() + 60
    while len(workers) < 2 and time.time() < deadline:
        line = parent.stderr.readline()
        if line.startswith("worker "):
            workers.append(int(line.split()[1]))
    assert len(workers) == 2, "workers did not start"
    children = [int(p) for p in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()]
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.time() + 15
    while any(_alive(p) for p in children) and time.time() < deadline:
        time.sleep(0.2)
    left = [p for p in children if _alive(p)]
    assert not left, f"processes left behind after SIGKILL of their parent: {left}"


def test_native_output_goes_to_the_log_file(tmp_path, monkeypatch):
    import parallel_jobs

    from mocap.parallel import LOG_ENV, map_cameras  # noqa: F401 - LOG_ENV is re-exported

    log = tmp_path / "mocap.log"
    monkeypatch.setenv(LOG_ENV, str(log))
    script = _script(tmp_path, """
        import parallel_jobs
        from mocap.parallel import map_cameras
        map_cameras(parallel_jobs.chatter, [("INFO: Created TensorFlow Lite XNNPACK delegate",), ("W0000 absl",)],
                    workers=2)
        map_cameras(parallel_jobs.chatter, [("in-process chatter",)], workers=1)
    """)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "XNNPACK" not in proc.stderr and "absl" not in proc.stderr and "in-process" not in proc.stderr
    text = log.read_text()
    assert "XNNPACK" in text and "W0000 absl" in text and "in-process chatter" in text
    assert parallel_jobs and map_cameras
