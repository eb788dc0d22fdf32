"""Policies: the OpenAI-compatible client against a real HTTP server on 127.0.0.1, replay, model specs."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from swesrl.agent.loop import AgentConfig, run_agent
from swesrl.agent.openai_policy import OpenAIPolicy
from swesrl.agent.policies import PolicyError, Sampling, make_policy
from swesrl.agent.replay_policy import ReplayPolicy, expert_answers
from swesrl.sandbox.local import LocalSandbox
from swesrl.trajectories import (
    Bash,
    FormatError,
    StrReplace,
    Submit,
    Trajectory,
    parse_answer,
    render_answer,
    render_xml,
)
from swesrl.trajectories.schema import Step


def chat(content=None, tool_calls=None, usage=(120, 30)):
    message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"choices": [{"index": 0, "message": message}], "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]}}


class ScriptedServer:
    """An OpenAI-compatible /v1/chat/completions that answers from a script: (status, body) or 'hang'."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                step = server.script.pop(0) if server.script else (500, {"error": "script exhausted"})
                if step == "hang":
                    server.release.wait(30)
                    return
                status, payload = step
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


MSGS = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
ANSWER = render_answer("look around", render_xml(Bash("ls")))


def test_text_answer_usage_key_and_sampling(monkeypatch):
    monkeypatch.setenv("TEST_KEY", "sk-test")
    with ScriptedServer([(200, chat(ANSWER))]) as srv:
        policy = make_policy(f"openai:my-local-model@{srv.url}", Sampling(temperature=0.7, max_new_tokens=64), api_key_env="TEST_KEY")
        reply = policy.act(MSGS)
    assert reply.text == ANSWER
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.cost) == (120, 30, None)
    req = srv.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
    assert req["body"]["model"] == "my-local-model" and req["body"]["messages"] == MSGS
    assert req["body"]["temperature"] == 0.7 and req["body"]["max_tokens"] == 64 and "tools" not in req["body"]


def test_known_models_are_priced():
    with ScriptedServer([(200, chat(ANSWER, usage=(1_000_000, 0)))]) as srv:
        reply = OpenAIPolicy("gpt-4o-mini-2024-07-18", srv.url).act(MSGS)
    assert reply.usage.cost == pytest.approx(0.15)


def test_prices_tell_apart_models_with_a_common_prefix():
    from swesrl.agent.prices import cost_of

    assert cost_of("o3-mini", 1_000_000, 0) < cost_of("o3", 1_000_000, 0)  # o3-mini is not priced as o3
    assert cost_of("my-local-model", 1000, 1000) is None


def test_429_then_success_and_5xx_are_retried():
    script = [(429, {"error": "rate limited"}), (503, {"error": "overloaded"}), (200, chat(ANSWER))]
    with ScriptedServer(script) as srv:
        reply = OpenAIPolicy("m", srv.url, max_retries=3).act(MSGS)
    assert reply.text == ANSWER and len(srv.requests) == 3


def test_client_errors_are_not_retried_and_name_the_server_answer():
    with ScriptedServer([(400, {"error": "model 'm' not found"})]) as srv, pytest.raises(PolicyError) as err:
        OpenAIPolicy("m", srv.url).act(MSGS)
    assert "HTTP 400" in str(err.value) and "model 'm' not found" in str(err.value)
    assert len(srv.requests) == 1


def test_a_refused_key_is_not_retried():
    with ScriptedServer([(401, {"error": "invalid api key"})] * 3) as srv, pytest.raises(PolicyError, match="HTTP 401"):
        OpenAIPolicy("m", srv.url, max_retries=3).act(MSGS)
    assert len(srv.requests) == 1


def test_a_server_that_never_answers_times_out_with_a_clear_error():
    with ScriptedServer(["hang", "hang"]) as srv, pytest.raises(PolicyError) as err:
        OpenAIPolicy("m", srv.url, timeout=0.5, max_retries=1).act(MSGS)
    assert "no answer within 0.5 s" in str(err.value) and "gave up after 2 attempts" in str(err.value)


def test_nobody_listening_is_a_clear_error():
    with ScriptedServer([]) as srv:
        url = srv.url
    with pytest.raises(PolicyError, match="cannot connect"):
        OpenAIPolicy("m", url, max_retries=0, timeout=2).act(MSGS)


def test_native_tool_calls_become_the_xml_answer_format():
    call = {"id": "c1", "type": "function", "function": {"name": "str_replace_editor", "arguments": json.dumps(
        {"command": "str_replace", "path": "/testbed/a.py", "old_str": "a - b", "new_str": "a + b"})}}
    bad = {"id": "c2", "type": "function", "function": {"name": "bash", "arguments": "{not json"}}
    with ScriptedServer([(200, chat("I will fix it.", [call])), (200, chat(None, [bad]))]) as srv:
        policy = OpenAIPolicy("m", srv.url, native_tools=True)
        good_reply, bad_reply = policy.act(MSGS), policy.act(MSGS)
    assert [t["function"]["name"] for t in srv.requests[0]["body"]["tools"]] == ["bash", "str_replace_editor", "submit"]
    assert parse_answer(good_reply.text) == ("I will fix it.", StrReplace("/testbed/a.py", "a - b", "a + b"))
    with pytest.raises(FormatError, match="missing parameter 'command'"):
        parse_answer(bad_reply.text)


def test_openai_policy_drives_the_loop_end_to_end(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    with LocalSandbox(tmp_path / "src") as sb:
        script = [
            (200, chat("no think block here")),
            (429, {"error": "slow down"}),
            (200, chat(render_answer("fix", render_xml(StrReplace(f"{sb.root}/calc.py", "a - b", "a + b"))))),
            (200, chat(render_answer("done", render_xml(Submit())))),
        ]
        with ScriptedServer(script) as srv:
            policy = OpenAIPolicy("m", srv.url)
            result = run_agent(policy, sb, "add subtracts", config=AgentConfig(workdir=sb.workdir))
    assert result.exit_status == "submitted"
    assert "+    return a + b" in result.patch
    assert result.usage.prompt_tokens == 360
    assert "not in the required format" in srv.requests[1]["body"]["messages"][-1]["content"]


def expert_run(instance_id: str) -> Trajectory:
    steps = [
        Step("look", Bash("cat calc.py"), "..."),
        Step("", None, "", action_error="two commands"),
        Step("fix", StrReplace("/testbed/calc.py", "a - b", "a + b"), "edited"),
        Step("done", Submit(), ""),
    ]
    return Trajectory(f"expert-{instance_id}", "add subtracts", steps, instance_id=instance_id)


def test_replay_plays_one_instances_expert_answers_in_order():
    policy = ReplayPolicy([expert_run("a-1"), expert_run("b-2")], "memory")
    run_a = policy.for_instance("a-1")
    answers = [run_a.act(MSGS).text for _ in range(3)]
    assert answers == expert_answers(expert_run("a-1"))
    assert [parse_answer(a)[1] for a in answers] == [Bash("cat calc.py"), StrReplace("/testbed/calc.py", "a - b", "a + b"), Submit()]
    with pytest.raises(PolicyError, match="no step 4"):
        run_a.act(MSGS)
    assert policy.for_instance("b-2").act(MSGS).text == answers[0]  # each run has its own cursor
    with pytest.raises(PolicyError, match="no expert run for instance 'c-3'"):
        policy.for_instance("c-3")
    with pytest.raises(PolicyError, match="give --task"):
        policy.for_instance(None)


def test_replay_from_a_file_the_readers_accept(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(expert_run("a-1").to_dict()) + "\n")
    policy = make_policy(f"replay:{path}")
    assert policy.for_instance("a-1").act(MSGS).text == expert_answers(expert_run("a-1"))[0]


def test_bad_model_specs_and_missing_backends_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="unknown model spec 'gpt4'"):
        make_policy("gpt4")
    with pytest.raises(PolicyError, match=r"does not exist"):
        make_policy(f"replay:{tmp_path / 'missing'}")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(PolicyError, match="vLLM, which is not installed"):
            make_policy("vllm:some/model")
