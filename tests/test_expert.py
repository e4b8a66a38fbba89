"""The scripted expert: ideas in words become recipes, and ``mlagent-train explore`` with no server
(built-in ideas, TF-IDF distances, the expert) writes trajectories whose edits raise the metric
reward over the starter and that load as SFT data with those steps present."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest

from mlagent_env.agents.expert import ideas_in_prompt, last_observation, segment_edit, steps_left, validation_score
from mlagent_env.agents.ideas import IDEAS, builtin_ideas
from mlagent_env.agents.recipes import SCORINGS, TaskKind, UnsupportedTask, apply_idea, base_recipe
from mlagent_env.tasks import get_task, list_tasks
from mlagent_env.trajectory import read_records


def kind(task_id: str) -> TaskKind:
    return TaskKind.of(get_task(task_id).spec)


def test_ideas_in_words_become_recipes() -> None:
    tab, img = kind("penguins"), kind("digits")
    r, ok = apply_idea(base_recipe(tab), "Train a random forest with 300 trees and at least 3 samples per leaf.", tab)
    assert ok and r.family == "rf" and r.settings()["n_estimators"] == 300 and r.settings()["min_samples_leaf"] == 3
    r, ok = apply_idea(r, "One-hot encode the categorical columns and standardise everything.", tab)
    assert ok and r.family == "rf" and r.one_hot and r.scaled  # switches stack on the current recipe
    r, ok = apply_idea(base_recipe(tab), "Use shallower gradient boosting (max depth 3, 300 iterations, learning rate 0.03)", tab)
    assert (r.family, r.settings()["max_depth"], r.settings()["max_iter"], r.settings()["learning_rate"]) == ("gbm", 3, 300, 0.03)
    r, ok = apply_idea(base_recipe(img), "Add histograms of oriented gradients and fit an SVM with C=10", img)
    assert ok and r.family == "svm" and r.gradients and r.settings()["C"] == 10
    assert not apply_idea(base_recipe(tab), "Add histograms of oriented gradients", tab)[0].gradients  # not an image
    assert apply_idea(base_recipe(tab), "Think harder about the problem.", tab)[1] is False
    # an idea is text from a model: absurd numbers are clamped, not run (or raised on)
    assert apply_idea(base_recipe(tab), "A random forest with 1e999 trees", tab)[0].settings()["n_estimators"] == 300
    assert apply_idea(base_recipe(tab), "A random forest with 90000000 trees", tab)[0].settings()["n_estimators"] == 2000
    assert apply_idea(base_recipe(tab), "svm " * 20000 + "C=" + "9" * 400, tab)[0].family == "svm"


def test_every_builtin_idea_is_understood_for_its_kind() -> None:
    offline = {(s.data_type, s.task_type) for s in list_tasks() if s.source == "offline"}
    assert offline <= set(IDEAS)  # every kind of offline task has a list
    for (data_type, task_type), ideas in IDEAS.items():
        scoring = SCORINGS["accuracy" if task_type == "classification" else "mae"]
        k = TaskKind(classification=task_type == "classification", image=data_type == "image", metric="m",
                     higher_is_better=True, id_column="id", target="y", scoring=scoring)
        for idea in ideas:
            assert apply_idea(base_recipe(k), idea, k)[1], idea
    assert builtin_ideas(get_task("digits").spec) == IDEAS[("image", "classification")]
    with pytest.raises(UnsupportedTask):
        TaskKind.of(get_task("nomad2018-predict-transparent-conductors").spec)  # two targets


def test_the_expert_reads_the_env_prompt(data_dir: Path) -> None:
    env = gym.make("mlagent/diabetes", sandbox="local", data_dir=data_dir, max_steps=9)
    try:
        _, info = env.reset(options={"ideas": ["Fit ridge regression", "Try k-nearest neighbours with k=15"]})
        user = info["messages"][-1]["content"]
        assert ideas_in_prompt(user) == ["Fit ridge regression", "Try k-nearest neighbours with k=15"]
        assert steps_left(user) == 9 and last_observation(user) == ""
        _, _, _, _, info = env.step("Action: Execute Script\nAction Input: {\"script_name\": \"train.py\"}")
        user = info["messages"][-1]["content"]
        assert steps_left(user) == 8
        starter = validation_score(last_observation(user))
        assert starter is not None and 20 < starter < 200  # the starter's printed validation MAE
    finally:
        env.close()
    assert validation_score("Traceback (most recent call last):\n validation mae: 3\n[exit code 1]") is None


def test_segment_edit_covers_only_the_lines_that_differ() -> None:
    old = "a\nb\nc\nd\n"
    edit = segment_edit("train.py", old, "a\nB\nB2\nd\n")
    assert (edit.start_line_number, edit.end_line_number, edit.new_content) == (2, 3, "B\nB2")
    insert = segment_edit("train.py", old, "a\nb\nx\nc\nd\n")
    assert (insert.start_line_number, insert.end_line_number, insert.new_content) == (3, 2, "x")


@pytest.mark.parametrize("style", ["full", "compact"])
def test_offline_explore_writes_improving_expert_trajectories_that_load_as_sft_data(data_dir: Path, tmp_path: Path,
                                                                                   style: str) -> None:
    pytest.importorskip("datasets")
    from mlagent_train.cli import main
    from mlagent_train.config import ConfigError
    from mlagent_train.datasets import build_sft_examples
    from mlagent_train.rl import build_states_pool
    from mlagent_train.rl_config import GRPOStageConfig

    out = tmp_path / "explore"
    config = tmp_path / "explore.yaml"
    config.write_text(
        "tasks: [breast-cancer]\n"
        f"output_dir: {out}\n"
        "idea_source: builtin\nkeep_ideas: 4\nembedder_backend: tfidf\n"
        "expert: expert\nepisodes_per_task: 1\nmin_ideas_per_episode: 1\nmax_ideas_per_episode: 1\n"
        f"max_steps: 9\nparallel: 1\nsandbox: local\nallow_readable_answers: true\ndata_dir: {data_dir}\n"
        f"prompt_style: {style}\nhistory_window: {3 if style == 'full' else 1}\n"
    )
    assert main(["explore", "--config", str(config), "--quiet"]) == 0

    pool = json.loads((out / "ideas" / "breast-cancer.json").read_text())
    assert pool["source"] == "builtin" and pool["requests"] == 0
    assert pool["candidates"] == builtin_ideas(get_task("breast-cancer").spec)
    assert len(pool["kept"]) == 4 and set(pool["kept"]) <= set(pool["candidates"])

    records = read_records(out / "expert" / "trajectories" / "breast-cancer" / "run-0.jsonl")
    assert all(r.valid for r in records) and records[-1].action["name"] == "Final Answer"
    assert records[0].state.ideas == pool["episodes"][0]
    names = [r.action["name"] for r in records]
    assert names[:3] == ["List Files", "Inspect Script Lines", "Execute Script"]
    assert names[3] == "Write File"  # the first idea rewrites the starter
    improving = [r for r in records if r.reward_kind == "metric" and r.reward > 0.5]
    assert improving and improving[0].step == 5 and improving[0].action["name"] == "Execute Script"
    starter = get_task("breast-cancer").spec
    assert (records[-1].final_score or 0) > starter.baseline_score  # better than the starter on held-back rows

    examples = build_sft_examples([out / "expert" / "trajectories"])
    assert len(examples) == len(records)
    sft_improving = [e for e in examples if e["reward"] > 0.5]
    assert [e["step"] for e in sft_improving] == [r.step for r in improving]
    reply = sft_improving[0]["messages"][-1]["content"]
    system = examples[0]["messages"][0]["content"]
    if style == "full":
        assert reply.startswith("Reflection:") and "Action: Execute Script" in reply
        assert "Research Plan and Status" in system
    else:  # two-line replies, as the compact prompt asks; a prompt shows the last step as the policy wrote it
        assert reply == 'Action: Execute Script\nAction Input: {"script_name": "train.py"}'
        assert all(len(e["messages"][-1]["content"].splitlines()) == 2 for e in examples)
        assert "Reflection" not in system and len(system) < 2000  # full: ~5,000 characters
        for before, after in zip(records, records[1:]):
            assert before.reply in after.messages[-1]["content"]
    # RL states are refused under the other style: the policy would be trained on two reply formats
    other = "compact" if style == "full" else "full"
    rl = dict(trajectories=[str(out / "expert" / "trajectories")], tasks=["breast-cancer"])
    assert build_states_pool(GRPOStageConfig(**rl, prompt_style=style)).tasks == ["breast-cancer"]
    with pytest.raises(ConfigError, match=f"in the {style} style but prompt_style={other}"):
        build_states_pool(GRPOStageConfig(**rl, prompt_style=other))


@pytest.mark.parametrize("name, stage", [("offline_explore", "explore"), ("smollm2_sft", "sft"), ("smollm2_grpo", "grpo"),
                                         ("smollm2_ppo", "ppo"), ("smollm2_eval", "eval")])
def test_offline_example_configs_load_and_share_one_budget(name: str, stage: str) -> None:
    from mlagent_env.config import load_config
    from mlagent_train.evaluate import EvalConfig
    from mlagent_train.explore import ExploreConfig
    from mlagent_train.rl_config import GRPOStageConfig, PPOStageConfig
    from mlagent_train.sft import SFTStageConfig

    classes = {"explore": ExploreConfig, "sft": SFTStageConfig, "grpo": GRPOStageConfig, "ppo": PPOStageConfig,
               "eval": EvalConfig}
    path = Path(__file__).resolve().parent.parent / "examples" / "configs" / f"{name}.yaml"
    cfg = load_config(classes[stage], path)  # unknown keys or wrong types raise
    if stage == "grpo":  # executed replies: optimizer steps x completions per step
        assert cfg.max_steps * cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps == 48
    if stage == "ppo":  # iterations x episodes x steps per episode
        assert cfg.mode == "episode"
        assert cfg.max_steps * cfg.prompts_per_step * cfg.num_generations * cfg.episode_max_steps == 48
