"""Disk bounds Docker itself does not give: no container starts on a nearly full disk, and a
container whose writable layer passes its bound has its processes killed."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import docker
import docker.errors

from swesrl.errors import DiskFull

from .cleanup import kill_inside

if TYPE_CHECKING:
    from .docker_sandbox import DockerSandbox

_docker_roots: dict[str, str | None] = {}


def check_free_disk(api: docker.APIClient, floor: int) -> None:
    """Refuse to start a container when the disk Docker writes to has less than `floor` bytes free:
    one full disk would otherwise fail every run on the machine, and the failures would look like the
    model's. Skipped when Docker's root is not visible from here (a remote daemon)."""
    if api.base_url not in _docker_roots:
        root = api.info().get("DockerRootDir")
        _docker_roots[api.base_url] = root if root and os.path.isdir(root) else None
    root = _docker_roots[api.base_url]
    if root is None:
        return
    st = os.statvfs(root)
    free = st.f_bavail * st.f_frsize
    if free < floor:
        raise DiskFull(
            f"only {free / 2**30:.1f} GB free on the disk Docker uses ({root}), below the floor of {floor / 2**30:.1f} GB: "
            "no container started (free space: `swesrl sandbox prune`, `docker image prune`)"
        )


class _DiskWatch:
    """One host thread for every sandbox: reads each container's writable-layer size (docker's SizeRw)
    and kills the processes inside when it passed its `disk_bytes` bound and is still growing. overlay2
    without project quotas cannot cap a layer (`--storage-opt size` fails), so the bound is enforced
    after the fact, and overshot by what a container writes between a read and the kill. A container
    is read again before it could fill its headroom at `fast_write` (or at the rate it was seen
    writing, when faster): an idle one every `interval`, one near its bound every `min_delay`."""

    interval = 1.0
    min_delay = 0.05
    fast_write = 2e9  # bytes/s: zeros into the page cache (1.4 GB/s measured on the 2-core machines)

    def __init__(self) -> None:
        self.boxes: dict[str, _Watched] = {}  # container id -> what the last read saw
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.woken = threading.Event()  # a new container is read at once, not after the loop's sleep

    def add(self, box: DockerSandbox) -> None:
        with self.lock:
            self.boxes[box._cid] = _Watched(box, 0, time.monotonic(), 0.0)
            self.woken.set()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.loop, name="swesrl-disk-watch", daemon=True)
                self.thread.start()

    def delay(self, size: int, rate: float, bound: int) -> float:
        """Seconds until the next read: half the time the headroom lasts at the faster of `fast_write`
        and the rate seen, within [min_delay, interval]. A writer halves its headroom between reads
        until reads are `min_delay` apart: it passes its bound by what it writes in about that time
        (and the read and the kill). An idle container with the default 4 GB bound is read once a second."""
        lasts = max(bound - size, 0) / max(rate, self.fast_write)
        return min(max(lasts / 2, self.min_delay), self.interval)

    def loop(self) -> None:
        api = docker.from_env(timeout=60).api
        while True:
            t = time.monotonic()
            self.woken.clear()
            with self.lock:
                due = [(cid, w) for cid, w in self.boxes.items() if w.due <= t]
            for cid, w in due:
                box = w.box
                if box.container_id != cid:  # closed
                    with self.lock:
                        self.boxes.pop(cid, None)
                    continue
                try:
                    size = api._result(api._get(api._url("/containers/{0}/json", cid), params={"size": 1}), True).get("SizeRw") or 0
                except docker.errors.APIError:
                    continue
                now = time.monotonic()
                bound = box.limits.disk_bytes or 0
                if size > bound and size > w.size:
                    # the note first: the killed command's reader may finish before the kill call returns
                    box._disk_note = (f"\n[sandbox: command killed: the container's files grew to {size} bytes, past its "
                                      f"disk bound of {bound} bytes; delete files to go on]\n")
                    if not kill_inside(api, cid):
                        box._disk_note = ""
                rate = (size - w.size) / max(now - w.seen, 1e-3)
                with self.lock:
                    if cid in self.boxes:
                        self.boxes[cid] = _Watched(box, size, now, now + self.delay(size, rate, bound))
            with self.lock:
                first = min((w.due for w in self.boxes.values()), default=t + self.interval)
            # reads cost the daemon a walk of each layer: at most a third of the time goes to them
            self.woken.wait(max(first - time.monotonic(), 2 * (time.monotonic() - t), self.min_delay))


@dataclass(frozen=True)
class _Watched:
    box: DockerSandbox
    size: int  # SizeRw at the last read
    seen: float  # monotonic time of that read
    due: float  # when to read it again


disk_watch = _DiskWatch()
