"""swesrl: teach small language models to fix real software bugs with SRL, and prove it by running their patches."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("swesrl")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"
