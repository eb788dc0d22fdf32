"""`swesrl report`: one HTML page (and a Markdown twin) for a run folder or an `agent run` trajectory:
training curves, resolve rates, every instance, every agent run. It reads only artifacts on disk, so it
works on any run folder, whichever commands produced it: runs.py finds the runs, plots.py draws,
tables.py and pages.py shape the sections, the jinja2 templates in templates/ lay them out, write.py
composes."""

from .runs import HELDOUT_FILE
from .write import write_report

__all__ = ["HELDOUT_FILE", "write_report"]
