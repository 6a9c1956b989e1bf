"""``mocap batch``: many sessions through the pipeline, on this machine or on a Ray cluster.

* :mod:`mocap.batch.plan` -- the sessions under some folders and the task graph of their takes (the
  unit of work is a stage of a take; detection is split per camera; calibration once per session).
* :mod:`mocap.batch.scheduler` -- :func:`run_batch` / :class:`Batch`: the graph driven on a backend.
* :mod:`mocap.batch.tasks` -- one task, run where it lands (through the same stage stamps as ``mocap run``).
* :mod:`mocap.batch.local` -- the local backend (worker processes); :mod:`mocap.batch.ray_backend` -- Ray
  (imported only when that backend is used).
* :mod:`mocap.batch.summary` -- ``batch.toml`` and ``batch_index.html``.
"""

from mocap.batch.backend import BACKENDS
from mocap.batch.plan import find_sessions
from mocap.batch.scheduler import Batch, BatchResult, BatchStatus, open_backend, run_batch
from mocap.batch.summary import SessionRecord, TakeRecord

__all__ = ["BACKENDS", "Batch", "BatchResult", "BatchStatus", "SessionRecord", "TakeRecord", "find_sessions",
           "open_backend", "run_batch"]
