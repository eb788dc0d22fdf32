"""Any OpenAI-compatible chat endpoint as a policy (vLLM serve, SGLang, hosted APIs), over urllib.

The key is read from an environment variable (never a flag, so it stays out of shell history and
saved configs). 429 and 5xx answers, dropped connections and timeouts are retried with exponential
backoff (honoring Retry-After); other errors stop at once with the server's message. Native tool
calls are turned into the same XML text a text-answering model writes, so the loop and the
trajectory see one format.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from swesrl.trajectories.actions import ActionError, from_openai, render_xml
from swesrl.trajectories.answer import render_answer
from swesrl.trajectories.context import Message

from .policies import GREEDY, PolicyError, Reply, Sampling, Usage
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


class OpenAIPolicy:
    def __init__(self, model: str, base_url: str, sampling: Sampling = GREEDY, *, api_key_env: str = "OPENAI_API_KEY",
                 timeout: float = 300.0, max_retries: int = 6, backoff: float = 1.0, native_tools: bool = False):
        self.name = f"openai:{model}@{base_url}"
        self.model, self.url = model, base_url.rstrip("/") + "/chat/completions"
        self.sampling, self.timeout, self.max_retries, self.backoff = sampling, timeout, max_retries, backoff
        self.native_tools = native_tools
        self.api_key = os.environ.get(api_key_env, "")

    def for_instance(self, instance_id: str | None) -> OpenAIPolicy:
        return self

    def check(self, timeout: float = 5.0) -> None:
        """Fail fast, before any image is built or retry waited out: the server must answer, and accept
        the key. One GET of the standard /models endpoint; a server without it (404/405) passes."""
        url = self.url.removesuffix("/chat/completions") + "/models"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout):
                return
        except urllib.error.HTTPError as e:
            if e.code in (401, 403):
                detail = e.read().decode(errors="replace")[:300]
                raise PolicyError(f"{url} refused the API key (HTTP {e.code}): {detail}; "
                                  "set it in the variable model.api_key_env names") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            why = getattr(e, "reason", e)
            raise PolicyError(f"cannot reach the model server {url}: {why}") from None

    def _body(self, messages: Sequence[Message]) -> bytes:
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "temperature": self.sampling.temperature,
                                "top_p": self.sampling.top_p, "max_tokens": self.sampling.max_new_tokens}
        if self.sampling.seed is not None:
            body["seed"] = self.sampling.seed
        if self.native_tools:
            body["tools"] = TOOLS
        return json.dumps(body).encode()

    def _post(self, data: bytes) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(self.max_retries + 1):
            wait = self.backoff * 2**attempt
            try:
                req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as e:
                detail = e.read().decode(errors="replace")[:500]
                if e.code != 429 and e.code < 500:
                    raise PolicyError(f"{self.url} answered HTTP {e.code}: {detail}") from None
                last = f"HTTP {e.code}: {detail}"
                after = e.headers.get("Retry-After", "") if e.headers else ""
                if after.replace(".", "", 1).isdigit():
                    wait = max(wait, float(after))
            except TimeoutError:
                last = f"no answer within {self.timeout:g} s"
            except urllib.error.URLError as e:
                if isinstance(e.reason, TimeoutError):
                    last = f"no answer within {self.timeout:g} s"
                else:
                    last = f"cannot connect ({e.reason})"
            except (ConnectionError, json.JSONDecodeError) as e:
                last = f"{type(e).__name__}: {e}"
            if attempt < self.max_retries:
                time.sleep(min(wait, 60.0))
        raise PolicyError(f"{self.url}: {last} (gave up after {self.max_retries + 1} attempts)")

    def act(self, messages: Sequence[Message]) -> Reply:
        data = self._post(self._body(messages))
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise PolicyError(f"{self.url}: answer has no choices[0].message: {json.dumps(data)[:300]}") from None
        usage = data.get("usage") or {}
        p, c = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        cost = usage.get("cost") if isinstance(usage.get("cost"), (int, float)) else cost_of(self.model, p, c)
        return Reply(answer_text(message), Usage(p, c, cost))
