"""The report's sections as (HTML parts, Markdown lines): training runs, held-out steps, protocols side
by side, one evaluation run (with a page per trajectory), instances by runs."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from swesrl.trajectories import Trajectory
from swesrl.util import safe_name

from .pages import trajectory_page
from .runs import EvalRun, TrainingRun

PROTOCOLS = ("oracle", "pipeline", "agent")  # the paper's two columns, then the multi-turn agent

Section = tuple[list[str], list[str]]


def training_section(training: list[TrainingRun]) -> Section:
    body = ["<h2>Training</h2><table><tr><th>run</th><th>steps</th><th>first reward</th><th>last reward</th>"
            "<th>steps with no kept group</th></tr>"]
    md = ["## Training", "", "| run | steps | first reward | last reward | steps with no kept group |", "|---|---|---|---|---|"]
    for r in training:
        rewards = [row["reward_mean"] for row in r.rows if row.get("reward_mean") is not None]
        first = f"{rewards[0]:.3f}" if rewards else "-"
        last = f"{rewards[-1]:.3f}" if rewards else "-"
        empty = r.no_kept_group()
        flagged = ", ".join(map(str, empty[:20])) + (f" (+{len(empty) - 20})" if len(empty) > 20 else "") if empty else "-"
        body.append(f"<tr><td>{html.escape(r.name)}</td><td>{r.rows[-1]['step']}</td><td>{first}</td><td>{last}</td>"
                    f"<td class='{'error' if empty else ''}'>{flagged}</td></tr>")
        md.append(f"| {r.name} | {r.rows[-1]['step']} | {first} | {last} | {flagged} |")
    body.append("</table>")
    md.append("")
    return body, md


def heldout_section(root: Path, path: Path, result: dict[str, Any]) -> Section:
    from swesrl.training.evaluation import COLUMNS, table_cells, table_rows

    title = f"Held-out steps: {result['rows']} steps of runs never trained on ({path.relative_to(root)})"
    kinds = ", ".join(f"{k} {v:.0%}" for k, v in result.get("expert_action_kinds", {}).items())
    body = [f"<h2>{html.escape(title)}</h2><p>expert action kinds: {html.escape(kinds)}</p><table><tr>"
            + "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS) + "</tr>"]
    md = [f"## {title}", "", f"expert action kinds: {kinds}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in table_rows(result):
        cells = table_cells(row)
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        md.append("| " + " | ".join(cells) + " |")
    body.append("</table>")
    return body, md + [""]


def protocols_table(evals: list[EvalRun]) -> tuple[str, list[str]] | None:
    """Resolve rates per model (rows) and protocol (columns), as the paper's Table 5; None with no protocol known."""
    cells: dict[str, dict[str, str]] = {}
    for e in evals:
        model, protocol = e.protocol
        if protocol in PROTOCOLS:
            total = e.summary.get("total_instances", len(e.instances))
            cells.setdefault(model, {})[protocol] = f"{e.summary.get('resolved_instances', 0)}/{total} ({100 * e.resolve_rate:.1f}%)"
    if not cells:
        return None
    rows = [(model, [c.get(p, "-") for p in PROTOCOLS]) for model, c in sorted(cells.items())]
    head = "".join(f"<th>{p}</th>" for p in PROTOCOLS)
    table = f"<table><tr><th>model</th>{head}</tr>" + "".join(
        f"<tr><td>{html.escape(m)}</td>" + "".join(f"<td>{v}</td>" for v in vals) + "</tr>" for m, vals in rows) + "</table>"
    md = [f"| model | {' | '.join(PROTOCOLS)} |", "|---|" + "---|" * len(PROTOCOLS)]
    md += [f"| {m} | {' | '.join(vals)} |" for m, vals in rows]
    return table, md


def _status(inst: dict[str, Any]) -> str:
    return str(inst.get("status", "resolved" if inst.get("resolved") else "unresolved"))


def matrix(evals: list[EvalRun]) -> tuple[str, list[str]] | None:
    """Every instance (rows) by every evaluation run (columns): the status each run got."""
    if len(evals) < 2:
        return None
    status = [{str(i["instance_id"]): _status(i) for i in e.instances} for e in evals]
    ids = sorted(set().union(*status))
    names = [e.name for e in evals]
    rows = "".join("<tr><td>" + html.escape(iid) + "</td>" + "".join(
        f"<td class='{html.escape(st.get(iid, ''))}'>{html.escape(st.get(iid, '-'))}</td>" for st in status) + "</tr>" for iid in ids)
    table = "<table><tr><th>instance</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>" + rows + "</table>"
    md = ["| instance | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    md += [f"| {iid} | " + " | ".join(st.get(iid, "-") for st in status) + " |" for iid in ids]
    return table, md


def _action_kinds(traj: Trajectory | None) -> str:
    if traj is None:
        return "-"
    return " → ".join(s.action.kind if s.action else "format error" for s in traj.steps) or "-"


def _page_name(root: Path, run_dir: Path) -> str:
    """A run's page prefix from its whole path under the report root: two runs with the same folder
    name in different places get different pages."""
    rel = run_dir.relative_to(root) if run_dir != root else Path(root.name)
    return safe_name("__".join(rel.parts))


def eval_section(root: Path, out: Path, e: EvalRun) -> Section:
    """One evaluation run's table, a row per instance; writes each trajectory's page under ``out``."""
    total = e.summary.get("total_instances", len(e.instances))
    head = f"{e.name}: {e.summary.get('resolved_instances', 0)}/{total} resolved ({100 * e.resolve_rate:.0f}%)"
    loc = e.localization()
    if loc:
        head += f"; gold files localized in {loc[0]}/{loc[1]}"
    loc_th, loc_md = ("<th>localized</th>", " localized |") if loc else ("", "")
    body = [f"<h2>Evaluation — {html.escape(head)}</h2><table><tr><th>instance</th><th>status</th><th>reason</th>{loc_th}"
            "<th>agent exit</th><th>steps</th><th>agent time (s)</th><th>eval time (s)</th><th>patch (lines)</th><th>actions</th><th>trajectory</th></tr>"]
    md = [f"## Evaluation — {head}", "", f"| instance | status | reason |{loc_md} agent exit | steps | agent time (s) | eval time (s) | patch (lines) | actions |",
          "|---|---|---|---|---|---|---|---|---|" + ("---|" if loc else "")]
    for inst in e.instances:
        iid = str(inst["instance_id"])
        status = _status(inst)
        seconds = inst.get("duration") or (inst.get("timings") or {}).get("total")
        secs = f"{seconds:.1f}" if isinstance(seconds, (int, float)) else "-"
        patch = inst.get("model_patch") or ""
        patch_file = e.path / iid / "model.patch"
        if not patch and patch_file.exists():
            patch = patch_file.read_text(encoding="utf-8", errors="replace")
        lines = len(patch.splitlines())
        link = "-"
        traj = inst.get("_trajectory")
        meta = traj.metadata if traj else {}
        exit_status = str(meta.get("exit_status") or "-")
        wall = meta.get("wall_time")
        agent_secs = f"{wall:.1f}" if isinstance(wall, (int, float)) else "-"
        reason = str(inst.get("reason") or "")
        reason_cell = reason.splitlines()[0][:160] if reason else ""
        if traj:
            page = out / "trajectories" / f"{_page_name(root, e.path)}__{safe_name(iid)}.html"
            page.parent.mkdir(exist_ok=True)
            page.write_text(trajectory_page(traj), encoding="utf-8")
            link = f"<a href='trajectories/{page.name}'>view</a>"
        steps = inst.get("steps") if inst.get("steps") is not None else "-"
        hit = (meta.get("localization") or {}).get("hit")
        localized = "-" if hit is None else "yes" if hit else "miss"
        loc_td, loc_cell = (f"<td>{localized}</td>", f" {localized} |") if loc else ("", "")
        actions = _action_kinds(traj)
        body.append(f"<tr><td>{html.escape(iid)}</td><td class='{html.escape(status)}'>{html.escape(status)}</td>"
                    f"<td title='{html.escape(reason)}'>{html.escape(reason_cell)}</td>{loc_td}<td>{html.escape(exit_status)}</td><td>{steps}</td>"
                    f"<td>{agent_secs}</td><td>{secs}</td><td>{lines}</td><td>{html.escape(actions)}</td><td>{link}</td></tr>")
        md.append(f"| {iid} | {status} | {reason_cell.replace('|', '/')} |{loc_cell} {exit_status} | {steps} | {agent_secs} | {secs} | {lines} | {actions} |")
    body.append("</table>")
    md.append("")
    missing = [str(i) for i in e.summary.get("incomplete_ids", [])]
    if missing:
        body.append(f"<p>No prediction (not evaluated): {html.escape(', '.join(missing))}</p>")
        md += [f"No prediction (not evaluated): {', '.join(missing)}", ""]
    return body, md
