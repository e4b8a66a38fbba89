"""How much the scripted expert improves on each task's starter, from an explore output folder.

    mlagent-train explore --config examples/configs/offline_explore.yaml --episodes_per_task 4
    python benchmarks/expert_gain.py --explore_dir runs/offline/explore

Per task, over the episodes found in ``<explore_dir>/expert/trajectories/<task>/run-*.jsonl``:
the starter's score on the reward rows as measured in the same run (the metric of each episode's
first Execute Script, which runs the unmodified starter), the expert's best score on those rows,
the starter's held-back score (``baseline_score`` in task.yaml, measured by ``mlagent-env
baseline``) against the expert's final held-back scores (mean and best over episodes), the
relative gain of the mean final score over the starter (MLAgentBench's: > 0 is better for either
direction of metric), the steps whose metric reward beat 0.5, the share of valid actions, and the
env time per episode. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from mlagent_env.tasks import get_task
from mlagent_env.trajectory import StepRecord, read_records


def relative_gain(score: float, baseline: float, higher_is_better: bool) -> float:
    return (score - baseline) / abs(baseline) if higher_is_better else (baseline - score) / abs(baseline)


def summarise(task_id: str, episodes: list[list[StepRecord]]) -> dict[str, object]:
    spec = get_task(task_id).spec
    better = max if spec.metric.higher_is_better else min
    starter = [next(r.metric for r in ep if r.metric is not None) for ep in episodes if any(r.metric is not None for r in ep)]
    best = [better(r.metric for r in ep if r.metric is not None) for ep in episodes if any(r.metric is not None for r in ep)]
    final = [ep[-1].final_score for ep in episodes if ep[-1].final_score is not None]
    steps = [r for ep in episodes for r in ep]
    mean_final = statistics.mean(final) if final else float("nan")
    return {
        "task": task_id,
        "metric": f"{spec.metric.name} {'↑' if spec.metric.higher_is_better else '↓'}",
        "episodes": len(episodes),
        "starter (reward rows)": statistics.mean(starter) if starter else float("nan"),
        "expert best (reward rows)": statistics.mean(best) if best else float("nan"),
        "starter (held-back)": spec.baseline_score,
        "expert final mean (held-back)": mean_final,
        "expert final best (held-back)": better(final) if final else float("nan"),
        "relative gain": relative_gain(mean_final, spec.baseline_score, spec.metric.higher_is_better)
        if spec.baseline_score and final else float("nan"),
        "improving steps / episode": sum(r.reward_kind == "metric" and r.reward > 0.5 for r in steps) / len(episodes),
        "valid actions": sum(r.valid for r in steps) / len(steps),
        "env s / episode": sum(r.env_s for r in steps) / len(episodes),
    }


def _cell(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--explore_dir", default="runs/offline/explore", help="the output_dir of mlagent-train explore")
    args = parser.parse_args()
    root = Path(args.explore_dir) / "expert" / "trajectories"
    rows, valid, total = [], 0, 0
    for task_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        episodes = [read_records(f) for f in sorted(task_dir.glob("run-*.jsonl"))]
        episodes = [ep for ep in episodes if ep and (ep[-1].terminated or ep[-1].truncated)]  # finished only
        if episodes:
            rows.append(summarise(task_dir.name, episodes))
            valid += sum(r.valid for ep in episodes for r in ep)
            total += sum(len(ep) for ep in episodes)
    if not rows:
        print(f"no finished expert episode under {root}")
        return 1
    heads = list(rows[0])
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    for row in rows:
        print("| " + " | ".join(_cell(row[h]) for h in heads) + " |")
    print(f"\nvalid actions: {valid} of {total} steps ({valid / total:.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
