"""Loading SWE-bench tasks: the real shared files, every supported format, and bad records named."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from swesrl.eval import scripts
from swesrl.eval.scripts import eval_script
from swesrl.eval.tasks import Task, TaskError, load_tasks


def _real(swebench_data) -> list[dict]:
    return [json.loads(line) for line in (swebench_data / "instances.jsonl").read_text().splitlines()]


def test_lite_dev_csv_loads_all_23_with_decoded_lists(swebench_data):
    errors: list[TaskError] = []
    tasks = load_tasks(swebench_data / "swebench_lite_dev.csv", errors=errors)
    assert errors == []
    assert len(tasks) == 23
    assert all(isinstance(t.FAIL_TO_PASS, list) and t.FAIL_TO_PASS for t in tasks)
    assert all(isinstance(t.PASS_TO_PASS, list) for t in tasks)
    assert {t.repo for t in tasks} >= {"sqlfluff/sqlfluff", "marshmallow-code/marshmallow", "pydicom/pydicom"}
    by_repo = {t.repo: t for t in tasks}
    assert by_repo["sqlfluff/sqlfluff"].log_parser == "parse_log_sqlfluff"  # swebench's parser for the repo
    assert by_repo["pydicom/pydicom"].log_parser == "parse_log_pydicom"


def test_shared_instances_load_as_published_with_swebench_test_commands(swebench_data):
    tasks = {t.instance_id: t for t in load_tasks(swebench_data / "instances.jsonl")}
    assert set(tasks) == {"marshmallow-code__marshmallow-1359", "pydicom__pydicom-1413"}
    mm = tasks["marshmallow-code__marshmallow-1359"]
    assert mm.FAIL_TO_PASS == ["tests/test_fields.py::TestParentAndName::test_datetime_list_inner_format"]
    assert mm.test_cmd is None and eval_script(mm).count("pytest -rA tests/test_fields.py") == 1
    # No hand-written environment: it is derived from SWE-bench's spec when the image is built.
    assert all(t.environment is None for t in tasks.values())


def test_json_list_instances_object_and_real_lists(tmp_path, swebench_data):
    rows = _real(swebench_data)
    decoded = [dict(r, FAIL_TO_PASS=json.loads(r["FAIL_TO_PASS"]), PASS_TO_PASS=json.loads(r["PASS_TO_PASS"])) for r in rows]
    (tmp_path / "list.json").write_text(json.dumps(decoded))
    (tmp_path / "obj.json").write_text(json.dumps({"instances": rows}))
    a, b = load_tasks(tmp_path / "list.json"), load_tasks(tmp_path / "obj.json")
    assert [t.FAIL_TO_PASS for t in a] == [t.FAIL_TO_PASS for t in b]
    assert json.loads(rows[1]["PASS_TO_PASS"]) == a[1].PASS_TO_PASS


def test_parquet_roundtrip(tmp_path, swebench_data):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(_real(swebench_data)), tmp_path / "t.parquet")
    tasks = load_tasks(tmp_path / "t.parquet")
    assert [t.instance_id for t in tasks] == ["marshmallow-code__marshmallow-1359", "pydicom__pydicom-1413"]
    # pandas reads created_at as a date and writes a timestamp column: still the tasks, the date as text
    pandas = pytest.importorskip("pandas")
    pandas.read_json(swebench_data / "instances.jsonl", lines=True).to_parquet(tmp_path / "pd.parquet")
    assert [t.created_at[:4] for t in load_tasks(tmp_path / "pd.parquet")] == [t.created_at[:4] for t in tasks]


def test_bad_records_are_named_and_do_not_stop_the_others(tmp_path, swebench_data):
    rows = _real(swebench_data)
    bad_list = dict(rows[0], instance_id="bad-list", FAIL_TO_PASS='["unterminated')
    no_repo = dict(rows[0], instance_id="no-repo", repo="")
    lines = [json.dumps(rows[0]), "{not json", json.dumps(bad_list), json.dumps(no_repo), json.dumps(rows[1]), json.dumps(rows[1])]
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(lines) + "\n")

    errors: list[TaskError] = []
    tasks = load_tasks(path, errors=errors)
    assert [t.instance_id for t in tasks] == [rows[0]["instance_id"], rows[1]["instance_id"]]
    msgs = [str(e) for e in errors]
    assert len(msgs) == 4
    assert msgs[0].startswith(f"{path}, line 2") and "invalid JSON" in msgs[0]
    assert "line 3" in msgs[1] and "'FAIL_TO_PASS'" in msgs[1] and "JSON" in msgs[1]
    assert "line 4" in msgs[2] and "'repo'" in msgs[2]
    assert "line 6" in msgs[3] and "duplicate" in msgs[3]

    with pytest.raises(TaskError, match=r"line 2"):
        load_tasks(path)  # strict: the first bad record raises


def test_csv_row_named(tmp_path, swebench_data):
    rows = _real(swebench_data)
    path = tmp_path / "t.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerow(rows[0])
        w.writerow(dict(rows[1], FAIL_TO_PASS="[1, 2]"))
    errors: list[TaskError] = []
    assert len(load_tasks(path, errors=errors)) == 1
    assert errors[0].field == "FAIL_TO_PASS" and "row" in str(errors[0]) and "list of test names" in errors[0].problem


def test_unknown_file_type_and_missing_source(tmp_path):
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(TaskError, match="unknown task file type"):
        load_tasks(tmp_path / "t.txt")


def test_swesrl_fields_and_relative_repo_location(tmp_path, swebench_data):
    row = dict(_real(swebench_data)[0], repo="example/tiny", version="1.0", image=None, environment={
        "python_packages": ["pytest"], "install_commands": ["pip install -e ."], "env": {"A": "1"},
        "repo": {"kind": "tarball", "location": "repos/x.tar.gz", "subdir": "x"},
    })
    (tmp_path / "t.json").write_text(json.dumps([row]))
    task = load_tasks(tmp_path / "t.json")[0]
    assert task.environment.repo.location == str(tmp_path / "repos" / "x.tar.gz")
    assert task.environment.env == (("A", "1"),)
    assert task.test_cmd is None and task.log_parser == "parse_log_pytest"

    row["environment"] = {"repo": {"kind": "sdist", "location": "inflection==0.5.1"}}
    (tmp_path / "t.json").write_text(json.dumps([row]))
    assert load_tasks(tmp_path / "t.json")[0].environment.repo.location == "inflection==0.5.1"  # a name, not a path

    row["environment"] = {"python_packages": ["pytest"], "bogus": 1}
    (tmp_path / "t.json").write_text(json.dumps([row]))
    with pytest.raises(TaskError, match=r"record 0, field 'environment': unknown keys \['bogus'\]"):
        load_tasks(tmp_path / "t.json")


def test_spec_hash_tracks_what_decides_a_result(swebench_data):
    task = load_tasks(swebench_data / "instances.jsonl")[0]
    assert replace(task, problem_statement="other words").spec_hash() == task.spec_hash()
    assert replace(task, test_patch=task.test_patch + "\n").spec_hash() != task.spec_hash()
    assert replace(task, PASS_TO_PASS=[]).spec_hash() != task.spec_hash()


def test_eval_script_from_test_cmd(swebench_data):
    task = load_tasks(swebench_data / "instances.jsonl")[1]  # pydicom
    assert scripts.test_files(task.test_patch) == ["pydicom/tests/test_valuerep.py"]
    script = eval_script(task)
    assert script.startswith("#!/bin/bash\nset -uxo pipefail\ncd /testbed\n")
    assert task.test_patch.strip() in script
    start, run, end = script.index(">>>>> Start Test Output"), script.index("pytest -rA pydicom/tests/test_valuerep.py"), script.index(">>>>> End Test Output")
    assert start < run < end
    assert "SWEBENCH_TEST_EXIT_CODE=$?" in script  # swebench cross-checks the parsed log against it


def test_eval_script_given_by_the_task_is_used():
    task = Task("a__b-1", "a/b", "abc", "issue", FAIL_TO_PASS=["t::x"], eval_script=(
        "#!/bin/bash\nset -uxo pipefail\ncd /testbed\n: '>>>>> Start Test Output'\nmake test\n: '>>>>> End Test Output'\n"))
    script = eval_script(task)
    assert "make test\nSWEBENCH_TEST_EXIT_CODE=$?" in script
    assert script.count("set -uxo pipefail") == 1


def test_data_files_are_not_test_directives():
    patch = "diff --git a/tests/data/x.json b/tests/data/x.json\ndiff --git a/tests/test_a.py b/tests/test_a.py\n"
    assert scripts.test_directives(patch) == ["tests/test_a.py"]


def test_bundled_tasks_carry_their_own_build_spec():
    path = Path(__file__).resolve().parents[1] / "examples" / "tasks" / "tasks.jsonl"
    if not path.is_file():
        pytest.skip("no bundled tasks")
    tasks = load_tasks(path)
    assert tasks and all(t.environment is not None and t.environment.repo is not None for t in tasks)
    assert all(t.test_cmd and t.FAIL_TO_PASS and t.test_patch for t in tasks)


def test_a_folder_of_data_files_loads_the_split_asked_for(tmp_path, swebench_data, monkeypatch):
    """A downloaded dataset repository (data/<split>-*.parquet) goes through `datasets`, split by --split."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    with (swebench_data / "swebench_lite_dev.csv").open(newline="", encoding="utf-8") as f:
        csv.field_size_limit(2**31 - 1)
        rows = list(csv.DictReader(f))
    (tmp_path / "lite" / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows[:20]), tmp_path / "lite" / "data" / "dev-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pylist(rows[20:]), tmp_path / "lite" / "data" / "test-00000-of-00001.parquet")
    dev = load_tasks(tmp_path / "lite", split="dev")
    assert [t.instance_id for t in dev] == [r["instance_id"] for r in rows[:20]]
    assert {t.instance_id: t.version for t in dev}["marshmallow-code__marshmallow-1343"] == "2.20"  # a string, not 2.2
    assert [t.instance_id for t in load_tasks(tmp_path / "lite")] == [r["instance_id"] for r in rows[20:]]  # default: test
    with pytest.raises(TaskError, match=r"no split 'train' \(--split\)"):
        load_tasks(tmp_path / "lite", split="train")
    Dataset.from_list(rows[:3]).save_to_disk(str(tmp_path / "saved"))  # a folder save_to_disk wrote
    assert len(load_tasks(tmp_path / "saved")) == 3
    with pytest.raises(TaskError, match=r"no split 'dev' \(--split\); it is one saved dataset"):  # not silently all rows
        load_tasks(tmp_path / "saved", split="dev")
