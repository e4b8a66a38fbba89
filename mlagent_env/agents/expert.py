"""A scripted expert that makes real improvements: it turns the ideas of its first prompt into
edits of the training script, keeps what validates better and undoes the rest.

    mlagent-env bench --tasks offline-held-in --policy expert
    mlagent-train explore --config examples/configs/offline_explore.yaml

An episode, through the env's own actions only:

1. List Files, Inspect Script Lines of the starter, Execute Script: the starter's validation score
   (the ``validation <metric>: <value>`` line the script prints) is the one to beat;
2. for each idea of the first prompt ("Ideas you may try", 1-3 in exploration; without any, a
   seeded draw from :func:`mlagent_env.agents.ideas.builtin_ideas`), then for hyper-parameter
   neighbours of the best recipe and other model families while the step budget lasts: the idea
   becomes a :class:`~mlagent_env.agents.recipes.Recipe` applied on the best one so far, the new
   script is written (Write File the first time, then Edit Script Segment on the lines that
   differ) and run; a better cross-validated score is kept, a worse one or a failed run is undone
   (Undo Edit Script);
3. when the last run was not the best one, the best script is run again so that the submission is
   its; then Validate Submission and Final Answer.

It decides from what the scripts print on the training rows and from ``task.yaml`` (metric, task
and data type, id and target columns), never from the reward, the answers or the task id. Every
reply is in the prompt's response format (Reflection ... Action Input) so that SFT on these
trajectories teaches the format and the edits together.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from mlagent_env import actions as A
from mlagent_env.agents.ideas import builtin_ideas
from mlagent_env.agents.recipes import (
    FAMILIES,
    Recipe,
    TaskKind,
    UnsupportedTask,
    apply_idea,
    base_recipe,
    render_script,
    tune,
)
from mlagent_env.prompt import IDEAS_HEADER
from mlagent_env.tasks.registry import get_task
from mlagent_env.tasks.spec import TaskSpec

_SCORE = re.compile(r"validation [^:\n]{0,40}:\s*(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)")
_STEPS = re.compile(r"Step (\d+) of (\d+) \((\d+) left\)")
_OBS_OPEN = "\nObservation:\n```\n"
RESERVE = 3
"""Steps kept back at the end: a re-run of the best script, Validate Submission, Final Answer."""
TRY_COST = 3
"""Steps one idea may take: the edit, the run, and an undo when it did not help."""


def ideas_in_prompt(user: str) -> list[str]:
    """The ideas of the prompt's "Ideas you may try" block (:data:`mlagent_env.prompt.IDEAS_HEADER`)."""
    start = user.find(IDEAS_HEADER)
    if start < 0:
        return []
    out = []
    for line in user[start + len(IDEAS_HEADER):].splitlines():
        if not line.startswith("- "):
            break
        out.append(line[2:].strip())
    return out


def last_observation(user: str) -> str:
    """The observation of the most recent step shown in the prompt ("" before the first step)."""
    start = user.rfind(_OBS_OPEN)
    if start < 0:
        return ""
    body = user[start + len(_OBS_OPEN):]
    end = body.rfind("\n```")
    return body[:end] if end >= 0 else body


def steps_left(user: str) -> int | None:
    m = _STEPS.search(user)
    return int(m.group(3)) if m else None


def validation_score(observation: str) -> float | None:
    """The last ``validation <metric>: <value>`` a successful run printed (None after a failure)."""
    if "[exit code" in observation or "Traceback (most recent call last)" in observation:
        return None
    found = _SCORE.findall(observation)
    return float(found[-1]) if found else None


def segment_edit(script: str, old: str, new: str) -> A.EditScriptSegment:
    """The one Edit Script Segment that turns ``old`` into ``new``: the lines between their common
    first and last lines."""
    a, b = old.splitlines(), new.splitlines()
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return A.EditScriptSegment(script_name=script, start_line_number=head + 1, end_line_number=len(a) - tail,
                               new_content="\n".join(b[head:len(b) - tail]))


@dataclass
class Attempt:
    idea: str
    recipe: Recipe
    score: float | None = None
    kept: bool = False


@dataclass
class _Notes:
    """What the expert has confirmed so far, for its Research Plan and Status."""

    starter: float | None = None
    attempts: list[Attempt] = field(default_factory=list)

    def plan(self, kind: TaskKind | None, best: float | None) -> str:
        metric = kind.metric if kind else "the metric"
        lines = ["1. Measure the starter train.py: " + (f"validation {metric} {self.starter:g}" if self.starter is not None
                                                       else "to do")]
        tried = "; ".join(f"{FAMILIES[a.recipe.family].label} " + (f"{a.score:g}" if a.score is not None else "failed")
                          + (" kept" if a.kept else " undone") for a in self.attempts)
        lines.append("2. Try the ideas one by one, keep an edit only when the validation score improves"
                     + (f": {tried}" if tried else ""))
        lines.append("3. Make sure submission.csv comes from the best script, validate it, and finish"
                     + (f" (best so far: {best:g})" if best is not None else ""))
        return "\n".join(lines)


def compose(action: A.Action, reflection: str, plan: str, facts: str, thought: str, style: str = "full") -> str:
    """A reply in the prompt's response format: Reflection ... Action Input (``full``), or only the
    Action and its one-line Action Input (``compact``, which asks for nothing else)."""
    if style == "compact":
        return action.to_reply("compact")
    return (f"Reflection: {reflection}\nResearch Plan and Status:\n{plan}\nFact Check: {facts}\nThought: {thought}\n"
            f"Action: {action.name}\nAction Input: {json.dumps(action.arguments(), indent=4, ensure_ascii=False)}")


class ExpertPolicy:
    """The scripted expert (module docstring). One instance per episode runner; ``reset`` starts over."""

    def __init__(self, extra_tries: int = 4) -> None:
        self.extra_tries = extra_tries
        self._episode: Generator[str, str, None] | None = None
        self._style = "full"

    def reset(self, task_id: str, seed: int | None = None) -> None:
        self._spec: TaskSpec = get_task(task_id).spec
        self._seed = seed or 0
        self._episode = None

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        user = messages[-1]["content"] if messages else ""
        if self._episode is None:
            self._style = str(info.get("prompt_style", "full"))  # the env's reply format
            self._episode = self._play(user)
            return next(self._episode)
        try:
            return self._episode.send(user)
        except StopIteration:
            return A.FinalAnswer(final_answer="Done.").to_reply(self._style)

    # ------------------------------------------------------------------------------ the episode

    def _play(self, first: str) -> Generator[str, str, None]:
        spec, script, submission = self._spec, self._spec.starter_script, self._spec.submission_file
        notes = _Notes()
        try:
            kind: TaskKind | None = TaskKind.of(spec)
        except UnsupportedTask:
            kind = None
        ideas = ideas_in_prompt(first) or self._drawn_ideas()
        user = yield self._say(A.ListFiles(dir_path="."), "Nothing has been run yet.", notes.plan(kind, None),
                             "Nothing is confirmed yet.", "First see what the workspace holds.")
        user = yield self._say(A.InspectScriptLines(script_name=script, start_line_number=1, end_line_number=100),
                             "The workspace holds the data folder and the starter script.", notes.plan(kind, None),
                             "The file list is directly confirmed.", f"Read {script} to see its model and validation.")
        user = yield self._say(A.ExecuteScript(script_name=script), f"{script} trains a model and prints a validation score.",
                             notes.plan(kind, None), "The script's content is directly confirmed.",
                             "Run the starter to measure the baseline before changing anything.")
        notes.starter = best = validation_score(last_observation(user))
        if kind is None:
            yield from self._finish(notes, kind, best, submission, rerun=False,
                                    why=f"no recipe of mine fits this task ({spec.metric.name}, "
                                        f"{len(spec.target_columns)} target columns): I keep the starter")
            return
        best_recipe = base_recipe(kind)
        current: str | None = None  # the script as the expert last wrote it; None: still the starter
        last_run_is_best, tried = True, set()
        for label, make in self._candidates(ideas, kind):
            left = steps_left(user)
            if left is not None and left < TRY_COST + RESERVE:
                break
            recipe = make(best_recipe)
            if recipe.key() in tried:
                continue
            tried.add(recipe.key())
            new = render_script(recipe, kind, spec.title)
            edit: A.Action = A.WriteFile(file_name=script, content=new) if current is None else \
                segment_edit(script, current, new)
            verb = "Rewrite" if current is None else "Edit the model lines of"
            user = yield self._say(edit, self._reflect(notes), notes.plan(kind, best),
                                 self._facts(notes, kind), f"Idea: {label} -> {verb} {script} to use "
                                 f"{recipe.describe()}, scored by 5-fold cross-validation on the training rows.")
            user = yield self._say(A.ExecuteScript(script_name=script), "The edit is saved.", notes.plan(kind, best),
                                 self._facts(notes, kind), f"Run {script} to see whether {FAMILIES[recipe.family].label} "
                                 "validates better.")
            score = validation_score(last_observation(user))
            attempt = Attempt(label, recipe, score)
            notes.attempts.append(attempt)
            if score is not None and (best is None or (score > best if kind.higher_is_better else score < best)):
                attempt.kept, best, best_recipe, current, last_run_is_best = True, score, recipe, new, True
                continue
            last_run_is_best = False
            outcome = "failed" if score is None else f"scored {score:g}, not better than {best:g}" if best is not None \
                else f"scored {score:g}"
            user = yield self._say(A.UndoEditScript(script_name=script), f"The run {outcome}.", notes.plan(kind, best),
                                 self._facts(notes, kind), "Undo the edit to go back to the best script so far.")
        yield from self._finish(notes, kind, best, submission, rerun=not last_run_is_best)

    def _finish(self, notes: _Notes, kind: TaskKind | None, best: float | None, submission: str, rerun: bool,
                why: str = "") -> Iterator[str]:
        script = self._spec.starter_script
        if rerun:
            yield self._say(A.ExecuteScript(script_name=script), "The last edit was undone, so submission.csv is from a "
                          "worse run.", notes.plan(kind, best), self._facts(notes, kind),
                          f"Run the best {script} again so that the submission is its predictions.")
        yield self._say(A.ValidateSubmission(submission_path=submission), why or "The submission is from the best script.",
                      notes.plan(kind, best), self._facts(notes, kind), "Check the submission's format before finishing.")
        kept = [a for a in notes.attempts if a.kept]
        summary = (f"Best: {kept[-1].recipe.describe()} with validation {kind.metric if kind else 'score'} {best:g} "
                   f"(starter: {notes.starter if notes.starter is not None else 'not measured'})."
                   if kept and best is not None else "No edit validated better than the starter; kept the starter's submission.")
        yield self._say(A.FinalAnswer(final_answer=summary), "The submission is valid.", notes.plan(kind, best),
                      self._facts(notes, kind), "Finish with the best submission.")

    # ------------------------------------------------------------------------------ helpers

    def _say(self, action: A.Action, reflection: str, plan: str, facts: str, thought: str) -> str:
        return compose(action, reflection, plan, facts, thought, self._style)

    def _drawn_ideas(self) -> list[str]:
        pool = builtin_ideas(self._spec)
        rng = random.Random(self._seed)
        return rng.sample(pool, min(2, len(pool)))

    def _candidates(self, ideas: list[str], kind: TaskKind) -> Iterator[tuple[str, Callable[[Recipe], Recipe]]]:
        """The prompt's ideas, then hyper-parameter neighbours of the best recipe and other model
        families (in a seeded order), each as a label and a change of the best recipe so far."""
        for idea in ideas:
            yield idea, lambda best, idea=idea: apply_idea(best, idea, kind)[0]
        others = [f for f in FAMILIES if f != "vote"]
        random.Random(self._seed + 1).shuffle(others)
        for i in range(self.extra_tries):
            yield f"tune the best model's hyper-parameters (variation {i + 1})", lambda best, i=i: tune(best, i)
            if others:
                fam = others.pop()
                yield f"try a {FAMILIES[fam].label} instead", lambda best, fam=fam: replace(best, family=fam, params={})

    @staticmethod
    def _reflect(notes: _Notes) -> str:
        if not notes.attempts:
            return f"The starter scored {notes.starter:g} on its own validation split." if notes.starter is not None \
                else "The starter ran; its validation score was not printed."
        last = notes.attempts[-1]
        return (f"The last try ({last.recipe.describe()}) " + ("was kept." if last.kept else "did not help and was undone."))

    @staticmethod
    def _facts(notes: _Notes, kind: TaskKind | None) -> str:
        start = f"starter {notes.starter:g}" if notes.starter is not None else "starter not measured"
        last = [f"{FAMILIES[a.recipe.family].label} {a.score:g}" for a in notes.attempts[-1:] if a.score is not None]
        return "Directly confirmed by running the scripts: " + "; ".join([start, *last])
