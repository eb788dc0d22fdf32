"""What every image layer's build shares: the error it raises, host commands that raise it, and
the content keys that tag images."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
from pathlib import Path

from swesrl.errors import SwesrlError


class ImageBuildError(SwesrlError, RuntimeError):
    """A layer failed to build; the message names the layer and ends with the build log's tail."""


def spec_key(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def run_host(cmd: list[str], what: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command on the host; raise ImageBuildError with the command and its output's tail."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-30:]
        raise ImageBuildError(f"{what} failed (exit {proc.returncode}): {shlex.join(cmd)}\n" + "\n".join(tail))
    return proc.stdout
