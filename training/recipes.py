"""Recipes: YAML files of config fields -> a typed config, with ``key=value`` overrides and a saved copy.

A recipe is a flat mapping of config fields plus ``method`` (srl | sft | rlvr) and ``description``. It
is named (a file in ``swesrl/training/recipes``) or given by path. Overrides are typed by the config
dataclass, so ``--set learning_rate=1e-6`` is a float and a typo is an error naming close field names.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from swesrl.settings import coerce as _coerce

# gpus/accelerate: the hardware it is sized for; assume: throughput for the time estimate (training/budget.py)
META_KEYS = ("method", "description", "gpus", "accelerate", "assume")


class RecipeError(ValueError):
    """A recipe or override that cannot become a config; the message names the file/key."""


def _configs() -> dict[str, type]:
    """The config class of each method. Imported on first use: it imports transformers and TRL
    (seconds), which listing or reading recipes does not need."""
    from .config import CONFIGS

    return CONFIGS


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


def _fits(value: Any, tp: Any) -> bool:
    """Whether a YAML value already has the field's type (types this module cannot judge pass)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arm) for arm in typing.get_args(tp))
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if origin in (list, dict) or tp in (list, dict):
        return isinstance(value, origin or tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return isinstance(value, tp) or value in {m.value for m in tp}
    return True


def _typed(values: dict[str, Any], method: str, source: str) -> dict[str, Any]:
    """Recipe values checked against the config's field types before anything loads: YAML text where a
    number is due ("5e-7" is a string to YAML) is converted; what cannot be is an error naming the field."""
    hints = typing.get_type_hints(_configs()[method])
    out = dict(values)
    for key, value in values.items():
        tp = hints.get(key, Any)
        if _fits(value, tp):
            continue
        try:
            if not isinstance(value, str):
                raise ValueError
            out[key] = _coerce(value, tp, key)
        except (ValueError, TypeError):
            raise RecipeError(f"{source}: field {key}: {value!r} is not a valid {_type_name(tp)}") from None
    for key, low in _MINIMUM.items():
        if key in out and isinstance(out[key], (int, float)) and out[key] < low:
            raise RecipeError(f"{source}: field {key}: {out[key]!r} is below its minimum {low} ({_WHY[key]})")
    return out


_MINIMUM = {"num_generations": 2, "per_device_train_batch_size": 1, "gradient_accumulation_steps": 1,
            "max_completion_length": 1, "learning_rate": 0}
_WHY = {"num_generations": "GRPO compares the rewards of a group of rollouts of one prompt",
        "per_device_train_batch_size": "rows per micro-batch", "gradient_accumulation_steps": "micro-batches per step",
        "max_completion_length": "tokens per rollout", "learning_rate": "a step size"}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def apply_overrides(values: dict[str, Any], overrides: list[str], method: str) -> dict[str, Any]:
    """``key=value`` strings typed by the method's config dataclass, merged over ``values``."""
    cls = _configs()[method]
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
    if recipe_method not in _configs():
        raise RecipeError(f"recipe {recipe!r}: method must be one of {', '.join(_configs())}, got {recipe_method!r}")
    values = {k: v for k, v in data.items() if k not in META_KEYS}
    values.update({k: v for k, v in fields.items() if v is not None})
    values = apply_overrides(values, list(overrides), recipe_method)
    cls = _configs()[recipe_method]
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - names)
    if unknown:
        raise RecipeError(f"recipe {recipe!r}: unknown field(s) {', '.join(unknown)} for method {recipe_method}")
    values = _typed(values, recipe_method, f"recipe {recipe if isinstance(recipe, str | Path) else 'mapping'}")
    try:
        return cls(**values)
    except (ValueError, TypeError) as e:
        raise RecipeError(f"recipe {recipe!r}: {e}") from None


def method_of(config) -> str:
    return next(name for name, cls in _configs().items() if type(config) is cls)


def config_yaml(config) -> str:
    """The resolved config (every field, after defaults and overrides) as YAML."""
    data = {"method": method_of(config), **config.to_dict()}
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def save_config(config, path: str | Path) -> Path:
    """The resolved config (every field, after defaults and overrides) as YAML, for the record."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_yaml(config), encoding="utf-8")
    return path
