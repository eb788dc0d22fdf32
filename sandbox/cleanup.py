"""Every container removed on every path: the process's open sandboxes are closed at exit, and
SIGTERM/SIGHUP end the process through the same `finally` blocks as Ctrl-C; killing every process
inside a container (after a command, or when its disk bound is passed)."""

from __future__ import annotations

import atexit
import signal
import threading
import time
from typing import Protocol

import docker
import docker.errors


class _Closable(Protocol):
    def close(self) -> None: ...


_live: dict[str, _Closable] = {}  # container id -> sandbox, closed at interpreter exit if still open
_live_lock = threading.Lock()
_exiting = threading.Event()  # set at exit: a worker thread still starting a container removes it at once


def track(container_id: str, box: _Closable) -> None:
    """Close `box` at exit unless it is untracked first; refuses once the process is exiting."""
    with _live_lock:
        _live[container_id] = box
    if _exiting.is_set():
        raise RuntimeError("the process is exiting: no new containers")


def untrack(container_id: str) -> None:
    with _live_lock:
        _live.pop(container_id, None)


@atexit.register
def _close_all() -> None:
    _exiting.set()
    with _live_lock:
        boxes = list(_live.values())
    for box in boxes:
        box.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")


def handle_termination() -> None:
    """SIGTERM and SIGHUP (what `timeout`, schedulers, Ray and a closed terminal send) end the process
    the way Ctrl-C does, through every `finally` and atexit, so its containers are removed. Their
    default action kills the process with no cleanup at all. A handler someone else installed is kept;
    only the main thread can install handlers, so this runs at import and again at each sandbox start."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _interrupt)


handle_termination()


def kill_inside(api: docker.APIClient, cid: str) -> bool:
    """`kill -9 -1` in the container (a shell builtin: minimal images have no kill binary); False if
    it cannot be started (wedged, paused, gone)."""
    for _ in range(5):
        try:
            exec_id = api.exec_create(cid, ["sh", "-c", "kill -9 -1"], workdir="/")["Id"]
            # Detached: an attached start waits on the daemon with no deadline, and the daemon may be
            # blocked writing the killed command's output to us; the caller keeps draining that stream.
            api.exec_start(exec_id, detach=True)
            return True
        except docker.errors.NotFound:
            return False
        except docker.errors.APIError:
            time.sleep(0.5)  # e.g. the pids limit is full for a moment
    return False
