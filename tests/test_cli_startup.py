"""The CLI loads subcommands on use: the help screen imports none of them and lists each summary once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from swesrl.cli import COMMANDS, app, load_command

REPO = Path(__file__).resolve().parents[1]


def test_help_imports_no_subcommand_module():
    probe = ("import sys; from swesrl.cli import app\n"
             "try: app(['--help'])\nexcept SystemExit: pass\n"
             "print(sorted(m for m in sys.modules if m.startswith('swesrl.') and m != 'swesrl.cli'))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
    for name in COMMANDS:
        assert name in result.stdout


def test_each_summary_is_the_commands_own_help():
    for name, (_, _, summary) in COMMANDS.items():
        help_text = load_command(name).help or ""
        assert help_text.strip().startswith(summary), name


def test_subcommands_still_run_and_unknown_ones_are_named():
    assert CliRunner().invoke(app, ["traj", "--help"]).exit_code == 0
    result = CliRunner().invoke(app, ["trian"])
    assert result.exit_code == 2 and "No such command 'trian'" in result.output


def test_listing_recipes_imports_neither_transformers_nor_trl():
    """`train recipes` reads YAML files: the config classes (transformers, TRL: seconds) load only to build a config."""
    probe = ("import sys; from swesrl.cli import app\n"
             "try: app(['train', 'recipes'])\nexcept SystemExit: pass\n"
             "print(sorted(m for m in ('transformers', 'trl', 'torch') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert "tiny-cpu [srl]" in result.stdout and result.stdout.strip().splitlines()[-1] == "[]"


def test_help_paragraphs_wrap_at_the_terminal_not_at_the_docstrings_lines():
    result = CliRunner().invoke(app, ["traj", "inspect", "--help"], env={"COLUMNS": "200"})
    assert "writes with the same --context-steps and --max-observation-chars." in result.output
