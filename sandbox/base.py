"""The Sandbox seam: where every agent action and every test command runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

READ_LIMIT = 8_000_000  # bytes: the most a file read brings into the host process (the editor's files)


class FileTooLargeError(OSError):
    """A read of a file bigger than the limit: nothing of it was kept in the host."""

    def __init__(self, path: str, limit: int):
        super().__init__(f"{path} is larger than {limit} bytes, the most the editor reads")
        self.path, self.limit = path, limit


@dataclass(frozen=True)
class ExecResult:
    output: str  # stdout and stderr interleaved, capped (head and tail kept) with a visible marker
    exit_code: int
    timed_out: bool = False
    duration: float = 0.0


@runtime_checkable
class Sandbox(Protocol):
    def exec(
        self, cmd: str, timeout: float, workdir: str | None = None, env: dict[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> ExecResult:
        """Run `cmd` with bash; `stdin` (if any) is its standard input, else it reads nothing."""
        ...

    def read_file(self, path: str) -> str:
        """The file's text; FileNotFoundError, IsADirectoryError, or FileTooLargeError past READ_LIMIT."""
        ...

    def write_file(self, path: str, content: str) -> None: ...

    def diff(self) -> str:
        """`git diff` of the repository against its base commit, ending in a newline, ready for `git apply`."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Sandbox: ...

    def __exit__(self, *exc: object) -> None: ...


@dataclass(frozen=True)
class PatchResult(ExecResult):
    """apply_patch's result: exit_code 0 when applied; `method` says which tool managed it."""

    method: Literal["git apply", "patch", ""] = ""


def apply_patch(sandbox: Sandbox, patch: str, timeout: float = 120, workdir: str | None = None) -> PatchResult:
    """Apply a unified diff at the workdir of any sandbox: `git apply`, else the more tolerant
    `patch --fuzz` (tried dry first, so a failed attempt leaves the tree untouched; --forward, because
    --batch alone takes a patch that looks reversed or already applied and applies it in reverse)."""
    if not patch.endswith("\n"):
        patch += "\n"
    sandbox.write_file("/tmp/swesrl.patch", patch)
    attempts: list[tuple[Literal["git apply", "patch"], str]] = [
        ("git apply", "git apply --verbose --whitespace=nowarn /tmp/swesrl.patch"),
        ("patch", "patch --batch --forward --fuzz=5 -p1 --dry-run -i /tmp/swesrl.patch >/dev/null && "
                  "patch --batch --forward --fuzz=5 -p1 -i /tmp/swesrl.patch"),
    ]  # fmt: skip
    outputs = []
    res = None
    for method, cmd in attempts:
        res = sandbox.exec(cmd, timeout, workdir=workdir)
        outputs.append(f"$ {method}\n{res.output}")
        if res.exit_code == 0:
            return PatchResult(res.output, 0, False, res.duration, method=method)
    assert res is not None
    return PatchResult("\n".join(outputs), 1, res.timed_out, res.duration, method="")
