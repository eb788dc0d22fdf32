"""Who owns a container, and one live process per run id on the machine.

Containers carry their owner (host, pid, the pid's start time): a pid alone can be reused, a pid with
its start time cannot. `prune` removes only containers whose owner is gone, so cleaning up after one
crashed run never kills another live run. The run lock is machine-wide (a file in the system's temp
folder, not in a runs folder), so two processes with the same run id are refused whatever their
`--runs-dir`; the OS drops it when its holder dies, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from swesrl.errors import RunLocked

HOST, PID, START = "swesrl.owner.host", "swesrl.owner.pid", "swesrl.owner.start"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_labels() -> dict[str, str]:
    return {HOST: socket.gethostname(), PID: str(os.getpid()), START: _start_time(os.getpid()) or ""}


def owner_alive(labels: dict[str, str]) -> bool | None:
    """True or False for a container started on this host; None when it cannot be told (another
    host, or a container from before owners were recorded)."""
    if labels.get(HOST) != socket.gethostname() or not labels.get(PID, "").isdigit():
        return None
    return _start_time(int(labels[PID])) == labels.get(START)


_held: dict[str, int] = {}  # run id -> nesting depth in this process (eval run holds it around eval patches)
_held_lock = threading.Lock()


def lock_dir() -> Path:
    d = Path(tempfile.gettempdir()) / "swesrl-run-locks"
    d.mkdir(mode=0o1777, exist_ok=True)
    return d


@contextlib.contextmanager
def run_lock(run_id: str) -> Iterator[None]:
    """Hold `run_id` for this process; a second process asking for it gets RunLocked at once."""
    with _held_lock:
        if _held.get(run_id):
            _held[run_id] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_lock:
                _held[run_id] -= 1
        return
    path = lock_dir() / (re.sub(r"[^A-Za-z0-9_.-]", "_", run_id) + ".lock")
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"run id {run_id!r} is in use by another process on this machine; use another --run-id") from None
        with _held_lock:
            _held[run_id] = 1
        try:
            yield
        finally:
            with _held_lock:
                _held.pop(run_id, None)
