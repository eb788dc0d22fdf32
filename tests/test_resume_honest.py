"""`--resume auto -o RUN` continues a run from its saved config; a changed field is refused by name
unless allowed (then recorded); a finished run is left alone; a fresh run never lands on an old one."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from swesrl.cli import app

sys.path.insert(0, str(Path(__file__).parent))
from test_train_data import write_step_examples  # noqa: E402

torch = pytest.importorskip("torch")
FAST = ["--set", "max_steps=2", "--set", "save_steps=1", "--set", "max_completion_length=4", "--set", "per_device_train_batch_size=4",
        "--set", "max_refill_rounds=0", "--set", "report_to=none", "--set", "val_max_examples=0"]


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def swesrl(*args: str):
    return CliRunner().invoke(app, ["train", "srl", *args])


@pytest.mark.slow
def test_resume_reads_the_saved_config_and_refuses_changes_by_name(tmp_path):
    from swesrl.training.tiny_model import init_tiny_model

    tiny = init_tiny_model(tmp_path / "tiny")
    steps = write_step_examples(tmp_path / "steps.jsonl", 8)
    run = tmp_path / "run"
    first = swesrl("--recipe", "tiny-cpu", "--data", str(steps), "--model", str(tiny), "-o", str(run), *FAST)
    assert first.exit_code == 0, first.output
    assert json.loads((run / "finished.json").read_text())["global_step"] == 2

    again = swesrl("--recipe", "tiny-cpu", "--data", str(steps), "--model", str(tiny), "-o", str(run), *FAST)
    assert again.exit_code == 2 and "already holds a run: --resume auto to continue it, or --overwrite" in again.output

    done = swesrl("-o", str(run), "--resume", "auto")  # nothing else: the config comes from the run
    assert done.exit_code == 0 and "finished at step 2: nothing to do" in done.output, done.output

    # interrupted after checkpoint-1, as a killed run is left (no finished.json, no later checkpoint): the same
    # command alone continues it from the saved config
    (run / "finished.json").unlink()
    shutil.rmtree(run / "checkpoint-2")
    resumed = swesrl("-o", str(run), "--resume", "auto")
    assert resumed.exit_code == 0 and "done: 2 steps" in resumed.output, resumed.output
    assert (run / "checkpoint-2" / "trainer_state.json").is_file() and not (run / "config_changes.jsonl").exists()
    assert [m["step"] for m in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())] == [1, 2]

    before = yaml.safe_load((run / "config.yaml").read_text())
    changed = swesrl("-o", str(run), "--resume", "auto", "--set", "learning_rate=0.5", "--set", "num_generations=2")
    assert changed.exit_code == 2
    assert f"learning_rate: {before['learning_rate']} -> 0.5" in changed.output
    assert f"num_generations: {before['num_generations']} -> 2" in changed.output

    forced = swesrl("-o", str(run), "--resume", "auto", "--set", "learning_rate=0.5", "--allow-change", "learning_rate")
    assert forced.exit_code == 2 and "cannot change learning_rate on resume" in forced.output

    longer = swesrl("-o", str(run), "--resume", "auto", "--set", "max_steps=3")
    assert longer.exit_code == 2 and "--allow-change for each of max_steps" in longer.output

    allowed = swesrl("-o", str(run), "--resume", "auto", "--set", "max_steps=3", "--allow-change", "max_steps")
    assert allowed.exit_code == 0, allowed.output
    assert "changed on resume: max_steps 2 -> 3" in allowed.output and "done: 3 steps" in allowed.output
    [change] = [json.loads(line) for line in (run / "config_changes.jsonl").read_text().splitlines()]
    assert (change["field"], change["old"], change["new"], change["from_step"]) == ("max_steps", 2, 3, 2)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["max_steps"] == 3 and saved["learning_rate"] == before["learning_rate"]
    assert [m["step"] for m in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())] == [1, 2, 3]

    over = swesrl("--recipe", "tiny-cpu", "--data", str(steps), "--model", str(tiny), "-o", str(run), *FAST, "--overwrite")
    assert over.exit_code == 0 and "done: 2 steps" in over.output
    assert not (run / "config_changes.jsonl").exists() and not (run / "checkpoint-3").exists()


def test_resume_without_a_saved_config_needs_a_recipe(tmp_path):
    result = swesrl("-o", str(tmp_path / "nothing"), "--resume", "auto")
    assert result.exit_code == 2 and "no config.yaml to resume from; pass --recipe" in result.output


@pytest.mark.parametrize("schedule, warmup, allowed", [("constant", 0, True), ("constant_with_warmup", 5, True),
                                                       ("constant_with_warmup", 0.1, False), ("cosine", 0, False)])
def test_max_steps_changes_on_resume_only_where_the_schedule_ignores_it(tmp_path, schedule, warmup, allowed):
    from swesrl.training.recipes import build_config, save_config
    from swesrl.training.resume import ResumeError, resume_setup

    run = tmp_path / "run"
    save_config(build_config("tiny-cpu", output_dir=str(run), lr_scheduler_type=schedule, warmup_steps=warmup, max_steps=4),
                run / "config.yaml")
    ask = dict(run_dir=run, method="srl", recipe=None, overrides=["max_steps=8"], allow_changes=["max_steps"])
    if allowed:
        assert resume_setup(**ask).changes == {"max_steps": (4, 8)}
    else:
        with pytest.raises(ResumeError, match=f"the {schedule} learning-rate schedule"):
            resume_setup(**ask)
