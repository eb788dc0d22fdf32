"""The model-answer parser: ``<think> ... </think>`` then exactly one action.

Training rewards (malformed -> -1) and the agent loop (format error -> observation) both call
``parse_answer``; a ``FormatError`` message is written to be shown to the model as feedback.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from .actions import DEFAULT_TOOLS, Action, ActionError, from_tool_call, parse_xml_params


class FormatError(ValueError):
    """The answer does not follow the format; the message says what is wrong."""


_OPEN_FN = re.compile(r"<function=([^>\s]*)>")


def parse_answer(text: str, tools: Collection[str] = DEFAULT_TOOLS) -> tuple[str, Action]:
    """Return (thought, action) or raise FormatError naming the problem."""
    start = text.find("<think>")
    if start == -1:
        raise FormatError("no <think> block: begin the answer with <think> your reasoning </think>")
    end = text.find("</think>", start)
    if end == -1:
        raise FormatError("unclosed <think> tag: close the reasoning with </think> before the action")
    if text[:start].strip():
        raise FormatError("text before <think>: the answer must begin with the <think> block")
    thought = text[start + len("<think>") : end].strip()
    rest = text[end + len("</think>") :]

    opens = list(_OPEN_FN.finditer(rest))
    if not opens:
        raise FormatError("no action: after </think> write one <function=NAME>...</function> call")
    if len(opens) > 1:
        raise FormatError(f"{len(opens)} actions: write exactly one <function=...> call per answer")
    m = opens[0]
    name = m.group(1)
    close = rest.find("</function>", m.end())
    if close == -1:
        raise FormatError(f"unclosed <function={name}> tag: end the call with </function>")
    if rest[close + len("</function>") :].strip():
        raise FormatError("text after </function>: the action must be the last thing in the answer")
    if name not in tools:
        raise FormatError(f"unknown tool {name!r}: available tools are {', '.join(sorted(tools))}")
    try:
        action = from_tool_call(name, parse_xml_params(rest[m.end() : close]))
    except ActionError as e:
        raise FormatError(str(e)) from None
    return thought, action


def render_answer(thought: str, action_text: str) -> str:
    """The answer a model is trained to write (SFT targets, replayed expert turns)."""
    return f"<think>\n{thought.strip()}\n</think>\n{action_text}"
