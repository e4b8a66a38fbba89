"""Exploration (ML-Agent section 5, steps 1-3): idea pools, diverse ideas, expert trajectories.

For every task:

1. ask an LLM (any OpenAI-compatible server) for candidate ideas, request after request, until
   at least ``ideas_per_task`` distinct ones are collected (numbered or bulleted lists are parsed;
   near-identical ideas are merged); with no server (``idea_source: builtin``, or ``auto`` without
   ``idea_base_url``) the candidates are the built-in ideas for the task's kind
   (:mod:`mlagent_env.agents.ideas`), so that exploration runs offline;
2. embed them (:mod:`mlagent_train.embed`) and keep the ``keep_ideas`` most diverse by greedy
   max-min distance;
3. run the expert policy over ``episodes_per_task`` episodes through the benchmark harness, each
   with 1-3 kept ideas (drawn with a fixed seed) in its first prompt (``reset_options``): an LLM
   behind a server (``expert: http``), or the scripted expert (``expert: expert``,
   :mod:`mlagent_env.agents.expert`), which turns each idea into an edit of the starter and keeps
   the edits that validate better.

Offline, on a CPU machine: ``examples/configs/offline_explore.yaml`` (built-in ideas, TF-IDF
distances, the scripted expert).

Output (``output_dir``)::

    config.json                               the explore config
    ideas/<task>.json                         candidates, kept ideas, per-episode ideas
    expert/trajectories/<task>/run-<k>.jsonl  every step, with its EnvState (for SFT and RL)
    expert/episodes/, expert/results.md, expert/plots/   the benchmark's summaries

Everything resumes: an idea pool on disk is not asked for again, and the benchmark skips the
episodes that finished.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlagent_env.agents import ChatPolicy, PolicySpec
from mlagent_env.agents.ideas import builtin_ideas
from mlagent_env.bench import BenchConfig, Benchmark, TaskResult
from mlagent_env.readable_answers import OPT_IN_HELP, check_readable_answers, env_answers_readable
from mlagent_env.errors import MLAgentError
from mlagent_env.prompt import PromptStyle, history_window_option, prompt_style_option
from mlagent_env.sandbox import SandboxKind, sandbox_option
from mlagent_env.tasks import get_task, resolve_tasks
from mlagent_train.config import option
from mlagent_train.embed import Embedder, build_embedder, farthest_point_selection


class ExploreError(MLAgentError):
    """Exploration cannot go on as configured (no idea server, too few ideas, ...)."""


@dataclass
class ExploreConfig:
    """Options of ``mlagent-train explore``."""

    tasks: list[str] = option(["digits"], "task ids or groups to explore, e.g. offline-held-in (the paper uses 9 fast held-in tasks)")
    output_dir: str = option("runs/explore", "output folder (idea pools and trajectories); re-running resumes")
    idea_source: str = option("auto", "server (ask the idea model) | builtin (the built-in ideas for the task's kind, "
                              "no server) | auto (server when idea_base_url is set, else builtin)")
    idea_base_url: str | None = option(None, "OpenAI-compatible base URL of the idea model, e.g. http://localhost:8000/v1")
    idea_model: str = option("gpt-4o-mini", "model name for idea generation")
    idea_api_key_env: str = option("OPENAI_API_KEY", "environment variable holding the API key (never stored)")
    idea_temperature: float = option(1.0, "sampling temperature of idea requests (high: more varied ideas)", minimum=0)
    idea_max_tokens: int = option(4096, "max completion tokens per idea request", minimum=1)
    ideas_per_task: int = option(100, "N: collect at least this many distinct candidate ideas per task", minimum=1)
    ideas_per_request: int = option(25, "how many ideas one request asks for", minimum=1)
    max_idea_requests: int = option(20, "give up on a task after this many requests without reaching N", minimum=1)
    keep_ideas: int = option(10, "K: keep this many most diverse ideas per task", minimum=1)
    embedder: str = option("sentence-transformers/all-MiniLM-L6-v2", "sentence-embedding model: local folder or hub id")
    embedder_backend: str = option("auto", "auto | sentence-transformers | transformers | tfidf (no model: word "
                                   "n-gram TF-IDF, offline) | module:factory")
    distance: str = option("cosine", "distance for the diversity pick: cosine | euclidean")
    expert: str = option("http", "expert policy: http (an LLM, expert_* options) | expert (the scripted expert: "
                         "ideas -> edits, keeps what validates better) | scripted | baseline | replay:PATH")
    expert_base_url: str | None = option(None, "base URL of the expert model (default: idea_base_url)")
    expert_model: str = option("gpt-4o-mini", "expert model name (the paper: GPT-4o-mini)")
    expert_api_key_env: str = option("OPENAI_API_KEY", "environment variable holding the expert's API key")
    expert_temperature: float = option(0.7, "expert sampling temperature", minimum=0)
    expert_max_tokens: int = option(2048, "max completion tokens per expert step", minimum=1)
    episodes_per_task: int = option(128, "expert episodes per task (the paper: about 10k trajectories over 9 tasks)",
                                    minimum=1)
    min_ideas_per_episode: int = option(1, "fewest kept ideas shown in an episode's first prompt", minimum=0)
    max_ideas_per_episode: int = option(3, "most kept ideas shown in an episode's first prompt", minimum=0)
    max_steps: int = option(30, "step budget of an expert episode", minimum=1)
    history_window: int = history_window_option()
    prompt_style: PromptStyle = prompt_style_option()
    parallel: int = option(8, "episodes run at the same time", minimum=1)
    seed: int = option(0, "seed of idea sampling and of the episodes", minimum=0)
    sandbox: SandboxKind = sandbox_option()
    data_dir: str | None = option(None, "data root (default: $MLAGENT_DATA_DIR or ~/.cache/mlagent)")
    time_limit_s: float = option(5 * 3600.0, "time budget for running code per episode", above=0)
    exec_timeout_s: float | None = option(None, "timeout of one script run (default: the task's)", above=0)
    allow_fixture: bool = option(False, "allow synthetic fixture data (smoke tests only)")
    allow_readable_answers: bool = option(False, OPT_IN_HELP)


IDEA_SYSTEM = "You are an expert machine-learning engineer who proposes concrete, varied ideas for improving a model."

IDEA_REQUEST = """\
Here is a machine-learning task.

{description}

Propose {n} distinct, concrete ideas for improving the score on this task: models, features, preprocessing, \
regularisation, validation, ensembling, hyperparameters. Each idea must be one sentence that can be carried out \
in a short Python script with common libraries.{avoid}

Answer with a numbered list only, one idea per line: "1. ...", "2. ...", and so on."""

_ITEM = re.compile(r"^\s*(?:\(?\d{1,3}[.):]|[-*\u2022])\s+(.+?)\s*$")


def parse_ideas(text: str) -> list[str]:
    """The items of a numbered or bulleted list (markdown emphasis removed), in order."""
    out = []
    for line in text.splitlines():
        m = _ITEM.match(line)
        if m:
            idea = re.sub(r"\*\*|__|`", "", m.group(1)).strip()
            if len(idea) >= 3:
                out.append(idea)
    return out


def idea_key(idea: str) -> str:
    """Normalised form used for deduplication (case, accents, punctuation and spacing ignored)."""
    s = unicodedata.normalize("NFKD", idea).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", s).split())


def dedupe_ideas(ideas: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for idea in ideas:
        key = idea_key(idea)
        if key and key not in seen:
            seen.add(key)
            out.append(idea)
    return out


def idea_source(cfg: ExploreConfig) -> str:
    """``server`` or ``builtin``, with ``auto`` resolved."""
    if cfg.idea_source == "auto":
        return "server" if cfg.idea_base_url else "builtin"
    if cfg.idea_source not in ("server", "builtin"):
        raise ExploreError(f"unknown idea_source {cfg.idea_source!r}; use server, builtin or auto")
    return cfg.idea_source


def generate_ideas(cfg: ExploreConfig, task_id: str, client: ChatPolicy | None = None) -> tuple[list[str], int]:
    """The candidate ideas for ``task_id`` and the number of requests made: at least
    ``cfg.ideas_per_task`` distinct ones from the idea server, or the built-in list (0 requests)."""
    if client is None and idea_source(cfg) == "builtin":
        ideas = builtin_ideas(get_task(task_id).spec)
        if not ideas:
            raise ExploreError(f"{task_id}: there are no built-in ideas for its kind; set idea_base_url "
                               "(an OpenAI-compatible server) or write ideas/<task>.json")
        return ideas, 0
    if client is None:
        if not cfg.idea_base_url:
            raise ExploreError("idea generation needs idea_base_url (an OpenAI-compatible server), or an idea pool on disk")
        client = ChatPolicy(base_url=cfg.idea_base_url, model=cfg.idea_model, api_key_env=cfg.idea_api_key_env,
                            temperature=cfg.idea_temperature, max_tokens=cfg.idea_max_tokens)
    description = get_task(task_id).description
    ideas: list[str] = []
    for request in range(1, cfg.max_idea_requests + 1):
        client.reset(task_id, seed=cfg.seed * 1000 + request)
        avoid = ""
        if ideas:
            avoid = "\nDo not repeat any of these ideas:\n" + "\n".join(f"- {i}" for i in ideas)
        need = max(cfg.ideas_per_task - len(ideas), 1)
        messages = [
            {"role": "system", "content": IDEA_SYSTEM},
            {"role": "user", "content": IDEA_REQUEST.format(description=description,
                                                            n=min(cfg.ideas_per_request, need) if ideas else cfg.ideas_per_request,
                                                            avoid=avoid)},
        ]
        ideas = dedupe_ideas(ideas + parse_ideas(client.act(messages, {})))
        if len(ideas) >= cfg.ideas_per_task:
            return ideas, request
    raise ExploreError(
        f"{task_id}: only {len(ideas)} distinct ideas after {cfg.max_idea_requests} requests (wanted "
        f"{cfg.ideas_per_task}); raise max_idea_requests or lower ideas_per_task"
    )


def episode_ideas(kept: list[str], episodes: int, lo: int, hi: int, seed: int) -> list[list[str]]:
    """For every episode, ``lo``..``hi`` distinct kept ideas drawn with a fixed seed."""
    if not kept:
        return [[] for _ in range(episodes)]
    rng = random.Random(seed)
    lo, hi = max(1, lo), max(lo, hi)
    return [rng.sample(kept, min(rng.randint(lo, hi), len(kept))) for _ in range(episodes)]


def build_idea_pool(cfg: ExploreConfig, task_id: str, embedder: Callable[[], Embedder], task_index: int) -> dict[str, Any]:
    """Load ``ideas/<task>.json`` or make it (candidates, diverse pick, per-episode ideas)."""
    path = Path(cfg.output_dir) / "ideas" / f"{task_id}.json"
    pool: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"task_id": task_id}
    source = idea_source(cfg)
    stale = pool.get("source", "server") != source or not pool.get("candidates")
    if stale or (source == "server" and len(pool["candidates"]) < cfg.ideas_per_task):
        pool["candidates"], pool["requests"] = generate_ideas(cfg, task_id)
        pool["source"] = source
        pool.pop("kept", None)
        _write_json(path, pool)  # the expensive part is saved before embedding
    if "kept" not in pool or pool.get("keep_ideas") != cfg.keep_ideas:
        candidates = pool["candidates"]
        if len(candidates) <= cfg.keep_ideas:  # all of them: no distances needed
            picked = list(range(len(candidates)))
        else:
            picked = farthest_point_selection(embedder().embed(candidates), cfg.keep_ideas, metric=cfg.distance)
        pool.update(kept=[candidates[i] for i in picked], kept_indices=picked, keep_ideas=cfg.keep_ideas,
                    embedder=cfg.embedder, distance=cfg.distance)
        pool.pop("episodes", None)
    if len(pool.get("episodes", [])) != cfg.episodes_per_task:
        pool["episodes"] = episode_ideas(pool["kept"], cfg.episodes_per_task, cfg.min_ideas_per_episode,
                                         cfg.max_ideas_per_episode, seed=cfg.seed * 7919 + task_index)
    _write_json(path, pool)
    return pool


def expert_spec(cfg: ExploreConfig) -> PolicySpec:
    if cfg.expert == "http":
        base_url = cfg.expert_base_url or cfg.idea_base_url
        if not base_url:
            raise ExploreError("expert http needs expert_base_url (or idea_base_url)")
        return PolicySpec(kind="http", base_url=base_url, model=cfg.expert_model, api_key_env=cfg.expert_api_key_env,
                          temperature=cfg.expert_temperature, max_tokens=cfg.expert_max_tokens)
    return PolicySpec.parse(cfg.expert)


@dataclass
class ExploreResult:
    pools: dict[str, dict[str, Any]]
    results: list[TaskResult]
    trajectories_dir: Path


def run_explore(cfg: ExploreConfig, embedder: Embedder | None = None, progress: bool = True) -> ExploreResult:
    """Idea pools for every task, then the expert episodes (both resumable)."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "config.json", asdict(cfg))
    tasks = resolve_tasks(cfg.tasks)  # groups (offline-held-in, ...) become task ids
    if tasks:  # before any idea or embedding model is asked
        check_readable_answers(env_answers_readable(tasks[0], sandbox=cfg.sandbox, data_dir=cfg.data_dir),
                               cfg.allow_readable_answers)
    cache: list[Embedder] = [embedder] if embedder is not None else []

    def get_embedder() -> Embedder:
        if not cache:
            cache.append(build_embedder(cfg.embedder, cfg.embedder_backend))
        return cache[0]

    policy = expert_spec(cfg)  # a misconfigured expert fails before any idea is asked for
    pools = {t: build_idea_pool(cfg, t, get_embedder, i) for i, t in enumerate(tasks)}
    bench = BenchConfig(
        tasks=tasks, policy=policy, runs=cfg.episodes_per_task, max_steps=cfg.max_steps,
        env_kwargs={"history_window": cfg.history_window, "prompt_style": cfg.prompt_style},
        parallel=cfg.parallel, seed=cfg.seed, sandbox=cfg.sandbox, data_dir=cfg.data_dir,
        time_limit_s=cfg.time_limit_s, exec_timeout_s=cfg.exec_timeout_s, allow_fixture=cfg.allow_fixture,
        allow_readable_answers=cfg.allow_readable_answers,
        reset_options={t: [{"ideas": ideas} for ideas in pools[t]["episodes"]] for t in tasks},
    )
    results = Benchmark(bench, out / "expert").run(progress=progress)
    return ExploreResult(pools=pools, results=results, trajectories_dir=out / "expert" / "trajectories")


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
