"""Eval scripts for SWE-bench rows that name no test command: SWE-bench 4's runner per repo and version,
its test directives, and the steps its prebuilt images need. No Docker: the scripts are read, checked
by bash, and one is run on a throwaway git repository."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import pytest

from swesrl.eval import scripts
from swesrl.eval.grading import grade_log
from swesrl.eval.scripts import eval_script
from swesrl.eval.tasks import Task, load_tasks

START, END = ": '>>>>> Start Test Output'\n", ": '>>>>> End Test Output'"


def run_line(script: str) -> str:
    """The test command as the script runs it."""
    return script.split(START)[1].splitlines()[0]


def patch_touching(*paths: str) -> str:
    return "".join(f"diff --git a/{p} b/{p}\n--- a/{p}\n+++ b/{p}\n@@ -1 +1,2 @@\n x = 1\n+y = 2\n" for p in paths)


def swebench_row(instance_id: str, repo: str, version: str, *paths: str) -> Task:
    """A SWE-bench dataset row as load_tasks sees it: no test_cmd, no image, no environment."""
    return Task(instance_id, repo, "0123abcd", "issue", test_patch=patch_touching(*paths), FAIL_TO_PASS=["t"], version=version)


@pytest.fixture(scope="module")
def shared_tasks(swebench_data) -> list[Task]:
    return load_tasks(swebench_data / "swebench_lite_dev.csv") + load_tasks(swebench_data / "instances.jsonl")


# The runner SWE-bench 4's specs give each repo of the shared instances (all "pytest -rA").
RUNNERS = {
    "sqlfluff/sqlfluff": "pytest -rA",
    "marshmallow-code/marshmallow": "pytest -rA",
    "pvlib/pvlib-python": "pytest -rA",
    "pylint-dev/astroid": "pytest -rA",
    "pyvista/pyvista": "pytest -rA",
    "pydicom/pydicom": "pytest -rA",
}


def test_every_shared_instance_gets_its_runner_and_test_files(shared_tasks):
    assert len(shared_tasks) == 25
    for task in shared_tasks:
        script = eval_script(task)
        assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0, task.instance_id
        tests = [p for p in scripts.test_directives(task.test_patch) if p.endswith(".py")]
        assert tests, task.instance_id
        assert run_line(script) == " ".join([RUNNERS[task.repo], *tests]), task.instance_id
        assert task.test_patch.strip() in script and END in script


@pytest.mark.parametrize("instance_id, expected", [
    ("sqlfluff__sqlfluff-1733", "pytest -rA test/rules/std_L003_L036_L039_combo_test.py test/rules/std_L016_L36_combo_test.py"),
    ("pvlib__pvlib-python-1707", "pytest -rA pvlib/tests/test_iam.py"),
    ("pylint-dev__astroid-1978", "pytest -rA tests/unittest_raw_building.py"),
    ("pydicom__pydicom-901", "pytest -rA pydicom/tests/test_config.py"),
])
def test_shared_instances_run_what_swebench_ran(shared_tasks, instance_id, expected):
    task = next(t for t in shared_tasks if t.instance_id == instance_id)
    assert run_line(eval_script(task)) == expected


def test_a_renamed_test_file_is_reset_on_both_sides(shared_tasks):
    task = next(t for t in shared_tasks if t.instance_id == "sqlfluff__sqlfluff-1733")
    reset = next(line for line in eval_script(task).splitlines() if line.startswith("for f in"))
    assert "test/rules/std_L016_L36_combo.py test/rules/std_L016_L36_combo_test.py" in reset


def test_django_runs_modules_with_its_runner_and_locale():
    task = swebench_row("django__django-11099", "django/django", "3.0",
                        "tests/auth_tests/test_validators.py", "tests/auth_tests/fixtures/users.json")
    script = eval_script(task)
    assert run_line(script) == "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 auth_tests.test_validators"
    prebuilt = script.split("if [ -f /opt/miniconda3/bin/activate ]; then\n")[1].split("\nfi\n")[0]
    assert prebuilt.splitlines() == [
        "  source /opt/miniconda3/bin/activate",
        "  conda activate testbed",
        "  sed -i '/en_US.UTF-8/s/^# //g' /etc/locale.gen && locale-gen",
        "  export LANG=en_US.UTF-8",
        "  export LANGUAGE=en_US:en",
        "  export LC_ALL=en_US.UTF-8",
    ]
    old = replace(task, version="1.9")
    assert run_line(eval_script(old)) == "./tests/runtests.py --verbosity 2 auth_tests.test_validators"
    assert "export PYTHONIOENCODING=utf8" in eval_script(old)
    # Django <= 2.2 was installed with `setup.py install`: reinstalled, or the tests import the unpatched copy.
    assert "  python setup.py install\nfi\n" in eval_script(replace(task, version="2.2"))
    assert "setup.py install" not in script
    assert "locale" not in eval_script(replace(task, version="4.0"))  # 4.x has no eval_commands


@pytest.mark.parametrize("repo, version, path, expected", [
    ("sympy/sympy", "1.7", "sympy/core/tests/test_basic.py",
     "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose sympy/core/tests/test_basic.py"),
    ("sphinx-doc/sphinx", "3.5", "tests/test_ext_autodoc.py", "tox --current-env -epy39 -v -- tests/test_ext_autodoc.py"),
    ("astropy/astropy", "1.3", "astropy/io/fits/tests/test_table.py",
     "pytest -rA -vv -o console_output_style=classic --tb=no astropy/io/fits/tests/test_table.py"),
    ("astropy/astropy", "5.1", "astropy/io/fits/tests/test_table.py", "pytest -rA astropy/io/fits/tests/test_table.py"),
    ("mwaskom/seaborn", "0.12", "tests/test_core.py", "pytest --no-header -rA tests/test_core.py"),
    ("scikit-learn/scikit-learn", "0.22", "sklearn/tests/test_base.py", "pytest -rA sklearn/tests/test_base.py"),
])
def test_verified_repos_get_swebench_4_runners(repo, version, path, expected):
    assert run_line(eval_script(swebench_row("x__y-1", repo, version, path))) == expected


def test_a_task_test_cmd_wins_and_an_unknown_repo_is_refused():
    task = swebench_row("a__b-1", "sympy/sympy", "1.7", "t/test_a.py")
    assert scripts.test_command(replace(task, test_cmd="make check")) == "make check"
    with pytest.raises(ValueError, match=r"a__b-1: .*acme/widgets .*environments.json"):
        eval_script(replace(task, repo="acme/widgets"))


def test_prebuilt_steps_come_before_the_reset_and_the_test_patch():
    script = eval_script(swebench_row("psf__requests-1", "psf/requests", "2.0", "test_requests.py"))
    order = ["cd /testbed", "conda activate testbed", "git checkout -q 0123abcd -- \"$f\"", "git apply -v -", START]
    positions = [script.index(s) for s in order]
    assert positions == sorted(positions)


def test_the_script_resets_applies_and_runs_in_a_plain_checkout(tmp_path):
    """Outside a SWE-bench image (no conda) the script skips activation, undoes the model's edit to a test
    file, removes a file the test patch creates, applies the test patch and runs the tests."""
    if not shutil.which("git"):
        pytest.skip("no git")
    repo = tmp_path / "testbed"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests" / "test_a.py").write_text("def test_kept():\n    assert True\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    base = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    (repo / "tests" / "test_a.py").write_text("def test_kept():\n    assert False  # the model's edit\n")
    (repo / "tests" / "test_b.py").write_text("boom = (\n")  # the model's own copy of a new test file
    test_patch = (
        "diff --git a/tests/test_a.py b/tests/test_a.py\n--- a/tests/test_a.py\n+++ b/tests/test_a.py\n"
        "@@ -1,2 +1,5 @@\n def test_kept():\n     assert True\n+\n+def test_fixed():\n+    assert 1 + 1 == 2\n"
        "diff --git a/tests/test_b.py b/tests/test_b.py\nnew file mode 100644\n--- /dev/null\n+++ b/tests/test_b.py\n"
        "@@ -0,0 +1,2 @@\n+def test_new():\n+    assert True\n"
    )
    task = Task("demo__demo-1", "demo/demo", base, "issue", test_patch=test_patch,
                FAIL_TO_PASS=["tests/test_a.py::test_fixed", "tests/test_b.py::test_new"],
                PASS_TO_PASS=["tests/test_a.py::test_kept"], test_cmd="python -m pytest -rA -p no:cacheprovider")
    script = eval_script(task, workdir=str(repo))
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    log = out.stdout + out.stderr
    assert grade_log(log, task).status == "resolved", log
