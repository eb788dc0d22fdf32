"""The report's jinja2 templates (templates/): HTML autoescaped, Markdown as written, one environment."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def _md(value: Any) -> str:
    """A Markdown table cell: one line, no column breaks."""
    return " ".join(str(value).split("\n")).replace("|", "/")


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("swesrl.report", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = _md
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
