"""The error family: operational failures a user can fix, each one line with the fix in it.

Every stage raises these (the architecture lets every stage import this module); the CLI turns a
``SwesrlError`` into its message and exit code, and lets anything else (a bug) show its traceback.
"""

from __future__ import annotations


class SwesrlError(Exception):
    """A failure of the setup or the input, not of swesrl: the message says what to do."""

    exit_code = 1


class DockerUnavailable(SwesrlError):
    def __init__(self, cause: object = None):
        why = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        super().__init__(f"no Docker daemon answers{why}; start it with scripts/setup-docker.sh "
                         "(`swesrl doctor` checks the whole setup)")


class DiskFull(SwesrlError):
    """Docker or the run folder ran out of space."""


class RunLocked(SwesrlError):
    """Another process on this machine holds the same run id."""


class SandboxClosed(SwesrlError):
    """A command reached a sandbox that was already closed."""


class MissingExtra(SwesrlError):
    """An optional dependency is not installed; the message names the extra (or the command) to install it."""

    exit_code = 3

    def __init__(self, module: str, purpose: str, extra: str | None = None):
        fix = f"pip install 'swesrl[{extra}]'" if extra else INSTALL.get(module, f"pip install {module}")
        super().__init__(f"{purpose} needs {module}, which is not installed: {fix}")
        self.module, self.extra = module, extra


# What installs a module no extra lists (torch: the CPU or CUDA build is the user's choice).
INSTALL = {
    "torch": "install torch first (pip install torch==2.13.0 for CPU, or your CUDA build; see README)",
    "qwen_agent": "pip install --no-deps qwen-agent",
}


def require(module: str, purpose: str, extra: str | None = None) -> None:
    """Fail before any work starts when ``module`` is missing, naming what installs it."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtra(module, purpose, extra)
