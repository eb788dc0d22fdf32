"""Every quickstart stage is a command the CLI accepts as written: its options are parsed by the real
command (no stage runs). A renamed or missing option (stage 9 once passed `eval run --context-steps`,
which does not exist) otherwise fails only after the training stages, ~10 minutes in."""

from __future__ import annotations

from swesrl.cli import load_command
from swesrl.quickstart import examples_dir, stages


def test_every_stage_command_parses(tmp_path):
    for stage in stages(tmp_path, examples_dir(), workers=2):
        name, args = stage.args[0], stage.args[1:]
        command = load_command(name)
        if hasattr(command, "get_command"):  # a group: `eval run`, `train sft`, ...
            name, args = args[0], args[1:]
            command = command.get_command(command.make_context(stage.args[0], [name], resilient_parsing=True), name)
        assert command is not None, stage.command
        try:
            command.make_context(name, list(args))
        except Exception as e:  # click's UsageError (typer vendors its own click)
            raise AssertionError(f"{stage.command}: {e}") from None
