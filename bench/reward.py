"""Benchmark the SRL step reward's similarity on real expert step pairs.

Pairs come from the shared third-party trajectories: every expert action rendered canonically
(render_xml), paired with other actions of the same trajectory, so lengths and overlaps are the
ones GRPO sees (short bash calls, long file_text creates that trigger difflib's autojunk).

The last section measures what difflib's autojunk does to the reward of near-copies of long
expert actions (5% of characters edited at random), against autojunk off, on the same actions.

Usage: python bench/reward.py [--data ../shared/data/trajectories] [--group 8] [--min-seconds 1]
"""

from __future__ import annotations

import argparse
import difflib
import random
import time
from collections.abc import Callable
from pathlib import Path

from rapidfuzz.distance import Indel

from swesrl.training.rewards import srl_reward, srl_reward_func
from swesrl.training.seqmatch import BACKENDS, FAST_BACKEND
from swesrl.trajectories.actions import render_xml
from swesrl.trajectories.answer import render_answer
from swesrl.trajectories.readers import read_trajectories

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trajectories"


def real_trajectory_actions(data: Path = DEFAULT_DATA) -> list[list[str]]:
    """Canonical action texts, one list per real trajectory (steps without an Action skipped)."""
    out = []
    for traj in read_trajectories(data):
        texts = [render_xml(s.action) for s in traj.steps if s.action is not None]
        if len(texts) > 1:
            out.append(texts)
    return out


def real_step_pairs(data: Path = DEFAULT_DATA, seed: int = 0) -> list[tuple[str, str]]:
    """(model-side, expert) pairs: each step vs the next one and vs a random step of its trajectory."""
    rng = random.Random(seed)
    pairs = []
    for texts in real_trajectory_actions(data):
        for k, t in enumerate(texts):
            pairs.append((texts[(k + 1) % len(texts)], t))
            pairs.append((rng.choice(texts), t))
    rng.shuffle(pairs)
    return pairs


def real_groups(data: Path = DEFAULT_DATA, g: int = 8, seed: int = 0) -> list[tuple[list[str], str]]:
    """(G rollout actions, expert action): each expert step with G other steps of its trajectory."""
    rng = random.Random(seed)
    return [([rng.choice(texts) for _ in range(g)], b) for texts in real_trajectory_actions(data) for b in texts]


def _rate(fn: Callable[[], list[float]], n: int, min_s: float = 1.0) -> tuple[float, list[float]]:
    """Rewards per CPU second of fn (n values per call): CPU time, since the machine is shared."""
    reps, t0 = 0, time.process_time()
    while True:
        values = fn()
        reps += 1
        elapsed = time.process_time() - t0
        if elapsed >= min_s:
            return reps * n / elapsed, values


def _row(name: str, rate: float, base: float, values: list[float], ref: list[float]) -> None:
    same = sum(v == r for v, r in zip(values, ref, strict=True))
    print(f"  {name:34s} {rate:10.0f} rewards/s {rate / base:7.1f}x   identical {same}/{len(ref)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--group", type=int, default=8, help="G rollouts sharing one expert action")
    ap.add_argument("--min-seconds", type=float, default=1.0, help="time each variant at least this long")
    args = ap.parse_args()
    t = args.min_seconds

    pairs = real_step_pairs(args.data)
    lens = sorted(len(b) for _, b in pairs)
    print(f"{len(pairs)} real step pairs; expert action length median {lens[len(lens) // 2]}, "
          f"max {lens[-1]}, {sum(n >= 200 for n in lens)} with len >= 200 (autojunk)")
    print(f"fast backend in this install: {FAST_BACKEND}")

    print("one pair at a time (new matcher per pair):")
    base, ref = _rate(lambda: [difflib.SequenceMatcher(None, a, b).ratio() for a, b in pairs], len(pairs), t)
    _row("difflib (reference)", base, base, ref, ref)
    for name, ratios in BACKENDS.items():
        if name != "difflib":
            rate, vals = _rate(lambda r=ratios: [r([a], b)[0] for a, b in pairs], len(pairs), t)
            _row(name, rate, base, vals, ref)
    rate, vals = _rate(lambda: [Indel.normalized_similarity(a, b) for a, b in pairs], len(pairs), t)
    _row("rapidfuzz Indel (not difflib)", rate, base, vals, ref)
    worst = max(abs(v - r) for v, r in zip(vals, ref, strict=True))
    print(f"  rapidfuzz differs on {sum(v != r for v, r in zip(vals, ref, strict=True)) / len(ref):.0%} "
          f"of pairs, by up to {worst:.3f} (mean {sum(vals) / len(vals):.4f} vs difflib {sum(ref) / len(ref):.4f})")

    groups = real_groups(args.data, args.group)
    n = sum(len(a) for a, _ in groups)
    print(f"G={args.group} rollouts per expert action, index the expert once ({len(groups)} groups, {n} rewards):")
    gbase, gref = _rate(
        lambda: [difflib.SequenceMatcher(None, a, b).ratio() for rs, b in groups for a in rs], n, t)
    _row("difflib, new matcher per pair", gbase, gbase, gref, gref)
    for name, ratios in BACKENDS.items():
        rate, vals = _rate(lambda r=ratios: [v for rs, b in groups for v in r(rs, b)], n, t)
        _row(f"{name}, index once", rate, gbase, vals, gref)

    completions = [render_answer("I will look at the code next.", a) for rs, _ in groups for a in rs]
    target = [b for rs, b in groups for _ in rs]
    print("whole reward (parse + render + ratio) through srl_reward_func:")
    ebase, eref = _rate(lambda: [srl_reward(c, b, "difflib") for c, b in zip(completions, target, strict=True)], n, t)
    _row("srl_reward per completion, difflib", ebase, ebase, eref, eref)
    rate, vals = _rate(lambda: srl_reward_func([None] * n, completions, target), n, t)
    _row(f"srl_reward_func (grouped, {FAST_BACKEND})", rate, ebase, vals, eref)
    autojunk_effect(pairs, t)


def _edited(text: str, rng: random.Random, share: float = 0.05) -> str:
    chars = list(text)
    for _ in range(max(1, round(share * len(chars)))):
        chars[rng.randrange(len(chars))] = rng.choice("abcdefghijklmnopqrstuvwxyz_ ()")
    return "".join(chars)


def autojunk_effect(pairs: list[tuple[str, str]], t: float) -> None:
    """Near-copies (5% characters edited) of every distinct expert action, scored with and without
    difflib's autojunk: the reward a nearly right long action gets, and the exact port's speed."""
    rng = random.Random(0)
    experts = sorted({b for _, b in pairs})
    near = [(_edited(b, rng), b) for b in experts]
    print("autojunk: near-copies (5% of characters edited) of every distinct expert action:")
    for label, subset in (("len < 200", [p for p in near if len(p[1]) < 200]), ("len >= 200", [p for p in near if len(p[1]) >= 200])):
        on = sorted(difflib.SequenceMatcher(None, a, b).ratio() for a, b in subset)
        off = sorted(difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() for a, b in subset)
        if subset:
            print(f"  {label:10s} {len(subset):5d} actions  median ratio autojunk on {on[len(on) // 2]:.3f}, "
                  f"off {off[len(off) // 2]:.3f}; 10th percentile on {on[len(on) // 10]:.3f}, off {off[len(off) // 10]:.3f}")
    base, ref = _rate(lambda: [difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() for a, b in near], len(near), t)
    _row("difflib autojunk=False (reference)", base, base, ref, ref)
    for name, ratios in BACKENDS.items():
        if name != "difflib":
            rate, vals = _rate(lambda r=ratios: [r([a], b, False)[0] for a, b in near], len(near), t)
            _row(f"{name} autojunk=False", rate, base, vals, ref)


if __name__ == "__main__":
    main()
