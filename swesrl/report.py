"""One HTML page (and a Markdown twin) for a run folder: training curves, resolve rates, every instance.

It reads only artifacts on disk (training `metrics.jsonl`, evaluation `report.json` and per-instance
results, agent trajectories), so it works on any run folder, whichever commands produced it.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swesrl.trajectories import Trajectory, TrajectoryError, render_xml
from swesrl.trajectories.readers import read_trajectories
from swesrl.util import safe_name

# (metric, title, which runs): a GRPO loss and an SFT cross-entropy are different quantities, so
# they get their own plots.
CURVES = (
    ("reward_mean", "mean reward (± std)", "all"),
    ("groups_kept_frac", "share of groups kept by dynamic sampling", "all"),
    ("format_error_rate", "format-error rate", "all"),
    ("completion_length", "completion length (tokens)", "all"),
    ("loss", "GRPO loss (SRL, RLVR)", "grpo"),
    ("loss", "cross-entropy (SFT)", "sft"),
)


def _is_grpo(run: TrainingRun) -> bool:
    return any("reward_mean" in row or "reward" in row for row in run.rows)


def _no_kept_group(run: TrainingRun) -> list[int]:
    """Steps where dynamic sampling kept no group: the policy got no gradient from the reward."""
    return [row["step"] for row in run.rows if row.get("groups_kept_frac") == 0]


@dataclass
class TrainingRun:
    name: str
    path: Path
    rows: list[dict[str, Any]]


@dataclass
class EvalRun:
    name: str
    path: Path
    summary: dict[str, Any]
    instances: list[dict[str, Any]] = field(default_factory=list)

    @property
    def resolve_rate(self) -> float:
        total = self.summary.get("total_instances") or len(self.instances) or 1
        return self.summary.get("resolved_instances", 0) / total

    @property
    def protocol(self) -> tuple[str, str]:
        """(model, protocol: agent, oracle or pipeline) from the run's trajectories."""
        for inst in self.instances:
            traj = inst.get("_trajectory")
            if traj is not None:
                return str(traj.metadata.get("model") or self.name), str(traj.metadata.get("mode") or "agent")
        return self.name, "-"

    def localization(self) -> tuple[int, int] | None:
        """(instances whose gold files were all localized, instances scored); None when none was."""
        scored = [t.metadata["localization"] for i in self.instances if (t := i.get("_trajectory")) is not None
                  and "hit" in (t.metadata.get("localization") or {})]
        return (sum(bool(s["hit"]) for s in scored), len(scored)) if scored else None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a crash: the rest of the curve still counts
    return rows


def find_training_runs(root: Path) -> list[TrainingRun]:
    runs = []
    for path in sorted(root.rglob("metrics.jsonl")):
        rows = [r for r in _read_jsonl(path) if "step" in r]
        if rows:
            runs.append(TrainingRun(str(path.parent.relative_to(root)) or root.name, path.parent, rows))
    return runs


def _trajectory(run_dir: Path, instance_id: str) -> Trajectory | None:
    """The instance's saved agent run, read with the project's own readers (None if absent or unreadable)."""
    for candidate in (run_dir / "trajectories").glob(f"{instance_id}.*"):
        try:
            return next(read_trajectories(candidate), None)
        except (TrajectoryError, ValueError):
            return None
    return None


HELDOUT_FILE = "heldout_eval.json"  # what `swesrl train evaluate -o` is given in the quickstart


def find_heldout_evals(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Held-out step evaluations (`swesrl train evaluate` output named heldout_eval.json)."""
    found = []
    for path in sorted(root.rglob(HELDOUT_FILE)):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, OSError):
            continue
        if isinstance(data, dict) and "models" in data and "baselines" in data:
            found.append((path, data))
    return found


def _heldout_section(root: Path, path: Path, result: dict[str, Any]) -> tuple[list[str], list[str]]:
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


def _action_kinds(traj: Trajectory | None) -> str:
    if traj is None:
        return "-"
    return " → ".join(s.action.kind if s.action else "format error" for s in traj.steps) or "-"


def find_eval_runs(root: Path) -> list[EvalRun]:
    """Every folder holding a SWE-bench style summary (`report.json` with resolved_ids)."""
    runs = []
    for path in sorted(root.rglob("report.json")):
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, OSError):
            continue
        if not isinstance(summary, dict) or "resolved_ids" not in summary:
            continue
        run_dir = path.parent
        instances = []
        for inst_report in sorted(run_dir.glob("*/result.json")):
            try:
                data = json.loads(inst_report.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, OSError):
                continue
            data.setdefault("instance_id", inst_report.parent.name)
            traj = _trajectory(run_dir, data["instance_id"])
            data["_trajectory"] = traj
            data.setdefault("steps", len(traj.steps) if traj else None)
            instances.append(data)
        name = summary.get("model_name_or_path") or str(run_dir.relative_to(root)) or root.name
        runs.append(EvalRun(str(name), run_dir, summary, instances))
    return runs


# ---------------------------------------------------------------- plots


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(training: list[TrainingRun], evals: list[EvalRun]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[tuple[str, str]] = []
    for key, title, kind in CURVES:
        runs = [r for r in training if kind == "all" or (kind == "grpo") == _is_grpo(r)]
        series = [(r.name, [(row["step"], row[key], row.get("reward_std")) for row in r.rows if row.get(key) is not None]) for r in runs]
        series = [(n, pts) for n, pts in series if pts]
        if not series:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 3.4))
        for name, pts in series:
            steps = [p[0] for p in pts]
            vals = [p[1] for p in pts]
            ax.plot(steps, vals, marker="o", markersize=3, label=name)
            if key == "reward_mean" and all(p[2] is not None for p in pts):
                lo = [v - p[2] for v, p in zip(vals, pts, strict=True)]
                hi = [v + p[2] for v, p in zip(vals, pts, strict=True)]
                ax.fill_between(steps, lo, hi, alpha=0.2)
        ax.set_xlabel("training step")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        out.append((title, _png(fig)))
        plt.close(fig)
    if evals:
        fig, ax = plt.subplots(figsize=(6.4, 0.6 + 0.5 * len(evals)))
        names = [e.name for e in evals]
        rates = [100 * e.resolve_rate for e in evals]
        bars = ax.barh(names, rates, color="#3b7dd8")
        ax.bar_label(bars, labels=[f"{r:.0f}%" for r in rates], padding=3)
        ax.set_xlim(0, 110)
        ax.set_xlabel("resolved (%)")
        ax.set_title("resolve rate per model / method")
        out.append(("resolve rate per model / method", _png(fig)))
        plt.close(fig)
    return out


# ---------------------------------------------------------------- pages

_CSS = """body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1,h2{font-weight:600}table{border-collapse:collapse;width:100%;margin:1em 0}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}th{background:#f4f4f4}
.resolved{color:#157f3b;font-weight:600}.unresolved,.patch_failed,.empty_patch{color:#b3261e}.error{color:#8a5a00}
figure{display:inline-block;margin:0.5em}img{max-width:520px}pre{background:#f6f8fa;padding:8px;overflow-x:auto;white-space:pre-wrap}
.step{border-left:3px solid #3b7dd8;padding-left:10px;margin:1em 0}.thought{color:#555;font-style:italic}"""


def _page(title: str, body: str) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>"


def _stages_html(meta: dict[str, Any]) -> list[str]:
    """A pipeline run's stages (prompt and answers each), its localization score and its reranking."""
    parts = []
    loc = meta.get("localization")
    if loc:
        score = f" — gold files {', '.join(loc['gold_files'])}: {'hit' if loc['hit'] else 'MISS'}" if "hit" in loc else ""
        parts.append(f"<p><b>localized</b>: {html.escape(', '.join(loc['files']) or 'nothing')}{html.escape(score)}</p>")
    for stage in meta.get("stages") or []:
        prompt = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in stage.get("messages") or [])
        parts.append(f"<div class='step'><b>stage: {html.escape(stage['stage'])}</b><details><summary>prompt</summary>"
                     f"<pre>{html.escape(prompt[:50000])}</pre></details>")
        for i, answer in enumerate(stage.get("answers") or []):
            parts.append(f"<p>answer {i}</p><pre>{html.escape(answer)}</pre>")
        parts.append("</div>")
    if meta.get("rerank"):
        parts.append(f"<p><b>rerank</b>: {html.escape(str(meta['rerank'].get('note', '')))}</p>")
    return parts


def _trajectory_page(traj: Trajectory) -> str:
    parts = [f"<h1>{html.escape(str(traj.instance_id or traj.id))}</h1>",
             f"<h2>Issue</h2><pre>{html.escape(traj.problem_statement)}</pre>"]
    meta = traj.metadata
    if meta.get("exit_status"):
        parts.insert(1, f"<p><b>{html.escape(str(meta['exit_status']))}</b> after {len(traj.steps)} steps"
                        f"{html.escape(': ' + str(meta['exit_message'])) if meta.get('exit_message') else ''}</p>")
    parts += _stages_html(meta)
    for i, step in enumerate(traj.steps):
        name = step.action.kind if step.action else "format error"
        shown = render_xml(step.action) if step.action else f"(no action: {step.action_error})"
        raw = (step.raw or {}).get("answer") if isinstance(step.raw, dict) else None
        answer = (f"<details open><summary>the model's answer, as written</summary><pre>{html.escape(str(raw))}</pre></details>"
                  if step.action is None and raw else "")
        parts.append(
            f"<div class='step'><b>step {i}: {html.escape(name)}</b>"
            f"<p class='thought'>{html.escape(step.thought)}</p>"
            f"<pre>{html.escape(shown)}</pre>{answer}<details><summary>observation</summary>"
            f"<pre>{html.escape(step.observation[:20000])}</pre></details></div>"
        )
    if traj.final_patch:
        parts.append(f"<h2>Patch</h2><pre>{html.escape(traj.final_patch)}</pre>")
    return _page(f"trajectory {traj.instance_id}", "".join(parts))


PROTOCOLS = ("oracle", "pipeline", "agent")  # the paper's two columns, then the multi-turn agent


def _protocols_table(evals: list[EvalRun]) -> tuple[str, list[str]] | None:
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


def _page_name(root: Path, run_dir: Path) -> str:
    """A run's page prefix from its whole path under the report root: two runs with the same folder
    name in different places get different pages."""
    rel = run_dir.relative_to(root) if run_dir != root else Path(root.name)
    return safe_name("__".join(rel.parts))


def _matrix(evals: list[EvalRun]) -> tuple[str, list[str]] | None:
    """Every instance (rows) by every evaluation run (columns): the status each run got."""
    if len(evals) < 2:
        return None
    status = [{str(i["instance_id"]): str(i.get("status", "resolved" if i.get("resolved") else "unresolved")) for i in e.instances} for e in evals]
    ids = sorted(set().union(*status))
    names = [e.name for e in evals]
    rows = "".join("<tr><td>" + html.escape(iid) + "</td>" + "".join(
        f"<td class='{html.escape(st.get(iid, ''))}'>{html.escape(st.get(iid, '-'))}</td>" for st in status) + "</tr>" for iid in ids)
    table = "<table><tr><th>instance</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>" + rows + "</table>"
    md = ["| instance | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    md += [f"| {iid} | " + " | ".join(st.get(iid, "-") for st in status) + " |" for iid in ids]
    return table, md


def write_report(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write report.html and report.md (and one page per trajectory) into ``out_dir``; return the HTML path."""
    root = Path(run_dir)
    out = Path(out_dir) if out_dir else root / "report"
    out.mkdir(parents=True, exist_ok=True)
    training, evals = find_training_runs(root), find_eval_runs(root)
    plots = _plots(training, evals)

    md = [f"# swesrl report: {root.name}", ""]
    body = [f"<h1>swesrl report: {html.escape(root.name)}</h1>"]
    if training:
        body.append("<h2>Training</h2><table><tr><th>run</th><th>steps</th><th>first reward</th><th>last reward</th>"
                    "<th>steps with no kept group</th></tr>")
        md += ["## Training", "", "| run | steps | first reward | last reward | steps with no kept group |", "|---|---|---|---|---|"]
        for r in training:
            rewards = [row["reward_mean"] for row in r.rows if row.get("reward_mean") is not None]
            first = f"{rewards[0]:.3f}" if rewards else "-"
            last = f"{rewards[-1]:.3f}" if rewards else "-"
            empty = _no_kept_group(r)
            flagged = ", ".join(map(str, empty[:20])) + (f" (+{len(empty) - 20})" if len(empty) > 20 else "") if empty else "-"
            body.append(f"<tr><td>{html.escape(r.name)}</td><td>{r.rows[-1]['step']}</td><td>{first}</td><td>{last}</td>"
                        f"<td class='{'error' if empty else ''}'>{flagged}</td></tr>")
            md.append(f"| {r.name} | {r.rows[-1]['step']} | {first} | {last} | {flagged} |")
        body.append("</table>")
        md.append("")
    for path, result in find_heldout_evals(root):
        b, m = _heldout_section(root, path, result)
        body += b
        md += m
    if plots:
        body.append("<h2>Plots</h2>")
        for title, b64 in plots:
            body.append(f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{b64}'></figure>")
    side = _protocols_table(evals)
    if side:
        body.append("<h2>Protocols side by side</h2>" + side[0])
        md += ["## Protocols side by side", "", *side[1], ""]
    for e in evals:
        total = e.summary.get("total_instances", len(e.instances))
        head = f"{e.name}: {e.summary.get('resolved_instances', 0)}/{total} resolved ({100 * e.resolve_rate:.0f}%)"
        loc = e.localization()
        if loc:
            head += f"; gold files localized in {loc[0]}/{loc[1]}"
        loc_th, loc_md = ("<th>localized</th>", " localized |") if loc else ("", "")
        body.append(f"<h2>Evaluation — {html.escape(head)}</h2><table><tr><th>instance</th><th>status</th><th>reason</th>{loc_th}"
                    "<th>agent exit</th><th>steps</th><th>agent time (s)</th><th>eval time (s)</th><th>patch (lines)</th><th>actions</th><th>trajectory</th></tr>")
        md += [f"## Evaluation — {head}", "", f"| instance | status | reason |{loc_md} agent exit | steps | agent time (s) | eval time (s) | patch (lines) | actions |",
               "|---|---|---|---|---|---|---|---|---|" + ("---|" if loc else "")]
        for inst in e.instances:
            iid = str(inst["instance_id"])
            status = str(inst.get("status", "resolved" if inst.get("resolved") else "unresolved"))
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
                page.write_text(_trajectory_page(inst["_trajectory"]), encoding="utf-8")
                link = f"<a href='trajectories/{page.name}'>view</a>"
            steps = inst.get("steps") if inst.get("steps") is not None else "-"
            hit = ((inst.get("_trajectory") and inst["_trajectory"].metadata.get("localization")) or {}).get("hit")
            localized = "-" if hit is None else "yes" if hit else "miss"
            loc_td, loc_cell = (f"<td>{localized}</td>", f" {localized} |") if loc else ("", "")
            actions = _action_kinds(inst.get("_trajectory"))
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
    matrix = _matrix(evals)
    if matrix:
        body.append("<h2>Instances × runs</h2>" + matrix[0])
        md += ["## Instances × runs", "", *matrix[1], ""]
    if not training and not evals and not find_heldout_evals(root):
        body.append("<p>No training metrics (metrics.jsonl) or evaluation reports (report.json) found under this folder.</p>")
        md.append("No training metrics or evaluation reports found under this folder.")
    html_path = out / "report.html"
    html_path.write_text(_page(f"swesrl report: {root.name}", "".join(body)), encoding="utf-8")
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return html_path
