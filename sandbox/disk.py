"""Disk bounds Docker itself does not give: no container starts on a nearly full disk, and a
container whose writable layer passes its bound has its processes killed."""

from __future__ import annotations

import os
import threading
import time
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
    after the fact: it can be overshot by what a container writes between two reads (about a second)."""

    interval = 1.0

    def __init__(self) -> None:
        self.boxes: dict[str, tuple[DockerSandbox, int]] = {}  # container id -> (sandbox, last size seen)
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, box: DockerSandbox) -> None:
        with self.lock:
            self.boxes[box._cid] = (box, 0)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.loop, name="swesrl-disk-watch", daemon=True)
                self.thread.start()

    def loop(self) -> None:
        api = docker.from_env(timeout=60).api
        while True:
            t = time.monotonic()
            with self.lock:
                items = list(self.boxes.items())
            for cid, (box, last) in items:
                if box.container_id != cid:  # closed
                    with self.lock:
                        self.boxes.pop(cid, None)
                    continue
                try:
                    size = api._result(api._get(api._url("/containers/{0}/json", cid), params={"size": 1}), True).get("SizeRw") or 0
                except docker.errors.APIError:
                    continue
                bound = box.limits.disk_bytes or 0
                if size > bound and size > last:
                    # the note first: the killed command's reader may finish before the kill call returns
                    box._disk_note = (f"\n[sandbox: command killed: the container's files grew to {size} bytes, past its "
                                      f"disk bound of {bound} bytes; delete files to go on]\n")
                    if not kill_inside(api, cid):
                        box._disk_note = ""
                with self.lock:
                    if cid in self.boxes:
                        self.boxes[cid] = (box, size)
            time.sleep(max(self.interval, 2 * (time.monotonic() - t)))


disk_watch = _DiskWatch()
