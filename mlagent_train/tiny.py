"""A tiny random Qwen2-style causal LM with a byte-level BPE tokenizer and a ChatML template,
built offline in seconds: for tests and smoke runs of the training code (it knows nothing)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def default_corpus() -> list[str]:
    """Text close to what the model will see: the env's prompt parts, tool descriptions, task texts."""
    from mlagent_env import prompt
    from mlagent_env.tasks import get_task, list_tasks

    corpus = [prompt.SYSTEM_INTRO, prompt.INSTRUCTIONS, prompt.RESPONSE_FORMAT]
    for spec in list_tasks():
        try:
            task = get_task(spec.id)
            corpus.append(task.description)
            demo = task.root / "demo.jsonl"
            if demo.is_file():
                corpus.append(demo.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - a corpus is best effort
            continue
    return corpus


def build_tiny_model(out: str | Path, corpus: Iterable[str] | None = None, vocab_size: int = 1000,
                     hidden_size: int = 64, layers: int = 2, seed: int = 0, attention_heads: int = 4) -> Path:
    """Write the model and tokenizer to ``out`` (skipped when ``out/config.json`` exists) and return ``out``.
    ``attention_heads`` (half as many key/value heads): fewer make long prompts cheaper on a CPU."""
    out = Path(out)
    if (out / "config.json").exists() and (out / "tokenizer.json").exists():
        return out
    import torch
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    tk = Tokenizer(models.BPE())
    tk.normalizer = normalizers.NFC()
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator(list(corpus) if corpus is not None else default_corpus(),
                           trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                               show_progress=False))
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  bos_token=None, padding_side="left")
    tok.chat_template = CHATML_TEMPLATE
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                      num_hidden_layers=layers, num_attention_heads=attention_heads,
                      num_key_value_heads=max(1, attention_heads // 2),
                      tie_word_embeddings=True, max_position_embeddings=8192,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None)
    torch.manual_seed(seed)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    Qwen2ForCausalLM(cfg).save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)  # an incomplete earlier build
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m mlagent_train.tiny OUT``: build the tiny model into OUT (offline, seconds)."""
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m mlagent_train.tiny", description=main.__doc__)
    parser.add_argument("out", help="folder to write the model and tokenizer to")
    args = parser.parse_args(argv)
    print(f"tiny model written to {build_tiny_model(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
