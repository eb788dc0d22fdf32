"""The runs a report shows, found on disk: training metrics, held-out step evaluations, evaluation runs,
standalone agent runs.

Only artifacts are read (training `metrics.jsonl`, evaluation `report.json` and per-instance results,
agent trajectories), so any run folder works, whichever commands produced it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swesrl.trajectories import Trajectory, TrajectoryError
from swesrl.trajectories.readers import read_trajectories

HELDOUT_FILE = "heldout_eval.json"  # what `swesrl train evaluate -o` is given in the quickstart


@dataclass
class TrainingRun:
    name: str
    path: Path
    rows: list[dict[str, Any]]

    @property
    def is_grpo(self) -> bool:
        return any("reward_mean" in row or "reward" in row for row in self.rows)

    def no_kept_group(self) -> list[int]:
        """Steps where dynamic sampling kept no group: the policy got no gradient from the reward."""
        return [row["step"] for row in self.rows if row.get("groups_kept_frac") == 0]


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


@dataclass
class AgentRun:
    """An `agent run` output: OUT.jsonl (the trajectory, saved after every step) beside OUT.config.yaml."""

    path: Path
    trajectory: Trajectory

    @property
    def patch(self) -> str:
        patch_file = self.path.with_suffix(".patch")  # written when the run ends
        return patch_file.read_text(encoding="utf-8", errors="replace") if patch_file.exists() else self.trajectory.final_patch or ""


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


def _read_json(path: Path) -> Any:
    """A file's JSON, or None when it cannot be read or parsed: the report skips what it cannot show."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return None


def find_heldout_evals(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Held-out step evaluations (`swesrl train evaluate` output named heldout_eval.json)."""
    found = []
    for path in sorted(root.rglob(HELDOUT_FILE)):
        data = _read_json(path)
        if isinstance(data, dict) and "models" in data and "baselines" in data:
            found.append((path, data))
    return found


def find_eval_runs(root: Path) -> list[EvalRun]:
    """Every folder holding a SWE-bench style summary (`report.json` with resolved_ids)."""
    runs = []
    for path in sorted(root.rglob("report.json")):
        summary = _read_json(path)
        if not isinstance(summary, dict) or "resolved_ids" not in summary:
            continue
        run_dir = path.parent
        instances = []
        for inst_report in sorted(run_dir.glob("*/result.json")):
            data = _read_json(inst_report)
            if data is None:
                continue
            data.setdefault("instance_id", inst_report.parent.name)
            traj = _trajectory(run_dir, data["instance_id"])
            data["_trajectory"] = traj
            data.setdefault("steps", len(traj.steps) if traj else None)
            instances.append(data)
        name = summary.get("model_name_or_path") or str(run_dir.relative_to(root)) or root.name
        runs.append(EvalRun(str(name), run_dir, summary, instances))
    return runs


def agent_run_files(root: Path) -> list[Path]:
    """`agent run` trajectories under ``root`` (or ``root`` itself, when it is one)."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.jsonl") if p.with_suffix(".config.yaml").is_file())


def find_agent_runs(root: Path) -> list[AgentRun]:
    runs = []
    for path in agent_run_files(root):
        try:
            traj = next(read_trajectories(path), None)
        except (TrajectoryError, ValueError):
            continue
        if traj is not None:
            runs.append(AgentRun(path, traj))
    return runs
