"""SFT with TRL on a tiny local Qwen2-style model: the loss on a fixed batch really drops,
checkpoints are written and resumed, a loss plot is saved, LoRA works, the example configs load
with CLI overrides, and the trained checkpoint plays an episode as a TransformersPolicy."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest

pytest.importorskip("trl")

from mlagent_env import actions as A
from mlagent_env.agents import Policy
from mlagent_env.runner import run_episode
from mlagent_env.trajectory import StepRecord, read_records, write_records
from mlagent_train.config import ConfigError, load_config
from mlagent_train.explore import ExploreConfig
from mlagent_train.sft import SFTStageConfig, assistant_loss, latest_checkpoint
from mlagent_train.tiny import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
REPLIES = [
    A.ListFiles(dir_path=".").to_reply(),
    A.ExecuteScript(script_name="train.py").to_reply(),
    A.FinalAnswer(final_answer="done").to_reply(),
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.getbasetemp() / "tiny-qwen2")


@pytest.fixture(scope="module")
def trajectories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four short episodes of three steps (short prompts keep CPU training fast)."""
    root = tmp_path_factory.mktemp("sft-traj")
    for e in range(4):
        recs = [
            StepRecord(episode_id=f"ep{e}", task_id="digits", step=s + 1, prompt="p",
                       messages=[{"role": "system", "content": "You are a research assistant."},
                                 {"role": "user", "content": f"Research Problem: digits, run {e}. Step {s + 1} of 3."}],
                       reply=reply, action={"name": "x", "arguments": {}}, valid=True, observation="o",
                       reward=0.5, reward_kind="non_edit")
            for s, reply in enumerate(REPLIES)
        ]
        write_records(root / f"run-{e}.jsonl", recs)
    return root


def fixed_batch(trajectories: Path) -> list[list[dict[str, str]]]:
    return [r.messages + [{"role": "assistant", "content": r.reply}] for r in read_records(trajectories / "run-0.jsonl")]


def small_config(tiny_model: Path, trajectories: Path, out: Path, **kw: object) -> SFTStageConfig:
    values: dict[str, object] = dict(
        model_name_or_path=str(tiny_model), trajectories=[str(trajectories)], output_dir=str(out),
        learning_rate=5e-3, lr_scheduler_type="constant", num_train_epochs=1, max_steps=24,
        per_device_train_batch_size=4, gradient_accumulation_steps=1, max_length=1024, val_fraction=0.25,
        logging_steps=4, save_steps=12, use_cpu=True, seed=0,
    )
    values.update(kw)
    return SFTStageConfig(**values)  # type: ignore[arg-type]


def test_sft_cli_lowers_the_loss_saves_checkpoints_and_a_plot(tiny_model: Path, trajectories: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mlagent_train.cli import main

    tok = AutoTokenizer.from_pretrained(tiny_model)
    batch = fixed_batch(trajectories)
    before = assistant_loss(AutoModelForCausalLM.from_pretrained(tiny_model), tok, batch)

    out = tmp_path / "sft"
    config = tmp_path / "sft.yaml"
    config.write_text(
        f"model_name_or_path: {tiny_model}\ntrajectories: [{trajectories}]\noutput_dir: {out}\n"
        "learning_rate: 5.0e-3\nlr_scheduler_type: constant\nmax_steps: 24\nper_device_train_batch_size: 4\n"
        "gradient_accumulation_steps: 1\nmax_length: 1024\nval_fraction: 0.25\nlogging_steps: 4\nsave_steps: 12\n"
    )
    assert main(["sft", "--config", str(config), "--set", "use_cpu=true", "--seed", "0"]) == 0

    final = out / "final"
    after = assistant_loss(AutoModelForCausalLM.from_pretrained(final), AutoTokenizer.from_pretrained(final), batch)
    print(f"assistant-token loss on the fixed batch: before {before:.3f}, after {after:.3f}")
    assert after < 0.8 * before
    assert (out / "loss.png").stat().st_size > 1000
    assert latest_checkpoint(out) == out / "checkpoint-24" and (out / "checkpoint-12").is_dir()
    stats = json.loads((out / "dataset_stats.json").read_text())
    assert stats["train_episodes"] == 3 and stats["validation_episodes"] == 1
    history = json.loads((out / "log_history.json").read_text())
    losses = [h["loss"] for h in history if "loss" in h]
    assert losses[-1] < losses[0]
    assert json.loads((out / "sft_config.json").read_text())["use_cpu"] is True

    # resumption: a longer run continues from checkpoint-24 instead of starting over
    assert main(["sft", "--config", str(config), "--set", "use_cpu=true", "--seed", "0", "--max_steps", "28"]) == 0
    state = json.loads((out / "checkpoint-28" / "trainer_state.json").read_text())
    assert state["global_step"] == 28
    steps_logged = [h["step"] for h in json.loads((out / "log_history.json").read_text()) if "loss" in h]
    assert steps_logged.count(4) == 1  # the early steps were not trained again


def test_trained_checkpoint_plays_digits_as_a_policy(tiny_model: Path, trajectories: Path, tmp_path: Path, data_dir: Path) -> None:
    from mlagent_train.policy import TransformersPolicy
    from mlagent_train.sft import run_sft

    result = run_sft(small_config(tiny_model, trajectories, tmp_path / "sft", max_steps=4, save_steps=100))
    policy = TransformersPolicy(str(result.final_dir), max_new_tokens=24, temperature=0.8)
    assert isinstance(policy, Policy)
    env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, max_steps=2)
    episode = run_episode(env, policy, seed=0)
    env.close()
    assert episode.error is None and len(episode.steps) == 2 and episode.truncated
    assert all(s.prompt_tokens > 100 and 0 < s.completion_tokens <= 24 for s in episode.steps)

    # greedy decoding with the model's chat template and seeded sampling are reproducible
    messages = [{"role": "system", "content": "You are a research assistant."},
                {"role": "user", "content": "Research Problem: digits. Step 1 of 3."}]
    greedy = TransformersPolicy(str(result.final_dir), max_new_tokens=12, temperature=0.0)
    greedy.reset("digits")
    assert greedy.act(messages, {}) == greedy.act(messages, {})
    policy.reset("digits", seed=7)
    first = policy.act(messages, {})
    policy.reset("digits", seed=7)
    assert policy.act(messages, {}) == first


def test_lora_sft_trains_adapters_and_saves_a_merged_model(tiny_model: Path, trajectories: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from mlagent_train.sft import run_sft

    cfg = small_config(tiny_model, trajectories, tmp_path / "lora", use_lora=True, lora_r=4, lora_alpha=8,
                       max_steps=3, save_steps=100, val_fraction=0.0, gradient_checkpointing="true")
    result = run_sft(cfg)
    assert result.global_step == 3 and result.eval_loss is None
    merged = AutoModelForCausalLM.from_pretrained(result.final_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    changed = [n for (n, p), (_, q) in zip(merged.named_parameters(), base.named_parameters()) if not p.equal(q)]
    assert changed and all("proj" in n for n in changed)
    assert not any("lora" in n for n, _ in merged.named_parameters())


def test_explore_output_feeds_sft_and_the_result_plays(tiny_model: Path, tmp_path: Path, data_dir: Path) -> None:
    """The whole first stage on real env prompts: explore (scripted idea server and expert) ->
    SFT on its trajectories -> the checkpoint as a policy."""
    from chat_server import ChatServer

    from mlagent_train.explore import run_explore
    from mlagent_train.policy import TransformersPolicy
    from mlagent_train.sft import run_sft

    ideas = "\n".join(f"{i}. idea {i}: model family {i}" for i in range(1, 7))
    with ChatServer([ideas], default=REPLIES[0]) as server:
        cfg = ExploreConfig(tasks=["digits"], output_dir=str(tmp_path / "explore"), idea_base_url=server.base_url,
                            ideas_per_task=6, keep_ideas=3, embedder=str(tiny_model), embedder_backend="transformers",
                            episodes_per_task=2, max_steps=2, parallel=2, sandbox="local", allow_readable_answers=True,
                            data_dir=str(data_dir))
        explored = run_explore(cfg, progress=False)
    result = run_sft(small_config(tiny_model, explored.trajectories_dir, tmp_path / "sft", max_steps=2,
                                  per_device_train_batch_size=1, max_length=8192, val_fraction=0.5, save_steps=100))
    assert result.stats.steps == 4 and result.stats.train_episodes == 1 and result.stats.validation_episodes == 1
    assert result.global_step == 2 and result.eval_loss is not None
    env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, max_steps=1)
    episode = run_episode(env, TransformersPolicy(str(result.final_dir), max_new_tokens=8), seed=1)
    env.close()
    assert episode.error is None and len(episode.steps) == 1


def test_the_trainer_keeps_the_assistant_only_labels(tiny_model: Path, trajectories: Path, tmp_path: Path) -> None:
    """TRL must use our labels as they are: prompt and padding are -100 in the batches it trains on."""
    from mlagent_train.sft import build_trainer

    trainer, data = build_trainer(small_config(tiny_model, trajectories, tmp_path / "t", val_fraction=0.0))
    tok = trainer.processing_class
    rows = [trainer.train_dataset[i] for i in range(3)]
    batch = trainer.data_collator(rows)
    for i, row in enumerate(rows):
        labels = batch["labels"][i].tolist()
        kept = [t for t in labels if t != -100]
        assert tok.decode(kept) in {reply + "<|im_end|>\n" for reply in REPLIES}
        assert 0 < len(kept) < len(row["input_ids"]) <= len(labels)
    assert (batch["labels"][batch["attention_mask"] == 0] == -100).all()


def test_example_configs_load_with_overrides() -> None:
    big = load_config(SFTStageConfig, ROOT / "examples/configs/sft.yaml")
    assert big.model_name_or_path == "Qwen/Qwen2.5-7B" and big.learning_rate == 2e-5
    assert big.lr_scheduler_type == "cosine" and big.num_train_epochs == 2 and big.max_length == 15000
    assert big.per_device_train_batch_size * big.gradient_accumulation_steps * 8 == 64
    assert not big.use_lora and big.bf16 == "auto"
    small = load_config(SFTStageConfig, ROOT / "examples/configs/sft_small.yaml", ["use_lora=true", "lora_r=8"])
    assert small.use_lora and small.lora_r == 8
    assert small.per_device_train_batch_size * small.gradient_accumulation_steps == 64
    explore = load_config(ExploreConfig, ROOT / "examples/configs/explore.yaml", ["tasks=[digits]"])
    assert explore.ideas_per_task == 100 and explore.keep_ideas == 10 and explore.tasks == ["digits"]
    with pytest.raises(ConfigError, match="unknown option"):
        load_config(SFTStageConfig, None, ["learning_rat=1"])
    with pytest.raises(ConfigError, match="must be an integer"):
        load_config(SFTStageConfig, None, ["max_steps=many"])
    for name in ("accelerate_zero3.yaml", "accelerate_fsdp.yaml"):
        assert "distributed_type" in (ROOT / "examples/configs" / name).read_text()
    json.loads((ROOT / "examples/configs/ds_zero3.json").read_text())


def test_cli_help_and_missing_inputs(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    from mlagent_train.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["sft", "--help"])
    assert exc.value.code == 0 and "--learning_rate" in capsys.readouterr().out
    # rl without trajectories and eval without a model fail with a message, not a traceback
    assert main(["rl", "--set", f"output_dir={tmp_path / 'rl'}"]) != 0
    assert capsys.readouterr().err.strip()
    assert main(["eval", "--set", f"output_dir={tmp_path / 'ev'}", "--set", f"model={tmp_path / 'no-model'}"]) != 0
    assert capsys.readouterr().err.strip()
