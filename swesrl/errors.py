"""The error family: operational failures a user can fix, each one line with the fix in it.

Every stage raises these (the architecture lets every stage import this module); the CLI turns a
``SwesrlError`` into its message and exit code, and lets anything else (a bug) show its traceback.
"""

from __future__ import annotations

from pathlib import Path


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


class ModelNotFound(SwesrlError):
    """A model name that is no model folder here and that the Hub did not provide."""


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


def require_model(name: str) -> None:
    """Fail at once, in one line, when ``name`` is a local path but no model folder (a typo in --model),
    rather than after the Hub's retries with its traceback. A Hub name is left to the Hub."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not any((path / f).is_file() for f in ("config.json", "adapter_config.json")):
            raise ModelNotFound(f"{name}: a folder, but no model in it (no config.json or adapter_config.json)")
    elif path.exists():
        raise ModelNotFound(f"{name}: a file, not a model folder")
    elif name.startswith((".", "/", "~")) or name.count("/") > 1 or ("/" in name and Path(name.split("/")[0]).is_dir()):
        raise ModelNotFound(f"{name}: no such model folder")


def model_load_error(name: str, e: OSError) -> ModelNotFound:
    """What transformers' OSError (missing files, Hub unreachable) means, in one line."""
    where = "" if Path(name).expanduser().is_dir() else "no such folder here; as a Hub name: "
    return ModelNotFound(f"cannot load model {name} ({where}{str(e).strip().splitlines()[0]})")
