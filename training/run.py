"""One training run: config -> model, data, trainer, callbacks -> checkpoints, metrics, best checkpoint.

Real models and the tiny test models load through the same ``from_pretrained(config.model)``. The
run directory (``output_dir``) holds ``config.yaml`` (the resolved config), ``checkpoint-N/`` (each
with ``validation.json`` when validation data is given), ``metrics.jsonl``, ``best_checkpoint`` and
the final model (so a later stage can start from the directory itself, e.g. SFT -> SRL -> RLVR; a LoRA
run directory loads as its base model with the adapter merged).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from swesrl.errors import model_load_error, require_model

from . import data as D
from .metrics import MetricsCallback, truncate_metrics
from .preflight import check_machine
from .recipes import method_of, save_config
from .resume import CHANGES_FILE, CONFIG_FILE, FINISHED_FILE, ResumeError, record_changes
from .validation import BEST_FILE, ValidationCallback

if TYPE_CHECKING:
    from transformers import TrainerCallback

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    output_dir: Path
    global_step: int
    resumed_from: Path | None
    best_checkpoint: Path | None


def complete_checkpoints(run_dir: str | Path) -> list[Path]:
    """Checkpoints whose trainer_state.json exists (the Trainer writes it last), oldest first."""
    found = [p for p in Path(run_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*") if (p / "trainer_state.json").is_file()]
    return sorted(found, key=lambda p: int(p.name.rsplit("-", 1)[1]))


def resolve_resume(run_dir: str | Path, resume: str | bool | None) -> Path | None:
    """None/False: fresh run. True/'auto': the newest complete checkpoint, if any. Else a path."""
    if not resume:
        return None
    if resume is True or resume == "auto":
        ckpts = complete_checkpoints(run_dir)
        return ckpts[-1] if ckpts else None
    path = Path(resume)
    if not (path / "trainer_state.json").is_file():
        raise FileNotFoundError(f"{path}: not a complete checkpoint (no trainer_state.json)")
    return path


def load_model(config):
    """Model + tokenizer from ``config.model`` (hub name or local path), dtype from the config."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not config.model:
        raise ValueError("no model: set `model` in the recipe or pass --model")
    if config.use_cpu and config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    # A local directory by its absolute path: a LoRA run records this name as its adapter's base model,
    # and a relative one would not load from any other working directory.
    require_model(config.model)
    source = str(Path(config.model).resolve()) if Path(config.model).is_dir() else config.model
    dtype = torch.bfloat16 if config.bf16 else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        if (Path(source) / "adapter_config.json").is_file():
            # A LoRA run directory (e.g. SRL before RLVR): its base model with the adapter merged in, so the
            # next stage starts from what the last one learned (and may add its own adapter on top).
            from peft import AutoPeftModelForCausalLM

            model = AutoPeftModelForCausalLM.from_pretrained(source, dtype=dtype).merge_and_unload()
        else:
            model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    except OSError as e:
        raise model_load_error(config.model, e) from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def peft_config(config):
    if not config.use_peft:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_target_modules), task_type="CAUSAL_LM",
    )


def _validation_rows(config) -> list[dict]:
    if not config.val_data:
        return []
    ds = D.load_steps(config.val_data)
    rows = [{"messages": r["messages"], "target": r["target"]} for r in ds.select(range(min(len(ds), config.val_max_examples)))]
    return rows


def build_trainer(config, reward_funcs=None):
    """The TRL trainer for ``config``'s method, with our callbacks (validation when ``val_data`` is set,
    through the trainer's own generation backend); nothing is trained yet."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer = _trainer(config, reward_funcs)
    for printer in (PrinterCallback, ProgressCallback):  # each printed every raw log dict; MetricsCallback prints one line
        trainer.remove_callback(printer)
    val_rows = _validation_rows(config)
    if val_rows:
        trainer.add_callback(ValidationCallback(val_rows, trainer, config.output_dir, config.val_max_new_tokens))
    return trainer


def _trainer(config, reward_funcs=None):
    method = method_of(config)
    check_machine(config)
    model, tokenizer = load_model(config)
    out = Path(config.output_dir)
    callbacks: list[TrainerCallback] = [MetricsCallback(out)]
    common = dict(model=model, args=config, processing_class=tokenizer, peft_config=peft_config(config), callbacks=callbacks)
    if method == "sft":
        from trl import SFTTrainer

        if D.data_kind(config.data) == "trajectories":
            config.assistant_only_loss = True
            train = D.sft_trajectory_dataset(config.data)
        else:
            train = D.sft_step_dataset(D.load_steps(config.data), config.sft_target)
            train = D.drop_long_prompts(train, tokenizer, config.max_prompt_tokens)
        return SFTTrainer(train_dataset=train, **common)
    if method == "rlvr":
        from .rlvr import RLVRTrainer, rlvr_inputs

        train, tests_pass = rlvr_inputs(config)
        train = D.drop_long_prompts(train, tokenizer, config.max_prompt_tokens)
        return RLVRTrainer(reward_funcs=reward_funcs or tests_pass, train_dataset=train, **common)
    from .srl_trainer import SRLTrainer

    if reward_funcs is None:
        from .rewards import srl_reward_for

        reward_funcs = [srl_reward_for(config.autojunk)]
    train = D.drop_long_prompts(D.grpo_dataset(D.load_steps(config.data)), tokenizer, config.max_prompt_tokens)
    return SRLTrainer(reward_funcs=reward_funcs, train_dataset=train, **common)


def clear_run(run_dir: Path) -> None:
    """Delete a run's checkpoints and records before --overwrite starts it over (its final weights are
    replaced when the new run ends)."""
    import shutil

    for ckpt in run_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        shutil.rmtree(ckpt)
    for name in ("metrics.jsonl", BEST_FILE, CONFIG_FILE, CHANGES_FILE, FINISHED_FILE):
        (run_dir / name).unlink(missing_ok=True)


def train(config, resume: str | bool | None = None, reward_funcs=None, overwrite: bool = False,
          changes: dict | None = None) -> RunResult:
    """Run (or resume) training to the end; see the module docstring for what lands in output_dir.

    A fresh run refuses a directory that already holds one (config.yaml or checkpoints) unless
    ``overwrite``; ``changes`` (from resume.resume_setup) are recorded before training continues."""
    out = Path(config.output_dir)
    if not resume and ((out / CONFIG_FILE).is_file() or complete_checkpoints(out)):
        if not overwrite:
            raise ResumeError(f"{out} already holds a run: --resume auto to continue it, or --overwrite to start it over "
                              "(deletes its checkpoints)")
        clear_run(out)
    checkpoint = resolve_resume(out, resume)
    if resume and checkpoint is None:
        log.info(f"{out}: no complete checkpoint to resume from; starting fresh")
    if checkpoint is not None:
        truncate_metrics(out, int(checkpoint.name.rsplit("-", 1)[1]))
    elif (out / "metrics.jsonl").exists():
        (out / "metrics.jsonl").unlink()  # a fresh run in an old directory: start its record anew
    trainer = build_trainer(config, reward_funcs)
    if trainer.is_world_process_zero():
        (out / FINISHED_FILE).unlink(missing_ok=True)
        record_changes(out, int(checkpoint.name.rsplit("-", 1)[1]) if checkpoint else 0, changes or {})
        save_config(config, out / CONFIG_FILE)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        (out / FINISHED_FILE).write_text(json.dumps({"global_step": trainer.state.global_step}) + "\n")
    best = out / BEST_FILE
    return RunResult(out, trainer.state.global_step, checkpoint, Path(best.read_text().strip()) if best.is_file() else None)
