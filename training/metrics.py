"""Training metrics: one JSON line per logging step (``metrics.jsonl``), a rich console line, a PNG curve.

TensorBoard/W&B get TRL's full logs through ``report_to``; ``metrics.jsonl`` keeps the few numbers a
report plots, under stable names, whatever TRL calls them this release.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from transformers import TrainerCallback

METRICS_FILE = "metrics.jsonl"
# our key -> TRL/Trainer log key
LOG_KEYS = {
    "reward_mean": "reward",
    "reward_std": "reward_std",
    "format_error_rate": "format_error_rate",
    "groups_kept_frac": "dynamic_sampling/groups_kept_frac",
    "completion_length": "completions/mean_length",
    "loss": "loss",
    "learning_rate": "learning_rate",
    "mean_token_accuracy": "mean_token_accuracy",
    "unscored_groups": "unscored_groups",
    "patch_frac": "rlvr/patch_frac",
    "patches_evaluated": "rlvr/patches_evaluated",
    "eval_error_frac": "rlvr/eval_error_frac",
}


def read_metrics(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def truncate_metrics(run_dir: str | Path, last_step: int) -> None:
    """Forget lines logged after ``last_step`` (a run killed after its last checkpoint logged them;
    the resumed run logs those steps again)."""
    path = Path(run_dir) / METRICS_FILE
    if path.is_file():
        keep = [m for m in read_metrics(run_dir) if m["step"] <= last_step]
        path.write_text("".join(json.dumps(m) + "\n" for m in keep), encoding="utf-8")


class MetricsCallback(TrainerCallback):
    """Appends the training logs to ``metrics.jsonl`` and prints one line per log: step/total, the time
    left at this run's pace, the numbers. It replaces the Trainer's own printing of each raw dict."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / METRICS_FILE
        self._last: tuple[float, float] | None = None  # (time, tokens seen) at the previous log
        self._start: tuple[float, int] | None = None  # (time, step) when this process began training

    def on_train_begin(self, args, state, control, **kwargs):
        self._start = (time.perf_counter(), state.global_step)  # a resumed run starts past step 0

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if not state.is_world_process_zero or "loss" not in logs:
            return  # eval logs and the final train summary are not training steps
        now, tokens = time.perf_counter(), float(logs.get("num_tokens", state.num_input_tokens_seen or 0))
        line = {"step": state.global_step}
        line.update({ours: logs[theirs] for ours, theirs in LOG_KEYS.items() if logs.get(theirs) is not None})
        if self._last is not None and now > self._last[0]:
            line["tokens_per_s"] = (tokens - self._last[1]) / (now - self._last[0])
        self._last = (now, tokens)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        _console().print(f"[bold]step {line['step']}/{state.max_steps}[/bold]{self._eta(now, state)}  "
                         + "  ".join(f"{k} {v:.4g}" for k, v in line.items() if k != "step"))

    def _eta(self, now: float, state) -> str:
        if self._start is None or state.global_step <= self._start[1] or not state.max_steps:
            return ""
        per_step = (now - self._start[0]) / (state.global_step - self._start[1])
        left = round(per_step * max(0, state.max_steps - state.global_step))
        return f"  ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"


def _console():
    from rich.console import Console

    return Console(highlight=False)


def plot_metrics(run_dir: str | Path, out: str | Path | None = None, key: str = "reward_mean") -> Path:
    """PNG of ``key`` (and the format-error rate when logged) over steps; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [m for m in read_metrics(run_dir) if key in m]
    if not rows:
        raise ValueError(f"{Path(run_dir) / METRICS_FILE}: no '{key}' values to plot")
    out = Path(out) if out else Path(run_dir) / f"{key}.png"
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([m["step"] for m in rows], [m[key] for m in rows], marker=".", label=key)
    errs = [m for m in rows if "format_error_rate" in m]
    if errs:
        ax.plot([m["step"] for m in errs], [m["format_error_rate"] for m in errs], linestyle="--", label="format_error_rate")
    ax.set_xlabel("step")
    ax.set_title(Path(run_dir).name)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
