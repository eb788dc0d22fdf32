"""Resuming a run honestly: the saved config is the run's config; a change is refused unless named.

`--resume auto -o RUN` needs nothing else: the config comes from RUN/config.yaml. Flags given with it
are compared to the saved values. A field whose new value the restored checkpoint would silently
override (the optimizer and scheduler keep the old learning rate; the sampler keeps the old batch) or
that changes what a step means can never change on resume: start a new run from the checkpoint
instead. The fields in ``RESUMABLE`` take effect exactly from the resumed step on; each must be named
with ``allow_changes`` and is appended to RUN/config_changes.jsonl before training continues.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from swesrl.errors import SwesrlError

from .recipes import build_config, config_yaml

CONFIG_FILE = "config.yaml"
CHANGES_FILE = "config_changes.jsonl"
FINISHED_FILE = "finished.json"
DERIVED = ("generation_batch_size",)  # resolved from steps_per_generation at build time: not an input
WHERE = ("output_dir", "logging_dir")  # where the run is, however the path is spelled: never a change

RESUMABLE = frozenset({
    "max_steps", "save_steps", "save_total_limit", "logging_steps", "report_to", "disable_tqdm",
    "log_completions", "dataloader_num_workers", "cpu_threads", "val_data", "val_max_examples",
    "val_max_new_tokens", "max_refill_rounds", "use_vllm", "vllm_mode", "vllm_gpu_memory_utilization",
    "vllm_enable_sleep_mode", "vllm_server_base_url", "vllm_server_host", "vllm_server_port",
    "vllm_server_timeout", "reward_workers", "eval_timeout",
})


class ResumeError(SwesrlError):
    """A resume that would not continue the same run; the message names the fields and what to do."""

    exit_code = 2


@dataclass
class ResumeSetup:
    config: Any
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (saved, new)
    finished_step: int | None = None  # the run already finished at this step: nothing to do


def saved_config(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir, CONFIG_FILE)
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "method" not in data:
        raise ResumeError(f"{path}: not a swesrl run config (no method)")
    return {k: v for k, v in data.items() if k not in DERIVED}


def finished_step(run_dir: str | Path) -> int | None:
    path = Path(run_dir, FINISHED_FILE)
    return json.loads(path.read_text())["global_step"] if path.is_file() else None


def _plain(config) -> dict[str, Any]:
    return yaml.safe_load(config_yaml(config))


def _schedule_ignores_length(saved: dict[str, Any]) -> bool:
    """Whether the saved run's learning rate at a step does not depend on max_steps (constant, or constant
    after an absolute warmup: a warmup given as a ratio of the steps moves with them)."""
    warmup = saved.get("warmup_steps") or 0
    kind = str(saved.get("lr_scheduler_type"))
    return kind == "constant" or (kind == "constant_with_warmup" and (warmup == 0 or warmup >= 1))


def resume_setup(run_dir: str | Path, method: str, recipe: str | None, overrides: list[str],
                 allow_changes: Sequence[str] = (), **fields: Any) -> ResumeSetup:
    """The config to resume ``run_dir`` with: its saved config, plus the changes ``allow_changes`` names.

    ``recipe``/``fields``/``overrides`` are what the user passed again (None: not given); any value
    that differs from the saved one is a change."""
    saved = saved_config(run_dir)
    if saved is None:
        if recipe is None:
            raise ResumeError(f"{run_dir}: no {CONFIG_FILE} to resume from; pass --recipe to start a run there")
        return ResumeSetup(build_config(recipe, overrides, method=method, **fields))
    if saved["method"] != method:
        raise ResumeError(f"{run_dir} is a {saved['method']} run, not {method}")
    asked = build_config(recipe if recipe is not None else saved, overrides, method=method, **fields)
    new, old = _plain(asked), saved
    keys = set(old) | set(new) - set(DERIVED) - set(WHERE)
    changes = {k: (old.get(k), new.get(k)) for k in sorted(keys) if old.get(k) != new.get(k)}
    unknown = sorted(set(allow_changes) - RESUMABLE)
    if unknown:
        raise ResumeError(f"cannot change {', '.join(unknown)} on resume: the restored optimizer, scheduler or sampler "
                          f"state keeps the old value; start a new run from the checkpoint (--model RUN/checkpoint-N) instead")
    if "max_steps" in changes and "max_steps" in allow_changes and not _schedule_ignores_length(saved):
        raise ResumeError(f"cannot change max_steps on resume of a run with the {saved.get('lr_scheduler_type')} learning-rate "
                          "schedule (warmup ratio included): it is laid out over max_steps, so from the resumed step on the "
                          "rate would follow another curve; start a new run from the checkpoint (--model RUN/checkpoint-N) instead")
    refused = {k: v for k, v in changes.items() if k not in allow_changes}
    if refused:
        listed = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in refused.items())
        can = sorted(set(refused) & RESUMABLE)
        hint = f" Pass --allow-change for each of {', '.join(can)} to apply it from the resumed step on." if can else ""
        raise ResumeError(f"{run_dir} was run with other settings ({listed}). Resume with the saved config "
                          f"(drop those flags), or start a new run.{hint}")
    config = build_config({**saved, **{k: new[k] for k in changes}, **{k: new[k] for k in WHERE if k in new}}, method=method)
    done = finished_step(run_dir)
    grows = any(k in changes for k in ("max_steps", "num_train_epochs"))
    return ResumeSetup(config, changes, None if grows else done)


def record_changes(run_dir: str | Path, step: int, changes: dict[str, tuple[Any, Any]]) -> None:
    """Append the allowed changes (field, saved value, new value, from which step) to the run's record."""
    if not changes:
        return
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with Path(run_dir, CHANGES_FILE).open("a", encoding="utf-8") as f:
        for key, (old, new) in changes.items():
            f.write(json.dumps({"field": key, "old": old, "new": new, "from_step": step, "time": when}) + "\n")

