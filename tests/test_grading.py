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
