"""Typed settings from YAML and ``key=value`` strings, for nested dataclasses.

The run configs (``swesrl.run_config``) and the training recipes are dataclasses whose fields carry
their help (``metadata={"help": ...}``). This module turns YAML mappings and ``--set a.b=c``
overrides into those dataclasses, typed by the field annotations, and names the file and key when
something does not fit (with close names for a typo). It knows nothing of what the fields mean.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from swesrl.errors import SwesrlError


class SettingsError(SwesrlError, ValueError):
    """A config file or override that does not fit the config; the message names the file/key."""

    exit_code = 2  # a usage error, like a bad command-line option


def _container(tp: Any) -> bool:
    origin: Any = typing.get_origin(tp)
    return (origin or tp) in (list, tuple, dict)


def coerce(raw: str, tp: Any, key: str) -> Any:
    """The text of an override as a value of the field's type (union arms tried in order)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        arms = typing.get_args(tp)
        if type(None) in arms and raw.strip().lower() in ("null", "~"):  # YAML's nulls ("none" is a string)
            return None
        errors = []
        arms = tuple(a for a in arms if a is not type(None))
        if raw.lstrip().startswith(("[", "{")):  # YAML's flow list or mapping: the container arm before the text one
            arms = tuple(sorted(arms, key=lambda a: not _container(a)))
        for arm in arms:
            try:
                return coerce(raw, arm, key)
            except (ValueError, TypeError) as e:
                errors.append(str(e))
        raise ValueError(f"{key}={raw!r}: {'; '.join(errors)}")
    if tp is bool:
        low = raw.strip().lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"{key}={raw!r} is not a boolean (true/false)")
    if tp in (int, float):
        return tp(raw)
    if tp is str or tp is Any:
        return raw
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(raw)
    if origin in (list, tuple, dict) or tp in (list, tuple, dict):
        value = yaml.safe_load(raw)
        want = origin or tp
        if want in (list, tuple) and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if want is tuple and isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, want):
            raise ValueError(f"{key}={raw!r} is not a {want.__name__} (use YAML, e.g. [a, b] or {{k: v}})")
        return value
    raise TypeError(f"{key}: cannot set a field of type {tp} from text")


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _unknown(key: str, cls: type, where: str) -> SettingsError:
    """The error for a key ``cls`` does not have: a renamed field's new name (``metadata={"renamed_from": OLD}``),
    else the close names, else all of them."""
    names = list(_fields(cls))
    leaf = key.rpartition(".")[2]
    renamed = [f.name for f in _fields(cls).values() if f.metadata.get("renamed_from") == leaf]
    close = difflib.get_close_matches(leaf, names, n=3)
    hint = (f" (renamed: it is {renamed[0]} now)" if renamed else f" (did you mean {', '.join(close)}?)" if close
            else f" (fields: {', '.join(names)})")
    return SettingsError(f"{where}: no setting {key!r}{hint}")


def build(cls: type, data: dict[str, Any], where: str, prefix: str = "") -> Any:
    """A ``cls`` from a (nested) mapping; values typed as YAML gave them, checked by the dataclass."""
    hints = typing.get_type_hints(cls)
    fields = _fields(cls)
    values = {}
    for key, value in data.items():
        if key not in fields:
            raise _unknown(prefix + str(key), cls, where)
        tp = hints[key]
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            value = build(tp, value, where, f"{prefix}{key}.")  # type: ignore[arg-type]
        elif isinstance(value, list) and typing.get_origin(tp) is tuple:
            value = tuple(value)
        values[key] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise SettingsError(f"{where}: {prefix.rstrip('.') or cls.__name__}: {e}") from None


def override(config: Any, item: str) -> Any:
    """``config`` with ``key.path=value`` applied, typed by the field it names."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SettingsError(f"--set {item!r}: write key=value (e.g. agent.step_limit=10)")
    return _override(config, key.split("."), raw, item)


def _override(config: Any, path: list[str], raw: str, item: str) -> Any:
    head, rest = path[0], path[1:]
    key = item.partition("=")[0].strip()
    if head not in _fields(type(config)):
        raise _unknown(key, type(config), f"--set {item!r}")
    tp = typing.get_type_hints(type(config))[head]
    if rest:
        if not dataclasses.is_dataclass(tp):
            raise SettingsError(f"--set {item!r}: {head} is not a group of settings")
        value = _override(getattr(config, head), rest, raw, item)
    elif dataclasses.is_dataclass(tp):
        raise SettingsError(f"--set {item!r}: {head} is a group; set one of its fields ({head}.NAME=VALUE)")
    else:
        try:
            value = coerce(raw, tp, key)
        except (ValueError, TypeError) as e:
            raise SettingsError(f"--set {item!r}: {e}") from None
    try:
        return dataclasses.replace(config, **{head: value})
    except (TypeError, ValueError) as e:
        raise SettingsError(f"--set {item!r}: {e}") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise SettingsError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise SettingsError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, nested mappings merged key by key."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def to_dict(config: Any) -> dict[str, Any]:
    """Plain data (tuples as lists, enums as values) for YAML."""

    def plain(v: Any) -> Any:
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in dataclasses.asdict(config).items()}


def help_of(cls: type, key: str) -> str:
    """The help text of ``a.b.c`` in a nested dataclass: the one place it is written."""
    head, _, rest = key.partition(".")
    field = _fields(cls)[head]
    if rest:
        return help_of(typing.get_type_hints(cls)[head], rest)
    return field.metadata.get("help", "")


def keys(cls: type, prefix: str = "") -> list[str]:
    """Every settable ``a.b`` path of a nested dataclass."""
    hints = typing.get_type_hints(cls)
    out = []
    for name in _fields(cls):
        if dataclasses.is_dataclass(hints[name]):
            out += keys(hints[name], f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out
