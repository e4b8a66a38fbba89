"""MLAgentEnv: one ML engineering task as a Gymnasium environment.

    env = gym.make("mlagent/digits", sandbox="local")
    obs, info = env.reset(seed=0)          # obs: the first prompt (task, tools, workspace)
    obs, reward, terminated, truncated, info = env.step(reply)   # reply: the LLM's raw text, or an Action
    state = env.unwrapped.snapshot()       # EnvState: workspace + history window + metrics
    obs, info = env.reset(options={"state": state})               # resume exactly there

Observations and actions are text (``gymnasium.spaces.Text``). A malformed reply is never an
exception: it is an observation that says what was wrong, ``reward_kind="format_error"``,
``valid=False``. Every step's reward is the unified reward of ``reward.py``; the per-step metric
grades the *reward* rows of the test answers, the final score (``info["final_score"]``, at the end
of an episode) the *held-back* rows. The agent never sees either answer file.

``terminated`` is the task's own end (Final Answer); ``truncated`` is a limit outside it (the step
budget ``max_steps`` or the time budget ``time_limit_s``, which counts the time spent running the
agent's commands).
"""

from __future__ import annotations

import hashlib
import os
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import pandas as pd
from gymnasium import spaces
from pydantic import BaseModel, ConfigDict, Field

from mlagent_env import actions as A
from mlagent_env.errors import InvalidSubmission
from mlagent_env.llm import TextLLM
from mlagent_env.prompt import HistoryItem, PromptContext, render_messages, render_prompt
from mlagent_env.reward import RewardConfig, RewardKind, flat_reward, metric_reward, task_alpha
from mlagent_env.sandbox import DATA_DIR_NAME, DirEntry, Sandbox, SandboxSpec, make_sandbox
from mlagent_env.sandbox.image import RUNTIME_REPO
from mlagent_env.tasks import data as D
from mlagent_env.tasks.grading import grade, medal
from mlagent_env.tasks.registry import Task, get_task
from mlagent_env.tools import ToolExecutor, ToolOutcome, ToolState

MAX_TEXT = 1 << 20
"""Max length of an observation or action (characters)."""
STATE_VERSION = 1


def _charset() -> str:
    chars = set(string.printable)
    chars.update(chr(c) for c in range(0x20, 0x10000) if not 0xD800 <= c <= 0xDFFF and chr(c).isprintable())
    return "".join(sorted(chars))


CHARSET = _charset()
_CHARSET_SET = frozenset(CHARSET)
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def sanitize_text(text: str, limit: int = MAX_TEXT) -> str:
    """Make text fit the Text spaces: drop ANSI escapes, replace other non-printables by U+FFFD, cap the length."""
    text = _ANSI_RE.sub("", text)
    if not _CHARSET_SET.issuperset(text):
        text = "".join(c if c in _CHARSET_SET else "\ufffd" for c in text)
    if len(text) > limit:
        marker = "\n... [truncated] ...\n"
        half = (limit - len(marker)) // 2
        text = text[:half] + marker + text[-half:]
    return text


class EnvState(BaseModel):
    """Everything needed to resume an episode exactly: serialisable to JSON (workspace as base64)."""

    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    version: int = STATE_VERSION
    task_id: str
    workspace: bytes = Field(description="tar archive of the writable workspace")
    history: list[dict[str, Any]] = Field(default_factory=list, description="the history window (HistoryItem dicts)")
    step: int = 0
    prev_metric: float | None = None
    best_metric: float | None = None
    elapsed_s: float = 0.0
    backups: dict[str, list[str]] = Field(default_factory=dict)
    submission_digest: str | None = None
    ideas: list[str] = Field(default_factory=list)


@dataclass
class _Answers:
    expected_ids: list[str]
    reward: pd.DataFrame
    final: pd.DataFrame


class MLAgentEnv(gym.Env[str, str]):
    """A machine-learning engineering task. See the module docstring for the contract."""

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 1}

    def __init__(
        self,
        task: str,
        *,
        sandbox: str = "auto",
        max_steps: int = 30,
        time_limit_s: float = 5 * 3600.0,
        exec_timeout_s: float | None = None,
        reward_config: RewardConfig | dict[str, Any] | None = None,
        data_dir: str | Path | None = None,
        history_window: int = 3,
        llm: TextLLM | None = None,
        auto_prepare: bool = True,
        memory_mb: int | None = None,
        cpus: float | None = None,
        pids_limit: int = 256,
        network: bool = False,
        gpus: int | str | None = None,
        output_limit: int = 10_000,
        sandbox_options: dict[str, Any] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be >= 1")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.task: Task = get_task(task)
        spec = self.task.spec
        self.sandbox_kind = sandbox
        self.max_steps = max_steps
        self.time_limit_s = float(time_limit_s)
        self.exec_timeout_s = float(exec_timeout_s or spec.resources.exec_timeout_s)
        self.reward_config = (
            reward_config if isinstance(reward_config, RewardConfig) else RewardConfig.model_validate(reward_config or {})
        )
        self.alpha = task_alpha(spec.baseline_score, spec.reference_score, self.reward_config)
        self.data_dir = data_dir
        self.history_window = history_window
        self.llm = llm
        self.auto_prepare = auto_prepare
        self.limits = dict(
            memory_mb=memory_mb or spec.resources.memory_mb,
            cpus=cpus,
            pids_limit=pids_limit,
            network=network,
            gpus=gpus,
            output_limit=output_limit,
        )
        self.sandbox_options = dict(sandbox_options or {})
        self.render_mode = render_mode
        self.action_space = spaces.Text(max_length=MAX_TEXT, min_length=0, charset=CHARSET)
        self.observation_space = spaces.Text(max_length=MAX_TEXT, min_length=0, charset=CHARSET)
        self._tools_text = A.tool_descriptions(A.available_actions(has_llm=llm is not None))

        self._sandbox: Sandbox | None = None
        self._tools: ToolExecutor | None = None
        self._answers: _Answers | None = None
        self._paths: D.TaskPaths | None = None
        self._history: list[HistoryItem] = []
        self._step = 0
        self._prev_metric: float | None = None
        self._best_metric: float | None = None
        self._elapsed = 0.0
        self._submission_digest: str | None = None
        self._ideas: list[str] = []
        self._fixture = False
        self._done = False
        self._last_text = ""

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode in a fresh sandbox with the task's starter files, or, with
        ``options={"state": EnvState}``, resume that state exactly (in a fresh sandbox).
        ``options={"ideas": [...]}`` adds ideas to the first prompt (exploration-enriched SFT).
        Returns the first prompt and ``info`` with ``prompt`` and ``messages``."""
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"state", "ideas"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; known: 'state', 'ideas'")
        self._ensure_data()
        self._new_sandbox()
        state = options.get("state")
        if state is not None:
            self._load_state(state)
        else:
            self._history, self._step, self._elapsed = [], 0, 0.0
            self._prev_metric = self._best_metric = None
            self._submission_digest = None
            self._tools.state = ToolState()  # type: ignore[union-attr]
            self._ideas = []
        if "ideas" in options:
            self._ideas = [str(i) for i in options["ideas"]]
        self._done = False
        info = {
            "task_id": self.task.id,
            "fixture_data": self._fixture,
            "step": self._step,
            **self._next_prompt(),
            "best_metric": self._best_metric,
            "elapsed_s": self._elapsed,
        }
        self._last_text = info["prompt"]
        return info["prompt"], info

    def step(self, action: str | A.Action) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Parse and carry out one action; return the observation, the unified reward, whether the
        task ended (Final Answer), whether a limit ended it, and ``info`` (see DESIGN.md)."""
        if self._sandbox is None or self._tools is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if self._done:
            raise gym.error.ResetNeeded("the episode is over; call reset() to start another")

        reply = action if isinstance(action, str) else ""
        parsed: A.Action | None
        if isinstance(action, A.Action):
            parsed, parse_error = action, None
        else:
            try:
                parsed, parse_error = A.parse_reply(action).action, None
            except A.ActionParseError as exc:
                parsed, parse_error = None, str(exc)

        exec_info: dict[str, Any] | None = None
        metric: float | None = None
        if parsed is None:
            observation = f"ActionParseError: {parse_error}"
            kind: RewardKind = "format_error"
            reward = flat_reward(kind, self.reward_config)
        else:
            outcome = self._tools.run(parsed)
            if outcome.exec is not None:
                self._elapsed += outcome.exec.duration_s
                exec_info = {
                    "exit_code": outcome.exec.exit_code,
                    "timed_out": outcome.exec.timed_out,
                    "oom_killed": outcome.exec.oom_killed,
                    "duration_s": outcome.exec.duration_s,
                }
            observation, kind, reward, metric = self._judge(parsed, outcome)

        self._step += 1
        item = HistoryItem(
            step=self._step,
            action=parsed.to_dict() if parsed is not None else None,
            observation=observation,
            reply="" if parsed is not None else reply,
        )
        self._history = (self._history + [item])[-self.history_window :] if self.history_window > 0 else []
        terminated = parsed is not None and isinstance(parsed, A.FinalAnswer)
        truncated = not terminated and (self._step >= self.max_steps or self._elapsed >= self.time_limit_s)
        observation = sanitize_text(observation)
        self._last_text = observation
        info: dict[str, Any] = {
            "action": parsed.to_dict() if parsed is not None else None,
            "valid": parsed is not None,
            "reward_kind": kind,
            "metric": metric,
            "best_metric": self._best_metric,
            "exec": exec_info,
            "elapsed_s": self._elapsed,
            "step": self._step,
            **self._next_prompt(),
        }
        if terminated or truncated:
            self._done = True
            info.update(self.final_score())
            if truncated:
                observation += "\n[mlagent] The step or time budget is used up; the episode is over."
        if self.render_mode == "human":
            self.render()
        return observation, float(reward), terminated, truncated, info

    def render(self) -> str | None:
        """The last observation: returned (``ansi``) or printed (``human``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' to gym.make")
            return None
        if self.render_mode == "human":
            print(self._last_text)
            return None
        return self._last_text

    def close(self) -> None:
        """Release the sandbox (containers, processes, temporary folders). Idempotent."""
        if self._sandbox is not None:
            self._sandbox.close()
        self._sandbox = None
        self._tools = None

    @property
    def answers_readable(self) -> bool:
        """True when agent code in this env's sandbox can read the task's private answers (after reset)."""
        if self._sandbox is None:
            raise gym.error.ResetNeeded("call reset() before asking whether the sandbox hides the answers")
        return self._sandbox.answers_readable

    # ------------------------------------------------------------------ state
    def snapshot(self) -> EnvState:
        """The current state: workspace, history window, step, metrics, elapsed time, edit backups."""
        if self._sandbox is None or self._tools is None:
            raise gym.error.ResetNeeded("call reset() before snapshot()")
        return EnvState(
            task_id=self.task.id,
            workspace=self._sandbox.snapshot(),
            history=[h.to_dict() for h in self._history],
            step=self._step,
            prev_metric=self._prev_metric,
            best_metric=self._best_metric,
            elapsed_s=self._elapsed,
            backups={k: list(v) for k, v in self._tools.state.backups.items()},
            submission_digest=self._submission_digest,
            ideas=list(self._ideas),
        )

    def prompt_context(self) -> PromptContext:
        """What the next prompt shows; pass it to ``mlagent_env.prompt`` to render it."""
        assert self._sandbox is not None
        return PromptContext(
            research_problem=self.task.description,
            tools=self._tools_text,
            workspace=self._workspace_listing(),
            step=self._step,
            max_steps=self.max_steps,
            time_left_s=max(self.time_limit_s - self._elapsed, 0.0),
            history=list(self._history),
            ideas=list(self._ideas),
        )

    def _next_prompt(self) -> dict[str, Any]:
        """``prompt`` and ``messages`` for the next step, as the info dicts carry them."""
        ctx = self.prompt_context()
        return {
            "prompt": sanitize_text(render_prompt(ctx)),
            "messages": [dict(m, content=sanitize_text(m["content"])) for m in render_messages(ctx)],
        }

    def _workspace_listing(self) -> list[DirEntry]:
        """The agent's files recursively, and only the top level of the (possibly huge) data folder."""
        assert self._sandbox is not None
        entries = []
        for entry in self._sandbox.list_dir("."):
            entries.append(entry)
            if entry.is_dir:
                recursive = entry.path != DATA_DIR_NAME
                entries.extend(self._sandbox.list_dir(entry.path, recursive=recursive))
        return entries

    def final_score(self) -> dict[str, Any]:
        """Grade the current submission on the held-back rows: ``final_score`` (None when the
        submission is missing or invalid, with ``final_error`` saying why) and ``medal``."""
        assert self._tools is not None and self._answers is not None
        try:
            frame = self._tools.read_submission()
            score = grade(self.task.spec, frame, self._answers.final, self._answers.expected_ids)
        except InvalidSubmission as exc:
            return {"final_score": None, "final_error": str(exc), "medal": None}
        return {"final_score": score, "final_error": None, "medal": medal(self.task.spec, score)}

    # ------------------------------------------------------------------ internals
    def _judge(self, action: A.Action, outcome: ToolOutcome) -> tuple[str, RewardKind, float, float | None]:
        """The reward kind, reward and metric of an executed action."""
        cfg = self.reward_config
        observation = outcome.observation
        if outcome.corner_case:
            return observation, "corner_case", flat_reward("corner_case", cfg), None
        if outcome.failed:
            return observation, "error", flat_reward("error", cfg), None
        if outcome.exec is None:
            return observation, "non_edit", flat_reward("non_edit", cfg), None
        digest = self._digest_submission()
        if digest is None or digest == self._submission_digest:
            return observation, "non_edit", flat_reward("non_edit", cfg), None
        self._submission_digest = digest
        assert self._tools is not None and self._answers is not None
        spec = self.task.spec
        try:
            frame = self._tools.read_submission()
            metric = grade(spec, frame, self._answers.reward, self._answers.expected_ids)
        except InvalidSubmission as exc:
            observation += f"\n[mlagent] {spec.submission_file} was written but is invalid: {exc}"
            return observation, "error", flat_reward("error", cfg), None
        prev = self._prev_metric
        if prev is None:  # the first run of an episode is compared with the starter on the same rows
            prev = spec.baseline_reward_score if spec.baseline_reward_score is not None else spec.baseline_score
        kind, reward = metric_reward(
            metric, prev, higher_is_better=spec.metric.higher_is_better, alpha=self.alpha, config=cfg
        )
        if kind != "metric":
            observation += f"\n[mlagent] {spec.submission_file} could not be scored (non-finite metric)."
            return observation, kind, reward, None
        observation += f"\n[mlagent] {spec.submission_file} was updated and is valid."
        self._prev_metric = metric
        if self._best_metric is None or spec.is_better(metric, self._best_metric):
            self._best_metric = metric
        return observation, kind, reward, metric

    def _digest_submission(self) -> str | None:
        assert self._sandbox is not None
        name = self.task.spec.submission_file
        try:
            if not self._sandbox.exists(name):
                return None
            return hashlib.sha256(self._sandbox.read_file(name)).hexdigest()
        except Exception:
            return None

    def _ensure_data(self) -> None:
        if self._answers is not None:
            return
        if self.auto_prepare and not D.is_prepared(self.task.id, self.data_dir):
            D.prepare_task(self.task, self.data_dir)
        paths = D.require_prepared(self.task, self.data_dir)
        answers = D.read_answers(paths.answers, self.task)
        self._answers = _Answers(
            expected_ids=answers[self.task.spec.id_column].astype(str).tolist(),
            reward=D.read_answers(paths.answers_reward, self.task),
            final=D.read_answers(paths.answers_final, self.task),
        )
        self._paths = paths
        self._fixture = D.is_fixture(self.task.id, self.data_dir)

    def _new_sandbox(self) -> None:
        assert self._paths is not None and self._answers is not None
        self.close()
        spec = SandboxSpec(
            task_id=self.task.id,
            starter_dir=self.task.starter_dir,
            public_dir=self._paths.public,
            hidden_dirs=self._paths.hidden,
            # Docker: $MLAGENT_IMAGE, else the variant the task needs (sandbox_options={"image": ...} wins)
            image=os.environ.get("MLAGENT_IMAGE") or f"{RUNTIME_REPO}:{self.task.spec.resources.image}",
            **self.limits,  # type: ignore[arg-type]
        )
        self._sandbox = make_sandbox(self.sandbox_kind, spec, **self.sandbox_options)
        self._tools = ToolExecutor(
            self._sandbox,
            self.task.spec,
            self._answers.expected_ids,
            exec_timeout_s=self.exec_timeout_s,
            llm=self.llm,
        )

    def _load_state(self, state: EnvState | dict[str, Any] | str) -> None:
        if isinstance(state, str):
            state = EnvState.model_validate_json(state)
        elif isinstance(state, dict):
            state = EnvState.model_validate(state)
        if state.version != STATE_VERSION:
            raise ValueError(f"EnvState version {state.version} is not supported (expected {STATE_VERSION})")
        if state.task_id != self.task.id:
            raise ValueError(f"this EnvState belongs to task {state.task_id!r}, not {self.task.id!r}")
        assert self._sandbox is not None and self._tools is not None
        self._sandbox.restore(state.workspace)
        self._history = [HistoryItem.from_dict(h) for h in state.history][-self.history_window :] if self.history_window else []
        self._step = state.step
        self._prev_metric = state.prev_metric
        self._best_metric = state.best_metric
        self._elapsed = state.elapsed_s
        self._submission_digest = state.submission_digest
        self._ideas = list(state.ideas)
        self._tools.state = ToolState(backups={k: list(v) for k, v in state.backups.items()})

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
