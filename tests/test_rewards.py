"""The SRL step reward, and proof that every fast similarity backend equals difflib exactly."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swesrl.training.rewards import srl_reward, srl_reward_func
from swesrl.training.seqmatch import BACKENDS, FAST_BACKEND, Similarity, similarities, similarity
from swesrl.trajectories.actions import Bash, StrReplace, render_xml
from swesrl.trajectories.answer import render_answer

_spec = importlib.util.spec_from_file_location("bench_reward", Path(__file__).parents[1] / "bench" / "reward.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

EXPERT = render_xml(StrReplace("/testbed/src/app.py", "return a - b", "return a + b"))
NEAR = render_xml(StrReplace("/testbed/src/app.py", "return a - b", "return b + a"))


def reference(a: str, b: str, autojunk: bool = True) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=autojunk).ratio()


# ---------------------------------------------------------------- srl_reward


def test_well_formed_answer_scores_the_difflib_ratio_of_its_action():
    r = srl_reward(render_answer("swap the operands", NEAR), EXPERT)
    assert 0.0 < r < 1.0
    assert r == reference(NEAR, EXPERT)


def test_identical_action_scores_one_even_when_written_differently():
    assert srl_reward(render_answer("fix it", EXPERT), EXPERT) == 1.0
    compact = EXPERT.replace("\n", "")  # the model's own spacing: the parsed action is the same
    assert srl_reward(f"<think>fix it</think>\n{compact}", EXPERT) == 1.0


@pytest.mark.parametrize(
    "completion",
    [
        EXPERT,  # no think block
        "<think>unclosed " + EXPERT,
        f"<think>two calls</think>{EXPERT}{EXPERT}",
        "<think>x</think><function=rm_rf><parameter=path>/</parameter></function>",  # unknown tool
        "<think>nothing to do</think>",
        "",
    ],
)
def test_malformed_answer_scores_minus_one(completion):
    assert srl_reward(completion, EXPERT) == -1.0


def test_thinking_never_changes_the_reward():
    thoughts = ["", "short", "return a + b " * 200, "<function=bash> is not an action inside think"]
    rewards = {srl_reward(render_answer(t, NEAR), EXPERT) for t in thoughts}
    assert rewards == {reference(NEAR, EXPERT)}


def test_reward_methods_agree():
    completion = render_answer("look", render_xml(Bash("grep -rn 'a - b' /testbed/src")))
    assert srl_reward(completion, EXPERT, Similarity.DIFFLIB) == srl_reward(completion, EXPERT, "fast")


# ---------------------------------------------------------------- srl_reward_func (TRL signature)


def test_reward_func_takes_chat_completions_and_groups_by_expert_action():
    other = render_xml(Bash("cd /testbed && pytest -x tests/test_app.py"))
    actions = [NEAR, EXPERT, render_xml(Bash("pytest")), other]
    # two prompts x G=4 rollouts, interleaved as a batch may hold them
    completions, target = [], []
    for k, action in enumerate(actions):
        for expert in (EXPERT, other):
            text = render_answer(f"try {k}", action) if k != 2 else "no think, no reward"
            completions.append([{"role": "user", "content": "earlier turn"},
                                {"role": "assistant", "content": text}])
            target.append(expert)
    rewards = srl_reward_func(prompts=[[]] * len(completions), completions=completions, target=target,
                              completion_ids=None, trainer_state=None)
    expected = [srl_reward(c[-1]["content"], t) for c, t in zip(completions, target, strict=True)]
    assert rewards == expected
    assert rewards.count(-1.0) == 2 and rewards.count(1.0) == 2


def test_reward_func_takes_plain_string_completions():
    rewards = srl_reward_func(["p", "p"], [render_answer("a", EXPERT), "junk"], target=[EXPERT, EXPERT])
    assert rewards == [1.0, -1.0]


# ---------------------------------------------------------------- exactness on real step pairs


def _assert_backends_equal_difflib(groups: list[list[str]], backends: dict = BACKENDS, autojunk: bool = True) -> int:
    """All ordered pairs within each group, every backend, compared with == to difflib."""
    n = 0
    for texts in groups:
        for b in texts:
            ref = [reference(a, b, autojunk) for a in texts]
            for name, ratios in backends.items():
                assert ratios(texts, b, autojunk) == ref, f"{name} differs from difflib for expert {b[:80]!r}"
            n += len(texts)
    return n


def test_fast_similarity_is_the_c_port_when_it_is_built():
    assert FAST_BACKEND in BACKENDS
    if importlib.util.find_spec("swesrl.training._seqmatch") is not None:
        assert FAST_BACKEND == "c"


def test_backends_equal_difflib_on_all_ordered_pairs_of_real_trajectories(traj_data):
    groups = bench.real_trajectory_actions(traj_data)
    # a few trajectories (thousands of pairs), chosen to include long file_text creates (autojunk)
    chosen = [t for t in groups if any(len(x) >= 2000 for x in t) and len(t) <= 45][:2]
    chosen += [t for t in groups if t not in chosen and len(t) <= 40][:2]
    assert any(len(x) >= 200 for t in chosen for x in t)
    assert _assert_backends_equal_difflib(chosen) >= 2000
    assert _assert_backends_equal_difflib(chosen, autojunk=False) >= 2000


@pytest.mark.slow
def test_backends_equal_difflib_on_every_real_trajectory(traj_data):
    fast = {FAST_BACKEND: BACKENDS[FAST_BACKEND]}  # the other backends are covered above
    assert _assert_backends_equal_difflib(bench.real_trajectory_actions(traj_data), fast) >= 20000


# ---------------------------------------------------------------- exactness on generated strings

_alphabets = st.sampled_from(["ab", "abc", "ab \n", "xyz€漢😀", "abcdefghijklmnopqrstuvwxyz(){}\n "])
_pieces = st.sampled_from(["a", "ab", "\n", "    ", "def f(x):", "return x", "😀", "</parameter>"])


@st.composite
def strings(draw, max_size: int = 700) -> str:
    if draw(st.booleans()):  # repetitive text: few distinct characters in long runs -> popular chars
        return "".join(draw(st.lists(_pieces, max_size=max_size // 6)))
    return draw(st.text(alphabet=draw(_alphabets), max_size=max_size))


@st.composite
def related_pair(draw) -> tuple[str, str]:
    """b and an edited copy a (cut, insert, repeat), the shape of a rollout near the expert."""
    b = draw(strings())
    i, j = sorted(draw(st.tuples(st.integers(0, len(b)), st.integers(0, len(b)))))
    a = b[:i] + draw(strings(max_size=60)) + b[j:] * draw(st.integers(1, 2))
    return (a, b) if draw(st.booleans()) else (b, a)


@settings(max_examples=300, deadline=None)
@given(st.tuples(strings(), strings()) | related_pair())
def test_backends_equal_difflib_on_generated_strings(pair):
    a, b = pair
    for name, ratios in BACKENDS.items():
        assert ratios([a], b) == [reference(a, b)], name
        assert ratios([a], b, False) == [reference(a, b, autojunk=False)], name
    assert similarity(a, b, "fast") == similarity(a, b) == reference(a, b)
    assert similarity(a, b, "fast", autojunk=False) == reference(a, b, autojunk=False)


@settings(max_examples=100, deadline=None)
@given(st.lists(strings(300), min_size=1, max_size=8), strings(900))
def test_one_index_serves_a_whole_group(rollouts, expert):
    assert similarities(rollouts, expert, Similarity.FAST) == [reference(a, expert) for a in rollouts]


def test_autojunk_popular_characters_match_only_by_extension():
    # len(b) >= 200 makes 'a' popular: difflib never starts a block on it, only extends one over it
    b = "a" * 300 + "xyz"
    dropped = "xyz" + "a" * 5  # the a-run follows b's end: no block can reach it
    extended = "a" * 5 + "xyz"  # the a-run precedes the xyz block: extension takes it
    assert reference(dropped, b) < difflib.SequenceMatcher(None, dropped, b, autojunk=False).ratio()
    assert reference(extended, b) == difflib.SequenceMatcher(None, extended, b, autojunk=False).ratio()
    for a in (dropped, extended):
        for name, ratios in BACKENDS.items():
            assert ratios([a], b) == [reference(a, b)], name


def test_autojunk_off_scores_a_long_action_with_a_few_typos_by_plain_matching():
    """difflib's autojunk (the paper's default) scores a long expert action with 4 typos well below
    what plain matching gives; the recipe option autojunk: false scores it as the near-copy it is."""
    import random

    from swesrl.training.rewards import srl_reward_for

    body = "".join(f"    value_{i} = compute(value_{i - 1}, factor={i})\n" for i in range(1, 10))
    new = body.replace("compute", "combine")
    rng = random.Random(341)  # two one-character typos in each of old_str and new_str (a seed where autojunk bites)

    def typos(text: str) -> str:
        chars = list(text)
        for _ in range(2):
            chars[rng.randrange(len(chars))] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        return "".join(chars)

    expert = render_xml(StrReplace(path="/testbed/pkg/module.py", old_str=body, new_str=new))
    model = render_xml(StrReplace(path="/testbed/pkg/module.py", old_str=typos(body), new_str=typos(new)))
    completions = [[{"role": "assistant", "content": render_answer("", model)}]]
    on = srl_reward_for(True)(prompts=[[]], completions=completions, target=[expert])[0]
    off = srl_reward_for(False)(prompts=[[]], completions=completions, target=[expert])[0]
    assert on == reference(model, expert) < 0.9
    assert off == reference(model, expert, autojunk=False) > 0.99
    assert srl_reward_for(False).__name__ == "srl_reward_func"  # TRL names the reward's metrics by it
