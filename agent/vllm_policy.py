"""vLLM's offline engine as a policy (GPU only; the package is an optional extra, imported here only)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from swesrl.trajectories.context import Message

from .policies import GREEDY, CallSeeds, PolicyError, Reply, Sampling, Usage, run_view


class VLLMPolicy:
    def __init__(self, model: str, sampling: Sampling = GREEDY):
        try:
            from vllm import LLM, SamplingParams
        except ImportError:
            raise PolicyError(
                f"vllm:{model} needs vLLM, which is not installed (pip install 'swesrl[vllm]' on a GPU machine); "
                f"use hf:{model} to run the model with transformers instead"
            ) from None
        self.name = f"vllm:{model}"
        self.llm = LLM(model=model, seed=sampling.seed or 0)
        self.sampling, self._params = sampling, SamplingParams
        self._lock = threading.Lock()
        self.seeds = CallSeeds(sampling.seed)

    def for_instance(self, instance_id: str | None) -> VLLMPolicy:
        return run_view(self, instance_id)

    def act(self, messages: Sequence[Message]) -> Reply:
        s = self.sampling
        params = self._params(temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_new_tokens,
                              seed=self.seeds.next())
        with self._lock:
            out = self.llm.chat([dict(m) for m in messages], params, use_tqdm=False)[0]
        completion = out.outputs[0]
        return Reply(completion.text, Usage(len(out.prompt_token_ids or []), len(completion.token_ids)))
