"""A real Sandbox on the host: a temporary git copy of a folder, commands run by subprocess.

For fast tests and the loop benchmark only. It does run what it is told, on this machine, with no
isolation (no container, no network or memory limits): never point a model you do not trust at it.
The agent commands always use the Docker sandbox. Paths are host paths; relative ones are taken
from the copy's root, which is also ``workdir``. Absolute paths are not mapped into the root on
purpose: commands run on the host unconfined, and file reads and writes must name the same files as
commands do (the reranker writes /tmp/x.py and runs `python /tmp/x.py`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from swesrl.util import truncate_middle

from .base import READ_LIMIT, ExecResult, FileTooLargeError

MAX_OUTPUT = 100_000
KILL_GRACE = 1.0  # after a timeout's kill, this long for the output pipe to close


class LocalSandbox:
    def __init__(self, source: str | Path):
        self.root = Path(tempfile.mkdtemp(prefix="swesrl-local-")).resolve()
        self.workdir = str(self.root)
        shutil.copytree(source, self.root, dirs_exist_ok=True, symlinks=True)
        if not (self.root / ".git").exists():
            self._git("init", "-q")
            self._git("add", "-A")
            self._git("-c", "user.name=swesrl", "-c", "user.email=swesrl@localhost", "commit", "-q", "--allow-empty", "-m", "base")
        self.base_commit = self._git("rev-parse", "HEAD").strip()

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True, text=True).stdout

    def _path(self, path: str) -> Path:
        return Path(path) if os.path.isabs(path) else self.root / path

    def exec(self, cmd: str, timeout: float, workdir: str | None = None, env: dict[str, str] | None = None,
             stdin: bytes | None = None) -> ExecResult:
        start = time.perf_counter()
        proc = subprocess.Popen(
            ["bash", "-c", cmd], cwd=workdir or self.workdir, env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(stdin, timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            # The whole session: children started by the command too. Safe from pid reuse because proc is not
            # reaped yet (communicate timed out): its pid, the group's id, stays taken until the wait below.
            # Do not poll() first: that reaps an exited leader and frees the id this call then signals.
            os.killpg(proc.pid, signal.SIGKILL)
            try:
                out, _ = proc.communicate(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired as again:
                # A child that left the session (setsid) still holds the output pipe, out of killpg's reach:
                # keep what came (communicate hands over all it read so far) and stop waiting for its end.
                # The leader itself cannot leave its group (a session leader), so killpg ended it.
                out = again.output or b""
                proc.wait()
                if proc.stdout:
                    proc.stdout.close()
            timed_out = True
        text = truncate_middle(out.decode("utf-8", errors="replace"), MAX_OUTPUT)
        return ExecResult(text, -9 if timed_out else proc.returncode, timed_out, time.perf_counter() - start)

    def read_file(self, path: str) -> str:
        with open(self._path(path), "rb") as f:
            data = f.read(READ_LIMIT + 1)
        if len(data) > READ_LIMIT:
            raise FileTooLargeError(path, READ_LIMIT)
        return data.decode("utf-8", errors="replace")

    def write_file(self, path: str, content: str) -> None:
        p = self._path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content, encoding="utf-8")

    def diff(self) -> str:
        self._git("add", "-A")
        out = self._git("diff", "--cached", "--binary", self.base_commit)
        return out if not out or out.endswith("\n") else out + "\n"

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
