"""The CLI's two consoles: results on stdout, progress and errors on stderr.

Soft wrap: lines stay whole whatever the terminal width, so logs and pipes keep paths and reasons
greppable (the terminal wraps what it shows).
"""

from __future__ import annotations

from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
