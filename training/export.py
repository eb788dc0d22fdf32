"""A run (or one of its checkpoints) -> a plain Hugging Face model folder that from_pretrained, the
agent's ``hf:`` policy and ``vllm serve`` load: whole weights in safetensors plus the tokenizer.

Full-weight runs are re-saved as they are. A LoRA run holds only its adapter, which vLLM cannot serve
as a model: ``merge`` folds the adapter into its base model's weights (the base recorded by absolute
path in the adapter config) first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swesrl.errors import SwesrlError


class ExportError(SwesrlError):
    """The source holds no loadable weights, or needs an option; the message says which."""

    exit_code = 2


@dataclass
class Exported:
    path: Path
    merged_lora: bool
    parameters: int


def _has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin")))


def export_model(source: str | Path, out: str | Path, merge: bool = False) -> Exported:
    """Write ``source``'s weights (a run folder or a checkpoint folder) as an HF model folder at ``out``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, out = Path(source), Path(out)
    if out.resolve() == source.resolve():
        raise ExportError(f"{out}: export into a new folder, not the source")
    lora = (source / "adapter_config.json").is_file()
    if lora and not merge:
        raise ExportError(f"{source} holds a LoRA adapter, not a model: pass --merge to fold it into its base model")
    if lora:
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(source, dtype="auto").merge_and_unload()
    elif _has_weights(source):
        model = AutoModelForCausalLM.from_pretrained(source, dtype="auto")
    else:
        sharded = any(source.glob("pytorch_model_fsdp_*")) or any(source.glob("global_step*"))
        hint = (" (a sharded FSDP/DeepSpeed checkpoint: consolidate it with `accelerate merge-weights` or "
                "DeepSpeed's zero_to_fp32.py, and use training/accelerate/fsdp.yaml's FULL_STATE_DICT for new runs)") if sharded else ""
        raise ExportError(f"{source}: no model weights (config.json + safetensors) and no adapter{hint}")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer_source = source if (source / "tokenizer_config.json").is_file() else model.config.name_or_path
    AutoTokenizer.from_pretrained(tokenizer_source).save_pretrained(out)
    return Exported(out, lora, sum(p.numel() for p in model.parameters()))
