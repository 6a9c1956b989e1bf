"""Run one job per camera in worker processes (both cores), with progress reported back.

Workers are started with ``spawn`` (``fork`` is unsafe with OpenCV/MediaPipe threads) and:

* do not re-run the caller's script: a user's script that calls the API without an
  ``if __name__ == "__main__":`` guard works as written (the workers are started with ``__main__`` hidden,
  so they import only mocap's own modules);
* exit when their parent dies (a watchdog thread per worker), so a killed ``mocap run`` leaves nothing behind;
* send the native libraries' own chatter (MediaPipe, TensorFlow Lite, absl: they write to the C stderr)
  to the log file named by ``$MOCAP_LOG_FILE`` instead of the user's terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from mocap.io.output import LOG_ENV, native_output_to_log


def _watch_parent(parent: int) -> None:
    """Exit this worker as soon as ``parent`` is gone (its pid is no longer our parent)."""
    import time

    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.5)


_QUEUE = None  # the progress queue, in a worker (inherited at start: queues cannot be pickled into jobs)


def _worker_init(parent: int, queue) -> None:
    global _QUEUE
    _QUEUE = queue
    threading.Thread(target=_watch_parent, args=(parent,), name="mocap-parent-watch", daemon=True).start()
    path = os.environ.get(LOG_ENV)
    if path:  # for the whole life of the worker: its native libraries' chatter goes to the log
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)


def _run(args):
    func, job, index = args

    def progress(done: int, total: int) -> None:
        if _QUEUE is not None:
            _QUEUE.put((index, done, total))

    return func(*job, progress=progress)


@contextlib.contextmanager
def main_module_hidden() -> Iterator[None]:
    """While starting ``spawn`` processes, show them a bare ``__main__`` so they do not import the caller's
    script again (which would run its module-level code, and with it this pool, a second time)."""
    main = sys.modules.get("__main__")
    if main is None or not getattr(main, "__file__", None):
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def map_cameras(
    func: Callable[..., Any],
    jobs: Sequence[tuple],
    *,
    progress: Callable[[int, int, int], None] | None = None,
    workers: int = 0,
) -> list[Any]:
    """``[func(*job, progress=cb) for job in jobs]``, one worker process per job (up to the cores).

    ``func`` must be a module-level function of the mocap package (it is pickled to ``spawn`` workers). Its
    ``progress`` callback ``cb(done, total)`` is forwarded to ``progress(job_index, done, total)`` in this
    process. With one worker or one job everything runs here, in order (native output still to the log).
    """
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1 or len(jobs) <= 1:
        with native_output_to_log():
            return [func(*job, progress=(lambda d, t, i=i: progress(i, d, t)) if progress else None)
                    for i, job in enumerate(jobs)]
    import multiprocessing as mp
    import queue as queue_module

    ctx = mp.get_context("spawn")
    with main_module_hidden():
        queue = ctx.Queue() if progress else None
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                   initargs=(os.getpid(), queue))
        try:
            futures = [pool.submit(_run, (func, job, i)) for i, job in enumerate(jobs)]
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    stop = threading.Event()

    def pump():
        while not stop.is_set():
            try:
                index, done, total = queue.get(timeout=0.1)
            except (queue_module.Empty, EOFError, OSError, ValueError):
                continue
            progress(index, done, total)

    thread = threading.Thread(target=pump, daemon=True) if queue is not None else None
    if thread:
        thread.start()
    try:
        return [f.result() for f in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        stop.set()
        if thread:
            thread.join()
        if queue is not None:
            while True:  # the last progress messages
                try:
                    index, done, total = queue.get_nowait()
                except (queue_module.Empty, EOFError, OSError, ValueError):
                    break
                progress(index, done, total)
            queue.close()
