"""The settings of an agent or evaluation run: one typed dataclass tree, the only place each setting
and its help are written.

A run's config is the defaults below, then YAML files (``-c FILE``, later files win), then the
command's options, then ``--set key.path=value``; the resolved config is saved in the run folder
(``config.yaml``), so a run can be repeated with ``-c runs/R/config.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from swesrl.agent.agentless import PipelineConfig
from swesrl.agent.loop import AgentConfig
from swesrl.agent.policies import SPECS

from . import settings
from .executors import ExecutorConfig


@dataclass(frozen=True)
class ModelConfig:
    spec: str = field(default="replay", metadata={"help": f"the model: {SPECS} (openai: key from model.api_key_env)"})
    temperature: float = field(default=0.0, metadata={"help": "sampling temperature; 0 = greedy (the paper's evaluation)"})
    max_new_tokens: int = field(default=1024, metadata={"help": "most tokens per answer"})
    seed: int | None = field(default=None, metadata={"help": "sampling seed (null: none)"})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "environment variable holding the API key (openai:)"})
    native_tools: bool = field(default=False, metadata={"help": "openai: send tool schemas and take native tool calls"})
    request_timeout: float = field(default=300.0, metadata={"help": "openai: seconds to wait for one answer"})


@dataclass(frozen=True)
class ImageConfig:
    repos_dir: str | None = field(default=None, metadata={
        "help": "folder of repository sources for tasks without their own: <instance_id>.tar.gz or <owner>__<name>.git mirrors"})
    image_template: str | None = field(default=None, metadata={
        "help": "a prebuilt image used when it exists locally: 'swebench' (SWE-bench's own, see `swesrl sandbox pull`) or a template with {instance_id} / {official_id} (SWE-bench's Docker Hub spelling: lower case, __ -> _1776_)"})
    base_image: str | None = field(default=None, metadata={"help": "base image for environments (default: swesrl's Debian base, built locally)"})


@dataclass(frozen=True)
class EvalConfig:
    eval_timeout: float = field(default=1800.0, metadata={"help": "seconds for one evaluation, container start to graded log (image build excluded)"})
    start_timeout: float = field(default=120.0, metadata={"help": "seconds for an evaluation container to start"})
    setup_timeout: float = field(default=300.0, metadata={"help": "seconds for one setup command of an evaluation (e.g. applying the patch)"})
    test_seed: int = field(default=0, metadata={"help": "PYTHONHASHSEED for the tests"})
    min_free_gb: float = field(default=5.0, metadata={"help": "refuse to build images with less free disk than this"})
    allow_test_changes: bool = field(default=False, metadata={
        "help": "grade patches that change test infrastructure (conftest.py, pytest config, files among the tests) as "
                "SWE-bench does, instead of unresolved; they are reported either way"})
    network: str = field(default="none", metadata={
        "help": "the evaluation containers' Docker network: none, or bridge for tests that need the internet "
                "(e.g. requests rows calling httpbin.org); the patch under test then runs online"})


@dataclass(frozen=True)
class RunConfig:
    tasks: str = field(default="", metadata={"help": "the tasks: a JSON/JSONL/CSV/Parquet file or a `datasets` name"})
    split: str | None = field(default=None, metadata={
        "help": "the split, when tasks is a `datasets` name or a folder of data files (data/dev-*.parquet, ...); "
                "default test; a single task file has no splits (all its tasks are read)"})
    run_id: str = field(default="", metadata={"help": "names the run folder RUNS_DIR/RUN_ID (trajectories, predictions, results, report, config); the same run id again resumes the run"})
    runs_dir: str = field(default="runs/eval", metadata={"help": "where evaluation run folders live (apart from training runs, so names cannot collide)"})
    instances: tuple[str, ...] = field(default=(), metadata={"help": "only these instance ids (empty: all tasks)"})
    workers: int = field(default=1, metadata={"help": "instances run at once (agent and evaluation)"})
    mode: str = field(default="agent", metadata={
        "help": "agent: multi-turn agent; oracle: one answer with SEARCH/REPLACE edits to the gold patch's files; "
                "pipeline: localize the files, then the same repair (Agentless-mini)"})
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "the policy"})
    agent: AgentConfig = field(default_factory=AgentConfig, metadata={"help": "agent mode: limits and prompts"})
    pipeline: PipelineConfig = field(default_factory=PipelineConfig, metadata={"help": "pipeline mode"})
    images: ImageConfig = field(default_factory=ImageConfig, metadata={"help": "where task images come from"})
    eval: EvalConfig = field(default_factory=EvalConfig, metadata={"help": "evaluation of the patches"})
    executor: ExecutorConfig = field(default_factory=ExecutorConfig, metadata={"help": "where the instances run (agent and evaluation)"})

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")


MODES = ("agent", "oracle", "pipeline")


def help_of(key: str) -> str:
    """A setting's help, for the CLI options that set it (written once, in the dataclass)."""
    return settings.help_of(RunConfig, key)


def load_run_config(files: Sequence[str | Path] = (), options: dict[str, Any] | None = None,
                    overrides: Sequence[str] = ()) -> RunConfig:
    """Defaults, then ``files`` in order, then ``options`` (dotted keys; None = not given), then
    ``overrides`` (``key.path=value``)."""
    data: dict[str, Any] = {}
    for f in files:
        data = settings.merge(data, settings.read_yaml(f))
    for key, value in (options or {}).items():
        if value is not None:
            *parents, leaf = key.split(".")
            node: dict[str, Any] = {}
            node[leaf] = value
            for p in reversed(parents):
                node = {p: node}
            data = settings.merge(data, node)
    where = ", ".join(str(f) for f in files) or "options"
    config = settings.build(RunConfig, data, where)
    for item in overrides:
        config = settings.override(config, item)
    return config


def save_run_config(config: RunConfig, path: str | Path) -> Path:
    """The resolved config as YAML (every setting), beside what the run wrote."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(settings.to_dict(config), sort_keys=False, default_flow_style=False)
    from swesrl.util import write_atomic

    write_atomic(path, text)
    return path
