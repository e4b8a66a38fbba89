"""Trajectories to SFT data: the prompt is the env's own (byte for byte), one example per step,
the filters, deduplication, the split by episode, and the loss mask (assistant turn only)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

pytest.importorskip("datasets")

from mlagent_env import actions as A
from mlagent_env.agents import ScriptedPolicy
from mlagent_env.runner import run_episode
from mlagent_env.trajectory import (
    RecordEpisode,
    StepRecord,
    read_records,
    write_records,
)
from mlagent_train.datasets import (
    BuildStats,
    DatasetBuildError,
    build_sft_dataset,
    build_sft_examples,
    split_by_episode,
    tokenize_example,
    tokenize_sft,
)
from mlagent_train.tiny import build_tiny_model

LIST = A.ListFiles(dir_path=".").to_reply()
FINAL = A.FinalAnswer(final_answer="done").to_reply()


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(build_tiny_model(tmp_path_factory.getbasetemp() / "tiny-qwen2"))


def record(episode: str, step: int, reply: str, *, valid: bool = True, reward: float = 0.5, user: str | None = None) -> StepRecord:
    return StepRecord(
        episode_id=episode, task_id="digits", step=step, prompt="p",
        messages=[{"role": "system", "content": "You are an agent."},
                  {"role": "user", "content": user or f"episode {episode} step {step}"}],
        reply=reply, action={"name": "List Files", "arguments": {}} if valid else None, valid=valid,
        observation="obs", reward=reward, reward_kind="non_edit" if valid else "format_error",
    )


def test_steps_become_examples_with_the_env_prompt_byte_for_byte(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "traj" / "run-0.jsonl"
    env = RecordEpisode(gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, max_steps=5), path)
    run_episode(env, ScriptedPolicy([LIST, "no action here", FINAL]), seed=0, options={"ideas": ["use an SVM"]})
    env.close()
    records = read_records(path)
    stats = BuildStats()
    examples = build_sft_examples([tmp_path / "traj"], stats=stats)
    assert stats.steps == 3 and stats.invalid == 1 and stats.kept == 2
    assert [ex["step"] for ex in examples] == [1, 3]
    for ex, rec in zip(examples, [records[0], records[2]]):
        assert ex["messages"][:-1] == rec.messages
        assert ex["messages"][-1] == {"role": "assistant", "content": rec.reply}
        assert [m["role"] for m in ex["messages"]] == ["system", "user", "assistant"]
        assert ex["episode_id"] == rec.episode_id and ex["reward"] == rec.reward
    assert "Ideas you may try:\n- use an SVM" in examples[0]["messages"][1]["content"]

    # the messages are what the env shows when that step's saved state is restored
    other = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, max_steps=5)
    _, info = other.reset(options={"state": records[2].state})
    other.close()
    assert info["messages"] == examples[1]["messages"][:-1]


def test_filters_dedupe_and_split_by_episode(tmp_path: Path) -> None:
    files = []
    for e in range(6):
        recs = [record(f"ep{e}", 1, LIST, reward=0.5), record(f"ep{e}", 2, "junk", valid=False, reward=0.0),
                record(f"ep{e}", 3, LIST, reward=0.2 if e % 2 else 0.9)]
        files.append(tmp_path / f"run-{e}.jsonl")
        write_records(files[-1], recs)
    write_records(tmp_path / "copy.jsonl", [record("ep0", 1, LIST, reward=0.5)])  # identical (prompt, reply)

    stats = BuildStats()
    ds = build_sft_dataset([tmp_path], min_reward=0.5, val_fraction=0.34, seed=3, stats=stats)
    assert stats.steps == 19 and stats.invalid == 6 and stats.low_reward == 3 and stats.duplicates == 1
    assert len(ds["train"]) + len(ds["validation"]) == stats.kept == 9
    train_eps, val_eps = set(ds["train"]["episode_id"]), set(ds["validation"]["episode_id"])
    assert len(val_eps) == 2 and len(train_eps) == 4 and not train_eps & val_eps
    assert all(r >= 0.5 for r in list(ds["train"]["reward"]) + list(ds["validation"]["reward"]))

    kept_all = build_sft_examples([tmp_path], drop_invalid=False, dedupe=False)
    assert len(kept_all) == 19

    with pytest.raises(DatasetBuildError, match="no SFT example left"):
        build_sft_dataset([tmp_path], min_reward=2.0)
    with pytest.raises(DatasetBuildError, match="no trajectory file"):
        build_sft_examples([tmp_path / "missing"])


def test_split_keeps_every_episode_whole() -> None:
    examples = [{"episode_id": f"e{i % 7}", "n": i} for i in range(70)]
    train, val = split_by_episode(examples, 0.3, seed=0)
    assert len(train) + len(val) == 70
    assert not {x["episode_id"] for x in train} & {x["episode_id"] for x in val}
    assert len({x["episode_id"] for x in val}) == 2
    assert split_by_episode(examples, 0.0)[1] == []
    assert split_by_episode(examples[:1], 0.5)[1] == []  # one episode: nothing to hold out


def test_loss_mask_covers_the_assistant_turn_only(tokenizer) -> None:
    messages = [{"role": "system", "content": "You are an agent."},
                {"role": "user", "content": "Research Problem: digits"},
                {"role": "assistant", "content": LIST}]
    out = tokenize_example(tokenizer, messages)
    ids, labels = out["input_ids"], out["labels"]
    assert len(ids) == len(labels)
    first = next(i for i, label in enumerate(labels) if label != -100)
    assert all(label == -100 for label in labels[:first]) and labels[first:] == ids[first:]
    prompt = tokenizer.apply_chat_template(messages[:2], add_generation_prompt=True, tokenize=False)
    assert tokenizer.decode(ids[:first]) == prompt
    assert tokenizer.decode(ids[first:]) == LIST + "<|im_end|>\n"


def test_tokenize_sft_drops_overlong_examples(tokenizer, tmp_path: Path) -> None:
    write_records(tmp_path / "a.jsonl", [record("a", 1, LIST), record("a", 2, LIST, user="long " * 400)])
    ds = build_sft_dataset([tmp_path], val_fraction=0.0)
    stats = BuildStats()
    tok = tokenize_sft(ds["train"], tokenizer, max_length=200, stats=stats)
    assert len(tok) == 1 and stats.overlong == 1
    assert all(len(x) <= 200 for x in tok["input_ids"])


def test_tokenize_sft_drops_replies_longer_than_max_reply_length(tokenizer, tmp_path: Path) -> None:
    long_write = A.WriteFile(file_name="train.py", content="print('x')\n" * 60).to_reply("compact")
    write_records(tmp_path / "a.jsonl", [record("a", 1, LIST), record("a", 2, long_write)])
    ds = build_sft_dataset([tmp_path], val_fraction=0.0)
    stats = BuildStats()
    tok = tokenize_sft(ds["train"], tokenizer, stats=stats, max_reply_length=64)
    assert len(tok) == 1 and stats.long_reply == 1
    assert sum(label != -100 for label in tok["labels"][0]) <= 64  # the List Files reply is what is left
