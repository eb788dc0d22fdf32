"""The prebuilt-image path end to end, on a local image with the layout of SWE-bench's instance images.

SWE-bench's images keep the repository at /testbed and its dependencies in the conda env `testbed`
under /opt/miniconda3, activated by their eval script (`source /opt/miniconda3/bin/activate; conda
activate testbed`) and otherwise only in /root/.bashrc. Conda cannot be installed offline, so the
image built here emulates it at the same paths: the env is a venv at /opt/miniconda3/envs/testbed,
and `conda activate` is a shell function that sources its activate script. No `python` is on the
image's PATH until that env is active, as in theirs.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.sandbox.prebuilt import SWEBENCH_TEMPLATE, prebuilt_name

MM = "marshmallow-code__marshmallow-1359"
TEMPLATE = "swesrl-test/sweb.eval.x86_64.{official_id}:latest"

CONDA = """\
# offline stand-in for conda's shell hook: `conda activate NAME` activates /opt/miniconda3/envs/NAME
conda() {
  if [ "$1" = activate ]; then
    . "/opt/miniconda3/envs/${2:-base}/bin/activate" || return 1
    export CONDA_DEFAULT_ENV="${2:-base}" CONDA_PREFIX="/opt/miniconda3/envs/${2:-base}" CONDA_SHLVL=1
  else
    echo "conda $1: not part of this offline stand-in" >&2; return 1
  fi
}
"""

DOCKERFILE = """\
FROM {instance} AS src
FROM {base}
COPY --from=src /opt/venv /opt/miniconda3/envs/testbed
COPY --from=src /testbed /testbed
RUN grep -rlI /opt/venv /opt/miniconda3/envs/testbed | xargs sed -i 's|/opt/venv|/opt/miniconda3/envs/testbed|g'
COPY conda.sh /opt/miniconda3/etc/profile.d/conda.sh
COPY conda.sh /opt/miniconda3/bin/activate
RUN echo "source /opt/miniconda3/etc/profile.d/conda.sh && conda activate testbed" >> /root/.bashrc
WORKDIR /testbed
"""


def test_official_names_spell_double_underscores_as_swebench_does():
    assert prebuilt_name("swebench", "django__django-11099") == "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"
    assert prebuilt_name(SWEBENCH_TEMPLATE, "Foo__Bar-1") == "swebench/sweb.eval.x86_64.foo_1776_bar-1:latest"
    assert prebuilt_name("me/{instance_id}:v1", "a__b-1") == "me/a__b-1:v1"
    with pytest.raises(ValueError, match="unknown field"):
        prebuilt_name("me/{iid}", "a__b-1")


@pytest.mark.docker
def test_a_missing_prebuilt_image_says_how_to_get_one(swebench_data):
    from swesrl.eval.environment import TaskEnvironmentError, ensure_task_image
    from swesrl.eval.tasks import load_tasks

    task = next(t for t in load_tasks(swebench_data / "instances.jsonl") if t.instance_id == MM)
    with pytest.raises(TaskEnvironmentError, match=r"sandbox pull` it, or leave out --image-template to build"):
        ensure_task_image(task, image_template="swesrl-test-absent/{instance_id}")


@pytest.fixture(scope="module")
def prebuilt(swebench_data, tmp_path_factory):
    """A SWE-bench-layout image of the marshmallow row, named as the template names it."""
    import docker

    from swesrl.eval.environment import ensure_task_image
    from swesrl.eval.tasks import load_tasks
    from swesrl.sandbox.base_images import base_image_tag

    tasks = {t.instance_id: t for t in load_tasks(swebench_data / "instances.jsonl")}
    instance = ensure_task_image(tasks[MM], repos_dir=swebench_data / "repos")
    client = docker.from_env()
    name = prebuilt_name(TEMPLATE, MM)
    ctx = tmp_path_factory.mktemp("prebuilt")
    (ctx / "conda.sh").write_text(CONDA)
    (ctx / "Dockerfile").write_text(DOCKERFILE.format(instance=instance, base=base_image_tag(None, "bullseye")))
    client.images.build(path=str(ctx), tag=name, network_mode="none", rm=True, forcerm=True)
    yield tasks, name
    for tag in {prebuilt_name(TEMPLATE, MM), *(i.tags[0] for i in client.images.list(filters={"label": f"swesrl.parent={name}"}))}:
        client.images.remove(tag, force=True)


@pytest.mark.docker
@pytest.mark.slow
def test_eval_patches_on_a_swebench_layout_image_and_the_agent_gets_testbed(prebuilt, swebench_data, tmp_path):
    import docker

    from swesrl.eval.environment import ensure_task_image
    from swesrl.sandbox.docker_sandbox import DockerSandbox

    tasks, name = prebuilt
    raw = subprocess.run(["docker", "run", "--rm", "--network", "none", name, "bash", "-c", "command -v python"], capture_output=True)
    assert raw.returncode != 0  # `bash -c` alone never sees the env their .bashrc activates
    image = ensure_task_image(tasks[MM], image_template=TEMPLATE)
    assert image.startswith("swesrl/activated:")
    with DockerSandbox(image, run_id="t-prebuilt", instance_id=MM) as sb:
        res = sb.exec("python -c 'import sys, marshmallow; print(sys.prefix, marshmallow.__file__)'; echo $CONDA_DEFAULT_ENV", timeout=60)
    assert res.output.split() == ["/opt/miniconda3/envs/testbed", "/testbed/src/marshmallow/__init__.py", "testbed"]

    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"instance_id": MM, "model_name_or_path": "gold", "model_patch": tasks[MM].patch}) + "\n")
    tasks_file = tmp_path / "tasks.jsonl"
    tasks_file.write_text((swebench_data / "instances.jsonl").read_text().splitlines()[0] + "\n")
    res = CliRunner().invoke(app, ["eval", "patches", "--tasks", str(tasks_file), "--predictions", str(preds), "--run-id", "prebuilt",
                                   "--runs-dir", str(tmp_path / "runs"), "--image-template", TEMPLATE])  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "runs" / "prebuilt" / "report.json").read_text())
    assert report["resolved_ids"] == [MM], report["reasons"]
    assert docker.from_env().images.get(name)  # the user's image is used as it is, never rebuilt
