"""The one tokenizer loader and the one LoRA setup of SFT, GRPO and PPO.

    tok = load_tokenizer("runs/sft/final")                       # chat template and pad token checked
    peft_config = lora_config(r=16, alpha=32, target_modules=["all-linear"])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlagent_env.errors import MLAgentError


class ModelSetupError(MLAgentError):
    """A tokenizer cannot be loaded or cannot render chats."""


def load_tokenizer(path: str, *, chat_template: str | None = None, trust_remote_code: bool = False) -> Any:
    """The tokenizer of a model folder or hub id, with ``chat_template`` (a Jinja file) instead of its
    own when given; it must have a chat template (the env's prompts are chats), and gets the EOS
    token as pad token when it has none."""
    from transformers import AutoTokenizer  # noqa: PLC0415

    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise ModelSetupError(
            f"cannot load a tokenizer from {path!r}: give a local model folder (e.g. the SFT output's final/), "
            f"or a hub id with network access to the hub (or a warm cache): {exc}"
        ) from None
    if chat_template:
        tok.chat_template = Path(chat_template).read_text(encoding="utf-8")
    if not getattr(tok, "chat_template", None):
        raise ModelSetupError(f"{path} has no chat template; set chat_template to a Jinja file (e.g. ChatML), "
                              "or start from a model trained by mlagent-train sft (its final/ has one)")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def lora_config(r: int, alpha: int, target_modules: list[str], dropout: float = 0.0) -> Any:
    """peft's ``LoraConfig`` for a causal LM; ``["all-linear"]`` means every linear layer."""
    from peft import LoraConfig  # noqa: PLC0415

    targets: Any = "all-linear" if target_modules == ["all-linear"] else list(target_modules)
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")
