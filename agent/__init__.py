"""The agent loop and its policies (model backends): a model works on an issue inside a Sandbox.

loop (run_agent, AgentConfig, the stop exceptions), tools (the actions run in a sandbox), policies
(the Policy seam, model specs -> backends: hf_policy, vllm_policy, openai_policy, replay_policy),
oracle (the paper's single-answer SEARCH/REPLACE protocol), agentless (the paper's end-to-end
protocol: localize, repair, rerank; with localize and rerank) and batch (many instances, resumable).
"""

from .loop import AgentConfig, AgentResult, run_agent
from .policies import Policy, PolicyError, Reply, Sampling, ScriptedPolicy, Usage, make_policy

__all__ = [
    "AgentConfig", "AgentResult", "Policy", "PolicyError", "Reply", "Sampling", "ScriptedPolicy", "Usage",
    "make_policy", "run_agent",
]
