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

Prints the table and the ratios (2 sandboxes / 1) and saves ``rl_throughput.png`` and
``rl_throughput.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--states", type=int, default=2)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--model", default=None, help="a local model folder (default: a tiny random Qwen2)")
    parser.add_argument("--out", default="runs/benchmarks")
    args = parser.parse_args()

    import torch

    from mlagent_train.ppo import Generator
    from mlagent_train.rl import RLConfig, load_tokenizer
    from mlagent_train.local_executor import LocalExecutor
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
                              data_dir=str(data_dir), allow_fixture=True), Path(tmp) / "traj").run(progress=False)
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

    print(f"{'workload':8s} {'sandboxes':>9s} {'actions/min':>12s} {'gen share':>10s} {'exec share':>11s}  kinds")
    for workload, by_n in results.items():
        for n, r in by_n.items():
            print(f"{workload:8s} {n:9d} {r['actions_per_min']:12.1f} {100 * r['gen_share']:9.1f}% "
                  f"{100 * r['exec_share']:10.1f}%  {r['kinds']}")
    ratios = {w: by_n[2]["actions_per_min"] / by_n[1]["actions_per_min"] for w, by_n in results.items()}
    exec_ratio = {w: by_n[1]["exec_s"] / by_n[2]["exec_s"] for w, by_n in results.items()}
    for w in results:
        print(f"{w}: throughput 2 sandboxes / 1 = {ratios[w]:.2f}x (execution time alone: {exec_ratio[w]:.2f}x faster)")
    (out / "rl_throughput.json").write_text(json.dumps({"results": results, "ratio_2_over_1": ratios,
                                                        "exec_speedup_2_over_1": exec_ratio, "args": vars(args)}, indent=1))
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
