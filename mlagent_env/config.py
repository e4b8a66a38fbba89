"""Configs as dataclasses in the TRL style: every field has a default and a help text; the command
line is generated from the fields, a YAML file gives them, ``--set key=value`` and ``--key value``
override it.

    cfg = load_config(BenchConfig, "bench.yaml", ["runs=4", "policy.timeout_s=600"])

Precedence: the dataclass defaults, then the YAML file, then ``--set key=value`` overrides, then
``--key value`` options. Values given on the command line are parsed as YAML scalars/lists
(``--set tasks=[digits,diabetes]``, ``--bf16 false``), then checked against the field's type.
A field whose type is itself a config dataclass is a nested mapping in YAML and dotted options on
the command line (``--policy.model NAME``); a string given for it is its ``shorthand`` (e.g.
``--policy http``). Every option may be spelled with dashes as well (``--output-dir``).
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from mlagent_env.errors import MLAgentError

T = TypeVar("T")


class ConfigError(MLAgentError):
    """A config file or an override names an unknown option or gives a value of the wrong type."""


def option(default: Any, help: str, *, minimum: float | None = None, above: float | None = None,
           maximum: float | None = None, **kwargs: Any) -> Any:
    """A dataclass field with a default and a help text (lists/dicts are copied per instance).

    A number (or each number of a list) may declare its range: ``minimum`` and ``maximum``
    inclusive, ``above`` exclusive; a value outside it, or NaN, is a :class:`ConfigError` when the
    config is built from a file or the command line, and the range shows in ``--help``."""
    bounds = {k: v for k, v in (("minimum", minimum), ("above", above), ("maximum", maximum)) if v is not None}
    metadata = {"help": help, **bounds}
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata, **kwargs)
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


def _range_text(f: dataclasses.Field[Any]) -> str:
    """A field's declared range in words ("at least 1", "above 0 and at most 2"), or ""."""
    words = {"minimum": "at least", "above": "above", "maximum": "at most"}
    return " and ".join(f"{words[k]} {f.metadata[k]:g}" for k in words if k in f.metadata)


def _check_range(f: dataclasses.Field[Any], value: Any, source: str) -> None:
    """Raise ConfigError when ``value`` (a number, or a list of them) is outside ``f``'s declared range."""
    if not _range_text(f):
        return
    lo, gt, hi = (f.metadata.get(k) for k in ("minimum", "above", "maximum"))
    for v in value if isinstance(value, list) else [value]:
        if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if (lo is not None and not v >= lo) or (gt is not None and not v > gt) or (hi is not None and not v <= hi):
            raise ConfigError(f"{source}: {f.name} must be {_range_text(f)}, not {v!r} ({f.metadata.get('help', '')})")


def add_config_arguments(parser: argparse.ArgumentParser, *classes: type, prefix: str = "") -> None:
    """``--config``, ``--set`` and one ``--<field>`` option per dataclass field (help from the
    field, default shown); a nested config dataclass adds ``--<field>.<sub>`` options too. With
    several classes (a command with one config per algorithm) each field comes once, and the help
    says which classes have it."""
    if not prefix:
        parser.add_argument("--config", help="a YAML file with options of this command")
        parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="override one option (repeatable); the value is parsed as YAML")
    seen: set[str] = set()
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in seen:
                continue
            seen.add(f.name)
            name = prefix + f.name
            owners = [c.__name__ for c in classes if f.name in {g.name for g in dataclasses.fields(c)}]
            only = f" [{', '.join(owners)} only]" if len(owners) < len(classes) else ""
            help_text = f.metadata.get("help", "")
            nested = _config_class(hints[f.name])
            if nested is not None:
                if hasattr(nested, "shorthand"):
                    parser.add_argument(*_spellings(name), dest=f"opt_{name}", default=argparse.SUPPRESS,
                                        metavar="VALUE", help=f"{help_text} (default: {_default(f)!r}){only}")
                add_config_arguments(parser, nested, prefix=name + ".")
                continue
            many = typing.get_origin(hints[f.name]) is list
            parser.add_argument(*_spellings(name), dest=f"opt_{name}", default=argparse.SUPPRESS, metavar="VALUE",
                                nargs="+" if many else None, help=f"{help_text} ({_limits(f)}){only}")


def _spellings(name: str) -> list[str]:
    dashed = name.replace("_", "-")
    return [f"--{name}"] + ([f"--{dashed}"] if dashed != name else [])


def _limits(f: dataclasses.Field[Any]) -> str:
    bounds = _range_text(f)
    return f"default: {_default(f)!r}" + (f"; {bounds}" if bounds else "")


def _default(f: dataclasses.Field[Any]) -> Any:
    value = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    return value.shorthand() if hasattr(value, "shorthand") else value


def _config_class(hint: Any) -> type | None:
    """The config dataclass behind a field's type hint, if it is one."""
    return hint if isinstance(hint, type) and dataclasses.is_dataclass(hint) else None


def config_from_args(cls: type[T], args: argparse.Namespace) -> T:
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    stray = sorted({k[4:] for k in vars(args) if k.startswith("opt_") and k[4:].split(".")[0] not in fields})
    if stray:
        raise ConfigError(f"option(s) {stray} do not apply to {cls.__name__}; known: {sorted(fields)}")
    overrides = list(args.set)
    for key, value in vars(args).items():
        if key.startswith("opt_"):
            if isinstance(value, list):  # --tasks a b, --tasks [a,b] and --tasks a,b all work
                value = value[0] if len(value) == 1 else "[" + ", ".join(value) + "]"
            overrides.append(f"{key[4:]}={value}")
    return load_config(cls, args.config, overrides)


def given_value(args: argparse.Namespace, name: str, default: Any) -> Any:
    """One option's value from the command line before the config class is known (e.g. ``algo``):
    ``--<name>``, else the last ``--set name=...``, else the YAML file's, else ``default``."""
    if hasattr(args, f"opt_{name}"):
        return yaml.safe_load(str(getattr(args, f"opt_{name}")))
    for item in reversed(args.set):
        key, sep, raw = item.partition("=")
        if sep and key.strip() == name:
            return yaml.safe_load(raw)
    if args.config:
        try:
            loaded = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return default  # load_config reports the file's problem
        if isinstance(loaded, dict) and name in loaded:
            return loaded[name]
    return default


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Build ``cls`` from its defaults, a YAML file and ``key=value`` overrides (``a.b=v`` for a
    nested config)."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping of option: value")
        values.update(loaded)
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"override {item!r} must look like key=value")
        _assign(cls, values, key.strip().split("."), yaml.safe_load(raw) if raw.strip() else None)
    return build_config(cls, values, source=str(path) if path else "overrides")


def _assign(cls: type, values: dict[str, Any], keys: list[str], value: Any) -> None:
    """Set ``values[k1][k2]... = value``, expanding a nested config's shorthand string on the way."""
    head, rest = keys[0], keys[1:]
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    nested = _config_class(typing.get_type_hints(cls).get(head)) if head in fields else None
    if nested is None:
        if rest:
            raise ConfigError(f"unknown option {'.'.join(keys)!r}")
        values[head] = value
        return
    current = values.get(head)
    if isinstance(current, str):
        current = _expand(nested, current)
    current = dict(current) if isinstance(current, dict) else {}
    if rest:
        _assign(nested, current, rest, value)
    elif isinstance(value, dict):
        current.update(value)
    else:
        current = {**current, **_expand(nested, value)}
    values[head] = current


def _expand(cls: type, value: Any) -> dict[str, Any]:
    parse = getattr(cls, "parse_shorthand", None)
    if parse is None or not isinstance(value, str):
        raise ConfigError(f"{cls.__name__} options must be a mapping, not {value!r}")
    return dict(parse(value))


def build_config(cls: type[T], values: dict[str, Any], source: str = "config") -> T:
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown option(s) {unknown}; known: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    checked = {k: _coerce(k, v, hints[k], source) for k, v in values.items()}
    for k, v in checked.items():
        _check_range(fields[k], v, source)
    return cls(**checked)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def _coerce(name: str, value: Any, hint: Any, source: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(name, value, arg, source)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{source}: {name} has a bad value {value!r}")
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{source}: {name} must be one of {typing.get_args(hint)}, not {value!r}")
        return value
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: {name} must be a list, not {value!r}")
        (item,) = typing.get_args(hint) or (Any,)
        return [_coerce(name, v, item, source) for v in value]
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {name} must be a mapping, not {value!r}")
        return dict(value)
    if hint is Any:
        return value
    nested = _config_class(hint)
    if nested is not None:
        if isinstance(value, nested):
            return value
        if isinstance(value, str):
            value = _expand(nested, value)
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {name} must be a mapping of {nested.__name__} options, not {value!r}")
        return build_config(nested, value, source=f"{source}: {name}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: {name} must be true or false, not {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{source}: {name} must be an integer, not {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML reads "1e-5" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{source}: {name} must be a number, not {value!r}")
    if hint is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(f"{source}: {name} must be a string, not {value!r}")
        return str(value)
    return value
