"""Per-GPU memory of a recipe, estimated from the architecture and the recipe's sizes, with the sums shown.

Worst case on purpose: every micro-batch at the longest prompt and completion the recipe allows.
Terms (bytes; P = parameters, T = tokens of one micro-batch = rows x (prompt + completion) tokens,
h = hidden, i = MLP width, kv = key/value width, L = layers, V = vocabulary, N = GPUs sharding):

- weights: 2P (bf16), /N under ZeRO-3/FSDP plus one gathered layer;
- trainable state: full training 16 B/param / N (bf16 weight and gradient, fp32 master, Adam m and v:
  2+2+12); LoRA 16 B per adapter parameter (fp32 weight, gradient, Adam m and v);
- activations with gradient checkpointing: each layer's input kept, 2hL B/token, plus the one layer
  recomputed in backward, (6h + 2kv + 4i) x 2 B/token (norm inputs, q/k/v, attention output, MLP
  gate/up/activation/product), plus LoRA dropout's copies of the adapted inputs, (6h + i) x 2 B/token;
- log-probabilities: GRPO scores tokens through TRL's tiled LM head (4,096 tokens x V at a time, fp32,
  and its gradient); SFT materializes T x V logits in bf16 and fp32 with their gradients, 12V B/token;
- colocated vLLM: its share of the card (vllm_gpu_memory_utilization); with sleep mode it lets go of
  weights and KV cache while training, so the peak is the larger of the two phases;
- 3 GB for the CUDA context, NCCL buffers and allocator slack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

GB = 1e9
CARD_GB = 80.0
FIXED_GB = 3.0
FUSED_TILE_TOKENS = 4096


@dataclass(frozen=True)
class Arch:
    layers: int
    hidden: int
    intermediate: int
    kv_dim: int
    vocab: int
    tied: bool = False

    @property
    def layer_params(self) -> int:
        h, kv, i = self.hidden, self.kv_dim, self.intermediate
        return 2 * h * h + 2 * h * kv + h + 2 * kv + 3 * h * i + 2 * h  # q,o; k,v (+ biases); MLP; norms

    @property
    def params(self) -> int:
        return self.layers * self.layer_params + self.vocab * self.hidden * (1 if self.tied else 2) + self.hidden


# Published configs of the models the recipes name (no download needed to size a run).
KNOWN = {
    "Qwen/Qwen2.5-Coder-7B-Instruct": Arch(layers=28, hidden=3584, intermediate=18944, kv_dim=512, vocab=152064),
    "Qwen/Qwen2.5-7B-Instruct": Arch(layers=28, hidden=3584, intermediate=18944, kv_dim=512, vocab=152064),
    "Qwen/Qwen2.5-0.5B": Arch(layers=24, hidden=896, intermediate=4864, kv_dim=128, vocab=151936, tied=True),
}


def arch_of(model: str) -> Arch | None:
    """A known model's architecture, or a local folder's config.json (a LoRA run folder: its base model's);
    None when neither is at hand."""
    if model in KNOWN:
        return KNOWN[model]
    adapter = Path(model, "adapter_config.json")
    if adapter.is_file():
        base = json.loads(adapter.read_text()).get("base_model_name_or_path")
        return arch_of(base) if base and base != model else None
    path = Path(model, "config.json")
    if not path.is_file():
        return None
    c = json.loads(path.read_text())
    head_dim = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    return Arch(c["num_hidden_layers"], c["hidden_size"], c["intermediate_size"],
                c.get("num_key_value_heads", c["num_attention_heads"]) * head_dim, c["vocab_size"],
                bool(c.get("tie_word_embeddings", False)))


def lora_params(arch: Arch, r: int, targets: list[str]) -> int:
    h, kv, i = arch.hidden, arch.kv_dim, arch.intermediate
    shapes = {"q_proj": (h, h), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (h, h),
              "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}
    return arch.layers * sum(r * (a + b) for name, (a, b) in shapes.items() if name in targets)


@dataclass
class Estimate:
    terms: dict[str, float]  # GB, training phase
    generation_gb: float     # colocated vLLM's share (0 when none)
    sleeps: bool             # vLLM sleeps while training: the phases do not add up
    tokens_per_micro_batch: int

    @property
    def peak_gb(self) -> float:
        train = sum(self.terms.values())
        if not self.generation_gb:
            return train
        resident = self.terms["weights"] + self.terms["trainable state"] + self.terms["CUDA context, buffers"]
        return max(train, resident + self.generation_gb) if self.sleeps else train + self.generation_gb

    def lines(self) -> list[str]:
        out = [f"  {name:<28} {gb:6.1f} GB" for name, gb in self.terms.items()]
        if self.generation_gb:
            out.append(f"  {'colocated vLLM':<28} {self.generation_gb:6.1f} GB  "
                       + ("(sleeps while training: peak = max(training, resident + vLLM))" if self.sleeps else "(stays resident: added)"))
        out.append(f"  {'peak per GPU':<28} {self.peak_gb:6.1f} GB  (card {CARD_GB:.0f} GB)")
        return out


def estimate(config, arch: Arch, world_size: int = 1, sharded: bool = False) -> Estimate:
    """The per-GPU estimate for ``config`` (an SRL/RLVR/SFT config) on ``world_size`` GPUs."""
    rows = config.per_device_train_batch_size
    if hasattr(config, "num_generations"):
        if not config.max_prompt_tokens:  # GRPO does not truncate prompts: without the filter nothing bounds them
            raise ValueError("max_prompt_tokens is not set: a GRPO prompt's length, and its memory, have no bound")
        seq = config.max_prompt_tokens + config.max_completion_length
        head = FUSED_TILE_TOKENS * arch.vocab * 4 * 2
    else:
        seq = config.max_length
        head = rows * seq * arch.vocab * 12
    tokens = rows * seq
    n = world_size if sharded else 1
    p, h, i, kv, L = arch.params, arch.hidden, arch.intermediate, arch.kv_dim, arch.layers
    weights = 2 * p / n + (2 * 2 * arch.layer_params if sharded else 0)
    state = 16 * lora_params(arch, config.lora_r, list(config.lora_target_modules)) if config.use_peft else 16 * p / n
    layer = (6 * h + 2 * kv + 4 * i) * 2 + ((6 * h + i) * 2 if config.use_peft and config.lora_dropout else 0)
    kept = 2 * h * L if config.activation_checkpointing else layer * L
    terms = {
        "weights": weights / GB,
        "trainable state": state / GB,
        "checkpointed layer inputs": tokens * kept / GB if config.activation_checkpointing else tokens * layer * L / GB,
        "one layer recomputed": tokens * layer / GB if config.activation_checkpointing else 0.0,
        "log-probabilities / logits": head / GB,
        "CUDA context, buffers": FIXED_GB,
    }
    colocated = getattr(config, "use_vllm", False) and getattr(config, "vllm_mode", "") == "colocate"
    generation = config.vllm_gpu_memory_utilization * CARD_GB if colocated else 0.0
    return Estimate(terms, generation, bool(getattr(config, "vllm_enable_sleep_mode", False)), tokens)
