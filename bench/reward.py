"""Benchmark the SRL step reward's similarity on real expert step pairs.

Pairs come from the shared third-party trajectories: every expert action rendered canonically
(render_xml), paired with other actions of the same trajectory, so lengths and overlaps are the
ones GRPO sees (short bash calls, long file_text creates that trigger difflib's autojunk).

Usage: python bench/reward.py [--data ../shared/data/trajectories] [--pairs 4000] [--group 8]
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from swesrl.trajectories.actions import ActionError, from_openai, parse_xml, render_xml

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trajectories"


def _openai_calls(messages: list[dict]) -> Iterator[dict]:
    for m in messages:
        if m.get("role") == "assistant":
            yield from m.get("tool_calls") or []


def _trajectory_calls(path: Path) -> Iterator[list]:
    """Yield one list of raw actions (openai calls or XML text) per trajectory in a file."""
    if path.parent.name == "swe-smith-ft":
        for line in path.read_text().splitlines():
            msgs = json.loads(line)["messages"]
            yield [m["content"][m["content"].find("<function="):] for m in msgs
                   if m["role"] == "assistant" and "<function=" in m["content"]]
    elif path.parent.name == "openhands-fncall":
        d = json.loads(path.read_text())
        final = d["fncall_response"]["choices"][0]["message"]
        yield list(_openai_calls([*d["fncall_messages"], final]))
    elif path.parent.name == "swe-agent" and not path.name.startswith("v0_"):
        yield list(_openai_calls(json.loads(path.read_text())["history"]))
    elif path.parent.name == "swe-gym-openhands":
        for line in path.read_text().splitlines():
            yield list(_openai_calls(json.loads(line)["messages"]))


def real_trajectory_actions(data: Path = DEFAULT_DATA) -> list[list[str]]:
    """Canonical action texts, one list per real trajectory (calls that are not Actions skipped)."""
    out = []
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        for calls in _trajectory_calls(path):
            texts = []
            for c in calls:
                try:
                    texts.append(render_xml(parse_xml(c) if isinstance(c, str) else from_openai(c)))
                except ActionError:
                    continue
            if len(texts) > 1:
                out.append(texts)
    return out


def real_step_pairs(data: Path = DEFAULT_DATA, n: int | None = None, seed: int = 0) -> list[tuple[str, str]]:
    """(model-side, expert) pairs: each step vs the next one and vs a random step of its trajectory."""
    rng = random.Random(seed)
    pairs = []
    for texts in real_trajectory_actions(data):
        for k, t in enumerate(texts):
            pairs.append((texts[(k + 1) % len(texts)], t))
            pairs.append((rng.choice(texts), t))
    rng.shuffle(pairs)
    return pairs[:n] if n else pairs


def _rate(fn: Callable[[], list[float]], n: int, min_s: float = 1.0) -> tuple[float, list[float]]:
    """Rewards per second of fn (which returns n values), repeated until min_s has elapsed."""
    reps, t0 = 0, time.perf_counter()
    while True:
        values = fn()
        reps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_s:
            return reps * n / elapsed, values


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--pairs", type=int, default=4000)
    ap.add_argument("--group", type=int, default=8, help="G rollouts sharing one expert action")
    args = ap.parse_args()

    pairs = real_step_pairs(args.data, args.pairs)
    lens = sorted(len(b) for _, b in pairs)
    print(f"{len(pairs)} real step pairs; expert action length median {lens[len(lens) // 2]}, "
          f"max {lens[-1]}, {sum(n >= 200 for n in lens)} with len >= 200 (autojunk)")

    def difflib_all() -> list[float]:
        return [difflib.SequenceMatcher(None, a, b).ratio() for a, b in pairs]

    base_rate, ref = _rate(difflib_all, len(pairs))
    print(f"difflib            {base_rate:10.0f} rewards/s  1.0x")
    print(f"mean ratio {sum(ref) / len(ref):.4f}")


if __name__ == "__main__":
    main()
