"""Recipes: YAML files of config fields -> a typed config, with ``key=value`` overrides and a saved copy.

A recipe is a flat mapping of config fields plus ``method`` (srl | sft | rlvr) and ``description``. It
is named (a file in ``swesrl/training/recipes``) or given by path. Overrides are typed by the config
dataclass, so ``--set learning_rate=1e-6`` is a float and a typo is an error naming close field names.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from swesrl.settings import coerce as _coerce

from .config import CONFIGS

META_KEYS = ("method", "description")


class RecipeError(ValueError):
    """A recipe or override that cannot become a config; the message names the file/key."""


def recipe_names() -> list[str]:
    folder = resources.files(__package__).joinpath("recipes")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_recipe(name_or_path: str | Path) -> dict[str, Any]:
    """The recipe's mapping; ``name_or_path`` is a bundled recipe name or a YAML file path."""
    path = Path(name_or_path)
    if not path.is_file():
        bundled = resources.files(__package__) / "recipes" / f"{name_or_path}.yaml"
        if not bundled.is_file():
            raise RecipeError(f"no recipe {str(name_or_path)!r}: not a file, and not one of {', '.join(recipe_names())}")
        path = Path(str(bundled))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise RecipeError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping of config fields, got {type(data).__name__}")
    data.setdefault("description", "")
    return data


def apply_overrides(values: dict[str, Any], overrides: list[str], method: str) -> dict[str, Any]:
    """``key=value`` strings typed by the method's config dataclass, merged over ``values``."""
    cls = CONFIGS[method]
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    out = dict(values)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            raise RecipeError(f"override {item!r}: write key=value")
        if key not in names:
            close = difflib.get_close_matches(key, names, n=3)
            raise RecipeError(f"override {item!r}: {method} has no field {key!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        try:
            out[key] = _coerce(raw, hints[key], key)
        except (ValueError, TypeError) as e:
            raise RecipeError(f"override {item!r}: {e}") from None
    return out


def build_config(recipe: str | Path | dict[str, Any], overrides: Sequence[str] = (), method: str | None = None, **fields: Any):
    """Recipe -> config of its method. ``fields`` (from CLI flags, None = not given) beat the recipe;
    ``overrides`` beat both. A recipe of another method than ``method`` is an error."""
    data = dict(recipe) if isinstance(recipe, dict) else load_recipe(recipe)
    recipe_method = data.get("method", method)
    if method is not None and recipe_method != method:
        raise RecipeError(f"recipe {recipe!r} is for method {recipe_method!r}, not {method!r}")
    if recipe_method not in CONFIGS:
        raise RecipeError(f"recipe {recipe!r}: method must be one of {', '.join(CONFIGS)}, got {recipe_method!r}")
    values = {k: v for k, v in data.items() if k not in META_KEYS}
    values.update({k: v for k, v in fields.items() if v is not None})
    values = apply_overrides(values, list(overrides), recipe_method)
    cls = CONFIGS[recipe_method]
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - names)
    if unknown:
        raise RecipeError(f"recipe {recipe!r}: unknown field(s) {', '.join(unknown)} for method {recipe_method}")
    try:
        return cls(**values)
    except (ValueError, TypeError) as e:
        raise RecipeError(f"recipe {recipe!r}: {e}") from None


def method_of(config) -> str:
    return next(name for name, cls in CONFIGS.items() if type(config) is cls)


def save_config(config, path: str | Path) -> Path:
    """The resolved config (every field, after defaults and overrides) as YAML, for the record."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"method": method_of(config), **config.to_dict()}
    path.write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=None), encoding="utf-8")
    return path
