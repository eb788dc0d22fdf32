"""The report's sections as data (a title, paragraphs, a table of cells) that the templates lay out as
HTML and Markdown alike: training runs, held-out steps, protocols side by side, evaluation runs (with
a page per trajectory), standalone agent runs, instances by runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swesrl.trajectories import Trajectory
from swesrl.util import safe_name

from .pages import trajectory_page
from .runs import AgentRun, EvalRun, TrainingRun

PROTOCOLS = ("oracle", "pipeline", "agent")  # the paper's two columns, then the multi-turn agent


@dataclass(frozen=True)
class Cell:
    text: str
    cls: str = ""  # a CSS class: the status colours
    title: str = ""  # shown on hover: the whole reason
    href: str = ""


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)

    def add(self, *cells: Cell | str | int) -> None:
        self.rows.append([c if isinstance(c, Cell) else Cell(str(c)) for c in cells])


@dataclass
class Section:
    title: str
    table: Table | None = None
    intro: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _fmt(value: Any, spec: str = ".1f") -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "-"


def training_section(training: list[TrainingRun]) -> Section:
    table = Table(["run", "steps", "first reward", "last reward", "steps with no kept group"])
    for r in training:
        rewards = [row["reward_mean"] for row in r.rows if row.get("reward_mean") is not None]
        empty = r.no_kept_group()
        flagged = ", ".join(map(str, empty[:20])) + (f" (+{len(empty) - 20})" if len(empty) > 20 else "") if empty else "-"
        table.add(r.name, r.rows[-1]["step"], _fmt(rewards[0] if rewards else None, ".3f"),
                  _fmt(rewards[-1] if rewards else None, ".3f"), Cell(flagged, "flagged" if empty else ""))
    return Section("Training", table)


def heldout_section(root: Path, path: Path, result: dict[str, Any]) -> Section:
    from swesrl.training.evaluation import COLUMNS, of_tasks, table_cells, table_rows

    table = Table(list(COLUMNS))
    for row in table_rows(result):
        table.add(*table_cells(row))
    kinds = ", ".join(f"{k} {v:.0%}" for k, v in result.get("expert_action_kinds", {}).items())
    paired = [f"{p['policy']} less {p['against']}: {p['difference']:+.3f} [{p['ci'][0]:+.2f}, {p['ci'][1]:+.2f}]"
              for p in result.get("paired", [])]
    tasks = of_tasks(result)
    return Section(f"Held-out steps: {result['rows']} steps{tasks} never trained on ({path.relative_to(root)})", table,
                   intro=[f"expert action kinds: {kinds}"],
                   notes=["paired differences in mean reward, 95% interval over the tasks resampled:", *paired] if paired else [])


def protocols_section(evals: list[EvalRun]) -> Section | None:
    """Resolve rates per model (rows) and protocol (columns), as the paper's Table 5; None with no protocol known."""
    cells: dict[str, dict[str, str]] = {}
    for e in evals:
        model, protocol = e.protocol
        if protocol in PROTOCOLS:
            total = e.summary.get("total_instances", len(e.instances))
            cells.setdefault(model, {})[protocol] = f"{e.summary.get('resolved_instances', 0)}/{total} ({100 * e.resolve_rate:.1f}%)"
    if not cells:
        return None
    table = Table(["model", *PROTOCOLS])
    for model, c in sorted(cells.items()):
        table.add(model, *(c.get(p, "-") for p in PROTOCOLS))
    return Section("Protocols side by side", table)


def _status(inst: dict[str, Any]) -> str:
    return str(inst.get("status", "resolved" if inst.get("resolved") else "unresolved"))


def matrix_section(evals: list[EvalRun]) -> Section | None:
    """Every instance (rows) by every evaluation run (columns): the status each run got."""
    if len(evals) < 2:
        return None
    status = [{str(i): "not evaluated" for i in e.summary.get("incomplete_ids", [])}
              | {str(i["instance_id"]): _status(i) for i in e.instances} for e in evals]
    table = Table(["instance", *(e.name for e in evals)])
    for iid in sorted(set().union(*status)):
        table.add(iid, *(Cell(st.get(iid, "-"), st.get(iid, "")) for st in status))
    return Section("Instances × runs", table)


def _action_kinds(traj: Trajectory | None) -> str:
    if traj is None:
        return "-"
    return " → ".join(s.action.kind if s.action else "format error" for s in traj.steps) or "-"


def _page_name(root: Path, path: Path) -> str:
    """A page name from the whole path under the report root: two runs with the same folder name in
    different places get different pages."""
    rel = path.relative_to(root) if path != root else Path(root.name)
    return safe_name("__".join(rel.parts))


def _write_page(out: Path, name: str, traj: Trajectory, source: str) -> str:
    """Write one trajectory's page; returns its link from the report."""
    page = out / "trajectories" / f"{name}.html"
    page.parent.mkdir(exist_ok=True)
    page.write_text(trajectory_page(traj, source), encoding="utf-8")
    return f"trajectories/{page.name}"


def eval_section(root: Path, out: Path, e: EvalRun) -> Section:
    """One evaluation run's table, a row per instance; writes each trajectory's page under ``out``."""
    total = e.summary.get("total_instances", len(e.instances))
    head = f"{e.name}: {e.summary.get('resolved_instances', 0)}/{total} resolved ({100 * e.resolve_rate:.0f}%)"
    loc = e.localization()
    if loc:
        head += f"; gold files localized in {loc[0]}/{loc[1]}"
    table = Table(["instance", "status", "reason", *(["localized"] if loc else []), "agent exit", "steps", "agent time (s)",
                   "eval time (s)", "patch (lines)", "actions", "trajectory"])
    for inst in e.instances:
        iid = str(inst["instance_id"])
        status = _status(inst)
        patch = inst.get("model_patch") or ""
        patch_file = e.path / iid / "model.patch"
        if not patch and patch_file.exists():
            patch = patch_file.read_text(encoding="utf-8", errors="replace")
        traj = inst.get("_trajectory")
        meta = traj.metadata if traj else {}
        reason = str(inst.get("reason") or "")
        link = Cell("view", href=_write_page(out, f"{_page_name(root, e.path)}__{safe_name(iid)}", traj, e.name)) if traj else "-"
        hit = (meta.get("localization") or {}).get("hit")
        localized = ["-" if hit is None else "yes" if hit else "miss"] if loc else []
        table.add(iid, Cell(status, status), Cell(reason.splitlines()[0][:160] if reason else "", title=reason), *localized,
                  str(meta.get("exit_status") or "-"), str(inst["steps"]) if inst.get("steps") is not None else "-",
                  _fmt(meta.get("wall_time")), _fmt(inst.get("duration") or (inst.get("timings") or {}).get("total")),
                  len(patch.splitlines()), _action_kinds(traj), link)
    missing = [str(i) for i in e.summary.get("incomplete_ids", [])]
    notes = [f"No prediction (not evaluated): {', '.join(missing)}"] if missing else []
    notes += [f"Prediction not read: {error}" for error in e.summary.get("prediction_errors", [])]
    return Section(f"Evaluation — {head}", table, notes=notes)


def agent_section(root: Path, out: Path, runs: list[AgentRun]) -> Section:
    """Standalone `agent run` outputs, a row each, linked to their trajectory pages."""
    table = Table(["run", "exit", "steps", "tokens (prompt + completion)", "cost", "time (s)", "patch (lines)", "actions"])
    for r in runs:
        meta, usage = r.trajectory.metadata, r.trajectory.metadata.get("usage") or {}
        status = str(meta.get("exit_status") or "running")
        tokens = f"{usage.get('prompt_tokens', 0)} + {usage.get('completion_tokens', 0)}" if usage else "-"
        cost = usage.get("cost")
        rel = str(r.path.relative_to(root)) if r.path != root else r.path.name
        table.add(Cell(rel, href=_write_page(out, _page_name(root, r.path), r.trajectory, rel)), Cell(status, status),
                  len(r.trajectory.steps), tokens, f"${cost:.4f}" if isinstance(cost, (int, float)) else "-",
                  _fmt(meta.get("wall_time")), len(r.patch.splitlines()), _action_kinds(r.trajectory))
    return Section("Agent runs", table)
