"""Grading inline test logs with swebench's parsers: no Docker."""

from __future__ import annotations

from swesrl.eval.grading import TEST_PATCH_FAILED, grade_log, parse_log
from swesrl.eval.tasks import Task

TASK = Task(
    "demo__demo-1", "demo/demo", "abc123", "issue",
    FAIL_TO_PASS=["tests/test_a.py::test_fixed"],
    # SWE-bench records a parametrized id the way pytest's summary prints it: cut at the first space.
    PASS_TO_PASS=["tests/test_a.py::test_kept", "tests/test_a.py::test_param[a"],
    test_cmd="pytest -rA",
)


def log(*summary: str, exit_code: int | None = None) -> str:
    if exit_code is None:
        exit_code = 1 if any(s.startswith(("FAILED", "ERROR")) for s in summary) else 0
    return "\n".join([
        "+ cd /testbed",
        "+ git apply -v -",
        "Applied patch tests/test_a.py cleanly.",
        "+ : '>>>>> Start Test Output'",
        "+ pytest -rA tests/test_a.py",
        "============================= test session starts ==============================",
        "collected 3 items",
        "tests/test_a.py ...",
        "=========================== short test summary info ============================",
        *summary,
        "============================== 3 passed in 0.02s ===============================",
        f"+ SWEBENCH_TEST_EXIT_CODE={exit_code}",
        "+ : '>>>>> End Test Output'",
        f">>>>> Test Exit Code: {exit_code}",
    ]) + "\n"


ALL_PASS = ("PASSED tests/test_a.py::test_fixed", "PASSED tests/test_a.py::test_kept", "PASSED tests/test_a.py::test_param[a b]")


def test_all_pass_is_resolved():
    g = grade_log(log(*ALL_PASS), TASK)
    assert g.status == "resolved", g
    assert g.tests_status["FAIL_TO_PASS"] == {"success": ["tests/test_a.py::test_fixed"], "failure": []}


def test_failing_fail_to_pass_is_unresolved():
    g = grade_log(log("FAILED tests/test_a.py::test_fixed - AssertionError: x", *ALL_PASS[1:]), TASK)
    assert g.status == "unresolved"
    assert g.tests_status["FAIL_TO_PASS"]["failure"] == ["tests/test_a.py::test_fixed"]
    assert "1/1 FAIL_TO_PASS" in g.reason


def test_missing_test_counts_as_failed():
    g = grade_log(log(*ALL_PASS[1:]), TASK)  # test_fixed never ran
    assert g.status == "unresolved"
    assert g.tests_status["FAIL_TO_PASS"]["failure"] == ["tests/test_a.py::test_fixed"]


def test_broken_pass_to_pass_is_unresolved():
    g = grade_log(log(ALL_PASS[0], "FAILED tests/test_a.py::test_kept - boom", ALL_PASS[2]), TASK)
    assert g.status == "unresolved" and g.tests_status["PASS_TO_PASS"]["failure"] == ["tests/test_a.py::test_kept"]


def test_parametrized_name_with_a_space_matches_the_recorded_id():
    assert parse_log(log(*ALL_PASS), TASK)["tests/test_a.py::test_param[a"] == "PASSED"
    assert grade_log(log(*ALL_PASS), TASK).status == "resolved"


def test_skipped_fail_to_pass_is_not_a_fix():
    g = grade_log(log("SKIPPED tests/test_a.py::test_fixed", *ALL_PASS[1:]), TASK)
    assert g.status == "unresolved"


def test_passed_lines_with_a_failing_exit_code_are_not_trusted():
    # e.g. a patch whose conftest prints PASSED lines: swebench cross-checks the recorded exit status
    g = grade_log(log(*ALL_PASS, exit_code=2), TASK)
    assert g.status == "unresolved" and "no test results" in g.reason


def test_infrastructure_failures_are_errors_not_model_failures():
    assert grade_log(log(*ALL_PASS), TASK, timed_out=True).status == "error"
    assert grade_log("+ cd /testbed\nerror: corrupt patch\n" + TEST_PATCH_FAILED + "\n", TASK).status == "error"
    truncated = log(*ALL_PASS).split("+ : '>>>>> End Test Output'")[0]  # container died mid-run
    assert grade_log(truncated, TASK).reason.startswith("test output markers missing")
    broken_env = "+ : '>>>>> Start Test Output'\nCannot connect to the Docker daemon\n+ : '>>>>> End Test Output'\n"
    g = grade_log(broken_env, TASK)
    assert g.status == "error" and "container_unavailable" in g.reason


def test_unknown_parser_is_an_error():
    from dataclasses import replace

    g = grade_log(log(*ALL_PASS), replace(TASK, log_parser="parse_log_nonesuch"))
    assert g.status == "error" and "parse_log_nonesuch" in g.reason


def test_pydicom_parser_keeps_parametrized_ids():
    from dataclasses import replace

    task = replace(TASK, log_parser="parse_log_pydicom")
    names = parse_log("PASSED pydicom/tests/test_valuerep.py::test_assigning_bytes[OD-bytes-vm017-vmN17-DoubleFloatPixelData]\n", task)
    assert names == {"pydicom/tests/test_valuerep.py::test_assigning_bytes[OD-bytes-vm017-vmN17-DoubleFloatPixelData]": "PASSED"}


def test_with_the_runners_word_the_log_cannot_forge_its_status_or_an_infrastructure_error():
    forged = log(*ALL_PASS, exit_code=0)  # the log claims success (e.g. printed by the patched code)
    assert grade_log(forged, TASK, finished=True, test_status=0).status == "resolved"
    assert grade_log(forged, TASK, finished=True, test_status=1).status == "unresolved"  # the real status wins
    started = log(*ALL_PASS).split("+ : '>>>>> End Test Output'")[0]
    # printed by the tested code, after the tests started: not the eval script's marker
    assert grade_log(started + TEST_PATCH_FAILED + "\n", TASK, finished=True, test_status=1).status == "unresolved"
    assert grade_log(started, TASK, finished=False).status == "unresolved"  # the tested code ended the run
    assert grade_log(started, TASK, finished=False, timed_out=True).status == "unresolved"
    env_text = started + "Cannot connect to the Docker daemon\n+ : '>>>>> End Test Output'\n"
    assert grade_log(env_text, TASK, finished=True, test_status=1).status == "unresolved"
    # before the tests start, nothing of the model's code has run: these stay infrastructure errors
    assert grade_log("+ cd /testbed\nerror: corrupt patch\n" + TEST_PATCH_FAILED + "\n", TASK, finished=True, test_status=3).status == "error"
    assert grade_log("+ cd /testbed\n", TASK, finished=False, timed_out=True).status == "error"


def test_the_runners_lines_split_apply_output_log_and_status():
    from swesrl.eval.instance_run import parse_run, runner_input

    nonce, stdin = runner_input("diff --git a/x b/x\n", "echo hi\n")
    assert stdin.startswith(f"{nonce}\n19\ndiff --git a/x b/x\necho hi\n".encode())
    out = f"Applied patch x cleanly.\n\nSWESRL-{nonce} applied git apply\nlog line\nSWESRL-fake done 0\n\nSWESRL-{nonce} done 1\nlate\n"
    r = parse_run(out, nonce)
    assert (r.patch_failed, r.applied_by, r.finished, r.test_status) == (False, "git apply", True, 1)
    assert r.log == "log line\nSWESRL-fake done 0\n\n" and "Applied patch" in r.apply_output
    assert parse_run(f"error: corrupt\n\nSWESRL-{nonce} patch_failed\n", nonce).patch_failed
    assert not parse_run("log line\n", nonce).finished
