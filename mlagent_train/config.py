"""Stage configs: dataclasses in the TRL style (every field has a default and a help text), read
from YAML and overridden on the command line.

    cfg = load_config(SFTStageConfig, "examples/configs/sft.yaml", ["learning_rate=1e-5"])

Precedence: the dataclass defaults, then the YAML file, then ``--set key=value`` overrides, then
``--key value`` options. Values given on the command line are parsed as YAML scalars/lists
(``--set tasks=[digits,diabetes]``, ``--bf16 false``), then checked against the field's type.
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


def option(default: Any, help: str, **kwargs: Any) -> Any:
    """A dataclass field with a default and a help text (lists/dicts are copied per instance)."""
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata={"help": help}, **kwargs)
    return dataclasses.field(default=default, metadata={"help": help}, **kwargs)


def add_config_arguments(parser: argparse.ArgumentParser, *classes: type) -> None:
    """``--config``, ``--set`` and one ``--<field>`` option per dataclass field (help from the field);
    with several classes (a stage with one config per algorithm), each field once."""
    parser.add_argument("--config", help="a YAML file with options of this stage")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one option (repeatable); the value is parsed as YAML")
    seen: set[str] = set()
    for cls in classes:
        for f in dataclasses.fields(cls):
            if f.name in seen:
                continue
            seen.add(f.name)
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc,operator]
            owners = [c.__name__ for c in classes if f.name in {g.name for g in dataclasses.fields(c)}]
            only = f" [{', '.join(owners)} only]" if len(owners) < len(classes) else ""
            parser.add_argument(f"--{f.name}", dest=f"opt_{f.name}", default=argparse.SUPPRESS, metavar="VALUE",
                                help=f"{f.metadata.get('help', '')} (default: {default!r}){only}")


def config_from_args(cls: type[T], args: argparse.Namespace) -> T:
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    stray = sorted(k[4:] for k in vars(args) if k.startswith("opt_") and k[4:] not in fields)
    if stray:
        raise ConfigError(f"option(s) {stray} do not apply to {cls.__name__}; known: {sorted(fields)}")
    overrides = list(args.set)
    for name in sorted(fields):
        if hasattr(args, f"opt_{name}"):
            overrides.append(f"{name}={getattr(args, f'opt_{name}')}")
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
    """Build ``cls`` from its defaults, a YAML file and ``key=value`` overrides."""
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
        values[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
    return build_config(cls, values, source=str(path) if path else "overrides")


def build_config(cls: type[T], values: dict[str, Any], source: str = "config") -> T:
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown option(s) {unknown}; known: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    checked = {k: _coerce(k, v, hints[k], source) for k, v in values.items()}
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


def auto_flag(value: str | bool, name: str, auto: bool) -> bool:
    """An ``auto | true | false`` option: ``auto`` takes the given default (e.g. bf16 when the GPU has it)."""
    v = str(value).lower()
    if v == "auto":
        return auto
    if v in ("true", "1", "yes", "on"):
        return True
    if v in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name} must be auto, true or false, not {value!r}")


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The ``checkpoint-<step>`` folder with the highest step in ``output_dir``, if any."""
    ckpts = [p for p in Path(output_dir).glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(ckpts, key=lambda p: int(p.name.split("-")[-1])) if ckpts else None
