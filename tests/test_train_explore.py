"""Exploration: idea parsing and deduplication, the diversity pick (on points with a known
answer), the embedders, and ``mlagent-train explore`` end to end against a real local
chat-completions server (ideas, then the expert), with resumption."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")

from chat_server import ChatServer

from mlagent_env import actions as A
from mlagent_env.trajectory import read_records
from mlagent_train.embed import (
    TransformersEmbedder,
    build_embedder,
    farthest_point_selection,
    min_pairwise_distance,
)
from mlagent_train.explore import (
    ExploreConfig,
    dedupe_ideas,
    episode_ideas,
    generate_ideas,
    parse_ideas,
)
from mlagent_train.tiny import build_tiny_model

RUN = A.ExecuteScript(script_name="train.py").to_reply()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.getbasetemp() / "tiny-qwen2")


def numbered(ideas: list[str]) -> str:
    return "Sure! Here are ideas:\n\n" + "\n".join(f"{i}. {idea}" for i, idea in enumerate(ideas, start=1))


# ------------------------------------------------------------------------------- ideas


def test_parse_ideas_reads_numbered_and_bulleted_lists() -> None:
    text = "Intro line\n1. Use an **SVM** with RBF kernel\n2) Standardise pixels\n- Try `k-NN`\n* bagging\n\nthanks"
    assert parse_ideas(text) == ["Use an SVM with RBF kernel", "Standardise pixels", "Try k-NN", "bagging"]


def test_dedupe_ignores_case_punctuation_and_spacing() -> None:
    ideas = ["Use an SVM.", "use  an svm", "Use an SVM!", "Random forest", "random-forest"]
    assert dedupe_ideas(ideas) == ["Use an SVM.", "Random forest"]


def test_generate_ideas_asks_again_until_n_distinct(data_dir: Path) -> None:
    first = numbered([f"idea {i}" for i in range(6)])
    second = numbered([f"idea {i}" for i in range(4, 12)])  # 4 and 5 repeat
    with ChatServer([first, second]) as server:
        cfg = ExploreConfig(idea_base_url=server.base_url, ideas_per_task=10, ideas_per_request=6)
        ideas, requests = generate_ideas(cfg, "digits")
        assert requests == 2 and ideas == [f"idea {i}" for i in range(12)]
        second_prompt = server.requests[1]["body"]["messages"][1]["content"]
        assert "Do not repeat any of these ideas:\n- idea 0" in second_prompt
        assert "handwritten" in server.requests[0]["body"]["messages"][1]["content"].lower()  # the task description


def test_episode_ideas_draw_one_to_three_distinct_kept_ideas() -> None:
    kept = [f"k{i}" for i in range(10)]
    draws = episode_ideas(kept, 200, 1, 3, seed=5)
    assert draws == episode_ideas(kept, 200, 1, 3, seed=5)
    assert {len(d) for d in draws} == {1, 2, 3}
    assert all(len(set(d)) == len(d) and set(d) <= set(kept) for d in draws)


# ------------------------------------------------------------------------------- diversity


def test_farthest_point_picks_the_corners_of_a_square() -> None:
    rng = np.random.default_rng(0)
    corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    interior = rng.uniform(0.2, 0.8, size=(30, 2))
    points = np.concatenate([interior[:15], corners, interior[15:]])
    picked = farthest_point_selection(points, 4)
    assert sorted(picked) == [15, 16, 17, 18]
    assert min_pairwise_distance(points[picked]) == pytest.approx(1.0)


def test_farthest_point_beats_every_other_choice_on_small_sets() -> None:
    """Greedy max-min is a 2-approximation of the best spread; on these sets it is at least half
    the brute-force optimum, and it always beats a random pick."""
    rng = np.random.default_rng(1)
    for _ in range(5):
        points = rng.normal(size=(12, 3))
        picked = farthest_point_selection(points, 4)
        best = max(min_pairwise_distance(points[list(c)]) for c in itertools.combinations(range(12), 4))
        got = min_pairwise_distance(points[picked])
        assert got >= best / 2
        assert got >= min_pairwise_distance(points[rng.choice(12, 4, replace=False)]) - 1e-12
    assert farthest_point_selection(np.eye(3), 5) == [0, 1, 2]


def test_cosine_pick_prefers_different_directions() -> None:
    points = np.array([[1.0, 0.0], [2.0, 0.01], [0.0, 1.0], [0.01, 3.0], [-1.0, 0.0]])
    picked = farthest_point_selection(points, 3, metric="cosine")
    assert sorted(picked) in ([0, 2, 4], [1, 2, 4], [0, 3, 4], [1, 3, 4])


class CharCountEmbedder:
    """A pluggable embedder for the test: letter counts."""

    def __init__(self, model: str) -> None:
        self.model = model

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.array([[t.lower().count(c) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts], dtype=float)


def test_embedders_are_pluggable_and_the_transformers_one_mean_pools(tiny_model: Path) -> None:
    custom = build_embedder("anything", backend="test_train_explore:CharCountEmbedder")
    assert custom.embed(["aab"]).tolist()[0][:3] == [2, 1, 0]
    emb = build_embedder(str(tiny_model), backend="transformers")
    assert isinstance(emb, TransformersEmbedder)
    vectors = emb.embed(["use an SVM", "gradient boosting with early stopping", "use an SVM"])
    assert vectors.shape == (3, 64)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2], atol=1e-5) and not np.allclose(vectors[0], vectors[1])
    # padding does not change an embedding (mean over real tokens only)
    alone = emb.embed(["use an SVM"])[0]
    assert np.allclose(alone, vectors[0], atol=1e-4)


# ------------------------------------------------------------------------------- end to end


def test_explore_cli_writes_pools_and_trajectories_and_resumes(data_dir: Path, tmp_path: Path, tiny_model: Path) -> None:
    from mlagent_train.cli import main

    ideas = [f"Try model family number {i} with setting {i * 7 % 11}" for i in range(14)]
    config = tmp_path / "explore.yaml"
    out = tmp_path / "explore"
    config.write_text(
        "tasks: [digits]\n"
        f"output_dir: {out}\n"
        "ideas_per_task: 12\nideas_per_request: 12\nkeep_ideas: 4\n"
        f"embedder: {tiny_model}\nembedder_backend: transformers\n"
        "expert: http\nepisodes_per_task: 3\nmax_steps: 2\nparallel: 2\n"
        f"sandbox: local\nallow_readable_answers: true\ndata_dir: {data_dir}\n"
    )
    with ChatServer([numbered(ideas[:8]), numbered(ideas[5:])], default=RUN) as server:
        code = main(["explore", "--config", str(config), "--set", f"idea_base_url={server.base_url}", "--quiet"])
        assert code == 0
        n_requests = len(server.requests)
        assert n_requests == 2 + 3 * 2  # two idea requests, then 3 episodes x 2 expert steps

    pool = json.loads((out / "ideas" / "digits.json").read_text())
    assert pool["candidates"] == ideas and pool["requests"] == 2
    assert len(pool["kept"]) == 4 and len(set(pool["kept"])) == 4 and set(pool["kept"]) <= set(ideas)
    assert [pool["candidates"][i] for i in pool["kept_indices"]] == pool["kept"]
    assert len(pool["episodes"]) == 3 and all(1 <= len(e) <= 3 and set(e) <= set(pool["kept"]) for e in pool["episodes"])

    for k, shown in enumerate(pool["episodes"]):
        records = read_records(out / "expert" / "trajectories" / "digits" / f"run-{k}.jsonl")
        assert len(records) == 2 and all(r.state is not None for r in records)
        first_prompt = records[0].messages[1]["content"]
        assert "Ideas you may try:\n" + "\n".join(f"- {i}" for i in shown) in first_prompt
        assert records[0].state.ideas == shown
        assert records[0].action["name"] == "Execute Script"

    # resume: nothing is asked again and no episode runs again
    with ChatServer([], default=None) as server:
        assert main(["explore", "--config", str(config), "--set", f"idea_base_url={server.base_url}", "--quiet"]) == 0
        assert server.requests == []
    assert json.loads((out / "ideas" / "digits.json").read_text())["kept"] == pool["kept"]

    # more episodes later: only the new one runs, the earlier ones keep their ideas
    with ChatServer([], default=RUN) as server:
        assert main(["explore", "--config", str(config), "--set", f"idea_base_url={server.base_url}",
                     "--episodes_per_task", "4", "--quiet"]) == 0
        assert len(server.requests) == 2 and "Research Problem" in server.requests[0]["body"]["messages"][1]["content"]
    grown = json.loads((out / "ideas" / "digits.json").read_text())
    assert grown["episodes"][:3] == pool["episodes"] and len(grown["episodes"]) == 4
    assert (out / "expert" / "trajectories" / "digits" / "run-3.jsonl").exists()


def test_explore_without_an_idea_server_says_what_to_do(tmp_path: Path) -> None:
    from mlagent_train.cli import main

    assert main(["explore", "--output_dir", str(tmp_path / "x"), "--quiet"]) == 1
