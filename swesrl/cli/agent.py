"""`swesrl agent run`: a model works on one issue, in a Docker sandbox of a local repository or a task.
Parse and print: swesrl.pipeline builds the image and runs the agent."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from . import SUMMARY
from .output import err, out
from .run_options import (
    BaseImage,
    ConfigFiles,
    FormatErrors,
    ImageTemplate,
    MaxNewTokens,
    Model,
    ReposDir,
    RunId,
    Seed,
    Sets,
    Split,
    StepLimit,
    Tasks,
    Temperature,
    shortcut_values,
)

app = typer.Typer(help=SUMMARY["agent"], no_args_is_help=True)


def _report(result, path: Path) -> None:
    u = result.usage
    cost = f", ${u.cost:.4f}" if u.cost is not None else ""
    err.print(f"[bold]{result.exit_status}[/] after {len(result.trajectory.steps)} steps "
              f"({u.prompt_tokens} prompt + {u.completion_tokens} completion tokens{cost}); trajectory: {path}")
    msg = result.trajectory.metadata.get("exit_message")
    if msg and result.exit_status != "submitted":
        err.print(f"  {msg}", markup=False, highlight=False)


@app.command()
def run(
    config: ConfigFiles = None,
    set_: Sets = None,
    model: Model = None,
    repo: Annotated[Path | None, typer.Option("--repo", exists=True, file_okay=False, help="A local repository (git or plain folder).")] = None,
    issue: Annotated[str | None, typer.Option("--issue", help="The issue: a file path or the text itself (with --repo).")] = None,
    task: Annotated[str | None, typer.Option("--task", help="Instance id of a task in --tasks.")] = None,
    tasks: Tasks = None,
    split: Split = None,
    install_cmd: Annotated[list[str] | None, typer.Option("--install-cmd", help="Install command(s) run in the image (default: pip install --no-deps -e . when the repo has pyproject.toml/setup.py; '' for none).")] = None,
    packages: Annotated[list[str] | None, typer.Option("--package", help="pip requirement installed in the image (fetched on the host, installed offline); repeatable.")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Trajectory file (JSONL; default runs/agent/<name>-<time>.jsonl); the config goes beside it.")] = None,
    run_id: RunId = None,
    step_limit: StepLimit = None,
    max_format_errors: FormatErrors = None,
    temperature: Temperature = None,
    max_new_tokens: MaxNewTokens = None,
    seed: Seed = None,
    repos_dir: ReposDir = None,
    image_template: ImageTemplate = None,
    base_image: BaseImage = None,
) -> None:
    """Run the agent on one issue; prints the patch, saves the trajectory and the resolved config.

    Settings as in `swesrl eval run` (-c files, these options, --set; `swesrl eval config` lists them).

    Example: swesrl agent run --repo ./myproject --issue issue.md --model openai:gpt-4o-mini

    Example: swesrl agent run --task jpvanhal__inflection-1 --tasks examples/tasks/tasks.jsonl --model replay
    """
    from swesrl.agent.policies import parse_spec, require_backend
    from swesrl.pipeline import repo_image, run_on_issue
    from swesrl.run_config import load_run_config
    from swesrl.sandbox.factory import check_sandbox
    from swesrl.util import safe_name

    cfg = load_run_config(config or [], shortcut_values(locals(), {"tasks": "tasks", "split": "split", "run_id": "run_id"}), set_ or [])
    if (repo is None) == (task is None):
        raise typer.BadParameter("give either --repo (with --issue) or --task (with --tasks)")
    try:
        parse_spec(cfg.model.spec)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--model") from None
    require_backend(cfg.model.spec)
    progress = lambda m: err.print(f"[dim]{m}[/]", markup=True, highlight=False)  # noqa: E731
    ids: dict = {}
    if repo is not None:
        if not issue:
            raise typer.BadParameter("--repo needs --issue FILE|TEXT", param_hint="--issue")
        problem = Path(issue).read_text(encoding="utf-8") if Path(issue).is_file() else issue
        name, ids["repo"] = repo.resolve().name, str(repo.resolve())
        check_sandbox("docker")
        image = repo_image(repo, packages or [], install_cmd, progress)
    else:
        from swesrl.eval.environment import ensure_task_image
        from swesrl.eval.tasks import load_tasks

        if not cfg.tasks:
            raise typer.BadParameter("--task needs --tasks FILE", param_hint="--tasks")
        problems: list = []  # other tasks' bad records do not stop this one
        found = [t for t in load_tasks(cfg.tasks, split=cfg.split, errors=problems) if t.instance_id == task]
        if not found:
            bad = "".join(f"\n  {p}" for p in problems)
            raise typer.BadParameter(f"{cfg.tasks} has no (valid) task {task!r}{bad}", param_hint="--task")
        t = found[0]
        problem, name = t.problem_statement, t.instance_id
        ids = {"instance_id": t.instance_id, "repo": t.repo, "base_commit": t.base_commit}
        check_sandbox("docker")
        im = cfg.images
        image = ensure_task_image(t, repos_dir=im.repos_dir, image_template=im.image_template, base_image=im.base_image,
                                  progress=progress)
    path = out_path or Path("runs") / "agent" / f"{safe_name(name)}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    result = run_on_issue(cfg, image, problem, path, label=name, **ids)
    out.print(result.patch, end="", markup=False, highlight=False)
    _report(result, path)
