"""A transformers model as a policy: local folder or hub name, its own chat template, CPU or GPU."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from swesrl.errors import model_load_error, require_model
from swesrl.trajectories.context import Message

from .policies import GREEDY, CallSeeds, PolicyError, Reply, Sampling, Usage, run_view

if TYPE_CHECKING:
    from transformers import BatchEncoding


class HFPolicy:
    def __init__(self, model: str, sampling: Sampling = GREEDY):
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise PolicyError(f"hf:{model} needs torch and transformers (pip install 'swesrl[train]'): {e}") from None
        self.name = f"hf:{model}"
        self.sampling = sampling
        self._torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        require_model(model)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            if not self.tokenizer.chat_template:
                raise PolicyError(f"hf:{model}: the tokenizer has no chat template; the agent speaks in chat messages")
            # transformers wraps PreTrainedModel.to in a decorator whose stub mypy reads as taking the model
            self.model = AutoModelForCausalLM.from_pretrained(model, dtype=dtype).to(self.device).eval()  # type: ignore[arg-type]
        except OSError as e:
            raise model_load_error(model, e) from None
        self.context_window = getattr(self.model.config, "max_position_embeddings", None)
        self._lock = threading.Lock()  # one generate at a time: eval workers share the loaded model
        self.seeds = CallSeeds(sampling.seed)

    def for_instance(self, instance_id: str | None) -> HFPolicy:
        return run_view(self, instance_id)

    def act(self, messages: Sequence[Message]) -> Reply:
        enc = cast("BatchEncoding", self.tokenizer.apply_chat_template(  # return_dict=True: a BatchEncoding
            list(messages), add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
        ))
        n_prompt = enc["input_ids"].shape[1]
        max_new = self.sampling.max_new_tokens
        if self.context_window is not None:
            if n_prompt >= self.context_window:
                raise PolicyError(
                    f"{self.name}: prompt of {n_prompt} tokens does not fit the model's context of {self.context_window}"
                    " (lower agent.context.prompt_budget_tokens)"
                )
            max_new = min(max_new, self.context_window - n_prompt)
        sample = self.sampling.temperature > 0
        kwargs = {"do_sample": sample, "max_new_tokens": max_new, "pad_token_id": self.tokenizer.pad_token_id
                  if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id}
        if sample:
            kwargs.update(temperature=self.sampling.temperature, top_p=self.sampling.top_p)
        seed = self.seeds.next()
        with self._lock, self._torch.inference_mode():
            if seed is not None:
                self._torch.manual_seed(seed)
            out = self.model.generate(**{k: v.to(self.device) for k, v in enc.items()}, **kwargs)
        new = out[0, n_prompt:]
        text = self.tokenizer.batch_decode(out[:, n_prompt:], skip_special_tokens=True)[0]
        return Reply(text, Usage(n_prompt, int(new.shape[0])))
