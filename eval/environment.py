"""From a task to its instance image: the build spec (environment + repository source) and the build.

`sandbox build` / `sandbox shell` and the evaluator all come through here, so a task gets the same
image everywhere; the image tag follows the spec's hash, so equal specs share images.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from swesrl.sandbox.host import ImageBuildError
from swesrl.sandbox.images import (
    EnvironmentSpec,
    InstanceSpec,
    RepoSource,
    ensure_instance_image,
    image_exists,
)
from swesrl.sandbox.prebuilt import activated, prebuilt_name

from .environments import DeriveError, derive_environment, swebench_spec
from .tasks import Task


class TaskEnvironmentError(RuntimeError):
    """A task whose image cannot be specified (no known environment, no repository source)."""


def repo_source(task: Task, repos_dir: str | Path | None = None) -> RepoSource:
    """The task's own repository source, else `<repos_dir>/<instance_id>.tar.gz` or a git mirror
    `<repos_dir>/<owner>__<name>.git` checked out at the base commit."""
    if task.environment is not None and task.environment.repo is not None:
        return task.environment.repo
    if repos_dir is None:
        raise TaskEnvironmentError(f"{task.instance_id}: no repository source: give --repos-dir or an environment.repo in the task")
    repos_dir = Path(repos_dir)
    tarball = repos_dir / f"{task.instance_id}.tar.gz"
    if tarball.is_file():
        return RepoSource(kind="tarball", location=str(tarball.resolve()), commit=None, patch=None, subdir=None)  # one top folder: auto-detected
    mirror = repos_dir / (task.repo.replace("/", "__") + ".git")
    if mirror.is_dir():
        return RepoSource(kind="git", location=str(mirror.resolve()), commit=task.base_commit, patch=None, subdir=None)
    raise TaskEnvironmentError(f"{task.instance_id}: neither {tarball} nor {mirror} exists")


def task_to_instance_spec(task: Task, repos_dir: str | Path | None = None, base_image: str | None = None) -> InstanceSpec:
    """The sandbox's build spec for a task: its own environment, else one derived from SWE-bench's spec
    for its repo and version; raises TaskEnvironmentError naming what is missing."""
    source = repo_source(task, repos_dir)
    env = task.environment
    if env is None:
        if swebench_spec(task.repo, task.version) is None:
            raise TaskEnvironmentError(
                f"{task.instance_id}: no environment known for {task.repo} version {task.version!r} (SWE-bench's specs "
                "lack it): add an 'environment' to the task, name a prebuilt 'image', or add the repo to eval/data/environments.json"
            )
        try:
            env = derive_environment(task, source)
        except (DeriveError, ImageBuildError) as e:
            raise TaskEnvironmentError(f"{task.instance_id}: deriving its environment from SWE-bench's spec failed: {e}") from e
    return InstanceSpec(
        environment=EnvironmentSpec(
            python_packages=env.python_packages,
            setup_commands=env.setup_commands,
            base_image=base_image or env.base_image,
            python=env.python,
            deviations=env.deviations,
        ),
        repo=source,
        install_commands=env.install_commands,
        env=env.env,
    )


def image_identity(task: Task, repos_dir: str | Path | None = None, base_image: str | None = None, image_template: str | None = None) -> str:
    """What names the image a task runs in, known before anything is built: the prebuilt image's name,
    else the build spec's key (and the template's name, which wins when that image exists locally)."""
    if task.image:
        return task.image
    named = prebuilt_name(image_template, task.instance_id) if image_template else None
    if task.environment is None and named:
        return named
    key = task_to_instance_spec(task, repos_dir, base_image).key()
    return f"{named}|{key}" if named else key


def ensure_task_image(
    task: Task,
    *,
    repos_dir: str | Path | None = None,
    image_template: str | None = None,
    base_image: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> str:
    """The image tag to run the task in: its prebuilt image; else the template's image when it exists
    locally; else built (or found cached) from the task's spec. A prebuilt SWE-bench image comes with
    its conda env `testbed` active (see `swesrl.sandbox.prebuilt`)."""
    if task.image:
        if not image_exists(task.image):  # offline first: never a surprise pull from a registry
            raise TaskEnvironmentError(f"{task.instance_id}: image {task.image} does not exist locally (`swesrl sandbox pull` or docker load it first)")
        return activated(task.image, progress)
    if image_template:
        name = prebuilt_name(image_template, task.instance_id)
        if image_exists(name):
            return activated(name, progress)
        if task.environment is None:  # a SWE-bench row: its prebuilt image is what the template asks for
            raise TaskEnvironmentError(
                f"{task.instance_id}: image {name} does not exist locally: `swesrl sandbox pull` it, or leave out "
                "--image-template to build the task's image here (from --repos-dir)"
            )
    spec = task_to_instance_spec(task, repos_dir, base_image)
    return ensure_instance_image(spec, progress=progress)
