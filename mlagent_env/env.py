"""MLAgentEnv: one ML engineering task as a Gymnasium environment.

    env = gym.make("mlagent/digits", sandbox="local")
    obs, info = env.reset(seed=0)          # obs: the first prompt (task, tools, workspace)
    obs, reward, terminated, truncated, info = env.step(reply)   # reply: the LLM's raw text, or an Action
    state = env.unwrapped.snapshot()       # EnvState: workspace + history window + metrics
    obs, info = env.reset(options={"state": state})               # resume exactly there

Observations and actions are text (``gymnasium.spaces.Text``). A malformed reply is never an
exception: it is an observation that says what was wrong, ``reward_kind="format_error"``,
``valid=False``. Every step's reward is the unified reward of ``reward.py``, on the task's reward
scale (``info["reward_scale"]`` at reset); the per-step metric grades the *reward* rows of the test
answers at the step whose action changed the submission, the final score (``info["final_score"]``,
at the end of an episode) the *held-back* rows. The agent never sees either answer file; both are
checked against the manifest's checksums when loaded.

``terminated`` is the task's own end (Final Answer); ``truncated`` is a limit outside it (the step
budget ``max_steps`` or the time budget ``time_limit_s``, which counts the time spent running the
agent's commands).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
from gymnasium import spaces
from pydantic import BaseModel, ConfigDict, Field

from mlagent_env import actions as A
from mlagent_env.errors import InvalidSubmission, SandboxError
from mlagent_env.llm import TextLLM
from mlagent_env.prompt import (
    OBSERVATION_LIMIT,
    PROMPT_STYLES,
    HistoryItem,
    PromptContext,
    PromptStyle,
    render_messages,
    render_prompt,
)
from mlagent_env.reward import RewardConfig, RewardKind, flat_reward, metric_reward, task_alpha
from mlagent_env.sandbox import DATA_DIR_NAME, Sandbox, SandboxSpec, make_sandbox
from mlagent_env.sandbox.base import DirListing
from mlagent_env.sandbox.image import RUNTIME_REPO
from mlagent_env.tasks import baseline_cache
from mlagent_env.tasks import data as D
from mlagent_env.tasks.grading import Answers, grade, load_answers, medal, read_csv_submission
from mlagent_env.tasks.registry import Task, get_task
from mlagent_env.tasks.scale import RewardScale, reward_scale
from mlagent_env.text import CHARSET, MAX_TEXT, sanitize_text, scrub_surrogates
from mlagent_env.tools import ToolExecutor, ToolOutcome, ToolState

STATE_VERSION = 1
PROMPT_LISTING_MAX = 1_000
"""The most workspace entries a prompt's listing looks at (it shows the first ``listing_limit``)."""


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
    submission_error: str | None = Field(None, description="why the recorded submission is invalid, if it is")
    ideas: list[str] = Field(default_factory=list)


def _parse(action: object) -> tuple[A.Action | None, str | None]:
    """The action of a reply (or the Action given), or None and what was wrong: every failure of
    the parser, and an Action whose text arguments hold lone surrogates (as the parser rules)."""
    if isinstance(action, A.Action):
        arguments = action.arguments()
        if scrub_surrogates(arguments) != arguments:
            return None, f"bad arguments for {action.name}: an argument contains a lone surrogate, which is not text"
        return action, None
    try:
        return A.parse_reply(action).action, None
    except A.ActionParseError as exc:
        return None, str(exc)
    except (RecursionError, UnicodeError, MemoryError) as exc:  # whatever the parser lets through
        return None, f"the reply could not be decoded ({type(exc).__name__}); {A.FORMAT_HINT}"


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
        prompt_style: PromptStyle = "full",
        llm: TextLLM | None = None,
        auto_prepare: bool = True,
        memory_mb: int | None = None,
        disk_mb: int | None = None,
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
        self.reward_scale: RewardScale = reward_scale(spec)  # refined by a measured starter at the first reset
        self.alpha = task_alpha(self.reward_scale.value, self.reward_config)
        self.data_dir = data_dir
        self.history_window = history_window
        if prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, not {prompt_style!r}")
        self.prompt_style: PromptStyle = prompt_style
        self.llm = llm
        self.auto_prepare = auto_prepare
        self.limits = dict(
            memory_mb=memory_mb or spec.resources.memory_mb,
            disk_mb=disk_mb or spec.resources.disk_mb,
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
        self._tools_text = A.tool_descriptions(A.available_actions(has_llm=llm is not None), prompt_style)

        self._sandbox: Sandbox | None = None
        self._tools: ToolExecutor | None = None
        self._answers: Answers | None = None
        self._paths: D.TaskPaths | None = None
        self._history: list[HistoryItem] = []
        self._step = 0
        self._prev_metric: float | None = None
        self._best_metric: float | None = None
        self._elapsed = 0.0
        self._submission_digest: str | None = None
        self._submission_error: str | None = None
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
            self._submission_digest, self._submission_error = self._read_submission()[0], None
            self._tools.state = ToolState()  # type: ignore[union-attr]
            self._ideas = []
        if "ideas" in options:
            self._ideas = [str(i) for i in options["ideas"]]
        self._done = False
        info = {
            "task_id": self.task.id,
            "fixture_data": self._fixture,
            "reward_scale": self.reward_scale.to_dict(),
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

        reply = sanitize_text(action) if isinstance(action, str) else ""
        parsed, parse_error = _parse(action)

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
                    "disk_full": outcome.exec.disk_full,
                    "duration_s": outcome.exec.duration_s,
                }
            observation, kind, reward, metric = self._judge(parsed, outcome)

        self._step += 1
        observation = sanitize_text(observation)  # once, before it enters the history
        item = HistoryItem(
            step=self._step,
            action=parsed.to_dict() if parsed is not None else None,
            observation=observation,
            reply="" if parsed is not None else reply,
        )
        self._history = (self._history + [item])[-self.history_window :] if self.history_window > 0 else []
        terminated = parsed is not None and isinstance(parsed, A.FinalAnswer)
        truncated = not terminated and (self._step >= self.max_steps or self._elapsed >= self.time_limit_s)
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
            submission_error=self._submission_error,
            ideas=list(self._ideas),
        )

    def prompt_context(self) -> PromptContext:
        """What the next prompt shows; pass it to ``mlagent_env.prompt`` to render it."""
        assert self._sandbox is not None
        listing = self._workspace_listing()
        return PromptContext(
            research_problem=self.task.description,
            tools=self._tools_text,
            workspace=listing,
            workspace_truncated=listing.truncated,
            step=self._step,
            max_steps=self.max_steps,
            time_left_s=max(self.time_limit_s - self._elapsed, 0.0),
            history=list(self._history),
            ideas=list(self._ideas),
            observation_limit=OBSERVATION_LIMIT[self.prompt_style],
            style=self.prompt_style,
        )

    def _next_prompt(self) -> dict[str, Any]:
        """``prompt``, ``messages`` and ``prompt_style`` (the reply format asked for) for the next step, as
        the info dicts carry them."""
        ctx = self.prompt_context()
        return {
            "prompt": sanitize_text(render_prompt(ctx)),
            "messages": [dict(m, content=sanitize_text(m["content"])) for m in render_messages(ctx)],
            "prompt_style": self.prompt_style,
        }

    def _workspace_listing(self) -> DirListing:
        """The agent's files recursively, and only the top level of the (possibly huge) data
        folder; at most :data:`PROMPT_LISTING_MAX` entries (``truncated`` when more exist)."""
        assert self._sandbox is not None
        top = self._sandbox.list_dir(".", max_entries=PROMPT_LISTING_MAX)
        entries = DirListing()
        entries.truncated = top.truncated
        for entry in top:
            entries.append(entry)
            room = PROMPT_LISTING_MAX - len(entries)
            if entry.is_dir and room > 0:
                below = self._sandbox.list_dir(entry.path, recursive=entry.path != DATA_DIR_NAME, max_entries=room)
                entries.extend(below)
                entries.truncated |= below.truncated
            elif entry.is_dir:
                entries.truncated = True
        return entries

    def final_score(self) -> dict[str, Any]:
        """Grade the current submission on the held-back rows: ``final_score`` (None when the
        submission is missing or invalid, with ``final_error`` saying why) and ``medal``."""
        assert self._tools is not None and self._answers is not None
        try:
            frame = self._tools.read_submission()
            score = grade(self.task.spec, frame, self._answers.final)
        except InvalidSubmission as exc:
            return {"final_score": None, "final_error": str(exc), "medal": None}
        return {"final_score": score, "final_error": None, "medal": medal(self.task.spec, score)}

    # ------------------------------------------------------------------ internals
    def _judge(self, action: A.Action, outcome: ToolOutcome) -> tuple[str, RewardKind, float, float | None]:
        """The reward kind, reward and metric of an executed action.

        Credit goes to the action that changed the submission: whatever the action (a run, even
        one that failed or timed out, Write File, Copy File, an edit, Undo), a submission that
        differs from the recorded one is graded at that step, and the grade decides the reward
        kind (``metric``, or ``error`` when invalid). An unchanged submission earns nothing new:
        the action's own outcome decides (``corner_case``, ``error``, ``non_edit``), except that a
        run which leaves an invalid submission is an ``error`` every time."""
        cfg = self.reward_config
        observation = outcome.observation
        name = self.task.spec.submission_file
        digest, data, unreadable = self._read_submission()
        if digest != self._submission_digest:
            self._submission_digest, self._submission_error = digest, None
            if digest is not None:
                return self._grade_submission(observation, data, unreadable)
            observation += f"\n[mlagent] {name} was removed."
        elif self._submission_error is not None and isinstance(action, A.ExecuteScript):
            observation += f"\n[mlagent] {name} is still invalid: {self._submission_error}"
            return observation, "error", flat_reward("error", cfg), None
        if outcome.corner_case:
            return observation, "corner_case", flat_reward("corner_case", cfg), None
        if outcome.failed:
            return observation, "error", flat_reward("error", cfg), None
        return observation, "non_edit", flat_reward("non_edit", cfg), None

    def _grade_submission(
        self, observation: str, data: bytes, unreadable: str | None
    ) -> tuple[str, RewardKind, float, float | None]:
        """Grade a changed submission on the reward rows: ``metric`` against the previous metric
        (the starter's score for an episode's first), or ``error`` with the grader's message."""
        assert self._answers is not None
        cfg, spec = self.reward_config, self.task.spec
        try:
            if unreadable is not None:
                raise InvalidSubmission(unreadable)
            frame = read_csv_submission(data, spec, name=spec.submission_file)
            metric = grade(spec, frame, self._answers.reward)
        except InvalidSubmission as exc:
            self._submission_error = str(exc)
        else:
            prev = self._prev_metric if self._prev_metric is not None else self.reward_scale.baseline
            kind, reward = metric_reward(
                metric, prev, higher_is_better=spec.metric.higher_is_better, alpha=self.alpha, config=cfg
            )
            if kind == "metric":
                observation += f"\n[mlagent] {spec.submission_file} was updated and is valid."
                self._prev_metric = metric
                if self._best_metric is None or spec.is_better(metric, self._best_metric):
                    self._best_metric = metric
                return observation, kind, reward, metric
            self._submission_error = "its score is not a finite number"
        observation += f"\n[mlagent] {spec.submission_file} was written but is invalid: {self._submission_error}"
        return observation, "error", flat_reward("error", cfg), None

    def _read_submission(self) -> tuple[str | None, bytes, str | None]:
        """The submission file as (digest, bytes, why it cannot be read): (None, b"", None) when
        there is none. Read through the sandbox's read API (regular files only, size-capped)."""
        assert self._sandbox is not None
        name = self.task.spec.submission_file
        try:
            if not self._sandbox.exists(name):
                return None, b"", None
            data = self._sandbox.read_file(name)
        except (SandboxError, OSError) as exc:
            reason = f"cannot read {name}: {exc}"
            return "unreadable:" + hashlib.sha256(reason.encode()).hexdigest(), b"", reason
        return hashlib.sha256(data).hexdigest(), data, None

    def _ensure_data(self) -> None:
        if self._answers is not None:
            return
        if self.auto_prepare and not D.is_prepared(self.task.id, self.data_dir):
            D.prepare_task(self.task, self.data_dir)
        paths = D.require_prepared(self.task, self.data_dir)
        self._answers = load_answers(self.task, paths)  # checked against the manifest once per env
        self.reward_scale = reward_scale(self.task.spec, baseline_cache.load(self.task, paths))
        self.alpha = task_alpha(self.reward_scale.value, self.reward_config)
        if self.reward_scale.baseline is None:
            gym.logger.warn(
                f"mlagent: no starter score is known for {self.task.id}, so an episode's first run earns 0.5; "
                f"measure it once with: mlagent-env baseline {self.task.id}"
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
            self._answers.key,
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
        self._submission_error = state.submission_error
        self._ideas = list(state.ideas)
        self._tools.state = ToolState(backups={k: list(v) for k, v in state.backups.items()})

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
