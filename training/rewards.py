"""The SRL step reward: how close the model's one action is to the expert's, never its thinking.

Reward = difflib ratio between the canonical text of the parsed model action (render_xml) and
the expert's canonical action text, in [0, 1]; an answer that breaks the format (parse_answer
raises FormatError) gets -1. Both sides go through the same rendering, so whitespace or attribute
spelling of the model's call does not count, only what the action does.

The ratio is computed with ``Similarity.FAST`` by default: an exact port of difflib whose values
are identical to the reference (see seqmatch), so this is the paper's reward, only faster.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from swesrl.trajectories.actions import render_xml
from swesrl.trajectories.answer import FormatError, parse_answer

from .seqmatch import Similarity, similarities

MALFORMED = -1.0


def model_action_text(completion: str) -> str | None:
    """Canonical text of the completion's action, or None when the answer breaks the format."""
    try:
        _, action = parse_answer(completion)
    except FormatError:
        return None
    return render_xml(action)


def srl_reward(
    completion: str, expert_action: str, method: Similarity | str = Similarity.FAST, autojunk: bool = True
) -> float:
    """Reward of one completion against the expert's canonical action text."""
    return _group_rewards([completion], expert_action, method, autojunk)[0]


def _group_rewards(
    completions: Sequence[str], expert_action: str, method: Similarity | str, autojunk: bool = True
) -> list[float]:
    texts = [model_action_text(c) for c in completions]
    ok = [t for t in texts if t is not None]
    ratios = iter(similarities(ok, expert_action, method, autojunk))
    return [MALFORMED if t is None else next(ratios) for t in texts]


def completion_text(completion: str | list[dict[str, Any]]) -> str:
    """A TRL completion as text: the string itself, or the last assistant message's content."""
    if isinstance(completion, str):
        return completion
    for message in reversed(completion):
        if message.get("role") == "assistant":
            return message.get("content") or ""
    return ""


def srl_reward_func(
    prompts: list, completions: list, target: list[str], autojunk: bool = True, **kwargs: Any
) -> list[float]:
    """TRL reward function; ``target`` is the dataset column of expert actions.

    The G rollouts of a prompt share one expert action, so completions are grouped by target and
    each expert action is indexed once per batch.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, expert in enumerate(target):
        groups[expert].append(i)
    rewards = [MALFORMED] * len(completions)
    for expert, idx in groups.items():
        values = _group_rewards([completion_text(completions[i]) for i in idx], expert, Similarity.FAST, autojunk)
        for i, v in zip(idx, values, strict=True):
            rewards[i] = v
    return rewards


def srl_reward_for(autojunk: bool) -> Callable[..., list[float]]:
    """The TRL reward function with difflib's ``autojunk`` set (TRL names its metrics by ``__name__``)."""
    if autojunk:
        return srl_reward_func
    return functools.update_wrapper(functools.partial(srl_reward_func, autojunk=False), srl_reward_func)
