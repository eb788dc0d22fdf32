"""The end-to-end pipeline (localize, repair, rerank) on a real git repository in a LocalSandbox,
driven by scripted answers: patches, localization scores, format errors and reranking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swesrl.agent.agentless import PipelineConfig, run_pipeline
from swesrl.agent.localize import parse_localization, shown_files
from swesrl.agent.policies import ScriptedPolicy
from swesrl.agent.rerank import parse_test
from swesrl.sandbox.local import LocalSandbox

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
FIX = "<think>add subtracts</think>\n### calc/ops.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n"
WRONG = "<think>try mul</think>\n### calc/ops.py\n<<<<<<< SEARCH\n    return a * b\n=======\n    return b * a\n>>>>>>> REPLACE\n"
LOCATE = "<think>add lives in ops</think>\n```\ncalc/ops.py\n```\n"
REPRO = "<think>check add</think>\n```python\nimport sys\nfrom calc.ops import add\nsys.exit(0 if add(2, 3) == 5 else 1)\n```\n"
NOT_REPRO = "<think>check mul</think>\n```python\nfrom calc.ops import mul\nassert mul(2, 3) == 6\n```\n"


@pytest.fixture
def src(tmp_path):
    root = tmp_path / "src"
    (root / "calc").mkdir(parents=True)
    (root / "calc" / "__init__.py").write_text("")
    (root / "calc" / "ops.py").write_text(CALC)
    (root / "README.md").write_text("calc\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_ops.py").write_text("from calc.ops import add\n")
    return root


def pipeline(src, answers, tmp_path, gold=("calc/ops.py",), **config):
    with LocalSandbox(src) as sb:
        cfg = PipelineConfig(workdir=sb.workdir, **config)
        return run_pipeline(ScriptedPolicy(answers), sb, "add(2, 3) returns -1", gold_files=list(gold), config=cfg,
                            out=tmp_path / "run.jsonl", instance_id="calc-1")


def test_correct_localization_and_edit_make_the_patch_and_score_a_hit(src, tmp_path):
    result = pipeline(src, [LOCATE, FIX], tmp_path)
    assert result.exit_status == "submitted"
    assert "-    return a - b\n+    return a + b\n" in result.patch
    meta = result.trajectory.metadata
    assert meta["mode"] == "pipeline" and meta["localization"]["hit"] is True and meta["localization"]["recall"] == 1.0
    localize, repair = meta["stages"]
    assert localize["stage"] == "localize" and localize["answers"] == [LOCATE]
    listing = localize["messages"][1]["content"]
    assert "calc/ops.py" in listing and "README.md" not in listing  # Python files only, by default
    assert "### calc/ops.py\n```\ndef add(a, b):" in repair["messages"][1]["content"]  # the oracle mode's repair prompt
    saved = json.loads((tmp_path / "run.jsonl").read_text())
    assert saved["metadata"]["stages"][1]["answers"] == [FIX] and saved["final_patch"] == result.patch


def test_a_wrong_file_is_a_localization_miss(src, tmp_path):
    wrong_file = "<think>tests</think>\n```\ntests/test_ops.py\n```"
    edit = "### tests/test_ops.py\n<<<<<<< SEARCH\nfrom calc.ops import add\n=======\nfrom calc.ops import add, mul\n>>>>>>> REPLACE\n"
    result = pipeline(src, [wrong_file, edit], tmp_path)
    loc = result.trajectory.metadata["localization"]
    assert loc["files"] == ["tests/test_ops.py"] and loc["hit"] is False and loc["recall"] == 0.0
    assert result.exit_status == "submitted" and "calc/ops.py" not in result.patch


@pytest.mark.parametrize("answers, stage", [(["<think>no idea</think> Sorry, I cannot tell."], "localize"),
                                             ([LOCATE, "<think>hmm</think> change add to add"], "repair")])
def test_a_malformed_answer_is_a_format_error_in_the_trajectory(src, tmp_path, answers, stage):
    result = pipeline(src, answers, tmp_path)
    assert result.exit_status == "format_errors" and result.patch == ""
    [step] = result.trajectory.steps
    assert step.action is None and step.action_error and step.raw["stage"] == stage
    assert json.loads((tmp_path / "run.jsonl").read_text())["metadata"]["exit_status"] == "format_errors"


def test_paths_outside_the_repository_fail_localization(src, tmp_path):
    result = pipeline(src, ["<think>x</think>\n```\ncalc/core.py\n```"], tmp_path)
    assert result.exit_status == "localization_failed" and "calc/core.py" in result.trajectory.metadata["exit_message"]
    [step] = result.trajectory.steps  # the run has a step, so the trajectory readers (and the report) take it
    assert step.action is None and "calc/core.py" in step.action_error


def test_rerank_picks_the_patch_the_reproduction_script_passes(src, tmp_path):
    # calls: localize, 3 repairs, 3 scripts; the wrong patch has the majority, the reproducing script decides
    result = pipeline(src, [LOCATE, WRONG, WRONG, FIX, REPRO, NOT_REPRO, "no script"], tmp_path, samples=3)
    assert result.exit_status == "submitted" and "+    return a + b\n" in result.patch and "b * a" not in result.patch
    ranking = result.trajectory.metadata["rerank"]
    assert ranking["chosen"] == 2 and ranking["votes"] == [2, 2, 1] and ranking["scores"] == [0, 0, 1]
    usable, not_repro, none = ranking["tests"]
    assert usable["error"] is None and usable["passed_by"] == [2]
    assert "does not reproduce" in not_repro["error"] and none["error"] == "no script in the answer"
    assert [s["stage"] for s in result.trajectory.metadata["stages"]] == ["localize", "repair", "reproduction tests"]


def test_without_a_reproducing_script_the_majority_wins(src, tmp_path):
    result = pipeline(src, [LOCATE, FIX, WRONG, WRONG, NOT_REPRO, NOT_REPRO, NOT_REPRO], tmp_path, samples=3)
    assert result.trajectory.metadata["rerank"]["chosen"] == 1 and "b * a" in result.patch


def test_localization_answers_are_read_leniently():
    known = {"a/b.py", "c.py", "Makefile"}
    assert parse_localization("<think>t</think>\n```\n./a/b.py\nc.py\n```", known, 3).files == ["a/b.py", "c.py"]
    loc = parse_localization("1. `a/b.py` (the parser)\n- Makefile\n- x/y.py, e.g. version 3.11", known, 2)
    assert loc.files == ["a/b.py", "Makefile"] and loc.unknown == ["x/y.py"] and loc.thought == ""
    assert parse_localization("<think>c.py?</think> nothing here", known, 3).files == []


def test_the_listing_keeps_to_its_budget_dropping_tests_first():
    paths = ["pkg/a.py", "pkg/b.py", "tests/test_a.py", "docs/x.md"]
    assert shown_files(paths, ("*.py",), 1000) == (["pkg/a.py", "pkg/b.py", "tests/test_a.py"], 1)
    assert shown_files(paths, ("*.py",), 20) == (["pkg/a.py", "pkg/b.py"], 2)
    assert shown_files(paths, (), 10) == (["pkg/a.py"], 3)


def test_reproduction_script_is_the_last_code_block():
    assert parse_test("<think>```python\nno\n```</think>\n```python\nprint(1)\n```") == "print(1)\n"
    assert parse_test("no code") is None


@pytest.mark.parametrize("extra", [[], ["--temperature", "0.8", "--seed", "1"]])
def test_sampling_several_repairs_needs_sampling_that_varies(extra, tmp_path):
    from typer.testing import CliRunner

    from swesrl.cli import app

    tasks = Path(__file__).resolve().parents[1] / "examples" / "tasks" / "tasks.jsonl"
    result = CliRunner().invoke(app, ["eval", "run", "--tasks", str(tasks), "--model", "replay", "--run-id", "r",
                                      "--mode", "pipeline", "--samples", "3", "--runs-dir", str(tmp_path), *extra],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 2 and "--samples" in result.output and "same answer" in result.output


def test_small_files_are_shown_whole_and_large_ones_share_what_is_left():
    from swesrl.agent.agentless import budget_files

    shown = budget_files({"big.py": "x" * 1000, "small.py": "s" * 10, "mid.py": "m" * 100}, 410)
    assert list(shown) == ["big.py", "small.py", "mid.py"]
    assert shown["small.py"] == "s" * 10 and shown["mid.py"] == "m" * 100
    assert "[... 700 characters truncated ...]" in shown["big.py"] and shown["big.py"].count("x") == 300


@pytest.mark.slow
def test_a_transformers_model_runs_the_pipeline_and_every_stage_is_recorded(src, tmp_path):
    pytest.importorskip("transformers")
    from swesrl.agent.policies import Sampling, make_policy
    from swesrl.training.tiny_model import init_tiny_model

    policy = make_policy(f"hf:{init_tiny_model(tmp_path / 'tiny', vocab='local')}", Sampling(max_new_tokens=16))
    with LocalSandbox(src) as sb:
        result = run_pipeline(policy, sb, "add(2, 3) returns -1", gold_files=["calc/ops.py"],
                              config=PipelineConfig(workdir=sb.workdir), out=tmp_path / "run.jsonl")
    meta = json.loads((tmp_path / "run.jsonl").read_text())["metadata"]
    # a random model names no file (or a wrong one): the run ends on the model's answer, not on the harness
    assert result.exit_status in {"format_errors", "localization_failed", "submitted"}, meta["exit_message"]
    assert meta["stages"][0]["stage"] == "localize" and len(meta["stages"][0]["answers"]) == 1
    assert meta["usage"]["prompt_tokens"] > 0 and meta["localization"]["recall"] in (0.0, 1.0)


def test_a_file_too_long_for_the_prompt_is_narrowed_to_the_definitions_the_model_names(src, tmp_path):
    filler = "".join(f"\n\ndef f{i}(x):\n    return x + {i}\n" for i in range(40))
    (src / "calc" / "ops.py").write_text(CALC + filler)
    result = pipeline(src, [LOCATE, "<think>add</think>\n```\ncalc/ops.py: add\n```", FIX], tmp_path, max_file_chars=300)
    assert result.exit_status == "submitted" and "+    return a + b\n" in result.patch
    meta = result.trajectory.metadata
    assert meta["localization"]["functions"] == {"calc/ops.py": ["add"]}
    outline, repair = meta["stages"][1], meta["stages"][2]
    assert outline["stage"] == "localize functions" and "1: def add(a, b):\n5: def mul(a, b):" in outline["messages"][1]["content"]
    shown = repair["messages"][1]["content"]
    assert "def add(a, b):\n    return a - b\n" in shown and "[... lines 8-166 not shown ...]" in shown and "def f20" not in shown


def test_outlines_name_methods_by_class_and_excerpts_merge_close_definitions():
    from swesrl.agent.outline import definitions, excerpt, parse_definitions

    source = "import x\n\n\nclass A:\n    @property\n    def get(self):\n        return 1\n\n    def put(self):\n        pass\n\n\ndef get():\n    pass\n"
    defs = definitions(source)
    assert [(d.qualname, d.start, d.end) for d in defs] == [("A", 4, 10), ("A.get", 5, 7), ("A.put", 9, 10), ("get", 13, 14)]
    assert definitions("def broken(:\n") is None
    named = parse_definitions("<think>get?</think>\n```\nm.py: A.get\nm.py: get\n```", {"m.py": defs})["m.py"]
    assert [d.qualname for d in named] == ["A.get", "get"]
    expected = "[... lines 1-3 not shown ...]\nclass A:\n    @property\n    def get(self):\n        return 1\n\n[... lines 9-14 not shown ...]\n"
    assert excerpt(source, named[:1], context=1) == expected
    assert excerpt(source, named, context=1).count("not shown") == 2  # lines 1-3 and 9-11; none after 14
