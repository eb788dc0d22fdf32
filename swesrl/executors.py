"""Where instances run: threads on this machine, or Ray tasks on a cluster's Docker nodes.

What one instance is (evaluate a patch, score a rollout) is the caller's function; an executor only
decides where it runs. `map` yields ``(index, result or exception)`` once per call, in completion
order, so callers write each result (atomically, on the driver) as it arrives and report every
instance exactly once. Nodes need no shared storage: results travel back to the driver.

Ray: each call is a task that asks for one unit of the custom resource ``docker`` (``ray start
--resources '{"docker": 4}'`` offers four slots on a node with a Docker daemon), so nodes without it,
such as a GPU trainer, are never picked. A task lost with its node or worker process is retried
(``max_retries``); one lost for good comes back as its exception. Ctrl-C or SIGTERM in the driver
cancels the tasks (each removes its container on the way out) and then runs ``cleanup`` on every
Docker node for whatever a killed task left.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from swesrl.errors import SwesrlError, require

log = logging.getLogger(__name__)

DOCKER = "docker"  # the custom Ray resource a node offers per concurrent Docker instance
KINDS = ("local", "ray")


class ClusterUnavailable(SwesrlError):
    """No Ray cluster answers at the address (or it has no Docker node)."""


@dataclass(frozen=True)
class ExecutorConfig:
    kind: str = field(default="local", metadata={
        "help": "where instances run: local (threads here) or ray (one task per instance on the cluster's "
                "nodes that offer the `docker` resource)"})
    address: str = field(default="auto", metadata={
        "help": "ray: the cluster, `auto` (the one `ray start` made on this machine) or ray://HOST:PORT"})
    max_retries: int = field(default=3, metadata={"help": "ray: retries of a task lost with its node or worker"})

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")


Outcome = tuple[int, Any]  # (index of the call, its result or the exception that ended it)


class Executor(Protocol):
    remote: bool  # calls run in other processes, maybe other machines: they share no objects or files with the caller

    def map(self, fn: Callable[..., Any], calls: Sequence[tuple], cleanup: Callable[[], Any] | None = None) -> Iterator[Outcome]:
        """``fn(*call)`` for each call; one outcome per call as it ends. ``cleanup`` runs on every
        node where calls ran, after the last one (and after a cancel)."""
        ...

    def on_nodes(self, fn: Callable[[], Any]) -> list[Any]:
        """``fn()`` once on every node that runs calls (e.g. removing a crashed run's containers); a node
        lost meanwhile is skipped."""
        ...


class LocalExecutor:
    """A thread pool: the work is waiting on containers, so threads suffice on one machine."""

    remote = False

    def __init__(self, workers: int = 1):
        self.workers = max(1, workers)

    def map(self, fn: Callable[..., Any], calls: Sequence[tuple], cleanup: Callable[[], Any] | None = None) -> Iterator[Outcome]:
        with ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(calls)))) as pool:
            pending: dict[Future, int] = {pool.submit(fn, *c): i for i, c in enumerate(calls)}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = pending.pop(fut)
                        exc = fut.exception()
                        yield i, exc if exc is not None else fut.result()
            finally:
                for fut in pending:
                    fut.cancel()
                if cleanup is not None:
                    cleanup()

    def on_nodes(self, fn: Callable[[], Any]) -> list[Any]:
        return [fn()]


class RayExecutor:
    """Ray tasks on the cluster at ``address``; connects on creation (ClusterUnavailable if it cannot)."""

    remote = True

    def __init__(self, address: str = "auto", max_retries: int = 3):
        require("ray", "running instances on a Ray cluster", extra="ray")
        import ray

        self.max_retries = max_retries
        if not ray.is_initialized():
            try:
                _connect(address)
            except Exception as e:  # ConnectionError, a bad address, a version mismatch: all one line
                raise ClusterUnavailable(f"no Ray cluster at {address!r} ({type(e).__name__}: {str(e)[:300]}); start one with "
                                         "`ray start --head --resources '{\"docker\": N}'` (README: Ray cluster)") from None
        if not self.docker_nodes():
            raise ClusterUnavailable(f"the Ray cluster at {address!r} has no alive node offering the {DOCKER!r} resource; "
                                     f"start the Docker nodes with --resources '{{\"{DOCKER}\": N}}'")

    @staticmethod
    def docker_nodes() -> list[str]:
        import ray

        return [n["NodeID"] for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get(DOCKER, 0) > 0]

    def map(self, fn: Callable[..., Any], calls: Sequence[tuple], cleanup: Callable[[], Any] | None = None) -> Iterator[Outcome]:
        import ray

        task = ray.remote(_apply).options(num_cpus=0, resources={DOCKER: 1}, max_retries=self.max_retries,
                                          retry_exceptions=False)
        body = ray.put(fn)  # shipped once, however many calls (a partial may carry a whole task list)
        pending = {task.remote(body, *c): i for i, c in enumerate(calls)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=5.0)
                for ref in done:
                    i = pending.pop(ref)
                    try:
                        yield i, ray.get(ref)
                    except ray.exceptions.RayError as e:  # lost for good, or the function raised
                        yield i, e.as_instanceof_cause() if isinstance(e, ray.exceptions.RayTaskError) else e
        finally:
            if pending:  # interrupted: each cancelled task gets KeyboardInterrupt and closes its container
                for ref in pending:
                    ray.cancel(ref)
                ray.wait(list(pending), num_returns=len(pending), timeout=30.0)
            if cleanup is not None:
                self.on_nodes(cleanup)

    def on_nodes(self, fn: Callable[[], Any]) -> list[Any]:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        task = ray.remote(_apply)
        refs = {node: task.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(fn)
                for node in self.docker_nodes()}
        out = []
        for node, ref in refs.items():
            try:
                out.append(ray.get(ref))
            except ray.exceptions.RayTaskError as e:  # fn itself failed: the caller's to handle
                raise e.as_instanceof_cause() from None
            except ray.exceptions.RayError as e:  # the node died after it was listed
                log.warning(f"node {node[:12]} was lost ({type(e).__name__}); the containers it ran end with their lifetime")
        return out


def _apply(fn: Callable[..., Any], *args: Any) -> Any:
    """The task body for any callable: ray.remote takes only plain functions, not partials or closures."""
    return fn(*args)


def _connect(address: str, attempts: int = 3) -> None:
    """``ray.init`` at ``address``. Through Ray Client (ray://) the head starts a server process per
    session, and that start sometimes fails (Ray 2.60: about one in three under load, the new process
    dying at once); a fresh attempt then succeeds, so it is retried."""
    import ray

    _check_reachable(address)
    for attempt in range(1, attempts + 1):
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
            return
        except ConnectionAbortedError as e:  # what Ray Client raises when the head could not start the session's server
            if not address.startswith("ray://") or attempt == attempts:
                raise
            log.warning(f"Ray Client session at {address} did not start ({str(e)[:200]}); trying again")
            time.sleep(1.0)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """A HOST:PORT that does not answer fails in seconds (ray.init would retry for a minute)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if port.isdigit():
        socket.create_connection((host, int(port)), timeout=timeout).close()


def open_executor(config: ExecutorConfig, workers: int = 1) -> Executor:
    """The executor ``config`` names; ``workers`` sizes the local one (Ray's size is its `docker` slots)."""
    if config.kind == "ray":
        return RayExecutor(config.address, config.max_retries)
    return LocalExecutor(workers)
