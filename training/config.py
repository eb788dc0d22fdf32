"""One config dataclass per method, TRL style: TRL's own config plus our fields, each with help text.

Subclassing TRL's configs (not wrapping them) means every TRL/Trainer knob (batch sizes, lr schedule,
save_steps, use_vllm, ...) is a recipe key and a ``--set key=value`` override with no glue code.
``bf16`` left unset means bf16 on a GPU and fp32 on CPU (TRL's own default would ask CPUs for bf16).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments
from trl import GRPOConfig
from trl import SFTConfig as TRLSFTConfig

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class _RunFields:
    """What every swesrl run needs beyond TRL's arguments: model, data, LoRA, validation."""

    model: str = field(default="", metadata={"help": "Model name or local path, loaded with from_pretrained."})
    data: str = field(default="", metadata={"help": "Training data: step examples (JSONL/Parquet from `swesrl traj split`)."})
    val_data: str | None = field(
        default=None, metadata={"help": "Held-out step examples; validated (greedy) at every checkpoint to pick the best."}
    )
    val_max_examples: int = field(default=64, metadata={"help": "Validate on at most this many held-out examples."})
    val_max_new_tokens: int = field(default=512, metadata={"help": "Greedy generation length for validation answers."})
    max_prompt_tokens: int | None = field(
        default=None,
        metadata={"help": "Drop (and count) training examples whose prompt, chat template applied, is longer than this "
                  "many tokens of the model's tokenizer (GRPO does not truncate prompts); also the prompt length the "
                  "memory estimate plans for. The prompts were built to the splitter's context.prompt_budget_tokens."},
    )
    cpu_threads: int | None = field(
        default=None,
        metadata={"help": "torch.set_num_threads on CPU runs (None: torch's default, one per core). One each when runs "
                  "share the cores (SRL beside SFT-more); alone, the tiny SFT's 1,000 steps take 5 min on 2 cores, "
                  "about 9 on one."},
    )
    use_peft: bool = field(default=False, metadata={"help": "Train a LoRA adapter (peft) instead of all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: list(LORA_TARGETS), metadata={"help": "Module names that get LoRA adapters."}
    )



def _resolve_precision(config: TrainingArguments) -> None:
    import torch

    if getattr(config, "bf16", None) is None:
        config.bf16 = torch.cuda.is_available()
    if not torch.cuda.is_available():
        config.use_cpu = True


@dataclass
class SRLConfig(GRPOConfig, _RunFields):
    """SRL: GRPO on step examples with the step-similarity reward and dynamic sampling."""

    dynamic_sampling: bool = field(
        default=True,
        metadata={"help": "Drop prompts whose G rewards have population std <= dynamic_sampling_epsilon, and "
                  "sample more prompts until the batch is full (the SRL paper's dynamic sampling)."},
    )
    dynamic_sampling_epsilon: float = field(
        default=1e-4, metadata={"help": "A group is kept only if the population std of its rewards is above this."}
    )
    autojunk: bool = field(
        default=True,
        metadata={"help": "difflib's autojunk in the step reward (default on, as difflib and the paper): on, "
                  "characters filling >1% of a 200+ character expert action are junk and long actions score "
                  "erratically; off scores them by plain matching."},
    )
    max_refill_rounds: int = field(
        default=8,
        metadata={"help": "Extra generation rounds per batch to fill it with informative groups; when reached, "
                  "the missing slots are padded with masked-out rows (logged as dynamic_sampling/padded_groups)."},
    )
    def __post_init__(self):
        _resolve_precision(self)
        super().__post_init__()


@dataclass
class SFTConfig(TRLSFTConfig, _RunFields):
    """The SFT baseline: next-token loss on expert answers (step examples) or whole trajectories."""

    sft_target: str = field(
        default="thought_action",
        metadata={"help": "Step examples: train on 'thought_action' (expert reasoning + action) or 'action' "
                  "(an empty <think></think> block + the action)."},
    )

    def __post_init__(self):
        if self.sft_target not in ("thought_action", "action"):
            raise ValueError(f"sft_target must be 'thought_action' or 'action', got {self.sft_target!r}")
        _resolve_precision(self)
        super().__post_init__()


@dataclass
class RLVRConfig(SRLConfig):
    """RLVR after SRL: GRPO where the reward is whether the task's tests pass with the policy's patch.

    The episode is the single-shot oracle file edit (see training/rlvr.py); the paper's DAPO filter
    (keep groups with 0 < correct < G) is dynamic sampling, on by default.
    """

    tasks: str = field(default="", metadata={"help": "SWE tasks (JSONL/JSON/parquet, as for `swesrl eval`): the RLVR problems, each with its gold patch and tests."})
    repos_dir: str | None = field(
        default=None, metadata={"help": "Repository sources for tasks without environment.repo (as `swesrl eval --repos-dir`)."}
    )
    reward_workers: int = field(default=4, metadata={"help": "Patches evaluated in parallel (one container each) per reward call."})
    eval_timeout: float = field(
        default=600.0, metadata={"help": "Seconds one patch evaluation may take, container start to graded log; over it = no reward."}
    )
    executor: str = field(default="local", metadata={
        "help": "Where the prompts' base files are read and reward evaluations run: local (threads, Docker on this "
                "machine) or ray (tasks on the cluster's nodes with the `docker` resource, so a GPU node without Docker can train)."})
    executor_address: str = field(default="auto", metadata={"help": "executor ray: the cluster, auto or ray://HOST:PORT."})


CONFIGS: dict[str, type] = {"srl": SRLConfig, "sft": SFTConfig, "rlvr": RLVRConfig}
