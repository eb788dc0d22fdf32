"""Library messages go through `logging` (the "swesrl" logger tree); the CLI shows them on stderr.

In a multi-process run (torchrun, accelerate) only the main process (RANK 0) shows progress; the
others show warnings and errors only, so eight GPUs do not print every line eight times.
"""

from __future__ import annotations

import logging
import os
import sys


def is_main_process() -> bool:
    return os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) == "0"


class _Stderr(logging.Handler):
    """Writes to the sys.stderr of the moment (test runners and progress bars swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def setup_logging() -> None:
    """Show swesrl's messages on stderr (INFO on the main process, WARNING elsewhere); idempotent."""
    logger = logging.getLogger("swesrl")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        logger.addHandler(_Stderr())
    logger.setLevel(logging.INFO if is_main_process() else logging.WARNING)
