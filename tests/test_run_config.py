"""Run configs: defaults, YAML files, options and --set resolve in that order, typed, with errors that
name the file or key; every agent/eval option's help is its config field's help."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.run_config import RunConfig, help_of, load_run_config, save_run_config
from swesrl.settings import SettingsError, keys

runner = CliRunner()


def test_files_then_options_then_sets(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("workers: 4\nmodel: {spec: 'hf:x', temperature: 0.7}\nagent: {step_limit: 30, context: {context_steps: 3}}\n")
    b.write_text("model: {temperature: 0.2}\n")
    cfg = load_run_config([a, b], {"agent.step_limit": 20, "model.seed": None},
                          ["agent.step_limit=10", "agent.context.context_steps=null", "instances=x,y"])
    assert cfg.workers == 4 and cfg.model.spec == "hf:x" and cfg.model.temperature == 0.2  # b over a, key by key
    assert cfg.agent.step_limit == 10 and cfg.agent.context.context_steps is None  # --set wins
    assert cfg.instances == ("x", "y") and cfg.agent.command_timeout == 120.0  # untouched defaults stay


def test_the_saved_config_loads_back_identical(tmp_path):
    cfg = load_run_config([], {"model.spec": "openai:m@http://127.0.0.1:1/v1"}, ["eval.eval_timeout=60", "mode=oracle"])
    path = save_run_config(cfg, tmp_path / "run" / "config.yaml")
    assert load_run_config([path]) == cfg


@pytest.mark.parametrize(("overrides", "message"), [
    (["agent.step_limt=3"], "no setting 'agent.step_limt' (did you mean step_limit"),
    (["agent.step_limit=many"], "invalid literal for int()"),
    (["agent=3"], "agent is a group"),
    (["step_limit"], "write key=value"),
    (["mode=chat"], "mode must be one of agent, oracle, pipeline"),
    (["agent.max_repeats=0"], "max_repeats must be at least 1 (or null: never), got 0"),
    # the prompt builder's budget has its own name; training's max_prompt_tokens is the data filter
    (["agent.context.max_prompt_tokens=4000"], "no setting 'agent.context.max_prompt_tokens' (renamed: it is prompt_budget_tokens now)"),
])
def test_bad_overrides_name_the_key(overrides, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_run_config([], {}, overrides)


def test_bad_files_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {spec: hf:x}\nmodle: {}\n")
    with pytest.raises(SettingsError, match=rf"{re.escape(str(bad))}: no setting 'modle' \(did you mean mode, model"):
        load_run_config([bad])
    bad.write_text("- a\n- b\n")
    with pytest.raises(SettingsError, match="expected a mapping"):
        load_run_config([bad])


def test_eval_config_prints_every_setting_and_its_output_is_a_config(tmp_path):
    result = runner.invoke(app, ["eval", "config", "--set", "agent.step_limit=10"])
    assert result.exit_code == 0, result.output
    for key in keys(RunConfig):
        assert f"# {key}: {help_of(key)}" in result.output
    path = tmp_path / "my-run.yaml"
    path.write_text(result.output)
    assert load_run_config([path]) == load_run_config([], {}, ["agent.step_limit=10"])


def test_a_typo_in_set_is_a_usage_error_before_any_work(tmp_path):
    result = runner.invoke(app, ["eval", "run", "--tasks", "t.jsonl", "--model", "replay", "--run-id", "r",
                                 "--runs-dir", str(tmp_path), "--set", "agent.stepp_limit=3"])
    assert result.exit_code == 2 and "did you mean step_limit" in result.output and not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", [["eval", "run"], ["agent", "run"], ["eval", "patches"], ["sandbox", "build"]])
def test_option_help_is_the_config_fields_help(command):
    """Options that set a config field say which, with the field's own help (written once)."""
    from swesrl.cli import load_command

    cmd = load_command(command[0]).commands[command[1]]  # type: ignore[attr-defined]
    linked = [p for p in cmd.params if p.help and "(config: " in p.help]
    assert linked
    for p in linked:
        key = p.help.rsplit("(config: ", 1)[1].rstrip(")")
        assert p.help == f"{help_of(key).rstrip('.')} (config: {key})"



def test_options_shared_by_agent_and_eval_commands_have_one_help():
    """`agent run`, `eval run`, `eval patches` and `eval validate`: an option name has one help text in all of
    them (the run config field's), whatever the command; every option has some."""
    import click
    import typer.main

    root = typer.main.get_command(app)
    ctx = click.Context(root)
    helps: dict[str, dict[str, str]] = {}
    for group, name in [("agent", "run"), ("eval", "run"), ("eval", "patches"), ("eval", "validate")]:
        sub = root.get_command(ctx, group)
        command = sub.get_command(click.Context(sub, parent=ctx), name)  # type: ignore[union-attr]
        for p in command.params:
            if p.param_type_name == "option":
                assert p.help, f"{group} {name} {p.opts[0]} has no help"
                helps.setdefault(p.opts[0], {})[f"{group} {name}"] = p.help
    # --out is what each command writes (a trajectory file, a folder of logs): described where it is made
    shared = {flag: by for flag, by in helps.items() if len(by) > 1 and flag != "--out"}
    assert {"--tasks", "--split", "--instance", "--run-id", "--workers", "--runs-dir", "--repos-dir", "--model"} <= set(shared)
    for flag, by in shared.items():
        assert len(set(by.values())) == 1, (flag, by)
