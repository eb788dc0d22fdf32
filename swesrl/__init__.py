"""swesrl: teach small language models to fix real software bugs with SRL, and prove it by running their patches."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """``__version__`` on first use: reading package metadata costs every command ~15 ms at start."""
    if name != "__version__":
        raise AttributeError(f"module 'swesrl' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("swesrl")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+local"
