"""SWE-bench's prebuilt instance images: their names, an explicit pull, and their `testbed` environment
made the default.

Their images keep the repository at /testbed and its dependencies in the conda env `testbed`, which
their eval script activates (`source /opt/miniconda3/bin/activate; conda activate testbed`) and which
is otherwise activated only in /root/.bashrc. Commands run with `bash -c` (the agent's, the sandbox's)
never read that file, so a thin local layer bakes in what their own activation sets.
"""

from __future__ import annotations

import io
import json

import docker.errors

from .host import ImageBuildError
from .images import Progress, build_lock, docker_client, image_exists, probe, say

# SWE-bench's own names: `sweb.eval.<arch>.<instance id, lower case>`, with `__` spelled `_1776_` on Docker Hub.
SWEBENCH_TEMPLATE = "swebench/sweb.eval.x86_64.{official_id}:latest"
_ACTIVATE = "source /opt/miniconda3/bin/activate && conda activate testbed"
_SHELL_VARS = {"PWD", "OLDPWD", "SHLVL", "_", "PS1"}
_PLAIN: set[str] = set()  # ids of images found to have no conda env `testbed`


def prebuilt_name(template: str, instance_id: str) -> str:
    """The image name for `instance_id`: `template` with `{instance_id}` as is and `{official_id}` as
    SWE-bench's Docker Hub spells it; the template "swebench" is SWE-bench's own."""
    template = SWEBENCH_TEMPLATE if template == "swebench" else template
    try:
        return template.format(instance_id=instance_id, official_id=instance_id.lower().replace("__", "_1776_"))
    except (KeyError, IndexError) as e:
        raise ValueError(f"image template {template!r}: unknown field {e} (use {{instance_id}} or {{official_id}})") from None


def pull(name: str, progress: Progress = None) -> bool:
    """Pull `name` unless it is here; False (with the reason said) when the registry cannot serve it."""
    if image_exists(name):
        return True
    say(progress, f"pulling {name}")
    try:
        docker_client().images.pull(name)
        return True
    except docker.errors.APIError as e:
        say(progress, f"cannot pull {name}: {e.explanation or e}")
        return False


def activated(name: str, progress: Progress = None) -> str:
    """`name` with its conda env `testbed` active for every command (a local layer of ENV lines, as
    `conda activate testbed` computes them inside the image); `name` itself when it has no such env."""
    client = docker_client()
    image = client.images.get(name)
    if image.id in _PLAIN:
        return name
    tag = f"swesrl/activated:{image.id.split(':')[-1][:16]}"
    if image_exists(tag):
        return tag
    with build_lock(tag):
        if image_exists(tag):
            return tag
        script = f"env -0; printf '\\0=====\\0'; {_ACTIVATE} >/dev/null 2>&1 && env -0"
        code, out = probe(image.id, ["bash", "-c", script])
        before, _, after = out.decode(errors="replace").partition("\0=====\0")
        if code != 0 or not after:
            _PLAIN.add(image.id)  # no conda env `testbed`: nothing to activate
            return name
        old, new = _env(before), _env(after)
        changed = {k: v for k, v in new.items() if old.get(k) != v and k not in _SHELL_VARS}
        lines = "\n".join(f"ENV {k}={json.dumps(v)}" for k, v in sorted(changed.items()))
        dockerfile = f'FROM {name}\nLABEL swesrl.kind="instance" swesrl.parent="{name}" swesrl.activated="testbed"\n{lines}\n'
        say(progress, f"building {tag}: {name} with its conda env testbed active")
        try:
            client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, network_mode="none", rm=True, forcerm=True)
        except (docker.errors.BuildError, docker.errors.APIError) as e:
            raise ImageBuildError(f"activating testbed in {name} failed: {e}") from e
    return tag


def _env(block: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in block.split("\0") if "=" in item)
