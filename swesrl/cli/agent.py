"""`swesrl agent run`: a model works on one issue, in a Docker sandbox of a local repository or a task."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from swesrl.agent.loop import AgentConfig, AgentResult, run_agent
from swesrl.agent.policies import (
    Policy,
    PolicyError,
    Sampling,
    make_policy,
    parse_spec,
    require_backend,
)
from swesrl.errors import DockerUnavailable
from swesrl.trajectories.context import ContextConfig
from swesrl.util import safe_name

from . import SUMMARY
from .output import err, out

app = typer.Typer(help=SUMMARY["agent"], no_args_is_help=True)

MODEL_HELP = "hf:PATH, vllm:PATH, openai:MODEL@BASE_URL (key from --api-key-env), replay or replay:PATH."
Model = Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)]
StepLimit = Annotated[int, typer.Option("--step-limit", help="Most model calls per run (format errors count).")]
TokenLimit = Annotated[int | None, typer.Option("--token-limit", help="Most prompt + completion tokens per run.")]
CostLimit = Annotated[float | None, typer.Option("--cost-limit", help="Most dollars per run (models with a known price).")]
WallTime = Annotated[float, typer.Option("--wall-time", help="Seconds one run may take.")]
CommandTimeout = Annotated[float, typer.Option("--command-timeout", help="Seconds one command may run.")]
FormatErrors = Annotated[int, typer.Option("--max-format-errors", help="Consecutive malformed answers that end a run.")]
ContextSteps = Annotated[str, typer.Option("--context-steps", help="Previous action/observation pairs in each prompt, or 'all'.")]
MaxPromptTokens = Annotated[int, typer.Option("--max-prompt-tokens", help="Drop the oldest turns until the prompt fits.")]
Temperature = Annotated[float, typer.Option("--temperature", help="0 = greedy (the paper's evaluation).")]
MaxNewTokens = Annotated[int, typer.Option("--max-new-tokens", help="Most tokens per answer.")]
Seed = Annotated[int | None, typer.Option("--seed", help="Sampling seed.")]
ApiKeyEnv = Annotated[str, typer.Option("--api-key-env", help="Environment variable holding the API key (openai:).")]
NativeTools = Annotated[bool, typer.Option("--native-tools", help="openai: send tool schemas and take native tool calls.")]
RequestTimeout = Annotated[float, typer.Option("--request-timeout", help="openai: seconds to wait for one answer.")]
ReposDir = Annotated[Path | None, typer.Option("--repos-dir", help="Repository tarballs / git mirrors for tasks without their own source.")]
ImageTemplate = Annotated[str | None, typer.Option("--image-template", help="Prebuilt image name, e.g. 'swebench/sweb.eval.x86_64.{instance_id}:latest'.")]
BaseImage = Annotated[str | None, typer.Option("--base-image", help="Base image instead of swesrl's own Debian one.")]


def context_steps(value: str) -> int | None:
    if value.strip().lower() == "all":
        return None
    if not value.strip().isdigit():
        raise typer.BadParameter(f"expected a number or 'all', got {value!r}", param_hint="--context-steps")
    return int(value)


def agent_config(step_limit: int, token_limit: int | None, cost_limit: float | None, wall_time: float,
                 command_timeout: float, max_format_errors: int, ctx_steps: str, max_prompt_tokens: int) -> AgentConfig:
    return AgentConfig(step_limit=step_limit, token_limit=token_limit, cost_limit=cost_limit, wall_time_limit=wall_time,
                       command_timeout=command_timeout, max_format_errors=max_format_errors,
                       context=ContextConfig(context_steps=context_steps(ctx_steps), max_prompt_tokens=max_prompt_tokens))


def check_spec(model: str) -> None:
    """A typo in the spec or a backend without its packages stops the command before any work."""
    try:
        parse_spec(model)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--model") from None
    require_backend(model)


def load_policy(model: str, temperature: float, max_new_tokens: int, seed: int | None, api_key_env: str,
                native_tools: bool, request_timeout: float) -> Policy:
    try:
        return make_policy(model, Sampling(temperature=temperature, max_new_tokens=max_new_tokens, seed=seed),
                           api_key_env=api_key_env, request_timeout=request_timeout, native_tools=native_tools)
    except (ValueError, PolicyError) as e:
        raise typer.BadParameter(str(e), param_hint="--model") from None


def report(result: AgentResult, path: Path) -> None:
    u = result.usage
    cost = f", ${u.cost:.4f}" if u.cost is not None else ""
    err.print(f"[bold]{result.exit_status}[/] after {len(result.trajectory.steps)} steps "
              f"({u.prompt_tokens} prompt + {u.completion_tokens} completion tokens{cost}); trajectory: {path}")
    msg = result.trajectory.metadata.get("exit_message")
    if msg and result.exit_status != "submitted":
        err.print(f"  {msg}")


def require_docker() -> None:
    """Fail before any model call when the daemon is down, not after paying for the answers."""
    import docker

    try:
        docker.from_env(timeout=10).ping()
    except Exception as e:
        raise DockerUnavailable(e) from None


def _repo_image(repo: Path, packages: list[str], install_cmd: list[str] | None) -> str:
    from swesrl.sandbox.images import (
        EnvironmentSpec,
        InstanceSpec,
        RepoSource,
        ensure_instance_image,
    )

    source = RepoSource(kind="git" if (repo / ".git").exists() else "dir", location=str(repo.resolve()))
    if install_cmd is None:
        has_build = (repo / "pyproject.toml").exists() or (repo / "setup.py").exists()
        install_cmd = ["python -m pip install --no-deps --no-build-isolation -e ."] if has_build else []
    spec = InstanceSpec(EnvironmentSpec(python_packages=tuple(packages)), source, tuple(c for c in install_cmd if c.strip()))
    return ensure_instance_image(spec, progress=lambda m: err.print(f"[dim]{m}[/]"))


@app.command()
def run(
    model: Model,
    repo: Annotated[Path | None, typer.Option("--repo", exists=True, file_okay=False, help="A local repository (git or plain folder).")] = None,
    issue: Annotated[str | None, typer.Option("--issue", help="The issue: a file path or the text itself (with --repo).")] = None,
    task: Annotated[str | None, typer.Option("--task", help="Instance id of a task in --tasks.")] = None,
    tasks: Annotated[str | None, typer.Option("--tasks", help="Tasks file (JSON/JSONL/CSV/Parquet) or dataset name.")] = None,
    install_cmd: Annotated[list[str] | None, typer.Option("--install-cmd", help="Install command(s) run in the image (default: pip install --no-deps -e . when the repo has pyproject.toml/setup.py; '' for none).")] = None,
    packages: Annotated[list[str] | None, typer.Option("--package", help="pip requirement installed in the image (fetched on the host, installed offline); repeatable.")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="Trajectory file (JSONL; default runs/agent/<name>-<time>.jsonl).")] = None,
    run_id: Annotated[str, typer.Option("--run-id", help="Labels the container.")] = "agent",
    step_limit: StepLimit = 50,
    token_limit: TokenLimit = None,
    cost_limit: CostLimit = None,
    wall_time: WallTime = 3600.0,
    command_timeout: CommandTimeout = 120.0,
    max_format_errors: FormatErrors = 3,
    ctx_steps: ContextSteps = "2",
    max_prompt_tokens: MaxPromptTokens = 8192,
    temperature: Temperature = 0.0,
    max_new_tokens: MaxNewTokens = 1024,
    seed: Seed = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
    native_tools: NativeTools = False,
    request_timeout: RequestTimeout = 300.0,
    repos_dir: ReposDir = None,
    image_template: ImageTemplate = None,
    base_image: BaseImage = None,
) -> None:
    """Run the agent on one issue; prints the patch, saves the trajectory.

    Example: swesrl agent run --repo ./myproject --issue issue.md --model openai:gpt-4o-mini

    Example: swesrl agent run --task jpvanhal__inflection-1 --tasks examples/tasks/tasks.jsonl --model replay
    """
    from swesrl.sandbox.docker_sandbox import DockerSandbox

    if (repo is None) == (task is None):
        raise typer.BadParameter("give either --repo (with --issue) or --task (with --tasks)")
    check_spec(model)
    instance_id, base_commit, repo_name = None, None, None
    if repo is not None:
        if not issue:
            raise typer.BadParameter("--repo needs --issue FILE|TEXT", param_hint="--issue")
        problem = Path(issue).read_text(encoding="utf-8") if Path(issue).is_file() else issue
        name, repo_name = repo.resolve().name, str(repo.resolve())
        require_docker()
        image = _repo_image(repo, packages or [], install_cmd)
    else:
        from swesrl.eval.environment import ensure_task_image
        from swesrl.eval.tasks import load_tasks

        if not tasks:
            raise typer.BadParameter("--task needs --tasks FILE", param_hint="--tasks")
        problems: list = []  # other tasks' bad records do not stop this one
        found = [t for t in load_tasks(tasks, errors=problems) if t.instance_id == task]
        if not found:
            bad = "".join(f"\n  {p}" for p in problems)
            raise typer.BadParameter(f"{tasks} has no (valid) task {task!r}{bad}", param_hint="--task")
        t = found[0]
        problem, name, instance_id, base_commit, repo_name = t.problem_statement, t.instance_id, t.instance_id, t.base_commit, t.repo
        require_docker()
        image = ensure_task_image(t, repos_dir=repos_dir, image_template=image_template, base_image=base_image,
                                  progress=lambda m: err.print(f"[dim]{m}[/]"))
    policy = load_policy(model, temperature, max_new_tokens, seed, api_key_env, native_tools, request_timeout)
    try:
        policy = policy.for_instance(instance_id)
    except PolicyError as e:
        raise typer.BadParameter(str(e), param_hint="--model") from None
    config = agent_config(step_limit, token_limit, cost_limit, wall_time, command_timeout, max_format_errors, ctx_steps, max_prompt_tokens)
    path = out_path or Path("runs") / "agent" / f"{safe_name(name)}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    with DockerSandbox(image, run_id=run_id, instance_id=instance_id or name) as sandbox:
        result = run_agent(policy, sandbox, problem, config=config, out=path, instance_id=instance_id,
                           repo=repo_name, base_commit=base_commit)
    out.print(result.patch, end="", markup=False, highlight=False)
    report(result, path)
