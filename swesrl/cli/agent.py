"""`swesrl agent run`: a model works on one issue, in a Docker sandbox of a local repository or a task.
Parse and print: swesrl.pipeline builds the image and runs the agent."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer

from swesrl.util import terminal_safe

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


# exit status of `agent run` by how the run ended; anything else (a limit stopped it) is LIMIT_EXIT
EXIT_CODES = {"submitted": 0, "policy_error": 1, "error": 1}
LIMIT_EXIT = 4
_TEXT_FILES = {".md", ".txt", ".rst"}  # an --issue ending so names a file (a typo is not the issue's text)


def _report(result, path: Path, patch_file: Path) -> None:
    u = result.usage
    cost = f", ${u.cost:.4f}" if u.cost is not None else ""
    err().print(f"[bold]{result.exit_status}[/] after {len(result.trajectory.steps)} steps "
              f"({u.prompt_tokens} prompt + {u.completion_tokens} completion tokens{cost}); trajectory: {path}; "
              f"patch: {patch_file}", highlight=False)
    msg = result.trajectory.metadata.get("exit_message")
    if msg and result.exit_status != "submitted":
        err().print(f"  {terminal_safe(msg)}", markup=False, highlight=False)


def _uncommitted(repo: Path) -> str:
    """`git status --short` of a git repository ('' when clean or not git)."""
    if not (repo / ".git").exists():
        return ""
    done = subprocess.run(["git", "-C", str(repo), "status", "--short"], capture_output=True, text=True)
    return done.stdout.rstrip()


def _apply(repo: Path, patch_file: Path) -> None:
    """The patch onto the user's working tree (git apply: all of it or nothing)."""
    done = subprocess.run(["git", "apply", "--whitespace=nowarn", str(patch_file.resolve())], cwd=repo, capture_output=True, text=True)
    if done.returncode != 0:
        err().print(f"[red]--apply: the patch does not apply to {repo}[/] (kept in {patch_file}): {done.stderr.strip()}",
                  highlight=False)
        raise typer.Exit(1)
    err().print(f"applied to {repo}", highlight=False)


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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No per-step output (scripts): the patch on stdout, errors on stderr.")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Apply the patch to --repo's working tree when the run ends.")] = False,
    confirm: Annotated[bool, typer.Option("--confirm", help="Ask before each action (Enter runs it, n skips it, other text goes to the model).")] = False,
) -> None:
    """Run the agent on one issue, showing each step; prints the patch and saves it, the trajectory and the
    resolved config side by side (OUT.jsonl, OUT.patch, OUT.config.yaml).

    Settings as in `swesrl eval run` (-c files, these options, --set; `swesrl eval config` lists them).
    The image holds --repo as it is on disk: a git repository's uncommitted changes and new files (not the
    ignored ones) are in it, so the patch applies to the working tree (stash them to work on HEAD alone).
    Exit status: 0 submitted, 1 the model server or the run failed, 4 a limit stopped the run (steps,
    tokens, cost, time, malformed answers, or `stuck`: it kept repeating itself, see agent.max_repeats).

    Example: swesrl agent run --repo ./myproject --issue issue.md --model openai:gpt-4o-mini

    Example: swesrl agent run --task jpvanhal__inflection-1 --tasks examples/tasks/tasks.jsonl --model replay
    """
    from swesrl.agent.policies import parse_spec, require_backend, require_model_folder
    from swesrl.pipeline import check_model_server, patch_path, repo_image, run_on_issue
    from swesrl.run_config import load_run_config
    from swesrl.sandbox.factory import check_sandbox
    from swesrl.util import safe_name

    from .agent_view import StepView, confirm_on

    cfg = load_run_config(config or [], shortcut_values(locals(), {"tasks": "tasks", "split": "split", "run_id": "run_id"}), set_ or [])
    if (repo is None) == (task is None):
        raise typer.BadParameter("give either --repo (with --issue) or --task (with --tasks)")
    try:
        parse_spec(cfg.model.spec)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--model") from None
    require_backend(cfg.model.spec)
    require_model_folder(cfg.model.spec)
    if apply and repo is None:
        raise typer.BadParameter("--apply needs --repo (the working tree to apply the patch to)", param_hint="--apply")
    check_model_server(cfg)  # seconds, before any image is built
    progress = (lambda m: None) if quiet else (lambda m: err().print(f"[dim]{m}[/]", markup=True, highlight=False))
    ids: dict = {}
    if repo is not None:
        if not issue:
            raise typer.BadParameter("--repo needs --issue FILE|TEXT", param_hint="--issue")
        if not Path(issue).is_file() and not any(c.isspace() for c in issue) and ("/" in issue or Path(issue).suffix in _TEXT_FILES):
            raise typer.BadParameter(f"{issue}: no such file (give the issue as a file or as its text)", param_hint="--issue")
        problem = Path(issue).read_text(encoding="utf-8") if Path(issue).is_file() else issue
        name, ids["repo"] = repo.resolve().name, str(repo.resolve())
        dirty = _uncommitted(repo)
        if dirty and not quiet:
            err().print(f"the agent works on {repo} as it is on disk, uncommitted changes included:\n{terminal_safe(dirty)}",
                      markup=False, highlight=False)
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
    view = None if quiet else StepView(err(), cfg.agent.step_limit)
    result = run_on_issue(cfg, image, problem, path, label=name, on_step=view, confirm=confirm_on(err()) if confirm else None, **ids)
    # the patch as it is when piped to a file; escaped when it is shown on a terminal
    results = out()
    results.print(terminal_safe(result.patch) if results.is_terminal else result.patch, end="", markup=False, highlight=False)
    if not quiet:
        _report(result, path, patch_path(path))
    elif result.exit_status not in ("submitted",):
        err().print(f"{result.exit_status}: {result.trajectory.metadata.get('exit_message', '')}", markup=False, highlight=False)
    if apply and result.patch.strip():
        _apply(repo, patch_path(path))  # type: ignore[arg-type]  # --apply is checked to come with --repo
    raise typer.Exit(EXIT_CODES.get(result.exit_status, LIMIT_EXIT))
