"""What a run asks of this machine, checked before the model loads: one line per problem, no fallbacks.

A 7B recipe that silently generated with transformers instead of vLLM would run 10-100x slower; one
that asked for bf16 on a machine without CUDA would load 15 GB and then fail. Both stop here instead.
"""

from __future__ import annotations

import importlib.util
import os

from swesrl.errors import SwesrlError


class PreflightError(SwesrlError):
    """The recipe needs something this machine lacks; the message says what and how to proceed."""

    exit_code = 2


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def deepspeed_requested(config) -> bool:
    """A DeepSpeed config in the recipe, or `accelerate launch` with a DeepSpeed config file."""
    return bool(getattr(config, "deepspeed", None)) or os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"


def machine_problems(config) -> list[str]:
    """Each thing ``config`` asks for that this machine cannot give, as one sentence."""
    import torch

    problems = []
    if getattr(config, "use_vllm", False) and not _installed("vllm"):
        problems.append("use_vllm is true but vllm is not installed: pip install 'swesrl[vllm]' on a CUDA machine, "
                        "or --set use_vllm=false to generate with transformers (10-100x slower on a 7B model)")
    if deepspeed_requested(config) and not _installed("deepspeed"):
        problems.append("DeepSpeed is requested (accelerate config or `deepspeed` field) but not installed: pip install 'swesrl[deepspeed]'")
    cuda = torch.cuda.is_available()
    if config.bf16 and not cuda:
        problems.append("bf16 is true but torch sees no CUDA device: this recipe is for a GPU "
                        f"(torch {torch.__version__}); on CPU use a tiny-cpu recipe or --set bf16=false")
    elif config.bf16 and not torch.cuda.is_bf16_supported():
        problems.append(f"bf16 is true but {torch.cuda.get_device_name()} has no bf16 support: --set bf16=false --set fp16=true")
    if getattr(config, "use_vllm", False) and _installed("vllm") and not cuda:
        problems.append("use_vllm is true but torch sees no CUDA device: vLLM generates on GPUs only")
    from transformers.integrations import get_available_reporting_integrations

    here = get_available_reporting_integrations()
    for name in [r for r in config.report_to or [] if r not in ("none", "all") and r not in here]:
        problems.append(f"report_to names {name}, which is not installed here (pip install {name}), or leave it out of report_to")
    return problems


def check_machine(config) -> None:
    """Raise PreflightError naming every problem (see machine_problems)."""
    problems = machine_problems(config)
    if problems:
        raise PreflightError("; ".join(problems))
