"""Environments derived from SWE-bench's own specs: the rows as published build and validate offline."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.version import Version

from swesrl.eval import scripts
from swesrl.eval.environment import repo_source, task_to_instance_spec
from swesrl.eval.environments import (
    conda_packages,
    derive_environment,
    requirement_files,
    swebench_spec,
    swebench_specs,
)
from swesrl.eval.tasks import Task, load_tasks
from swesrl.sandbox.base_images import suite_for_python
from swesrl.sandbox.repo_sources import RepoSource
from swesrl.sandbox.wheels import Target, host_python, wheel_pin

MM = "marshmallow-code__marshmallow-1359"
PD = "pydicom__pydicom-1413"


@pytest.fixture(scope="module")
def rows(swebench_data) -> dict[str, Task]:
    return {t.instance_id: t for t in load_tasks(swebench_data / "instances.jsonl")}


def test_specs_are_swebench_4_1s_and_test_commands_match_them_byte_for_byte():
    specs = swebench_specs().MAP_REPO_VERSION_TO_SPECS_PY
    assert swebench_spec("marshmallow-code/marshmallow", "3.0") == {
        "python": "3.9", "install": "python -m pip install -e '.[dev]'", "test_cmd": "pytest -rA",
    }  # fmt: skip
    assert swebench_spec("pydicom/pydicom", "2.1")["pip_packages"] == ["pytest"]
    assert swebench_spec("nobody/nothing", "1.0") is None
    checked = 0
    for repo, versions in specs.items():
        for version, spec in versions.items():
            if "test_cmd" in spec and repo != "swe-bench/humaneval":
                row = Task("x__y-1", repo, "abc", "issue", version=version, FAIL_TO_PASS=["t"], test_patch="")
                assert scripts.test_command(row) == spec["test_cmd"], (repo, version)
                checked += 1
    assert checked > 250


@pytest.mark.parametrize(
    ("python", "suite"),
    [("3.5", "bullseye"), ("3.6", "bullseye"), ("3.9", "bullseye"), ("3.10", "bookworm"), ("3.11", "bookworm"), ("3.12", "trixie")],
)
def test_each_python_gets_the_debian_suite_with_the_nearest_one(python, suite):
    assert suite_for_python(python) == suite


def test_conda_package_lists_become_pip_requirements():
    spec = "'numpy==1.19.2' 'scipy==1.5.2' pytest 'pandas<2.0.0' setuptools==38.2.4 python=3.9 pip mpmath=1.2"
    assert conda_packages(spec) == ["numpy==1.19.2", "scipy==1.5.2", "pytest", "pandas<2.0.0", "setuptools==38.2.4", "mpmath==1.2.*"]


def test_a_pin_without_a_wheel_for_the_python_moves_to_the_nearest_that_has_one(tmp_path):
    pin, deviation = wheel_pin("numpy", "1.19.2", Target("3.9", (2, 31)), tmp_path)
    assert pin == "numpy==1.19.3"  # 1.19.3 was the first numpy with Python 3.9 wheels
    assert "numpy==1.19.2 -> numpy==1.19.3" in str(deviation)
    assert wheel_pin("six", "1.16.0", Target("3.9", (2, 31)), tmp_path) == ("six==1.16.0", None)


def test_sources_are_built_by_a_host_python_of_the_targets_version_when_one_runs(tmp_path, monkeypatch):
    import sys

    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    (tmp_path / f"python{version}").symlink_to(sys.executable)
    shim = tmp_path / "python3.4"  # like a pyenv shim of a version that is not active
    shim.write_text("#!/bin/sh\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    host_python.cache_clear()
    try:
        assert host_python(version) == str(tmp_path / f"python{version}")
        assert host_python("3.4") is None and host_python("2.6") is None
    finally:
        host_python.cache_clear()


def test_requirement_files_are_read_with_their_includes_as_swebench_did(tmp_path):
    tree = tmp_path / "flask"
    (tree / "requirements").mkdir(parents=True)
    (tree / "requirements" / "dev.txt").write_text("-r tests.txt\n# comment\n-e .\npre-commit==3.3.3\n")
    (tree / "requirements" / "tests.txt").write_text("pytest==7.4.0\n")
    row = Task("pallets__flask-1", "pallets/flask", "abc", "issue", version="2.3", FAIL_TO_PASS=["t"])
    lines, path = requirement_files(row, tree, RepoSource("dir", str(tree)))
    assert (lines, path) == (["pytest==7.4.0", "pre-commit==3.3.3"], "requirements/dev.txt")


def test_a_published_row_gets_its_environment_from_swebenchs_spec(rows, swebench_data, tmp_path, monkeypatch):
    monkeypatch.setenv("SWESRL_CACHE", str(tmp_path))
    task = rows[MM]
    source = repo_source(task, swebench_data / "repos")
    env = derive_environment(task, source)
    assert env.python == "3.9" and env.install_commands == ("python -m pip install -e '.[dev]'",)
    pins = dict(p.split("==") for p in env.python_packages)
    assert pins["flake8"] == "3.7.8"  # the repository's own pin, from its [dev] extra
    assert {"pytest", "pytz", "simplejson", "setuptools", "pip"} <= set(pins)
    assert Version(pins["pytest"]) < Version("8")  # as of SWE-bench's release (Oct 2023)
    t = time.monotonic()
    assert derive_environment(task, source) == env  # cached on the host
    assert time.monotonic() - t < 1
    # A task's own environment wins over the derived one.
    own = task_to_instance_spec(replace(task, environment=replace(env, python_packages=("pytest",))), swebench_data / "repos")
    assert own.environment.python_packages == ("pytest",)


def test_pre_install_edits_and_the_install_win_over_pip_packages_and_yanked_only_packages_resolve(tmp_path, monkeypatch):
    """As SWE-bench ran it: pip_packages, then pre_install's seds on setup.py, then the install (sphinx 3.5)."""
    from swesrl.eval import environments

    monkeypatch.setenv("SWESRL_CACHE", str(tmp_path / "cache"))
    spec = {"python": "3.9", "pip_packages": ["Jinja2==3.0.3", "types-pkg-resources", "tox==4.16.0", "docutils"], "install": "python -m pip install -e .",
            "pre_install": ["sed -i 's/Jinja2>=2.3/Jinja2<3.0/' setup.py"], "test_cmd": "pytest -rA"}  # fmt: skip
    monkeypatch.setattr(environments, "swebench_spec", lambda repo, version: spec)
    tree = tmp_path / "site"
    tree.mkdir()
    (tree / "setup.py").write_text("from setuptools import setup\nsetup(name='site', version='1.0', install_requires=['Jinja2>=2.3'])\n")
    task = Task("acme__site-1", "acme/site", "abc", "issue", version="1.0", FAIL_TO_PASS=["t"], test_patch="")
    env = derive_environment(task, RepoSource("dir", str(tree)))
    pins = dict(p.split("==") for p in env.python_packages)
    assert Version(pins["jinja2"]) < Version("3")
    assert pins["types-pkg-resources"] == "0.1.3"  # its only releases were yanked in 2024
    # tox 4.16 (July 2024, pinned by SWE-bench's sphinx specs) gets the newer packaging it needs; the rest stay as of 2023
    assert Version(pins["packaging"]) >= Version("24.1") and Version(pins["docutils"]) < Version("0.21")
    assert not any("site" in p for p in env.python_packages)  # the repository is installed by its command, not pinned
    assert any("Jinja2==3.0.3 relaxed" in d for d in env.deviations)
    assert env.install_commands == ("sed -i 's/Jinja2>=2.3/Jinja2<3.0/' setup.py", "python -m pip install -e .")
    assert "Jinja2>=2.3" in (tree / "setup.py").read_text()  # the source itself is never edited


def test_requirement_file_pins_the_repository_excludes_are_relaxed_and_setup_py_projects_install_as_develop_did(tmp_path, monkeypatch):
    """pylint 2.15's rows: requirements_test_min.txt pins astroid==2.12.13, its base commit's setup.cfg
    wants astroid<=2.12.0-dev0 (SWE-bench's install, run last, downgraded it). A setup.py project's
    editable install puts its root on sys.path, as `setup.py develop` did."""
    from swesrl.eval import environments

    monkeypatch.setenv("SWESRL_CACHE", str(tmp_path / "cache"))
    spec = {"python": "3.9", "packages": "requirements.txt", "install": "python -m pip install -e .", "test_cmd": "pytest -rA"}
    monkeypatch.setattr(environments, "swebench_spec", lambda repo, version: spec)
    tree = tmp_path / "lint"
    tree.mkdir()
    (tree / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    (tree / "setup.cfg").write_text("[metadata]\nname = lint\nversion = 1.0\n[options]\ninstall_requires =\n"
                                    "    # pinned to the next dev release\n    astroid>=2.11.6,<=2.12.0-dev0\n    isort>=4.2.5,<6\n")  # fmt: skip
    (tree / "requirements_test.txt").write_text("astroid==2.12.13  # pinned for tests\nisort==5.10.1\n")
    task = Task("pylint-dev__pylint-1", "pylint-dev/pylint", "abc", "issue", version="2.15", FAIL_TO_PASS=["t"], test_patch="")
    env = derive_environment(task, RepoSource("dir", str(tree)))
    pins = dict(p.split("==") for p in env.python_packages)
    assert Version(pins["astroid"]) < Version("2.12") and pins["isort"] == "5.10.1"  # only the excluded pin moves
    assert env.deviations == ("requirement-file pins astroid==2.12.13 relaxed: the repository's own requirements exclude them",)
    assert dict(env.env)["PIP_CONFIG_SETTINGS"] == "editable_mode=compat"


@pytest.mark.docker
@pytest.mark.slow
def test_published_rows_build_on_python_3_9_without_shipping_the_wheels(rows, swebench_data):
    import docker

    from swesrl.eval.environment import ensure_task_image
    from swesrl.sandbox.images import probe

    client = docker.from_env()
    for iid in (MM, PD):
        image = client.images.get(ensure_task_image(rows[iid], repos_dir=swebench_data / "repos"))
        env = client.images.get(image.labels["swesrl.parent"])
        assert env.labels["swesrl.python"] == "3.9" and isinstance(json.loads(env.labels["swesrl.deviations"]), list)
        history = " ".join(h.get("CreatedBy", "") for h in client.api.history(env.id))
        assert "swesrl-wheels" not in history  # only the installed venv was copied in
        assert probe(image.id, ["python", "-c", "import sys; print(sys.version_info[:2])"]) == (0, b"(3, 9)\n")


def test_rows_without_a_spec_or_source_are_named(rows, tmp_path):
    task = replace(rows[MM], version="0.0")
    with pytest.raises(Exception, match="no repository source"):
        task_to_instance_spec(task)
    (tmp_path / f"{MM}.tar.gz").write_bytes(Path(__file__).read_bytes())
    with pytest.raises(Exception, match="SWE-bench's specs lack it"):
        task_to_instance_spec(task, tmp_path)


@pytest.mark.docker
@pytest.mark.slow
def test_validate_keeps_what_both_phases_saw_for_published_rows(swebench_data, tmp_path):
    from typer.testing import CliRunner

    from swesrl.cli import app

    out = tmp_path / "validate"
    res = CliRunner().invoke(app, ["eval", "validate", "--tasks", str(swebench_data / "instances.jsonl"),
                                   "--repos-dir", str(swebench_data / "repos"), "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0 and "2/2 tasks valid" in res.output, res.output
    gold = json.loads((out / "gold" / MM / "result.json").read_text())
    empty = json.loads((out / "unpatched" / MM / "result.json").read_text())
    f2p = "tests/test_fields.py::TestParentAndName::test_datetime_list_inner_format"
    assert gold["tests_status"]["FAIL_TO_PASS"]["success"] == [f2p]
    assert empty["tests_status"]["FAIL_TO_PASS"]["failure"] == [f2p]
    assert "test_datetime_list_inner_format" in (out / "unpatched" / MM / "test_output.txt").read_text()


def test_a_row_without_a_source_is_no_image_not_a_failed_build(rows):
    from swesrl.eval.evaluate import evaluate_patch

    result = evaluate_patch(rows[MM], rows[MM].patch)  # no --repos-dir
    assert result.status == "error" and result.reason.startswith("no image:") and "no repository source" in result.reason
