"""The report's plots (training curves, resolve rates) as base64 PNGs, drawn with matplotlib."""

from __future__ import annotations

import base64
import io

from .runs import EvalRun, TrainingRun

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


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plots(training: list[TrainingRun], evals: list[EvalRun]) -> list[tuple[str, str]]:
    """(title, base64 PNG) for every curve some run has, then the resolve rates of the evaluation runs."""
    if not training and not evals:  # matplotlib is the train extra's: an agent run's report needs none
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[tuple[str, str]] = []
    for key, title, kind in CURVES:
        runs = [r for r in training if kind == "all" or (kind == "grpo") == r.is_grpo]
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
