"""The Ray backend: the batch's tasks as Ray tasks on a cluster (the only module that imports Ray).

* Each task asks for the resources it uses: one CPU (a detection task detects one camera on one core);
  a fit also asks for a GPU when the cluster has one.
* A task whose worker or node dies runs again elsewhere (``max_retries``); a task that fails for its data
  is not retried (it returns a failed result instead of raising).
* Tasks exchange files, not arrays: every node must see the sessions and their output folders at the
  same paths (a shared file system such as NFS). The backend checks on every node, before starting
  anything, that the session files are there and that the node runs the same mocap code as the driver.

``address``: ``None`` starts a Ray instance on this machine for the batch; ``"auto"`` connects to the
cluster started on this machine with ``ray start``; ``"HOST:PORT"`` to the head node at that address.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from mocap.batch.backend import MAX_RETRIES, Event
from mocap.batch.plan import Task, TaskResult
from mocap.batch.tasks import node_report, run_task
from mocap.errors import InputError, MocapError

log = logging.getLogger(__name__)

#: CPUs a detection task asks for (one camera's video through the detector on one core).
DETECTION_CPUS = 1.0
#: Seconds to wait for every node's version check.
NODE_CHECK_TIMEOUT_S = 120.0
#: Where ``ray start --head`` and ``ray get-auth-token --generate`` keep the cluster's token.
TOKEN_FILE = Path.home() / ".ray" / "auth_token"
INSTALL_FIX = "pip install 'mocap[ray]' (ray==2.60.0) on the driver and on every node"


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise MocapError("the Ray backend needs the ray package, which is not installed", fix=INSTALL_FIX) from exc
    return ray


def resolve_address(address: str) -> str:
    """``HOST:PORT`` of the cluster: "auto" is the one started on this machine (``ray start``); a clear
    error, before Ray tries to connect (it would wait for minutes), when nothing answers there."""
    if address == "auto":
        try:
            from ray._private.services import canonicalize_bootstrap_address

            address = canonicalize_bootstrap_address("auto") or address
        except ConnectionError as exc:
            raise MocapError("no Ray cluster is running on this machine (--address auto)",
                             fix="start one with `ray start --head`, or give --address HOST:PORT of the head node"
                             ) from exc
        except (ImportError, AttributeError):
            return address  # another Ray version: let ray.init find it
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--address {address!r} is not HOST:PORT or auto",
                         fix="give the head node's address as printed by `ray start --head`, e.g. 10.0.0.5:6379")
    try:
        with socket.create_connection((host, int(port)), timeout=5.0):
            pass
    except OSError as exc:
        raise MocapError(f"cannot reach a Ray cluster at {address} ({exc.strerror or exc})",
                         fix="check the address printed by `ray start --head` on the head node, that the head is "
                             "running and that its port is open from this machine") from exc
    return address


def _use_token_if_any() -> None:
    """Ray 2.60 clusters ask for a token by default, and a driver sends it only with RAY_AUTH_MODE=token:
    set that when this machine has a token and the mode is not chosen (a cluster without tokens accepts
    such a driver too)."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") or TOKEN_FILE.is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


class RayExecutor:
    """Batch tasks on a Ray cluster (see the module docstring)."""

    name = "ray"

    def __init__(self, address: str | None = None, *, workers: int = 0, check_paths: Sequence[Path] = (),
                 code: str = "", max_retries: int = MAX_RETRIES):
        ray = _import_ray()
        self._ray = ray
        target = resolve_address(address) if address else None
        if target:
            _use_token_if_any()
        try:
            if target:
                ray.init(address=target, log_to_driver=False, logging_level=logging.WARNING)
            else:
                ray.init(address="local", num_cpus=workers or None, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING)  # "local": a new instance, never someone else's
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise MocapError(f"cannot start or join the Ray cluster ({exc})",
                             fix="check --address, that the driver runs the same Python and Ray as the cluster, "
                                 "and that it has the cluster's token (~/.ray/auth_token, or RAY_AUTH_TOKEN)"
                             ) from exc
        try:
            self._check_nodes(check_paths, code)
        except BaseException:
            ray.shutdown()
            raise
        self._run = ray.remote(run_task)
        self.max_retries = max_retries
        self._refs: dict = {}
        self._slots, self._slots_at = 1, 0.0
        self._gpu = ray.cluster_resources().get("GPU", 0) > 0

    def _check_nodes(self, paths: Sequence[Path], code: str) -> None:
        """Every live node runs ``code`` and sees ``paths``; else a clear error naming the node."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        report = self._ray.remote(node_report)
        nodes = [n for n in self._ray.nodes() if n.get("Alive")]
        refs = [report.options(num_cpus=0, max_retries=1,
                               scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                .remote([str(p) for p in paths]) for n in nodes]
        try:
            reports = self._ray.get(refs, timeout=NODE_CHECK_TIMEOUT_S)
        except self._ray.exceptions.GetTimeoutError as exc:
            raise MocapError(f"not every Ray node answered within {NODE_CHECK_TIMEOUT_S:.0f} s",
                             fix="check that every node is healthy (`ray status`)") from exc
        except self._ray.exceptions.RayError as exc:
            raise MocapError(f"a Ray node cannot run mocap ({str(exc).splitlines()[0]})", fix=INSTALL_FIX) from exc
        for node, rep in zip(nodes, reports):
            host = node.get("NodeManagerAddress", "?")
            if code and rep["code"] != code:
                raise MocapError(f"Ray node {host} runs mocap {rep['code']}, this driver mocap {code}",
                                 fix="install the same mocap (and models) on every node, then restart the cluster")
            if rep["missing"]:
                raise MocapError(f"Ray node {host} does not see {rep['missing'][0]}"
                                 + (f" (and {len(rep['missing']) - 1} more)" if len(rep["missing"]) > 1 else ""),
                                 fix="put the sessions on storage every node mounts at the same path (e.g. NFS)")
        log.info("ray: %d nodes, each runs mocap %s", len(nodes), code or "?")

    @property
    def slots(self) -> int:
        """The cluster's CPUs (re-read every few seconds: nodes may join or leave)."""
        if time.monotonic() - self._slots_at > 5.0:
            self._slots = max(1, int(self._ray.cluster_resources().get("CPU", 1) / DETECTION_CPUS))
            self._slots_at = time.monotonic()
        return self._slots

    def submit(self, task: Task) -> None:
        options = {"num_cpus": DETECTION_CPUS if task.kind == "detect_camera" else 1.0,
                   "max_retries": self.max_retries, "retry_exceptions": False, "name": f"mocap.{task.kind}"}
        if task.kind == "fit" and self._gpu:
            options["num_gpus"] = 1
        self._refs[self._run.options(**options).remote(task)] = task.id

    def poll(self, timeout: float) -> list[Event]:
        if not self._refs:
            time.sleep(timeout)
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self._ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        events = []
        for ref in ready:
            task_id = self._refs.pop(ref)
            try:
                result = TaskResult.from_dict(self._ray.get(ref))
            except self._ray.exceptions.RayError as exc:  # the worker or node died more than max_retries times
                result = TaskResult("failed", error=f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            events.append(Event(task_id, "done", result))
        return events

    def close(self) -> None:
        for ref in self._refs:
            self._ray.cancel(ref, force=True)
        self._ray.shutdown()
