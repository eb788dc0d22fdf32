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
    prompt_budget_tokens: int = field(default=8192, metadata={
        "help": "token budget of each prompt: the oldest turns are dropped until it fits (system prompt and issue "
                "always stay); the splitter drops a step whose prompt is over it even with no turn",
        "renamed_from": "max_prompt_tokens"})


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
    prompts = Prompts(problem_statement, config, count_tokens)
    k = config.context_steps
    for turn in history if k is None else history[-k:] if k > 0 else []:
        prompts.add(turn.answer, turn.observation)
    return prompts.build()[0]


class Prompts:
    """The prompts of one run, turn after turn, as ``build_messages`` makes them.

    Each turn's messages and token cost are built once, though the turn shows in several prompts
    (the splitter asks for a prompt at every step); the messages are shared between the prompts.
    """

    def __init__(self, problem_statement: str, config: ContextConfig = ContextConfig(),
                 count_tokens: TokenCounter = estimate_tokens):
        self.config, self.count = config, count_tokens
        self.head = [{"role": "system", "content": template("system.md")}, issue_message(problem_statement)]
        self.head_tokens = sum(count_tokens(m["content"]) for m in self.head)
        self.turns: list[tuple[list[Message], int]] = []

    def add(self, answer: str, observation: str) -> None:
        """One more turn: the answer the model gave and the observation it got."""
        pair = [{"role": "assistant", "content": answer}, observation_message(observation, self.config.max_observation_chars)]
        self.turns.append((pair, self.count(pair[0]["content"]) + self.count(pair[1]["content"])))
        k = self.config.context_steps
        if k is not None and len(self.turns) > k:  # older turns never show again: memory stays flat
            del self.turns[: len(self.turns) - k]

    def build(self) -> tuple[list[Message], int, int]:
        """(messages, their token count, how many of the last ``context_steps`` turns the budget cut)."""
        k = self.config.context_steps
        recent = self.turns if k is None else self.turns[-k:] if k > 0 else []
        room = self.config.prompt_budget_tokens - self.head_tokens
        tokens = sum(cost for _, cost in recent)
        cut = 0
        while cut < len(recent) and tokens > room:
            tokens -= recent[cut][1]
            cut += 1
        messages = self.head.copy()
        for pair, _ in recent[cut:] if cut else recent:
            messages += pair
        return messages, self.head_tokens + tokens, cut
