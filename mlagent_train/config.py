"""Stage configs of ``mlagent-train``: the config machinery (dataclass fields with a default and a
help text, YAML with overrides, the generated CLI) lives in :mod:`mlagent_env.config` and is
re-exported here; this module adds what only training needs.

    cfg = load_config(SFTStageConfig, "examples/configs/sft.yaml", ["learning_rate=1e-5"])
"""

from __future__ import annotations

from pathlib import Path

from mlagent_env.config import (  # noqa: F401  (re-exported for the stage configs)
    ConfigError,
    add_config_arguments,
    build_config,
    config_from_args,
    config_to_dict,
    given_value,
    load_config,
    option,
)

__all__ = ["ConfigError", "add_config_arguments", "auto_flag", "build_config", "config_from_args", "config_to_dict",
           "given_value", "latest_checkpoint", "load_config", "option"]


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
