"""Trajectories to an SFT chat dataset (Hugging Face ``datasets``).

Every step of a trajectory becomes one example: the chat messages the policy saw (the record's
``messages``, rendered by :mod:`mlagent_env.prompt`, copied byte for byte) followed by one
assistant turn, the raw reply. Filters drop invalid replies and low-reward steps; identical
(prompt, reply) pairs are kept once; the train/validation split is by episode, so that no
episode has steps on both sides.

:func:`tokenize_sft` turns the examples into ``input_ids`` and ``labels`` with ``-100`` on every
token before the assistant turn: the loss is on the assistant turn only (the reply and the
template's end-of-turn token).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlagent_env.errors import MLAgentError
from mlagent_env.trajectory import StepRecord, iter_records


class DatasetBuildError(MLAgentError):
    """The trajectories give no usable example (nothing found, or everything filtered out)."""


@dataclass
class BuildStats:
    files: int = 0
    steps: int = 0
    invalid: int = 0
    low_reward: int = 0
    duplicates: int = 0
    kept: int = 0
    episodes: int = 0
    train_episodes: int = 0
    validation_episodes: int = 0
    overlong: int = 0
    long_reply: int = 0
    by_task: dict[str, int] = field(default_factory=dict)


def trajectory_files(paths: Iterable[str | Path]) -> list[Path]:
    """JSONL files: the given files, and every ``*.jsonl`` under the given folders (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.rglob("*.jsonl")))
        elif p.is_file():
            out.append(p)
        else:
            raise DatasetBuildError(f"no trajectory file or folder at {p}")
    return out


def step_example(record: StepRecord) -> dict[str, Any]:
    """One SFT example: the prompt's messages as the policy saw them plus the reply as the assistant turn."""
    return {
        "messages": [dict(m) for m in record.messages] + [{"role": "assistant", "content": record.reply}],
        "episode_id": record.episode_id,
        "task_id": record.task_id,
        "step": record.step,
        "reward": record.reward,
        "reward_kind": record.reward_kind,
    }


def _key(example: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(example["messages"], sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def build_sft_examples(
    paths: Iterable[str | Path],
    *,
    drop_invalid: bool = True,
    min_reward: float | None = None,
    dedupe: bool = True,
    stats: BuildStats | None = None,
) -> list[dict[str, Any]]:
    """Examples from trajectory files or folders, filtered and deduplicated, in file order."""
    stats = stats if stats is not None else BuildStats()
    files = trajectory_files(paths)
    stats.files = len(files)
    seen: set[str] = set()
    out = []
    for path in files:
        for rec in iter_records(path):
            stats.steps += 1
            if drop_invalid and not rec.valid:
                stats.invalid += 1
                continue
            if min_reward is not None and rec.reward < min_reward:
                stats.low_reward += 1
                continue
            ex = step_example(rec)
            if dedupe:
                key = _key(ex)
                if key in seen:
                    stats.duplicates += 1
                    continue
                seen.add(key)
            out.append(ex)
            stats.by_task[rec.task_id] = stats.by_task.get(rec.task_id, 0) + 1
    stats.kept = len(out)
    return out


def split_by_episode(
    examples: list[dict[str, Any]], val_fraction: float, seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Whole episodes go to validation (about ``val_fraction`` of them, at least one when the
    fraction is positive and there are two or more episodes); the rest to train."""
    episodes = sorted({ex["episode_id"] for ex in examples})
    rng = random.Random(seed)
    rng.shuffle(episodes)
    n_val = 0
    if val_fraction > 0 and len(episodes) > 1:
        n_val = min(max(1, round(val_fraction * len(episodes))), len(episodes) - 1)
    val_ids = set(episodes[:n_val])
    train = [ex for ex in examples if ex["episode_id"] not in val_ids]
    val = [ex for ex in examples if ex["episode_id"] in val_ids]
    return train, val


def build_sft_dataset(
    paths: Iterable[str | Path],
    *,
    drop_invalid: bool = True,
    min_reward: float | None = None,
    dedupe: bool = True,
    val_fraction: float = 0.05,
    seed: int = 0,
    stats: BuildStats | None = None,
) -> Any:
    """A ``datasets.DatasetDict`` with ``train`` and ``validation`` (the latter may be empty)."""
    from datasets import Dataset, DatasetDict

    stats = stats if stats is not None else BuildStats()
    examples = build_sft_examples(paths, drop_invalid=drop_invalid, min_reward=min_reward, dedupe=dedupe, stats=stats)
    if not examples:
        raise DatasetBuildError(
            f"no SFT example left from {stats.steps} steps in {stats.files} files "
            f"({stats.invalid} invalid, {stats.low_reward} under min_reward); check the paths and the filters"
        )
    train, val = split_by_episode(examples, val_fraction, seed)
    stats.episodes = len({ex["episode_id"] for ex in examples})
    stats.train_episodes = len({ex["episode_id"] for ex in train})
    stats.validation_episodes = len({ex["episode_id"] for ex in val})
    features = Dataset.from_list(examples[:1]).features
    return DatasetDict(
        train=Dataset.from_list(train, features=features),
        validation=Dataset.from_list(val, features=features) if val
        else Dataset.from_dict({name: [] for name in features}, features=features),
    )


def tokenize_example(tokenizer: Any, messages: list[dict[str, str]]) -> dict[str, list[int]]:
    """``input_ids`` of the whole chat and ``labels`` equal to them on the final assistant turn
    and ``-100`` before it. The prompt part is the chat template with the generation prompt, which
    must be a prefix of the full chat (true for ChatML/Qwen templates)."""
    prompt_ids = _ids(tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True))
    full_ids = _ids(tokenizer.apply_chat_template(messages, tokenize=True))
    if full_ids[: len(prompt_ids)] != prompt_ids:
        raise DatasetBuildError(
            "the chat template does not render the prompt as a prefix of the full chat; "
            "use a prefix-preserving template (e.g. ChatML) for SFT"
        )
    labels = [-100] * len(prompt_ids) + full_ids[len(prompt_ids):]
    return {"input_ids": full_ids, "labels": labels}


def tokenize_sft(dataset: Any, tokenizer: Any, max_length: int | None = None, stats: BuildStats | None = None,
                 max_reply_length: int | None = None) -> Any:
    """Tokenize a ``datasets.Dataset`` of ``messages`` (see :func:`tokenize_example`). Examples
    longer than ``max_length`` tokens are dropped (truncating would cut the reply), and so are those
    whose reply (the labelled tokens, end of turn included) is longer than ``max_reply_length``."""
    tokenized = dataset.map(lambda ex: tokenize_example(tokenizer, ex["messages"]), desc="tokenizing")
    if max_length is not None:
        before = len(tokenized)
        tokenized = tokenized.filter(lambda ex: len(ex["input_ids"]) <= max_length)
        if stats is not None:
            stats.overlong += before - len(tokenized)
    if max_reply_length is not None:
        before = len(tokenized)
        tokenized = tokenized.filter(lambda ex: sum(label != -100 for label in ex["labels"]) <= max_reply_length)
        if stats is not None:
            stats.long_reply += before - len(tokenized)
    return tokenized


def _ids(out: Any) -> list[int]:
    """transformers 5 returns a BatchEncoding from ``apply_chat_template(tokenize=True)``; 4.x a list."""
    if hasattr(out, "keys") and "input_ids" in out:
        out = out["input_ids"]
    if out and isinstance(out[0], list):
        out = out[0]
    return [int(i) for i in out]
