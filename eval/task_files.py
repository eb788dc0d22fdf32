"""Files of a task's repository as they are at its base commit, read from the task's instance image.

RLVR prompts show the model these files (the paper's oracle file-edit setting); training reaches
them through this function, so it never needs the sandbox itself.
"""

from __future__ import annotations

import posixpath

from swesrl.sandbox.factory import open_sandbox

from .environment import ensure_task_image
from .options import EvalOptions
from .tasks import Task


def read_task_files(task: Task, paths: list[str], options: EvalOptions) -> dict[str, str | None]:
    """Each path's text at the base commit, None for a file that does not exist there (one that the
    patch creates). One short-lived container, no network."""
    image = ensure_task_image(task, repos_dir=options.repos_dir, image_template=options.image_template,
                              base_image=options.base_image)
    files: dict[str, str | None] = {}
    with open_sandbox("docker", image, run_id="task-files", instance_id=task.instance_id, workdir=options.workdir,
                       start_timeout=options.timeouts.start) as sb:
        for path in paths:
            try:
                files[path] = sb.read_file(posixpath.join(options.workdir, path))
            except FileNotFoundError:
                files[path] = None
    return files
