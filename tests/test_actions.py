"""The Action language round-trips through both text forms, and the answer parser names every fault."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swesrl.trajectories import (
    Bash,
    Create,
    FormatError,
    Insert,
    StrReplace,
    Submit,
    ToolCall,
    UndoEdit,
    View,
    from_openai,
    parse_answer,
    parse_xml,
    render_answer,
    render_xml,
    to_openai,
)
from swesrl.trajectories.actions import action_from_dict, action_to_dict

# Values may hold anything except the closing tag itself, which the XML form cannot carry.
text = st.text().filter(lambda s: "</parameter>" not in s and "</function>" not in s)
path = st.text(min_size=1).filter(lambda s: "<" not in s)
name = st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True).filter(
    lambda n: n not in {"bash", "submit", "str_replace_editor", "execute_bash", "finish", "str_replace_based_edit_tool"}
)
actions = st.one_of(
    st.builds(Bash, text),
    st.builds(View, path, st.none() | st.tuples(st.integers(-1, 10**6), st.integers(-1, 10**6))),
    st.builds(Create, path, text),
    st.builds(StrReplace, path, text, text),
    st.builds(Insert, path, st.integers(0, 10**6), text),
    st.builds(UndoEdit, path),
    st.just(Submit()),
    st.builds(lambda n, kv: ToolCall.make(n, kv), name, st.dictionaries(name, text, max_size=3)),
)


@given(actions)
def test_xml_round_trip(action):
    assert parse_xml(render_xml(action)) == action


@given(actions)
def test_openai_round_trip(action):
    assert from_openai(json.loads(json.dumps(to_openai(action)))) == action


@given(actions)
def test_dict_round_trip(action):
    assert action_from_dict(json.loads(json.dumps(action_to_dict(action)))) == action


def test_canonical_text_is_swe_agent_xml():
    assert render_xml(Bash("ls -la")) == "<function=bash>\n<parameter=command>ls -la</parameter>\n</function>"
    assert render_xml(View("/testbed/a.py", (1, 20))) == (
        "<function=str_replace_editor>\n<parameter=command>view</parameter>\n"
        "<parameter=path>/testbed/a.py</parameter>\n<parameter=view_range>[1, 20]</parameter>\n</function>"
    )
    assert render_xml(Submit()) == "<function=submit>\n</function>"


def test_openhands_vocabulary_is_normalized():
    call = {"function": {"name": "execute_bash", "arguments": '{"command": "pytest -x"}'}}
    assert from_openai(call) == Bash("pytest -x")
    assert from_openai({"function": {"name": "finish", "arguments": "{}"}}) == Submit()


@given(st.text().filter(lambda s: "</think>" not in s), actions.filter(lambda a: not isinstance(a, ToolCall)))
def test_answer_round_trip(thought, action):
    got_thought, got_action = parse_answer(render_answer(thought, render_xml(action)))
    assert got_action == action
    assert got_thought == thought.strip()


ACTION = "<function=bash>\n<parameter=command>ls</parameter>\n</function>"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (ACTION, "no <think> block"),
        ("<think>hmm " + ACTION, "unclosed <think>"),
        ("<think>hmm</think> I will list files.", "no action"),
        ("<think>x</think>" + ACTION + ACTION, "2 actions"),
        ("<think>x</think><function=bash><parameter=command>ls</parameter>", "unclosed <function=bash>"),
        ("<think>x</think><function=rm_rf>\n</function>", "unknown tool 'rm_rf'"),
        ("<think>x</think><function=bash>\n</function>", "missing parameter 'command'"),
        (
            "<think>x</think><function=str_replace_editor><parameter=command>str_replace</parameter>"
            "<parameter=path>/a</parameter></function>",
            "missing parameter 'old_str'",
        ),
        ("<think>x</think>" + ACTION + " and more", "text after </function>"),
    ],
)
def test_format_errors_say_what_is_wrong(answer, message):
    with pytest.raises(FormatError, match=message.replace("(", r"\(")):
        parse_answer(answer)


def test_answer_with_thought_and_action():
    thought, action = parse_answer("<think>\nLook first.\n</think>\n\n" + ACTION + "\n")
    assert (thought, action) == ("Look first.", Bash("ls"))
