"""Step-wise RL rollout throughput: replies generated, executed from restored states and scored
per minute, with 1 and 2 concurrent sandboxes, and the share of wall time spent generating vs
executing.

    python benchmarks/rl_throughput.py [--rounds 4] [--states 2] [--generations 4] [--model PATH]

One round is what one RL step does: ``states`` states are drawn from the states pool (scripted
digits trajectories with saved states), the policy samples ``generations`` replies for each
(:class:`mlagent_train.ppo.Generator`, a tiny random model unless ``--model`` is given), and the
replies are executed from their restored states by :class:`mlagent_train.local_executor.LocalExecutor`
(local sandboxes) with ``--sandboxes 1`` and ``2``. Two workloads:

* ``model``: the model's own replies are executed (a random tiny model writes garbage, so these
  are parse errors: this measures generation plus restore/parse overhead);
* ``mix``: the same generation is timed, but each slot executes an action from a realistic mix
  (List Files, Inspect Script Lines, Execute Script train.py), so script runs dominate: this
  measures what the sandbox concurrency buys.

Then the timeout figure (``--tail-replies``, ``--tail-limit``): a batch of replies with a
heavy-tailed mix of execution times (most 0.05 s, some 0.5 s, a few at 85% of the limit), run on
2 sandboxes with a per-reply limit of ``--tail-limit`` seconds (the env's ``exec_timeout_s`` too).
It prints the fraction of replies scored before their timeout with the executor's per-reply
timeouts, next to the baseline measured in the same run: the same replies under one deadline per
batch (``--tail-limit`` after the batch was submitted, as the executor did before), where the
replies queued behind the sandboxes run out of time without being late themselves.

Prints the table and the ratios (2 sandboxes / 1) and saves ``rl_throughput.png`` and
``rl_throughput.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import gymnasium as gym

from mlagent_env import actions as A
from mlagent_env.agents import PolicySpec
from mlagent_env.bench import BenchConfig, Benchmark
from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import prepare_task

MIX = [
    A.ListFiles(dir_path=".").to_reply(),
    A.InspectScriptLines(script_name="train.py", start_line_number=1, end_line_number=40).to_reply(),
    A.ExecuteScript(script_name="train.py").to_reply(),
    A.ExecuteScript(script_name="train.py").to_reply(),
]


def measure(gen, pool, executor, rounds: int, states: int, generations: int, workload: str, seed: int) -> dict:  # type: ignore[no-untyped-def]
    gen_s = exec_s = 0.0
    executed = 0
    kinds: dict[str, int] = {}
    for r in range(rounds):
        entries = pool.sample(states, seed=seed + r)
        prompts, st = [], []
        for e in entries:
            prompts += [gen.prompt_ids(e.messages)] * generations
            st += [e.state] * generations
        t0 = time.perf_counter()
        _, texts = gen.sample(prompts)
        t1 = time.perf_counter()
        replies = texts if workload == "model" else [MIX[i % len(MIX)] for i in range(len(texts))]
        outcomes = executor.run(st, replies)
        t2 = time.perf_counter()
        gen_s += t1 - t0
        exec_s += t2 - t1
        executed += len(outcomes)
        for o in outcomes:
            kinds[o.reward_kind] = kinds.get(o.reward_kind, 0) + 1
    wall = gen_s + exec_s
    return {"executed": executed, "wall_s": wall, "gen_s": gen_s, "exec_s": exec_s,
            "actions_per_min": 60 * executed / wall, "gen_share": gen_s / wall, "exec_share": exec_s / wall,
            "kinds": kinds}


def tail_state(data_dir: Path, limit: float) -> tuple[str, dict[str, float]]:
    """A digits state with three nap scripts: the heavy-tailed mix's short, medium and long runs."""
    naps = {"nap_short.py": 0.05, "nap_medium.py": 0.5, "nap_long.py": 0.85 * limit}
    env = gym.make("mlagent/digits", sandbox="local", data_dir=str(data_dir))
    try:
        env.reset(seed=0)
        for name, seconds in naps.items():
            env.unwrapped._sandbox.write_file(name, f"import time\ntime.sleep({seconds})\n".encode())  # type: ignore[attr-defined]
        return env.unwrapped.snapshot().model_dump_json(), naps  # type: ignore[attr-defined]
    finally:
        env.close()


def tail_replies(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    names = rng.choices(["nap_short.py", "nap_medium.py", "nap_long.py"], weights=[0.75, 0.17, 0.08], k=n)
    names[-1] = "nap_long.py"  # at least one near the limit, at the end of the queue
    return [A.ExecuteScript(script_name=name).to_reply() for name in names]


def measure_tail(data_dir: Path, n: int, limit: float, seed: int) -> dict:  # type: ignore[type-arg]
    """Per-reply timeouts (the executor) against one deadline per batch, on the same replies."""
    from mlagent_train.local_executor import LocalExecutor

    state, _ = tail_state(data_dir, limit)
    replies = tail_replies(n, seed)
    kwargs = dict(sandbox="local", data_dir=str(data_dir), num_sandboxes=2, timeout_s=limit,
                  env_kwargs={"exec_timeout_s": limit})
    with LocalExecutor(**kwargs) as ex:  # type: ignore[arg-type]
        ex.run([state] * 2, [MIX[0]] * 2)  # envs created before timing
        t0 = time.perf_counter()
        scored = ex.run([state] * n, replies)
        per_reply_s = time.perf_counter() - t0
    own_late = [s.error is not None and "limit" in s.error for s in scored]
    within = [s.env_s <= limit and not late for s, late in zip(scored, own_late)]
    per_reply_ok = sum(not late for late in own_late)
    # baseline: the same replies, one reply per executor call, all under one deadline from submission
    with LocalExecutor(**kwargs) as ex, ThreadPoolExecutor(max_workers=2) as pool:  # type: ignore[arg-type]
        ex.run([state] * 2, [MIX[0]] * 2)
        t0 = time.perf_counter()
        futures = [pool.submit(ex.run, [state], [r]) for r in replies]
        done, _ = wait(futures, timeout=limit)
        batch_ok = len(done)
        wait(futures)
        batch_s = time.perf_counter() - t0
    return {"replies": n, "limit_s": limit, "per_reply_scored": per_reply_ok / n,
            "per_reply_scored_of_within_limit": sum(w for w in within) / max(sum(within), 1),
            "batch_deadline_scored": batch_ok / n, "per_reply_wall_s": per_reply_s, "batch_wall_s": batch_s,
            "kinds": {k: sum(s.reward_kind == k for s in scored) for k in {s.reward_kind for s in scored}}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--states", type=int, default=2)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--model", default=None, help="a local model folder (default: a tiny random Qwen2)")
    parser.add_argument("--tail-replies", type=int, default=24, help="replies of the heavy-tailed timeout batch")
    parser.add_argument("--tail-limit", type=float, default=2.0, help="per-reply limit of the timeout batch (s)")
    parser.add_argument("--out", default="runs/benchmarks")
    args = parser.parse_args()

    import torch

    from mlagent_train.ppo import Generator
    from mlagent_train.local_executor import LocalExecutor
    from mlagent_train.model_setup import load_tokenizer
    from mlagent_train.rl_config import RLConfig
    from mlagent_train.states import StatesPool
    from mlagent_train.tiny import build_tiny_model

    warnings.filterwarnings("ignore", message="mlagent local sandbox")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[int, dict]] = {"model": {}, "mix": {}}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        prepare_task(get_task("digits"), data_dir)
        Benchmark(BenchConfig(tasks=["digits"], policy=PolicySpec(kind="scripted"), runs=2, max_steps=4, sandbox="local",
                              allow_readable_answers=True, data_dir=str(data_dir), allow_fixture=True),
                  Path(tmp) / "traj").run(progress=False)
        pool = StatesPool.from_trajectories([Path(tmp) / "traj" / "trajectories"], tasks=["digits"])
        model_path = args.model or str(build_tiny_model(Path(tmp) / "tiny"))
        from transformers import AutoModelForCausalLM

        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(model_path)
        cfg = RLConfig(max_completion_length=args.max_new_tokens, temperature=1.0)
        gen = Generator(model, load_tokenizer(model_path), cfg, torch.device("cpu"))
        gen.sample([gen.prompt_ids(pool.entries[0].messages)])  # warm-up
        for workload in ("model", "mix"):
            for n in (1, 2):
                with LocalExecutor(sandbox="local", data_dir=str(data_dir), num_sandboxes=n) as ex:
                    ex.run([pool.entries[0].state] * n, [MIX[0]] * n)  # envs created before timing
                    results[workload][n] = measure(gen, pool, ex, args.rounds, args.states, args.generations, workload, 0)
        tail = measure_tail(data_dir, args.tail_replies, args.tail_limit, seed=0)

    print(f"{'workload':8s} {'sandboxes':>9s} {'actions/min':>12s} {'gen share':>10s} {'exec share':>11s}  kinds")
    for workload, by_n in results.items():
        for n, r in by_n.items():
            print(f"{workload:8s} {n:9d} {r['actions_per_min']:12.1f} {100 * r['gen_share']:9.1f}% "
                  f"{100 * r['exec_share']:10.1f}%  {r['kinds']}")
    ratios = {w: by_n[2]["actions_per_min"] / by_n[1]["actions_per_min"] for w, by_n in results.items()}
    exec_ratio = {w: by_n[1]["exec_s"] / by_n[2]["exec_s"] for w, by_n in results.items()}
    for w in results:
        print(f"{w}: throughput 2 sandboxes / 1 = {ratios[w]:.2f}x (execution time alone: {exec_ratio[w]:.2f}x faster)")
    print(f"heavy-tailed mix, {tail['replies']} replies, 2 sandboxes, {tail['limit_s']:g} s limit: scored before the "
          f"timeout: per-reply timeouts {100 * tail['per_reply_scored']:.0f}% "
          f"({100 * tail['per_reply_scored_of_within_limit']:.0f}% of those that ran within their own limit), "
          f"one deadline per batch {100 * tail['batch_deadline_scored']:.0f}% (baseline, same run); kinds {tail['kinds']}")
    (out / "rl_throughput.json").write_text(json.dumps({"results": results, "ratio_2_over_1": ratios,
                                                        "exec_speedup_2_over_1": exec_ratio, "timeouts": tail,
                                                        "args": vars(args)}, indent=1))
    plot(results, out / "rl_throughput.png")
    print(f"saved {out / 'rl_throughput.png'} and {out / 'rl_throughput.json'}")
    return 0


def plot(results: dict[str, dict[int, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, sx) = plt.subplots(1, 2, figsize=(10, 4))
    labels, rates, gen, exe = [], [], [], []
    for workload, by_n in results.items():
        for n, r in by_n.items():
            labels.append(f"{workload}\n{n} sandbox{'es' if n > 1 else ''}")
            rates.append(r["actions_per_min"])
            gen.append(100 * r["gen_share"])
            exe.append(100 * r["exec_share"])
    ax.bar(labels, rates, color=["tab:blue", "tab:orange"] * (len(labels) // 2))
    ax.set_ylabel("replies executed and scored per minute")
    ax.set_title("Step-wise rollout throughput")
    sx.bar(labels, gen, label="generating")
    sx.bar(labels, exe, bottom=gen, label="executing")
    sx.set_ylabel("% of wall time")
    sx.set_title("Where the time goes")
    sx.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
