"""``mlagent-train eval``: a trained model through the benchmark harness (:mod:`mlagent_env.bench`).

    mlagent-train eval --model runs/rl/final --tasks held-out --runs 8
    mlagent-train eval --base-url http://localhost:8000/v1 --model Qwen/Qwen2.5-7B --tasks held-out --runs 8

With ``base_url`` the model is served elsewhere (e.g. ``vllm serve runs/rl/final``) and played
through the benchmark's OpenAI-compatible policy (``PolicySpec(kind="http")``); without it the
model is loaded in this process and played as a ``PolicySpec(kind="python")`` policy built by
:func:`shared_policy`, which loads the weights once per process and hands every episode a
:class:`~mlagent_train.policy.TransformersPolicy` over them (generation is serialised by a lock,
so ``parallel`` episodes overlap their env work, not their generation). The output folder is a
benchmark folder: the same ``results.md``/``results.json`` table, ``plots/scores.png`` and
``plots/rewards.png`` as ``mlagent-env bench``, trajectories, and resumption.

``tasks`` takes task ids and task groups (``held-out``, ``held-in``, ``offline-held-out``,
``offline-held-in``, ``offline``; see :func:`mlagent_env.tasks.resolve_tasks`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlagent_env.errors import MLAgentError
from mlagent_env.prompt import PromptStyle, history_window_option, prompt_style_option
from mlagent_env.readable_answers import OPT_IN_HELP
from mlagent_env.sandbox import SandboxKind, sandbox_option
from mlagent_train.config import option


class EvalError(MLAgentError):
    """Evaluation cannot run as configured."""


@dataclass
class EvalConfig:
    """Options of ``mlagent-train eval``."""

    model: str = option("runs/rl/final", "a local model folder (played in this process), or the served model's name with base_url")
    base_url: str | None = option(None, "an OpenAI-compatible server (e.g. vLLM) serving the model; None: load it here")
    api_key_env: str = option("OPENAI_API_KEY", "environment variable with the server's API key")
    tasks: list[str] = option(["held-out"], "task ids and/or groups (held-out, held-in, offline-held-out, offline-held-in, offline)")
    runs: int = option(8, "episodes per task (avg@K, best@K)", minimum=1)
    max_steps: int = option(30, "step budget of an episode", minimum=1)
    history_window: int = history_window_option()
    prompt_style: PromptStyle = prompt_style_option()
    parallel: int = option(1, "episodes at a time", minimum=1)
    output_dir: str = option("runs/eval", "the benchmark folder (resumable)")
    sandbox: SandboxKind = sandbox_option()
    data_dir: str | None = option(None, "data root (default $MLAGENT_DATA_DIR)")
    seed: int = option(0, "seed of the episodes", minimum=0)
    temperature: float = option(0.7, "sampling temperature (0: greedy)", minimum=0)
    max_new_tokens: int = option(2048, "most tokens of one reply", minimum=1)
    time_limit_s: float = option(5 * 3600.0, "time budget of an episode (time spent running the agent's commands)",
                                 above=0)
    exec_timeout_s: float | None = option(None, "limit of one Execute Script (None: the task's own)", above=0)
    timeout_s: float = option(300.0, "with base_url: one request's timeout", above=0)
    device: str | None = option(None, "in-process model: cuda | cpu (None: cuda when available)")
    dtype: str = option("auto", "in-process model: auto | bfloat16 | float32")
    allow_fixture: bool = option(False, "allow tasks whose prepared data is a synthetic test fixture (smoke tests)")
    allow_readable_answers: bool = option(False, OPT_IN_HELP)


def resolve_tasks(names: list[str]) -> list[str]:
    from mlagent_env.tasks import resolve_tasks as resolve

    out = resolve(names)
    if not out:
        raise EvalError(f"no task in {names}")
    return out


_models: dict[tuple[str, str | None, str], tuple[Any, Any, threading.Lock]] = {}
_models_lock = threading.Lock()


class _LockedPolicy:
    """A TransformersPolicy whose ``act`` holds the shared model's lock."""

    def __init__(self, policy: Any, lock: threading.Lock) -> None:
        self.policy, self.lock = policy, lock

    def reset(self, task_id: str, seed: int | None = None) -> None:
        self.policy.reset(task_id, seed)

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        with self.lock:
            return str(self.policy.act(messages, info))

    def last_usage(self) -> dict[str, int]:
        return self.policy.last_usage()


def shared_policy(model_path: str, device: str | None = None, dtype: str = "auto", **kwargs: Any) -> Any:
    """A policy over ``model_path`` whose weights are loaded once per process (the benchmark's
    ``PolicySpec(kind="python", factory="mlagent_train.evaluate:shared_policy")``)."""
    from mlagent_train.policy import TransformersPolicy

    key = (str(model_path), device, dtype)
    with _models_lock:
        if key not in _models:
            first = TransformersPolicy(str(model_path), device=device, dtype=dtype, **kwargs)
            _models[key] = (first.model, first.tokenizer, threading.Lock())
        model, tokenizer, lock = _models[key]
    policy = TransformersPolicy(str(model_path), device=device, dtype=dtype, model=model, tokenizer=tokenizer, **kwargs)
    return _LockedPolicy(policy, lock)


def policy_spec(cfg: EvalConfig) -> Any:
    from mlagent_env.agents import PolicySpec

    if cfg.base_url:
        return PolicySpec(kind="http", base_url=cfg.base_url, model=cfg.model, api_key_env=cfg.api_key_env,
                          temperature=cfg.temperature, max_tokens=cfg.max_new_tokens, timeout_s=cfg.timeout_s)
    if not Path(cfg.model).is_dir():
        raise EvalError(f"{cfg.model} is not a local model folder; give one (e.g. runs/rl/final), "
                        "or serve the model and pass base_url")
    return PolicySpec(kind="python", factory="mlagent_train.evaluate:shared_policy",
                      kwargs={"model_path": str(Path(cfg.model).resolve()), "device": cfg.device, "dtype": cfg.dtype,
                              "temperature": cfg.temperature, "max_new_tokens": cfg.max_new_tokens})


def run_eval(cfg: EvalConfig, progress: bool = True) -> tuple[list[Any], Path]:
    """Run (or resume) the benchmark; returns the per-task results and the folder."""
    from mlagent_env.bench import BenchConfig, Benchmark

    bench = BenchConfig(tasks=resolve_tasks(cfg.tasks), policy=policy_spec(cfg), runs=cfg.runs, max_steps=cfg.max_steps,
                        parallel=cfg.parallel, seed=cfg.seed, sandbox=cfg.sandbox, data_dir=cfg.data_dir,
                        time_limit_s=cfg.time_limit_s, exec_timeout_s=cfg.exec_timeout_s, allow_fixture=cfg.allow_fixture,
                        allow_readable_answers=cfg.allow_readable_answers,
                        env_kwargs={"history_window": cfg.history_window, "prompt_style": cfg.prompt_style})
    out = Path(cfg.output_dir)
    return Benchmark(bench, out).run(progress=progress), out
