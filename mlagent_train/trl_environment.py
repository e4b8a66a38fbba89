"""An mlagent task inside TRL's own agent loop: ``GRPOTrainer(environment_factory=...)``.

    from trl import GRPOConfig, GRPOTrainer
    from mlagent_train.trl_environment import environment_factory

    trainer = GRPOTrainer(model, args=GRPOConfig(max_steps=100, ...),
                          environment_factory=environment_factory("digits", sandbox="docker"))
    trainer.train()

TRL builds one environment per rollout (and reuses it across batches through ``reset``). Each
environment is one episode of ``gym.make("mlagent/<task>")``: ``reset`` starts it and returns the
task as the env's prompt shows it (research problem, workspace, budget); the mlagent actions are
the environment's tool methods, typed and documented from the action models of
:mod:`mlagent_env.actions` (``list_files``, ``execute_script``, ``edit_script_segment``, ...), so
TRL's tool-calling loop renders their JSON schemas into the prompt and calls them with the
model's arguments; each call is one ``env.step`` and returns its observation. ``get_reward`` is
the mean unified reward of the rollout's steps (each step scored by the env exactly as in
``mlagent-train rl``); a rollout that called no tool scores 0, the reward of an unparseable reply.

This is the episode-wise alternative to our step-wise trainer (``mlagent-train rl``, which
restores expert states and scores single steps): TRL plays whole episodes from the start, up to
``max_tool_calling_iterations`` calls, within ``max_completion_length`` tokens. The model's chat
template must support tool calls (Qwen2.5 and Qwen3 do; :func:`tool_calling_template` gives a
ChatML tokenizer TRL's Qwen2.5 template).
"""

from __future__ import annotations

import inspect
import json
import re
import warnings
import weakref
from typing import Any, Callable

import gymnasium as gym

import mlagent_env  # noqa: F401  (registers the tasks)
from mlagent_env import actions as A
from mlagent_env.tasks import get_task

EPISODE_OVER = "The episode is over: no more actions are carried out."


def _tool_name(action: type[A.Action]) -> str:
    return re.sub(r"[^a-z0-9]+", "_", action.name.lower()).strip("_")


def _tool_method(action: type[A.Action]) -> Callable[..., str]:
    """A method ``name(self, <the action's fields>) -> str`` with a Google-style docstring from
    the action model, so that TRL (through transformers' ``get_json_schema``) can describe it."""
    fields = action.model_fields

    def tool(self: "MLAgentToolEnv", **arguments: Any) -> str:
        return self._act(action, arguments)

    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for name, info in fields.items():
        default = inspect.Parameter.empty if info.is_required() else info.default
        params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                                        annotation=info.annotation))
    tool.__signature__ = inspect.Signature(params, return_annotation=str)  # type: ignore[attr-defined]
    tool.__annotations__ = {**{name: info.annotation for name, info in fields.items()}, "return": str}
    args = "\n".join(f"    {name}: {(info.description or name).replace(chr(10), ' ')}" for name, info in fields.items())
    summary = " ".join((action.__doc__ or action.name).split())
    tool.__doc__ = (f"{summary}\n\n" + (f"Args:\n{args}\n\n" if fields else "")
                    + "Returns:\n    The observation: what the action did or printed.")
    tool.__name__ = tool.__qualname__ = _tool_name(action)
    return tool


class MLAgentToolEnv:
    """One episode of an mlagent task as a TRL environment (see the module docstring). Public
    methods other than ``reset`` and ``get_reward`` are the tools; configuration lives in
    underscored attributes so that TRL does not expose it."""

    def __init__(self, task_id: str, **env_kwargs: Any) -> None:
        get_task(task_id)  # a clear error for an unknown id
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="mlagent local sandbox")
            self._env = gym.make(f"mlagent/{task_id}", **env_kwargs)
        self._rewards: list[float] = []
        self._kinds: list[str] = []
        self._done = False
        self._finalizer = weakref.finalize(self, self._env.close)

    def reset(self, **example: Any) -> str:
        """Start a fresh episode (``seed`` from the dataset row when it has one) and return the
        task as the env's prompt shows it."""
        seed = example.get("seed")
        _, info = self._env.reset(seed=int(seed) if seed is not None else None)
        self._rewards, self._kinds, self._done = [], [], False
        return info["messages"][-1]["content"]

    def get_reward(self) -> float:
        """The mean unified reward of this rollout's steps (0 when it took none)."""
        return sum(self._rewards) / len(self._rewards) if self._rewards else 0.0

    def _act(self, action: type[A.Action], arguments: dict[str, Any]) -> str:
        if self._done:
            return EPISODE_OVER
        try:
            parsed: A.Action | str = action(**arguments)
        except ValueError:  # bad arguments: the env scores them as a format error, as for a bad reply
            parsed = f"Action: {action.name}\nAction Input: {json.dumps(arguments, default=str)}"
        obs, reward, terminated, truncated, info = self._env.step(parsed)
        self._rewards.append(float(reward))
        self._kinds.append(info["reward_kind"])
        self._done = bool(terminated or truncated)
        return obs


for _action in A.available_actions(has_llm=False):
    setattr(MLAgentToolEnv, _tool_name(_action), _tool_method(_action))


def environment_factory(task_id: str, **env_kwargs: Any) -> Callable[[], MLAgentToolEnv]:
    """The zero-argument factory that ``GRPOTrainer(environment_factory=...)`` takes: each call
    makes one environment of ``task_id`` (``env_kwargs`` go to ``gym.make``: sandbox, data_dir,
    max_steps, ...)."""
    get_task(task_id)

    def make() -> MLAgentToolEnv:
        return MLAgentToolEnv(task_id, **env_kwargs)

    return make


def tool_calling_template(tokenizer: Any) -> Any:
    """Give a ChatML tokenizer (e.g. :mod:`mlagent_train.tiny`'s) TRL's Qwen2.5 chat template,
    which renders tool schemas and tool calls, so that TRL can parse the model's tool calls."""
    from trl.chat_template_utils import qwen2_5_chat_template  # noqa: PLC0415

    tokenizer.chat_template = qwen2_5_chat_template
    return tokenizer
