"""Any OpenAI-compatible chat endpoint as a policy (vLLM serve, SGLang, hosted APIs), through the
`openai` SDK.

The key is read from an environment variable (never a flag, so it stays out of shell history and
saved configs). The SDK retries 429 and 5xx answers, dropped connections and timeouts with
exponential backoff (honoring Retry-After) and never a 401; connecting has its own short timeout.
Native tool calls are turned into the same XML text a text-answering model writes, so the loop and
the trajectory see one format.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import openai

from swesrl.trajectories.actions import ActionError, from_openai, render_xml
from swesrl.trajectories.answer import render_answer
from swesrl.trajectories.context import Message

from .policies import GREEDY, CallSeeds, PolicyError, Reply, Sampling, Usage, run_view
from .prices import cost_of

TOOLS = [
    {"type": "function", "function": {
        "name": "bash", "description": "Run a shell command in /testbed.",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}},
    {"type": "function", "function": {
        "name": "str_replace_editor", "description": "View, create and edit files.",
        "parameters": {"type": "object", "properties": {
            "command": {"type": "string", "enum": ["view", "create", "str_replace", "insert", "undo_edit"]},
            "path": {"type": "string"}, "view_range": {"type": "array", "items": {"type": "integer"}},
            "file_text": {"type": "string"}, "old_str": {"type": "string"}, "new_str": {"type": "string"},
            "insert_line": {"type": "integer"}}, "required": ["command", "path"]}}},
    {"type": "function", "function": {
        "name": "submit", "description": "Finish: the issue is fixed.", "parameters": {"type": "object", "properties": {}}}},
]


def _call_text(call: dict[str, Any]) -> str:
    """One native tool call as XML text: canonical when it converts, verbatim otherwise (the parser then says why)."""
    try:
        return render_xml(from_openai(call))
    except ActionError:
        fn = call.get("function", call)
        raw = fn.get("arguments") or {}
        args = raw if isinstance(raw, dict) else {"arguments": str(raw)}
        params = "".join(f"<parameter={k}>{v}</parameter>\n" for k, v in args.items())
        return f"<function={fn.get('name', '')}>\n{params}</function>"


def answer_text(message: dict[str, Any]) -> str:
    """The answer as text: content (with any separate reasoning as the think block) plus tool calls as XML."""
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning and "<think>" not in content:
        content = f"<think>\n{reasoning.strip()}\n</think>\n{content}"
    calls = message.get("tool_calls") or []
    if not calls:
        return content
    thought = content.replace("<think>", "").replace("</think>", "").strip()
    return render_answer(thought, "\n".join(_call_text(c) for c in calls))


CONNECT_TIMEOUT = 10.0  # seconds to open a connection: a wrong address fails fast, a slow answer may still take `timeout`


class OpenAIPolicy:
    def __init__(self, model: str, base_url: str, sampling: Sampling = GREEDY, *, api_key_env: str = "OPENAI_API_KEY",
                 timeout: float = 300.0, max_retries: int = 6, native_tools: bool = False):
        self.name = f"openai:{model}@{base_url}"
        self.model, self.base_url = model, base_url.rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.sampling, self.timeout, self.max_retries = sampling, timeout, max_retries
        self.native_tools = native_tools
        self.client = openai.OpenAI(
            base_url=self.base_url, api_key=os.environ.get(api_key_env) or "none", max_retries=max_retries,
            timeout=openai.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        )
        self.seeds = CallSeeds(sampling.seed)

    def for_instance(self, instance_id: str | None) -> OpenAIPolicy:
        return run_view(self, instance_id)

    def check(self, timeout: float = 5.0) -> None:
        """Fail fast, before any image is built or retry waited out: the server must answer, and accept
        the key. One GET of the standard /models endpoint; a server without it (404, 405, 501) passes."""
        url = self.base_url + "/models"
        try:
            self.client.with_options(timeout=timeout, max_retries=0).models.list()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
            raise PolicyError(f"{url} refused the API key (HTTP {e.status_code}): {e.response.text[:300]}; "
                              "set it in the variable model.api_key_env names") from None
        except openai.APIStatusError:
            return
        except openai.APIConnectionError as e:  # includes timeouts
            raise PolicyError(f"cannot reach the model server {url}: {e.__cause__ or e}") from None

    def _body(self, messages: Sequence[Message]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "temperature": self.sampling.temperature,
                                "top_p": self.sampling.top_p, "max_tokens": self.sampling.max_new_tokens}
        if (seed := self.seeds.next()) is not None:
            body["seed"] = seed
        if self.native_tools:
            body["tools"] = TOOLS
        return body

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        attempts = f"gave up after {self.max_retries + 1} attempts"
        try:
            return self.client.chat.completions.create(**body).model_dump()
        except openai.APIStatusError as e:
            retried = e.status_code == 429 or e.status_code >= 500
            raise PolicyError(f"{self.url} answered HTTP {e.status_code}: {e.response.text[:500]}"
                              + (f" ({attempts})" if retried else "")) from None
        except openai.APITimeoutError:
            raise PolicyError(f"{self.url}: no answer within {self.timeout:g} s ({attempts})") from None
        except openai.APIConnectionError as e:
            raise PolicyError(f"{self.url}: cannot connect ({e.__cause__ or e}) ({attempts})") from None

    def act(self, messages: Sequence[Message]) -> Reply:
        data = self._post(self._body(messages))
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise PolicyError(f"{self.url}: answer has no choices[0].message: {json.dumps(data, default=str)[:300]}") from None
        usage = data.get("usage") or {}
        p, c = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        cost = usage.get("cost") if isinstance(usage.get("cost"), (int, float)) else cost_of(self.model, p, c)
        return Reply(answer_text(message), Usage(p, c, cost))
