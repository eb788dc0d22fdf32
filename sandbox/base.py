"""The Sandbox seam: where every agent action and every test command runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ExecResult:
    output: str  # stdout and stderr interleaved, capped (head and tail kept) with a visible marker
    exit_code: int
    timed_out: bool = False
    duration: float = 0.0


@runtime_checkable
class Sandbox(Protocol):
    def exec(self, cmd: str, timeout: float, workdir: str | None = None, env: dict[str, str] | None = None) -> ExecResult: ...

    def read_file(self, path: str) -> str: ...

    def write_file(self, path: str, content: str) -> None: ...

    def diff(self) -> str:
        """`git diff` of the repository against its base commit, ending in a newline, ready for `git apply`."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Sandbox: ...

    def __exit__(self, *exc: object) -> None: ...
