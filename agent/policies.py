"""The Policy seam: chat messages in, the model's answer text out (with what it cost).

Backends are named by a model spec string:

- ``hf:PATH_OR_HUB_NAME``     transformers, CPU or GPU (``swesrl.agent.hf_policy``)
- ``vllm:PATH_OR_HUB_NAME``   vLLM's offline engine, GPU only (``swesrl.agent.vllm_policy``)
- ``openai:MODEL@BASE_URL``   any OpenAI-compatible chat endpoint; ``openai:MODEL`` uses
                              https://api.openai.com/v1 (``swesrl.agent.openai_policy``)
- ``replay`` / ``replay:PATH`` the expert run recorded for the instance, played back
                              (``swesrl.agent.replay_policy``)

A policy object may serve many runs at once (eval workers share one loaded model), so per-run
state lives in the object ``for_instance`` returns: stateless backends return themselves.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from swesrl.errors import SwesrlError, require, require_model
from swesrl.trajectories.context import Message


class PolicyError(SwesrlError):
    """The backend could not answer (unreachable server, missing package, prompt too long)."""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None  # dollars; None when the model has no known price

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost is None and other.cost is None else (self.cost or 0.0) + (other.cost or 0.0)
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens, cost)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Reply:
    text: str
    usage: Usage = Usage()


@dataclass(frozen=True)
class Sampling:
    """Decoding settings. Greedy by default: the paper evaluates with greedy decoding."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 1024
    seed: int | None = None


GREEDY = Sampling()


@dataclass
class CallSeeds:
    """The seeds of one run's sampled model calls: reproducible (seed, instance, call number) yet new at
    every call. One seed for every call would hand an agent the same sample whenever its prompt repeats,
    which with a short context is a loop: the same command to the step limit."""

    seed: int | None
    instance_id: str | None = None
    calls: int = 0

    def next(self) -> int | None:
        call, self.calls = self.calls, self.calls + 1
        if self.seed is None:
            return None
        digest = hashlib.sha256(f"{self.seed}/{self.instance_id}/{call}".encode()).digest()
        return int.from_bytes(digest[:4], "little")


class _SeededBackend(Protocol):
    sampling: Sampling
    seeds: CallSeeds


SeededBackend = TypeVar("SeededBackend", bound=_SeededBackend)


def run_view(backend: SeededBackend, instance_id: str | None) -> SeededBackend:
    """What a shared backend's ``for_instance`` returns: a shallow copy (same model, client and lock) with
    its own call seeds."""
    run = copy.copy(backend)
    run.seeds = CallSeeds(backend.sampling.seed, instance_id)
    return run


@runtime_checkable
class Policy(Protocol):
    name: str

    def act(self, messages: Sequence[Message]) -> Reply: ...

    def for_instance(self, instance_id: str | None) -> Policy: ...


@dataclass
class ScriptedPolicy:
    """Answers from a fixed list, in order: deterministic runs of the loop (tests, benchmarks)."""

    answers: list[str]
    name: str = "scripted"
    calls: int = field(default=0, init=False)

    def act(self, messages: Sequence[Message]) -> Reply:
        if self.calls >= len(self.answers):
            raise PolicyError(f"scripted policy has no answer left after {len(self.answers)}")
        self.calls += 1
        return Reply(self.answers[self.calls - 1])

    def for_instance(self, instance_id: str | None) -> ScriptedPolicy:
        return ScriptedPolicy(list(self.answers), self.name)


SPECS = "hf:PATH, vllm:PATH, openai:MODEL@BASE_URL, replay or replay:PATH"


def parse_spec(spec: str) -> tuple[str, str]:
    """(backend, target) of a model spec; checked before any work, so a typo costs nothing."""
    kind, _, target = spec.partition(":")
    if kind == "replay" or (kind in ("hf", "vllm", "openai") and target):
        return kind, target
    raise ValueError(f"unknown model spec {spec!r}: use {SPECS}")


def require_backend(spec: str) -> None:
    """The packages the spec's backend loads are installed (one line naming the extra otherwise)."""
    if parse_spec(spec)[0] == "hf":  # (vllm: says so itself, with the hf: alternative)
        require("torch", "the hf: backend")
        require("transformers", "the hf: backend", extra="train")


def require_model_folder(spec: str) -> None:
    """A model folder the spec names exists, for a process that loads the model itself (one line otherwise)."""
    kind, target = parse_spec(spec)
    if kind in ("hf", "vllm"):
        require_model(target)


def make_policy(spec: str, sampling: Sampling = GREEDY, *, api_key_env: str = "OPENAI_API_KEY",
                request_timeout: float = 300.0, max_retries: int = 6, native_tools: bool = False) -> Policy:
    """The backend a model spec names; backends import their heavy libraries only when chosen."""
    kind, target = parse_spec(spec)
    require_backend(spec)
    if kind == "hf":
        from .hf_policy import HFPolicy

        return HFPolicy(target, sampling)
    if kind == "vllm":
        from .vllm_policy import VLLMPolicy

        return VLLMPolicy(target, sampling)
    if kind == "openai":
        from .openai_policy import OpenAIPolicy

        model, _, base = target.rpartition("@") if "@" in target else (target, "", "")
        return OpenAIPolicy(model, base or "https://api.openai.com/v1", sampling, api_key_env=api_key_env,
                            timeout=request_timeout, max_retries=max_retries, native_tools=native_tools)
    from .replay_policy import ReplayPolicy

    return ReplayPolicy.load(target or None)
