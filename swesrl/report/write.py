"""write_report: one HTML page (and a Markdown twin) for a run folder or an `agent run` trajectory,
from the sections in tables.py laid out by the templates."""

from __future__ import annotations

from pathlib import Path

from .plots import plots
from .render import render
from .runs import find_agent_runs, find_eval_runs, find_heldout_evals, find_training_runs
from .tables import (
    agent_section,
    eval_section,
    heldout_section,
    matrix_section,
    protocols_section,
    training_section,
)


def default_out(target: Path) -> Path:
    """RUN_DIR/report, or OUT.report/ beside an `agent run` trajectory file."""
    return target.with_suffix(".report") if target.is_file() else target / "report"


def write_report(target: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write report.html and report.md (and one page per trajectory) into ``out_dir``; return the HTML path.

    ``target`` is a run folder, or one `agent run` trajectory file (OUT.jsonl), shown on its own."""
    target = Path(target)
    root = target.parent if target.is_file() else target
    agents = find_agent_runs(target)
    if target.is_file() and not agents:
        raise ValueError(f"{target}: not an `agent run` trajectory (give a run folder, or the OUT.jsonl `agent run` wrote)")
    out = Path(out_dir) if out_dir else default_out(target)
    out.mkdir(parents=True, exist_ok=True)
    if target.is_file():
        training, evals, heldout = [], [], []
    else:
        training, evals, heldout = find_training_runs(root), find_eval_runs(root), find_heldout_evals(root)
    before = [training_section(training)] if training else []
    before += [heldout_section(root, path, result) for path, result in heldout]
    after = [s for s in [protocols_section(evals)] if s]
    after += [eval_section(root, out, e) for e in evals]
    after += [s for s in [matrix_section(evals)] if s]
    if agents:
        after.append(agent_section(root, out, agents))
    context = {"title": f"swesrl report: {target.name}", "before_plots": before, "after_plots": after,
               "plots": [{"title": t, "png": png} for t, png in plots(training, evals)],
               "empty": not (training or evals or heldout or agents)}
    html_path = out / "report.html"
    html_path.write_text(render("report.html", **context), encoding="utf-8")
    (out / "report.md").write_text(render("report.md", **context), encoding="utf-8")
    return html_path
