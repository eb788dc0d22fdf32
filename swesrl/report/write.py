"""write_report: one HTML page (and a Markdown twin) for a run folder, from the sections in tables.py."""

from __future__ import annotations

import html
from pathlib import Path

from .pages import page
from .plots import plots
from .runs import find_eval_runs, find_heldout_evals, find_training_runs
from .tables import eval_section, heldout_section, matrix, protocols_table, training_section


def write_report(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write report.html and report.md (and one page per trajectory) into ``out_dir``; return the HTML path."""
    root = Path(run_dir)
    out = Path(out_dir) if out_dir else root / "report"
    out.mkdir(parents=True, exist_ok=True)
    training, evals, heldout = find_training_runs(root), find_eval_runs(root), find_heldout_evals(root)
    pictures = plots(training, evals)

    md = [f"# swesrl report: {root.name}", ""]
    body = [f"<h1>swesrl report: {html.escape(root.name)}</h1>"]
    sections = [training_section(training)] if training else []
    sections += [heldout_section(root, path, result) for path, result in heldout]
    for b, m in sections:
        body += b
        md += m
    if pictures:
        body.append("<h2>Plots</h2>")
        for title, b64 in pictures:
            body.append(f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{b64}'></figure>")
    side = protocols_table(evals)
    if side:
        body.append("<h2>Protocols side by side</h2>" + side[0])
        md += ["## Protocols side by side", "", *side[1], ""]
    for e in evals:
        b, m = eval_section(root, out, e)
        body += b
        md += m
    grid = matrix(evals)
    if grid:
        body.append("<h2>Instances × runs</h2>" + grid[0])
        md += ["## Instances × runs", "", *grid[1], ""]
    if not training and not evals and not heldout:
        body.append("<p>No training metrics (metrics.jsonl) or evaluation reports (report.json) found under this folder.</p>")
        md.append("No training metrics or evaluation reports found under this folder.")
    html_path = out / "report.html"
    html_path.write_text(page(f"swesrl report: {root.name}", "".join(body)), encoding="utf-8")
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return html_path
