"""Options shared by `agent run` and `eval run`: each sets one field of the run config
(swesrl.run_config), and its help is that field's help, so it is written once.

Every other setting is reachable with `-c FILE` (YAML) and `--set key.path=value`;
`swesrl eval config` prints them all with the defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from swesrl.run_config import help_of

# option parameter name -> config key
SHORTCUTS = {
    "model": "model.spec",
    "temperature": "model.temperature",
    "max_new_tokens": "model.max_new_tokens",
    "seed": "model.seed",
    "step_limit": "agent.step_limit",
    "max_format_errors": "agent.max_format_errors",
    "repos_dir": "images.repos_dir",
    "image_template": "images.image_template",
    "base_image": "images.base_image",
}


def _opt(key: str, *flags: str) -> Any:
    return typer.Option(*flags, help=f"{help_of(key).rstrip('.')} (config: {key})", show_default=False)


ConfigFiles = Annotated[list[Path] | None, typer.Option(
    "--config", "-c", exists=True, dir_okay=False,
    help="YAML run config (repeatable; later files win). `swesrl eval config` prints every setting.")]
Sets = Annotated[list[str] | None, typer.Option(
    "--set", help="Override one setting: key.path=value, e.g. agent.step_limit=10 (repeatable; wins over everything).")]
Model = Annotated[str | None, _opt("model.spec", "--model", "-m")]
Temperature = Annotated[float | None, _opt("model.temperature", "--temperature")]
MaxNewTokens = Annotated[int | None, _opt("model.max_new_tokens", "--max-new-tokens")]
Seed = Annotated[int | None, _opt("model.seed", "--seed")]
StepLimit = Annotated[int | None, _opt("agent.step_limit", "--step-limit")]
FormatErrors = Annotated[int | None, _opt("agent.max_format_errors", "--max-format-errors")]
ReposDir = Annotated[Path | None, _opt("images.repos_dir", "--repos-dir")]
ImageTemplate = Annotated[str | None, _opt("images.image_template", "--image-template")]
BaseImage = Annotated[str | None, _opt("images.base_image", "--base-image")]
Tasks = Annotated[str | None, _opt("tasks", "--tasks")]
Split = Annotated[str | None, _opt("split", "--split")]
RunId = Annotated[str | None, _opt("run_id", "--run-id")]


def option(key: str, *flags: str) -> Any:
    """An option for one more config field (command-specific ones), help from the field."""
    return _opt(key, *flags)


def shortcut_values(local: dict[str, Any], extra: dict[str, str] | None = None) -> dict[str, Any]:
    """{config key: value} of the shortcut options given on the command line (None = not given)."""
    table = {**SHORTCUTS, **(extra or {})}
    values = {}
    for name, key in table.items():
        value = local.get(name)
        if isinstance(value, Path):
            value = str(value)
        if isinstance(value, list):
            value = value or None
        values[key] = value
    return values


def with_default(key: str, *flags: str, required: bool = False, **kwargs: Any) -> Any:
    """An option whose default is the config field's default (commands that take no config file), or
    none when ``required``; its help is the field's."""
    from swesrl.run_config import RunConfig

    value: Any = RunConfig()
    for part in key.split("."):
        value = getattr(value, part)
    if isinstance(value, tuple):
        value = list(value)
    return typer.Option(... if required else value, *flags, help=f"{help_of(key).rstrip('.')} (config: {key})", **kwargs)
