"""What ``gpu_check.py`` measures with, around the project's own trainers and executor (nothing here
trains or executes anything itself):

* :class:`StageClock`: a transformers ``TrainerCallback`` that times every optimizer step, keeps the
  logged rows, optionally times the model's ``generate`` calls (GRPO's rollouts), and stops training
  once the stage's deadline has passed, or (``stop_below_loss``) once the logged loss is below a
  target (``control.should_training_stop``: a clean stop, the figures so far are kept);
* :class:`TimedExecutor`: an :class:`mlagent_train.executor.Executor` around the real one that times
  every ``run`` and keeps the scored replies; past its deadline it refuses the next batch with
  :class:`BudgetSpent` (the way to stop a loop that has no callback, PPO's);
* :func:`reset_gpu_peak` / :func:`gpu_peak_gib`: the peak of allocated GPU memory of a stage.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

from transformers import TrainerCallback

from mlagent_train.executor import EpisodeStart, Executor, ScoredReply


class BudgetSpent(RuntimeError):
    """A stage ran past its wall-clock budget."""


def cuda_sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_gpu_peak() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def gpu_peak_gib() -> float | None:
    """Peak allocated GPU memory since :func:`reset_gpu_peak`, in GiB (None without a GPU)."""
    import torch

    if not torch.cuda.is_available():
        return None
    return round(torch.cuda.max_memory_allocated() / 2**30, 2)


class StageClock(TrainerCallback):
    """Step times, logged rows and (``time_generation``) generation time of one ``Trainer.train()``."""

    def __init__(self, deadline: float, *, time_generation: bool = False, stop_below_loss: float | None = None) -> None:
        self.deadline = deadline
        self.time_generation = time_generation
        self.stop_below_loss = stop_below_loss
        self.reached_loss = False
        self.step_s: list[float] = []
        self.logs: list[dict[str, Any]] = []
        self.gen_s = 0.0
        self.gen_calls = 0
        self.stopped_by_budget = False
        self._t0 = 0.0
        self._model: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.time_generation and model is not None:
            original = model.generate

            def timed_generate(*a: Any, **k: Any) -> Any:
                cuda_sync()
                t0 = time.perf_counter()
                try:
                    return original(*a, **k)
                finally:
                    cuda_sync()
                    self.gen_s += time.perf_counter() - t0
                    self.gen_calls += 1

            model.generate = timed_generate  # on this instance only; removed at the end of training
            self._model = model

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._model is not None and "generate" in vars(self._model):
            del self._model.generate
        self._model = None

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        cuda_sync()
        self._t0 = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        cuda_sync()
        self.step_s.append(time.perf_counter() - self._t0)
        if time.monotonic() > self.deadline and state.global_step < state.max_steps:
            control.should_training_stop = True
            self.stopped_by_budget = True

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.logs.append({"step": state.global_step, **(logs or {})})
        loss = (logs or {}).get("loss")
        if self.stop_below_loss is not None and isinstance(loss, (int, float)) and loss < self.stop_below_loss:
            control.should_training_stop = True
            self.reached_loss = True

    def timed_steps(self) -> list[float]:
        """The step times without the first (warm-up: allocation, kernel selection) when there are more."""
        return self.step_s[1:] if len(self.step_s) > 1 else list(self.step_s)

    def step_figures(self) -> dict[str, Any]:
        timed = self.timed_steps()
        return {"steps": len(self.step_s), "first_step_s": round(self.step_s[0], 3) if self.step_s else None,
                "step_s_median": round(statistics.median(timed), 3) if timed else None,
                "step_s_mean": round(statistics.fmean(timed), 3) if timed else None}


class TimedExecutor:
    """The Executor protocol around ``inner``: times each batch, keeps its scored replies, and raises
    :class:`BudgetSpent` for a batch asked for after ``deadline`` (``time.monotonic()``)."""

    def __init__(self, inner: Executor, deadline: float) -> None:
        self.inner = inner
        self.deadline = deadline
        self.exec_s = 0.0
        self.batches = 0
        self.outcomes: list[ScoredReply] = []

    @property
    def answers_readable(self) -> bool:
        return self.inner.answers_readable

    def warm_up(self, task_ids: Sequence[str]) -> None:
        self.inner.warm_up(task_ids)

    def run(self, states: Sequence[str], replies: Sequence[str], *, keep_state: bool = False) -> list[ScoredReply]:
        if time.monotonic() > self.deadline:
            raise BudgetSpent(f"the stage's budget was spent after {self.batches} executed batches")
        t0 = time.perf_counter()
        out = self.inner.run(states, replies, keep_state=keep_state)
        self.exec_s += time.perf_counter() - t0
        self.batches += 1
        self.outcomes += out
        return out

    def begin(self, task_ids: Sequence[str], seeds: Sequence[int]) -> list[EpisodeStart]:
        return self.inner.begin(task_ids, seeds)

    def close(self) -> None:
        self.inner.close()

    def reply_figures(self) -> dict[str, Any]:
        """What the executed replies were: how many, the share that parsed as valid actions, the share
        that ran (valid, and the action did not fail), and the count of each reward kind."""
        n = len(self.outcomes)
        kinds: dict[str, int] = {}
        for o in self.outcomes:
            kinds[o.reward_kind] = kinds.get(o.reward_kind, 0) + 1
        ran = sum(o.valid and o.reward_kind in ("non_edit", "metric", "corner_case") for o in self.outcomes)
        return {"replies": n, "valid_share": round(sum(o.valid for o in self.outcomes) / n, 3) if n else None,
                "executed_share": round(ran / n, 3) if n else None, "reward_kinds": kinds,
                "mean_reward": round(sum(o.reward for o in self.outcomes) / n, 4) if n else None}
