"""The prompt a model sees at step k: system prompt + issue + the previous action/observation pairs.

The splitter builds training prompts with it and the agent loop builds its prompts with it, so a
model trained by swesrl sees at inference exactly the format it was trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from swesrl.util import truncate_middle

Message = dict[str, str]
TokenCounter = Callable[[str], int]


@cache
def template(name: str) -> str:
    """A prompt template shipped in ``swesrl/trajectories/prompts``."""
    return (resources.files(__package__) / "prompts" / name).read_text(encoding="utf-8")


def estimate_tokens(text: str) -> int:
    """Tokenizer-free estimate (about 3.5 characters a token for code and English)."""
    return (len(text) * 2 + 6) // 7


@dataclass(frozen=True)
class ContextConfig:
    context_steps: int | None = field(default=2, metadata={"help": "previous action/observation pairs in each prompt; null = all"})
    max_observation_chars: int = field(default=8000, metadata={"help": "longer observations are cut in the middle, with a marker"})
    max_prompt_tokens: int = field(default=8192, metadata={"help": "the oldest turns are dropped until the prompt fits"})


@dataclass(frozen=True)
class Turn:
    """A previous step as the model sees it: its answer text and the observation it got."""

    answer: str
    observation: str


def issue_message(problem_statement: str) -> Message:
    return {"role": "user", "content": template("issue.md").format(problem_statement=problem_statement.strip())}


def observation_message(observation: str, max_chars: int) -> Message:
    return {"role": "user", "content": template("observation.md").format(observation=truncate_middle(observation, max_chars))}


def build_messages(
    problem_statement: str,
    history: Sequence[Turn],
    config: ContextConfig = ContextConfig(),
    count_tokens: TokenCounter = estimate_tokens,
) -> list[Message]:
    """System + issue + the last ``context_steps`` turns, dropping the oldest until under budget."""
    return fit_messages(problem_statement, history, config, count_tokens)[0]


def fit_messages(
    problem_statement: str,
    history: Sequence[Turn],
    config: ContextConfig = ContextConfig(),
    count_tokens: TokenCounter = estimate_tokens,
) -> tuple[list[Message], int]:
    """``build_messages`` and how many of the last ``context_steps`` turns the budget cut."""
    head = [{"role": "system", "content": template("system.md")}, issue_message(problem_statement)]
    k = config.context_steps
    recent = list(history) if k is None else list(history)[-k:] if k > 0 else []
    turns = [
        [{"role": "assistant", "content": t.answer}, observation_message(t.observation, config.max_observation_chars)]
        for t in recent
    ]
    budget = config.max_prompt_tokens - sum(count_tokens(m["content"]) for m in head)
    costs = [sum(count_tokens(m["content"]) for m in pair) for pair in turns]
    cut = 0
    while turns and sum(costs) > budget:
        turns.pop(0)
        costs.pop(0)
        cut += 1
    return head + [m for pair in turns for m in pair], cut
