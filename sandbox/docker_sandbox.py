"""The Docker Sandbox: one long-lived, offline, resource-limited container per task.

Why it is built this way (measured on Docker 20.10, cgroup v1; BENCHMARKS.md "Sandbox"): neither `docker exec` nor the SDK
has a timeout, and killing the client leaves the command running; `timeout` inside is not enough
because forked or `setsid` children outlive it. So each command runs as `timeout -s KILL N`, the host
reads its output against its own deadline, and after any timeout `kill -9 -1` runs inside (PID 1, a
tiny reaper, survives it and reaps the orphans). If even that is wedged, the container is restarted:
files survive, processes do not.

Beside it: exec_stream.py reads the exec stream, cleanup.py removes containers on every path,
disk.py enforces disk bounds, prune.py removes what dead runs left.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
import uuid
from dataclasses import dataclass

import docker
import docker.errors
from docker.types import LogConfig, Ulimit

from swesrl.errors import SandboxClosed

from . import ownership
from .base import READ_LIMIT, ExecResult, FileTooLargeError, PatchResult, apply_patch
from .cleanup import handle_termination, kill_inside, track, untrack
from .disk import check_free_disk, disk_watch
from .exec_stream import CappedOutput, read_frame
from .images import docker_client
from .prune import LABEL, reap_dead_owners_once

# PID 1: dash's `wait` reaps any child, so orphans never pile up as zombies; PID 1 survives `kill -9 -1`
# (the kernel drops SIGKILL sent to a namespace's init from inside) and ignores the catchable signals, so
# code under test cannot stop the container; swesrl stops it from outside (SIGKILL, `docker rm -f`).
# It exits (ending the container) after Limits.lifetime seconds: a container whose owner was killed
# with SIGKILL, so that no cleanup ran, still goes away on its own. `clock` retries a `date` that fails
# (a fork bomb holds every pid when `kill -9 -1` ends PID 1's child): an empty time once ended PID 1.
_INIT = ("trap '' TERM INT HUP; clock() { now=; until [ \"$now\" -ge 0 ] 2>/dev/null; do now=$(date +%s); done; }; "
         "clock; end=$((now + $1)); while [ $now -lt $end ]; do sleep $((end - now)) & wait $!; clock; done")
_IN_WORKDIR = 'exec 2>&1\ncd -- "$1" 2>/dev/null || echo "[sandbox: the working directory $1 does not exist; running in /]"\nshift\n'
_TIMEOUT_NOTICE = re.compile(r"timeout: sending signal [^\n]*\n?")
# Wraps exec'd commands: after the command, kill every process but PID 1 and this shell.
_REAP_AFTER = '"$@"; rc=$?; kill -9 -1 2>/dev/null; kill -9 -1 2>/dev/null; exit $rc'
_SOFT_GRACE = 2.0  # after N + this, the in-container timeout has failed to end the output: kill all
_KILL_GRACE = 20.0  # after a kill, this long for the stream to end; then nothing inside answers: restart


@dataclass(frozen=True)
class Limits:
    memory: str = "2g"
    cpus: float = 1.0
    pids: int = 512
    output_bytes: int = 1_000_000  # per command; head and tail are kept around a marker
    stream_bytes: int = 256_000_000  # a command printing more than this is killed (read, not kept, up to then)
    file_size: int = 1 << 30  # RLIMIT_FSIZE for every process: one runaway file cannot fill the disk
    tmp_size: str = "512m"  # /tmp is a tmpfs of this size (it counts against `memory`)
    disk_bytes: int | None = 4 << 30  # the writable layer: past it, growth kills the command (overlay2 has no quota)
    min_free_disk: int = 2 << 30  # no container starts while Docker's disk has less free than this
    log_bytes: str = "1m"  # the container's own log (output of PID 1): swesrl reads command output itself
    lifetime: float = 6 * 3600  # seconds; then the container stops by itself, whatever its owner does


@dataclass(frozen=True)
class _Raw:
    stdout: bytes
    stderr: str
    exit_code: int
    timed_out: bool
    duration: float


def _name_part(s: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]+", "-", s)[:60].strip("-.") or "x"


class DockerSandbox:
    """A Sandbox in a fresh container of `image`; use it as a context manager so it is always removed.

    One command at a time: each command ends by killing every process it left (`kill -9 -1`), so
    background servers do not survive into the next command, and neither do concurrent commands.
    """

    def __init__(
        self,
        image: str,
        *,
        run_id: str = "adhoc",
        instance_id: str = "",
        limits: Limits = Limits(),  # noqa: B008 (frozen dataclass)
        network: str = "none",  # Docker network mode: "none", or e.g. "bridge" where tests need the internet
        workdir: str = "/testbed",
        start_timeout: float = 60,
    ):
        self.image = image
        self.limits = limits
        self.workdir = workdir
        self.container_id: str | None = None
        self.restarts = 0
        handle_termination()
        reap_dead_owners_once()
        # the daemon's API version from the thread's checked client: a new client would query it again
        self._client = docker.from_env(timeout=start_timeout, version=docker_client().api.api_version)
        self._api = self._client.api
        self._disk_note = ""  # set by the disk watch when it killed this container's processes
        try:
            check_free_disk(self._api, limits.min_free_disk)
        except BaseException:
            self._client.close()
            raise
        name = f"swesrl-{_name_part(run_id)}-{_name_part(instance_id)}-{uuid.uuid4().hex[:8]}"
        try:
            container = self._client.containers.create(
                image,
                ["sh", "-c", _INIT, "swesrl-init", str(int(limits.lifetime))],
                name=name,
                labels={LABEL: "1", "swesrl.run_id": run_id, "swesrl.instance_id": instance_id, **ownership.owner_labels()},
                network_mode=network,
                mem_limit=limits.memory,
                memswap_limit=limits.memory,  # no swap: a hog dies instead of thrashing the host
                nano_cpus=int(limits.cpus * 1e9),
                pids_limit=limits.pids,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                tmpfs={"/tmp": f"size={limits.tmp_size}"},
                ulimits=[Ulimit(name="fsize", soft=limits.file_size, hard=limits.file_size)],
                working_dir=workdir,
                entrypoint=[],
                log_config=LogConfig(type=LogConfig.types.JSON, config={"max-size": limits.log_bytes, "max-file": "1"}),
            )
            self.container_id = container.id
            track(container.id, self)
            container.start()
            if limits.disk_bytes is not None:
                disk_watch.add(self)
        except docker.errors.ImageNotFound as e:
            self._client.close()
            raise docker.errors.ImageNotFound(f"image {image} not found locally (swesrl never pulls: build it first)") from e
        except BaseException:
            untrack(self.container_id or "")
            self.container_id = None
            self._remove_by_name(name)  # a KeyboardInterrupt mid-create must not leak the container
            self._client.close()
            raise

    # -- the Sandbox protocol ---------------------------------------------------------------------

    def exec(
        self, cmd: str, timeout: float, workdir: str | None = None, env: dict[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> ExecResult:
        """Run `cmd` with bash (not a login shell: the image's PATH, e.g. its venv, stays first),
        stdout and stderr merged in order, output capped to `limits.output_bytes`; `stdin` is sent first."""
        # Docker starts the exec in `/` and bash changes directory: a workdir the command deleted is then a
        # notice, not an exec that fails before it starts (every later command would fail the same way).
        argv = ["bash", "-c", _IN_WORKDIR + cmd, "bash", workdir or self.workdir]
        r = self._run(argv, timeout, "/", env, self.limits.output_bytes, stdin=stdin, reap=True)
        return ExecResult(r.stdout.decode("utf-8", errors="replace") + r.stderr, r.exit_code, r.timed_out, r.duration)

    def read_file(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8", errors="replace")

    def read_bytes(self, path: str, limit: int = READ_LIMIT) -> bytes:
        """Through `head` (docker's archive API cannot see tmpfs mounts such as /tmp): at most `limit`
        bytes ever reach the host, a larger file raises FileTooLargeError."""
        r = self._run(["head", "-c", str(limit + 1), "--", self._abs(path)], 120, "/", None, None)
        if r.exit_code != 0:
            if "No such file" in r.stderr:
                raise FileNotFoundError(f"{path}: no such file in the sandbox")
            if "Is a directory" in r.stderr:
                raise IsADirectoryError(f"{path}: is a directory in the sandbox")
            raise OSError(f"reading {path} in the sandbox failed (exit {r.exit_code}): {r.stderr.strip()}")
        if len(r.stdout) > limit:
            raise FileTooLargeError(path, limit)
        return r.stdout

    def write_file(self, path: str, content: str | bytes) -> None:
        """Write through `cat` on stdin: any size or bytes, parent folders created, and an existing
        file keeps its mode (an edited script stays executable, so the diff shows no mode change)."""
        data = content.encode() if isinstance(content, str) else content
        path = self._abs(path)
        script = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"'
        r = self._run(["sh", "-c", script, "sh", path], 120, "/", None, 10_000, stdin=data)
        if r.exit_code != 0:
            raise OSError(f"writing {path} in the sandbox failed (exit {r.exit_code}): {r.stderr.strip()}")

    def diff(self, limit: int = 64_000_000) -> str:
        """Every change since the base commit (new files included), ending in a newline; a diff larger
        than `limit` bytes raises (it never reaches the host whole).

        Staged in a scratch index, so the agent's own `git status` is left as it was. The base is the
        tag swesrl-base that instance images carry, or HEAD in images built elsewhere.
        """
        script = (
            "base=$(git rev-parse -q --verify 'refs/tags/swesrl-base^{commit}' || echo HEAD)\n"
            "idx=$(git rev-parse --git-dir)/swesrl-index\n"
            'cp "$(git rev-parse --git-dir)/index" "$idx" 2>/dev/null || rm -f "$idx"\n'
            'GIT_INDEX_FILE="$idx" git add -A >&2 && '
            'GIT_INDEX_FILE="$idx" git -c core.quotepath=off diff --cached --binary --no-color --no-ext-diff "$base"'
            f" | head -c {limit + 1}\n"
            'rc=${PIPESTATUS[0]}; rm -f "$idx"; [ "$rc" = 141 ] && rc=0; exit $rc'  # 141: git cut off by head
        )
        r = self._run(["bash", "-c", script], 300, None, None, None)
        if r.exit_code != 0:
            raise RuntimeError(f"git diff in the sandbox failed (exit {r.exit_code}): {r.stderr[-2000:]}")
        if len(r.stdout) > limit:
            raise RuntimeError(f"git diff in the sandbox is larger than {limit} bytes: not a patch swesrl keeps")
        return r.stdout.decode("utf-8", errors="replace")

    def apply_patch(self, patch: str, timeout: float = 120) -> PatchResult:
        """Apply a unified diff at the workdir (sandbox.base.apply_patch: git apply, else patch --fuzz)."""
        return apply_patch(self, patch, timeout)

    def close(self) -> None:
        """Remove the container (idempotent; safe from atexit and finally blocks)."""
        cid, self.container_id = self.container_id, None
        if cid is None:
            return
        untrack(cid)
        try:
            self._api.remove_container(cid, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            if e.status_code != 409:  # 409: someone else's removal of it is already in progress
                raise
        finally:
            self._client.close()

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "container_id", None):
            with contextlib.suppress(Exception):  # at interpreter exit docker may already be torn down
                self.close()

    # -- internals --------------------------------------------------------------------------------

    @property
    def _cid(self) -> str:
        if self.container_id is None:
            raise SandboxClosed("the sandbox is closed")
        return self.container_id

    def _abs(self, path: str) -> str:
        return path if path.startswith("/") else f"{self.workdir.rstrip('/')}/{path}"

    def _remove_by_name(self, name: str) -> None:
        with contextlib.suppress(docker.errors.APIError):
            self._api.remove_container(name, force=True)

    def _run(
        self,
        argv: list[str],
        timeout: float,
        workdir: str | None,
        env: dict[str, str] | None,
        cap: int | None,
        stdin: bytes | None = None,
        reap: bool = False,
    ) -> _Raw:
        """One command under `timeout -s KILL`, read against a host-side deadline; its stdout, and
        its stderr apart (minus timeout's own notice).

        reap=True ends the command with `kill -9 -1` inside: docker closes an exec's stream 2 s
        after its process exits even when background children still hold it, so without this a
        fork bomb or a forgotten server would outlive the command and starve the next one.
        """
        start = time.monotonic()
        full = ["timeout", "--verbose", "-s", "KILL", f"{max(timeout, 0.1):g}", *argv]
        if reap:
            full = ["sh", "-c", _REAP_AFTER, "swesrl-exec", *full]
        exec_id = self._api.exec_create(
            self._cid, full, stdin=stdin is not None, workdir=workdir or self.workdir, environment=env
        )["Id"]
        sock = self._api.exec_start(exec_id, socket=True)
        raw: socket.socket = getattr(sock, "_sock", sock)
        out, err = CappedOutput(cap), CappedOutput(10_000)
        timed_out = killed = restarted = False
        note = ""
        deadline = start + timeout + _SOFT_GRACE
        try:
            if stdin is not None:
                raw.settimeout(max(0.1, deadline - time.monotonic()))
                raw.sendall(stdin)
                raw.shutdown(socket.SHUT_WR)
            while True:
                try:
                    frame = read_frame(raw, deadline)
                except TimeoutError:
                    timed_out = True
                    if killed or not self._kill_all():
                        restarted = True
                        break
                    killed, deadline = True, time.monotonic() + _KILL_GRACE
                    continue
                if frame is None:
                    break
                stream, data = frame
                (out if stream == 1 else err).add(data)
                if cap is not None and out.total > self.limits.stream_bytes and not killed:
                    # Stopped, not timed out: the command ran away. Keep draining (and discarding) until
                    # the kill lands, so the daemon is never left blocked writing to an unread stream.
                    note = f"\n[sandbox: command killed after printing more than {self.limits.stream_bytes} bytes]\n"
                    if not self._kill_all():
                        restarted = True
                        break
                    killed, deadline = True, time.monotonic() + _KILL_GRACE
        finally:
            raw.close()
        disk_note, self._disk_note = self._disk_note, ""
        if disk_note:
            note += disk_note
        errtext = err.bytes().decode("utf-8", errors="replace")
        if _TIMEOUT_NOTICE.search(errtext):
            timed_out = True
            errtext = _TIMEOUT_NOTICE.sub("", errtext)
        try:
            if restarted:
                note = self._restart()
                exit_code = 137
            else:
                code = self._api.exec_inspect(exec_id).get("ExitCode")
                exit_code = 137 if code is None or timed_out else code
                if timed_out and not killed and not reap:
                    self._kill_all()  # setsid'd or background leftovers of the timed-out command
        except (docker.errors.NotFound, SandboxClosed):  # removed (or closed) from another thread
            exit_code, note = 137, note + "\n[sandbox: the container was removed while the command ran]\n"
        if disk_note:
            exit_code = 137
        return _Raw(out.bytes() + note.encode(), errtext, exit_code, timed_out, time.monotonic() - start)

    def _kill_all(self) -> bool:
        """`kill -9 -1` inside (a shell builtin: minimal images have no kill binary). False if wedged."""
        return kill_inside(self._api, self._cid)

    def _restart(self) -> str:
        """Last resort for a wedged container: kill every process, start it again; files survive."""
        self._api.kill(self._cid)
        self._api.start(self._cid)
        self.restarts += 1
        return "\n[sandbox: container restarted after a command could not be stopped; background processes are gone]\n"
