"""Run the ``mocap`` pipeline as a subprocess (never inside Blender's Python) and find what it wrote.

`PipelineJob` starts ``<mocap executable> run <session>`` and collects its output on a thread; the add-on
polls it from a timer (``bpy.app.timers``) so Blender stays responsive, shows the last line in the status
bar and imports the newest take when the run ends.
"""
from __future__ import annotations

import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path


class PipelineJob:
    """One ``mocap run`` in the background.

    Args:
        executable: path of the ``mocap`` command (or a name on PATH).
        session: the session folder (with ``session.toml``).
        args: extra arguments for ``mocap run``.
    """

    def __init__(self, executable: str, session: str | Path, args: tuple[str, ...] = ()):
        self.executable = executable
        self.session = Path(session)
        self.args = tuple(args)
        self.lines: list[str] = []
        self.status = "not started"
        self.returncode: int | None = None
        self.started = 0.0
        self._proc: subprocess.Popen | None = None
        self._queue: queue.Queue[str] = queue.Queue()

    def command(self) -> list[str]:
        return [self.executable, "run", str(self.session), *self.args]

    def start(self) -> None:
        """Start the run; raises ``FileNotFoundError`` / ``NotADirectoryError`` with a usable message."""
        exe = shutil.which(self.executable) or (self.executable if Path(self.executable).is_file() else None)
        if exe is None:
            raise FileNotFoundError(f"mocap executable not found: {self.executable!r}; set the path of `mocap` "
                                    "(e.g. <venv>/bin/mocap) in the Mocap panel")
        if not self.session.is_dir():
            raise NotADirectoryError(f"session folder not found: {self.session}")
        self.executable = exe
        self._proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      bufsize=1, cwd=self.session)
        self.started = time.monotonic()
        self.status = "running"
        threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self._queue.put(line.rstrip())
        stream.close()

    def poll(self) -> bool:
        """Collect new output; True while the process runs."""
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line.strip():
                self.lines.append(line)
        if self._proc is None:
            return False
        code = self._proc.poll()
        if code is None:
            return True
        if not self._queue.empty():  # drain what the reader still had
            return True
        self.returncode = code
        self.status = "done" if code == 0 else f"failed (exit code {code})"
        return False

    @property
    def last_line(self) -> str:
        return self.lines[-1] if self.lines else ""

    def progress_text(self) -> str:
        return f"mocap run: {self.status}, {time.monotonic() - self.started:.0f} s  {self.last_line[:120]}"

    def cancel(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self.status = "cancelled"


def find_results(session: str | Path) -> dict[str, Path | None]:
    """The newest ``body_motion.npz`` and ``points3d.npz`` under a session folder, and its camera rig; when that
    body is a performer's of a take with several, the take's ``people.toml`` as ``people`` (else None)."""
    from ._vendor.mocap.layout import CalibrationLayout, TakeLayout

    session = Path(session)
    names = TakeLayout(Path("take"), "take")

    def newest(pattern: str) -> Path | None:
        found = [p for p in session.rglob(pattern) if p.is_file()]
        return max(found, key=lambda p: p.stat().st_mtime) if found else None

    rig_name = CalibrationLayout(Path("calibration")).rig
    rigs = [p for p in session.rglob(rig_name.name) if p.parent.name == rig_name.parent.name]
    take = newest(names.body_motion.name)
    people = take.parent.parent.parent / names.people.name if take is not None else None
    return {"take": take, "points": newest(names.points3d.name),
            "rig": max(rigs, key=lambda p: p.stat().st_mtime) if rigs else None,
            "people": people if people is not None and people.is_file() and take.parent.parent.name
            == names.people_dir.name else None}
