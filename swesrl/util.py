"""Small helpers every stage may import: atomic writes, safe file names, middle truncation, terminal-safe text."""

from __future__ import annotations

import os
import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def write_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the whole new one, never half (tmp file, fsync, rename). Interrupted
    (Ctrl-C, a cancelled Ray task gets KeyboardInterrupt), it leaves no tmp file behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def safe_name(text: str) -> str:
    """A file name from an id: characters outside [A-Za-z0-9._-] become '_', leading dots go
    (no hidden files, no '..'); one character per character, so distinct ids rarely collide."""
    return _UNSAFE.sub("_", text).lstrip(".")


def truncate_middle(text: str, max_chars: int) -> str:
    """Keep the head and the tail; the marker says how much was cut, never silently."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    head = max_chars * 2 // 3
    tail = max_chars - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut} characters truncated ...]\n{text[len(text) - tail:]}"


# C0 controls but tab and newline, DEL, and C1 controls: a terminal would act on them (move the cursor,
# set the title, re-colour, or with some terminals worse).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Text from a sandbox or a model as it can be printed: each control character shown as its escape
    (`\\x1b`), so command output cannot drive the terminal. Stored data keeps the raw characters."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
