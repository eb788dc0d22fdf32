"""`swesrl sandbox ...`: the images tasks run in, a shell inside one, and cleaning up after crashed runs."""

from __future__ import annotations

import shutil
import subprocess
import time
from enum import Enum
from pathlib import Path

import typer
from rich.table import Table

from . import SUMMARY
from .output import err, out
from .run_options import with_default

app = typer.Typer(help=SUMMARY["sandbox"], no_args_is_help=True)


class ImageKind(str, Enum):
    instance = "instance"
    all = "all"


def _progress(msg: str) -> None:
    err().print(f"[dim]{msg}[/]", highlight=False, markup=False) if "[" in msg else err().print(f"[dim]{msg}[/]")


@app.command()
def prune(
    run_id: str | None = typer.Option(None, "--run-id", help="Only this run's containers (default: every run's)."),
    force: bool = typer.Option(False, "--force", help="Also remove the containers of runs that are still alive."),
    images: ImageKind | None = typer.Option(None, "--images", help="Also remove images: 'instance' (rebuilt on demand in seconds) or 'all'."),
) -> None:
    """Remove containers left by crashed or killed runs (label swesrl=1), and optionally swesrl's images.

    A container whose run is still alive on this machine is kept unless --force.

    Example: swesrl sandbox prune --run-id my-run --images instance
    """
    from swesrl.sandbox.images import prune_images
    from swesrl.sandbox.prune import prune as prune_containers

    if force:
        err().print("[yellow]--force: removing the containers of live runs too; they will fail[/]")
    done = prune_containers(run_id, force=force)
    out().print(f"removed {done.removed} container(s)" + (f" of run {run_id}" if run_id else ""))
    if done.kept:
        out().print(f"kept {done.kept} container(s) of live runs (or of owners that cannot be told); --force removes them")
    if images is not None:
        removed = prune_images(images.value)
        out().print(f"removed {len(removed)} image(s)")


@app.command()
def images() -> None:
    """List the images swesrl built (base, environment, instance) with their sizes.

    "own" is what an image's layers add to the image it was built from (an instance to its environment,
    an environment to its base): the disk it costs, since shared layers are stored once.

    Example: swesrl sandbox images
    """
    from swesrl.sandbox.images import list_images

    infos = list_images()
    table = Table("kind", "own", "size", "created")
    table.add_column("image", no_wrap=True)
    for i in infos:
        own = "?" if i.own_bytes is None else f"{i.own_bytes / 1e6:.1f} MB"
        table.add_row(i.kind, own, f"{i.size_bytes / 1e6:.0f} MB", i.created[:19].replace("T", " "), i.tag)
    out().print(table)
    if not infos:
        out().print("no swesrl images yet: `swesrl sandbox base` builds the base image")


@app.command()
def base(
    base_image: str | None = typer.Option(None, "--base-image", help="Use this image instead of building swesrl's Debian base (it must have bash, git, patch, python3-venv)."),
) -> None:
    """Build the base image (Debian + Python + git, ~30 s once, offline after) or check it is there.

    Example: swesrl sandbox base
    """
    from swesrl.sandbox.images import ensure_base_image

    t = time.monotonic()
    tag = ensure_base_image(base_image, progress=_progress)
    out().print(f"{tag} ready ({time.monotonic() - t:.1f} s)")


@app.command()
def shell(
    target: str = typer.Argument(..., help="An image name, or an instance id with --tasks (its image is built if needed)."),
    tasks: str | None = with_default("tasks", "--tasks"),
    split: str | None = with_default("split", "--split"),
    repos_dir: Path | None = with_default("images.repos_dir", "--repos-dir"),
    workdir: str = typer.Option("/testbed", "--workdir", help="Folder the shell starts in."),
) -> None:
    """Open an interactive bash in a throwaway, offline container of an image or a task's image.

    Example: swesrl sandbox shell my__repo-1 --tasks examples/tasks.jsonl
    """
    from swesrl.sandbox.factory import check_sandbox

    check_sandbox("docker")  # one line before any build when no daemon answers
    image = target
    if tasks is not None:
        from swesrl.eval.environment import ensure_task_image

        from .eval import _load_tasks

        found = [t for t in _load_tasks(tasks, repos_dir, split, []) if t.instance_id == target]
        if not found:
            raise typer.BadParameter(f"no task {target!r} in {tasks}", param_hint="TARGET")
        image = ensure_task_image(found[0], repos_dir=repos_dir, progress=_progress)
    if not shutil.which("docker"):
        err().print("[red]the docker CLI is not installed: run scripts/setup-docker.sh[/]")
        raise typer.Exit(1)
    cmd = ["docker", "run", "-it", "--rm", "--network", "none", "--label", "swesrl=1", "--label", "swesrl.run_id=shell",
           "--pids-limit", "512", "--memory", "2g", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
           "-w", workdir, image, "bash"]  # fmt: skip
    raise typer.Exit(subprocess.call(cmd))


@app.command()
def build(
    tasks: str = with_default("tasks", "--tasks", required=True),
    split: str | None = with_default("split", "--split"),
    instances: list[str] = with_default("instances", "--instance", "-i"),
    repos_dir: Path | None = with_default("images.repos_dir", "--repos-dir"),
    base_image: str | None = with_default("images.base_image", "--base-image"),
    image_template: str | None = with_default("images.image_template", "--image-template"),
) -> None:
    """Build every task's instance image ahead of a run; a task that fails is reported and the rest go on.

    Example: swesrl sandbox build --tasks examples/tasks/tasks.jsonl
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from swesrl.eval.environment import ensure_task_image
    from swesrl.sandbox.factory import check_sandbox

    from .eval import _load_tasks

    todo = _load_tasks(tasks, repos_dir, split, instances)
    check_sandbox("docker")  # one line, not one failure per task, when no daemon answers
    failed: list[tuple[str, str]] = []
    cols = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())
    with Progress(*cols, console=err()) as bar:
        job = bar.add_task("building images", total=len(todo))
        for task in todo:
            bar.update(job, description=task.instance_id)
            try:
                image = ensure_task_image(task, repos_dir=repos_dir, image_template=image_template, base_image=base_image)
                bar.console.print(f"{task.instance_id}: {image}")
            except Exception as e:  # one bad task never stops the batch
                failed.append((task.instance_id, f"{type(e).__name__}: {e}"))
                bar.console.print(f"[red]{task.instance_id}: {type(e).__name__}: {str(e)[-500:]}[/]", markup=True, highlight=False)
            bar.advance(job)
    out().print(f"{len(todo) - len(failed)}/{len(todo)} images ready")
    if failed:
        raise typer.Exit(1)


@app.command()
def pull(
    tasks: str = with_default("tasks", "--tasks", required=True),
    split: str | None = with_default("split", "--split"),
    instances: list[str] = with_default("instances", "--instance", "-i"),
    image_template: str = typer.Option("swebench", "--image-template", help="Image name per task: 'swebench' (SWE-bench's Docker Hub images) or a template with {instance_id} / {official_id} (SWE-bench's spelling: lower case, __ -> _1776_)."),
) -> None:
    """Pull each task's prebuilt image from a registry (images already here are kept); evaluation never pulls.

    Example: swesrl sandbox pull --tasks tasks.jsonl --image-template swebench
    """
    from swesrl.sandbox.factory import check_sandbox
    from swesrl.sandbox.prebuilt import prebuilt_name
    from swesrl.sandbox.prebuilt import pull as pull_image

    from .eval import _load_tasks

    todo = _load_tasks(tasks, None, split, instances)
    check_sandbox("docker")
    missing = [t.instance_id for t in todo if not pull_image(prebuilt_name(image_template, t.instance_id), _progress)]
    out().print(f"{len(todo) - len(missing)}/{len(todo)} prebuilt images here")
    if missing:
        raise typer.Exit(1)
