"""The quickstart's stage runner: independent stages run side by side, a stage starts only after the
stages it needs, finished output is kept, and the first failing stage stops the run naming its command
(cheap real `swesrl` commands stand in for the training and Docker stages)."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from swesrl import quickstart
from swesrl.quickstart import Stage


def _run(tmp_path, monkeypatch, plan):
    monkeypatch.setattr(quickstart, "stages", lambda out, examples, workers: plan)
    text = io.StringIO()
    console = Console(file=text, width=200)
    try:
        quickstart.run_quickstart(tmp_path, console=console)
        code = 0
    except SystemExit as e:
        code = e.code
    return code, text.getvalue()


def test_stages_start_after_what_they_need_and_skip_what_is_done(tmp_path, monkeypatch):
    ok = ["train", "recipes"]
    plan = [Stage("a", "first", ok), Stage("b", "independent", ok), Stage("c", "after a and b", ok, needs=("a", "b")),
            Stage("kept", "already done", ok, done=lambda: True), Stage("d", "after c", ok, needs=("c", "kept"))]
    code, text = _run(tmp_path, monkeypatch, plan)
    assert code == 0, text
    done = [line.split()[2] for line in text.splitlines() if line.startswith("done ")]
    assert set(done) == {"a", "b", "c", "d"} and done.index("c") > max(done.index("a"), done.index("b"))
    assert done.index("d") > done.index("c") and "already done 4/5 already done" in text
    assert "qwen2.5-coder-7b" in (tmp_path / "logs" / "c.log").read_text()  # each stage's output is in its log
    assert not (tmp_path / "logs" / "kept.log").exists()


def test_the_first_failing_stage_stops_the_run_and_names_its_command(tmp_path, monkeypatch):
    bad = ["traj", "split", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "steps.jsonl")]
    plan = [Stage("split", "split", bad), Stage("train", "needs the split", ["train", "recipes"], needs=("split",))]
    code, text = _run(tmp_path, monkeypatch, plan)
    assert code not in (0, None)
    assert f"stage 1 (split) failed (exit {code}); fix it and rerun: swesrl traj split" in text
    assert "missing.jsonl" in text  # the log's tail is shown
    assert not (tmp_path / "logs" / "train.log").exists()


@pytest.mark.parametrize("parallel", [1, 2])
def test_at_most_parallel_stages_run_at_once(tmp_path, monkeypatch, parallel):
    plan = [Stage(f"s{i}", f"stage {i}", ["train", "recipes"]) for i in range(3)]
    monkeypatch.setattr(quickstart, "stages", lambda out, examples, workers: plan)
    starts = []
    real = quickstart.subprocess.Popen

    def popen(*args, **kwargs):
        proc = real(*args, **kwargs)
        starts.append(proc)
        running = sum(p.poll() is None for p in starts)
        assert running <= parallel
        return proc

    monkeypatch.setattr(quickstart.subprocess, "Popen", popen)
    quickstart.run_quickstart(tmp_path, console=Console(file=io.StringIO()), parallel=parallel)
    assert len(starts) == 3


def test_the_run_ends_with_the_held_out_table(tmp_path, monkeypatch):
    from swesrl.training.evaluation import baselines, step_rows

    held = tmp_path / "heldout.jsonl"
    split = ["traj", "split", str(quickstart.examples_dir() / "training" / "heldout_runs.jsonl"), "-o", str(held)]
    code, _ = _run(tmp_path, monkeypatch, [Stage("split", "split", split)])
    rows = step_rows(held)
    result = {"rows": len(rows), "models": {}, "baselines": baselines(rows, rows)}
    (tmp_path / "heldout_eval.json").write_text(json.dumps(result))
    code, text = _run(tmp_path, monkeypatch, [Stage("split", "split", split)])
    assert code == 0 and f"held-out steps ({len(rows)}): mean SRL reward" in text
    assert all(name in text for name in ("submit", "empty bash", "previous expert action", "best constant"))
    assert "split in" in text and "runs read 10" in text  # each stage's last log line is shown


def test_a_stage_that_needs_a_stage_not_in_the_plan_is_refused_before_anything_runs(tmp_path):
    plan = [Stage("evaluate", "evaluate", ["train", "recipes"], needs=("srl",))]
    with pytest.raises(ValueError, match="stage evaluate needs srl, which the plan does not have"):
        quickstart.run_stages(plan, tmp_path, Console(file=io.StringIO()))
    assert not (tmp_path / "logs").exists()
