"""Run one job per camera in worker processes (both cores), with progress reported back."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def _run(args):
    func, job, queue, index = args

    def progress(done: int, total: int) -> None:
        if queue is not None:
            queue.put((index, done, total))

    return func(*job, progress=progress)


def map_cameras(
    func: Callable[..., Any],
    jobs: Sequence[tuple],
    *,
    progress: Callable[[int, int, int], None] | None = None,
    workers: int = 0,
) -> list[Any]:
    """``[func(*job, progress=cb) for job in jobs]``, one worker process per job (up to the cores).

    ``func`` must be a module-level function (it is pickled to ``spawn`` workers). Its ``progress``
    callback ``cb(done, total)`` is forwarded to ``progress(job_index, done, total)`` in this
    process. With one worker or one job everything runs here, in order.
    """
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1 or len(jobs) <= 1:
        return [func(*job, progress=(lambda d, t, i=i: progress(i, d, t)) if progress else None)
                for i, job in enumerate(jobs)]
    import multiprocessing as mp
    import queue as queue_module
    import threading

    ctx = mp.get_context("spawn")  # fork is unsafe with OpenCV/MediaPipe threads
    with ctx.Manager() as manager:
        queue = manager.Queue() if progress else None
        stop = threading.Event()

        def pump():
            while not stop.is_set() or not queue.empty():
                try:
                    index, done, total = queue.get(timeout=0.1)
                except (queue_module.Empty, EOFError, OSError):
                    continue
                progress(index, done, total)

        thread = threading.Thread(target=pump, daemon=True) if queue is not None else None
        if thread:
            thread.start()
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                return list(pool.map(_run, [(func, job, queue, i) for i, job in enumerate(jobs)]))
        finally:
            stop.set()
            if thread:
                thread.join()
