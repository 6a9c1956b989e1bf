"""``python -m mocap.batch.worker FD``: one worker process of the local backend (started with the driver's
mocap first on its path, see :data:`mocap.batch.local.WORKER_MAIN`).

It reads tasks (one JSON line each) on stdin, runs them with :func:`~mocap.batch.tasks.run_task` and writes
progress and results (JSON lines) to the pipe ``FD``. Its stdout and stderr (logging, and the native
libraries' chatter) go to the batch log. A fresh interpreter runs this module, so the user's script is
never imported again here; the worker ignores Ctrl-C (the driver stops it) and exits when its parent dies
or closes stdin.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    """Exit at once when the driver is gone (this process is then re-parented)."""

    def watch():
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="mocap-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    out = os.fdopen(int(argv[0]), "w", buffering=1, encoding="utf-8")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(os.getppid())
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s [worker %(process)d] %(name)s: %(message)s")
    for noisy in ("matplotlib", "PIL", "absl", "numba", "h5py"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from mocap.batch.plan import Task
    from mocap.batch.tasks import run_task

    lock = threading.Lock()

    def send(message: dict) -> None:
        with lock:
            out.write(json.dumps(message) + "\n")

    for line in sys.stdin:
        if not line.strip():
            continue
        task = Task.from_json(line)
        result = run_task(task, progress=lambda done, total, i=task.id: send({"id": i, "progress": [done, total]}))
        send({"id": task.id, "result": result})


if __name__ == "__main__":
    main()
