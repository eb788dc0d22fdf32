"""Held-out step evaluation: how a policy's answers score against the experts', next to trivial answers.

A mean SRL reward means little alone: a constant answer (``submit``, an empty ``bash`` call) already
earns about 0.4 from the shared ``<function=...>`` wrapper. So every model is scored on the same rows
as four trivial baselines, and the summary says how varied its answers are (distinct answers, action
kinds against the experts'), which is where a collapsed policy shows. Greedy decoding draws no random
numbers; sampled decoding runs inside a forked RNG, so evaluating during training never changes the
training's random stream.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Column, Table

from swesrl.errors import require_model
from swesrl.trajectories.actions import Bash, Submit, render_xml
from swesrl.trajectories.answer import FormatError, parse_answer, render_answer

from .intervals import add_intervals
from .rewards import MALFORMED, _group_rewards, model_action_text
from .seqmatch import Similarity

log = logging.getLogger(__name__)

SUBMIT = render_answer("", render_xml(Submit()))
EMPTY_BASH = render_answer("", render_xml(Bash("")))


def _kind(answer: str) -> str:
    try:
        return parse_answer(answer)[1].kind
    except FormatError:
        return "malformed"


def _shares(counts: Counter, n: int) -> dict[str, float]:
    return {k: round(v / n, 4) for k, v in counts.most_common()}


def score_answers(answers: Sequence[str], rows: Sequence[dict]) -> dict:
    """Summary of ``answers`` (one per row, or k per row in row order) against the rows' expert actions."""
    if not rows or len(answers) % len(rows):
        raise ValueError(f"{len(answers)} answers for {len(rows)} rows: need the same number per row")
    per_row = len(answers) // len(rows)
    rewards, rewards_plain, row_rewards, exact, actions = [], [], [], 0, []
    for i, row in enumerate(rows):
        group = answers[i * per_row : (i + 1) * per_row]
        rewards += _group_rewards(group, row["target"], Similarity.FAST)
        row_rewards.append(round(sum(rewards[-per_row:]) / per_row, 4))
        rewards_plain += _group_rewards(group, row["target"], Similarity.FAST, autojunk=False)
        texts = [model_action_text(a) for a in group]
        exact += sum(t == row["target"] for t in texts)
        actions += texts
    n = len(answers)
    return {
        "reward_mean": sum(rewards) / n,
        "reward_mean_no_autojunk": sum(rewards_plain) / n,
        "exact_match": exact / n,
        "format_error_rate": sum(r == MALFORMED for r in rewards) / n,
        "answer_chars_mean": sum(map(len, answers)) / n,
        "distinct_answers": len({a for a in actions if a is not None}),
        "action_kinds": _shares(Counter(map(_kind, answers)), n),
        "answers": n,
        "row_rewards": row_rewards,  # each row's mean: what intervals.py resamples
    }


def expert_kinds(rows: Sequence[dict]) -> dict[str, float]:
    return _shares(Counter(parse_answer(render_answer("", r["target"]))[1].kind for r in rows), len(rows))


def previous_action(row: dict) -> str:
    """The expert's previous action as an answer (the last assistant turn of the prompt, which may hold
    the action alone); the empty ``bash`` call at a run's first step, where there is none."""
    for message in reversed(row["messages"]):
        if message["role"] == "assistant":
            content = message["content"]
            text = model_action_text(content if "<think>" in content else render_answer("", content))
            if text is not None:
                return render_answer("", text)
    return EMPTY_BASH


def best_constant(train_rows: Sequence[dict]) -> str:
    """The one expert action of the training rows that, answered to every training row, scores best."""
    targets = sorted({r["target"] for r in train_rows})
    candidates = [render_answer("", t) for t in targets]
    totals = [0.0] * len(candidates)
    for row in train_rows:
        for j, r in enumerate(_group_rewards(candidates, row["target"], Similarity.FAST)):
            totals[j] += r
    return candidates[max(range(len(candidates)), key=lambda j: (totals[j], -j))]


def baselines(rows: Sequence[dict], train_rows: Sequence[dict] | None = None) -> dict[str, dict]:
    """The trivial answers on ``rows``: submit, an empty bash call, copying the previous expert action,
    and (given training rows) the best single constant answer chosen on the training targets."""
    out = {
        "submit": score_answers([SUBMIT] * len(rows), rows),
        "empty bash": score_answers([EMPTY_BASH] * len(rows), rows),
        "previous expert action": score_answers([previous_action(r) for r in rows], rows),
    }
    if train_rows:
        constant = best_constant(train_rows)
        out["best constant"] = {**score_answers([constant] * len(rows), rows), "answer": model_action_text(constant)}
    return out


def generate(model, tokenizer, rows: Sequence[dict], *, max_new_tokens: int, samples: int = 0,
             temperature: float = 1.0, seed: int = 0, batch_size: int = 8) -> list[str]:
    """Greedy answers (``samples=0``: one per row) or ``samples`` sampled answers per row, in row order."""
    import torch

    was_training = model.training
    model.eval()
    answers: list[str] = []
    devices = [model.device.index] if model.device.type == "cuda" else []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            for start in range(0, len(rows), batch_size):
                chunk = rows[start : start + batch_size]
                texts = [tokenizer.apply_chat_template(r["messages"], add_generation_prompt=True, tokenize=False) for r in chunk]
                enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
                enc = {k: v.to(model.device) for k, v in enc.items()}
                decoding = (dict(do_sample=True, temperature=temperature, top_p=1.0, top_k=0, num_return_sequences=samples)
                            if samples else dict(do_sample=False))
                out = model.generate(**enc, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id, **decoding)
                answers += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    finally:
        model.train(was_training)
    return answers


def evaluate_policy(model, tokenizer, rows: Sequence[dict], *, max_new_tokens: int, samples: int = 0,
                    seed: int = 0, batch_size: int = 8) -> dict:
    """``{"greedy": summary}``, plus ``"sampled"`` (``samples`` answers per row at temperature 1)."""
    greedy = generate(model, tokenizer, rows, max_new_tokens=max_new_tokens, batch_size=batch_size)
    out: dict[str, Any] = {"greedy": score_answers(greedy, rows)}
    if samples:
        sampled = generate(model, tokenizer, rows, max_new_tokens=max_new_tokens, samples=samples, seed=seed,
                           batch_size=batch_size)
        out["sampled"] = score_answers(sampled, rows)
    out["examples"] = [{"target": r["target"], "answer": a} for r, a in zip(rows[:5], greedy[:5], strict=False)]
    return out


def step_rows(path: str | Path) -> list[dict]:
    """``messages``, ``target`` and ``instance_id`` (the unit intervals resample) of every usable step
    example in ``path``."""
    from .data import load_steps

    return [{"messages": r["messages"], "target": r["target"], "instance_id": r.get("instance_id")} for r in load_steps(path)]


def context_mismatch(data: str | Path, train_data: str | Path | None) -> str | None:
    """A warning when `traj split` built the held-out prompts unlike the training prompts (its report beside
    each file says how): a model scored on prompts it was not trained on scores lower for that alone
    (SFT lost 0.12 on held-out tasks split with 2 previous steps instead of the 1 it was trained with)."""
    if train_data is None:
        return None
    held, train = (_split_context(p) for p in (data, train_data))
    if held is None or train is None or held == train:
        return None
    differ = ", ".join(f"{k} {held[k]} (training: {train.get(k)})" for k in held if held[k] != train.get(k))
    return f"the held-out steps were split with other prompt settings than the training steps: {differ}"


def _split_context(path: str | Path) -> dict | None:
    report = Path(f"{path}.report.json")
    try:
        return json.loads(report.read_text(encoding="utf-8")).get("context") if report.is_file() else None
    except (OSError, ValueError):
        return None


def evaluate(models: dict[str, str], data: str | Path, train_data: str | Path | None = None, *,
             max_new_tokens: int = 128, samples: int = 4, seed: int = 0, cpu_threads: int | None = None) -> dict:
    """Every model in ``models`` (name -> path) and the trivial baselines on the held-out steps ``data``."""
    import torch

    from .run import load_model

    for path in models.values():  # before the first model's minutes of scoring
        require_model(path)
    rows = step_rows(data)
    train_rows = step_rows(train_data) if train_data else None
    warnings = [w for w in [context_mismatch(data, train_data)] if w]
    for warning in warnings:
        log.warning(warning)  # before the models run: minutes on CPU
    result: dict[str, Any] = {
        "data": str(data), "train_data": str(train_data) if train_data else None, "rows": len(rows),
        "warnings": warnings,
        "max_new_tokens": max_new_tokens, "samples": samples, "expert_action_kinds": expert_kinds(rows),
        "baselines": baselines(rows, train_rows), "models": {},
    }
    for name, path in models.items():
        gpu = torch.cuda.is_available()
        model, tokenizer = load_model(SimpleNamespace(model=str(path), use_cpu=not gpu, bf16=gpu, cpu_threads=cpu_threads))
        model.to("cuda" if gpu else "cpu")
        result["models"][name] = {"path": str(path), **evaluate_policy(
            model, tokenizer, rows, max_new_tokens=max_new_tokens, samples=samples, seed=seed)}
    add_intervals(result, rows)
    return result


def table_rows(result: dict) -> list[dict]:
    """One row per model (greedy and sampled) and per baseline, for the CLI and the report."""
    rows = []
    for name, m in result["models"].items():
        for mode in ("greedy", "sampled"):
            if mode in m:
                rows.append({"policy": name, "decoding": mode, **m[mode]})
    for name, b in result["baselines"].items():
        rows.append({"policy": name, "decoding": "constant" if name in ("submit", "empty bash", "best constant") else "copy", **b})
    return rows


FEW_TASKS = 10  # a bootstrap over fewer tasks gives intervals narrower than the truth

COLUMNS = ("policy", "decoding", "reward", "95% CI", "exact", "format", "chars", "distinct", "top action kinds")


def table_cells(row: dict) -> list[str]:
    kinds = ", ".join(f"{k} {v:.0%}" for k, v in list(row["action_kinds"].items())[:3])
    ci = f"[{row['reward_ci'][0]:.2f}, {row['reward_ci'][1]:.2f}]" if "reward_ci" in row else ""
    return [row["policy"], row["decoding"], f"{row['reward_mean']:.3f}", ci, f"{row['exact_match']:.3f}",
            f"{row['format_error_rate']:.3f}", f"{row['answer_chars_mean']:.0f}", str(row["distinct_answers"]), kinds]


def of_tasks(result: dict) -> str:
    """' of N tasks' after the step count (results written before intervals have no task count)."""
    return f" of {result['tasks']} task{'s' if result['tasks'] != 1 else ''}" if "tasks" in result else ""


def heldout_table(result: dict) -> Group:
    """Every model, then the trivial answers on the same rows, then the paired differences: what
    `swesrl train evaluate` and the quickstart print."""
    tasks = of_tasks(result)
    rough = " (too few tasks for a reliable interval)" if result.get("tasks", 0) < FEW_TASKS else ""
    table = Table(*(Column(c, overflow="fold") for c in COLUMNS),  # an 80-column terminal cuts nothing
                  title=f"held-out steps ({result['rows']}{tasks}): mean SRL reward, 95% interval over tasks{rough}")
    for row in table_rows(result):
        table.add_row(*map(escape, table_cells(row)))
    paired = Table("policy", "less", "difference", "95% CI", title="paired differences (the same resampled tasks)")
    for p in result.get("paired", []):
        paired.add_row(escape(p["policy"]), escape(p["against"]), f"{p['difference']:+.3f}",
                       escape(f"[{p['ci'][0]:+.2f}, {p['ci'][1]:+.2f}]"))
    return Group(table, paired) if paired.rows else Group(table)
