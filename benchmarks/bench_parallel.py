"""Benchmark-harness throughput: episodes per hour with P = 1 and P = 2 parallel episodes.

    python benchmarks/bench_parallel.py [--runs 4] [--task digits]

The policy is the task's scripted demo (for digits: two trainings), so the steps are dominated by
script execution. Both settings run in the same invocation on the same prepared data; the ratio
is printed (target: close to 2 on a 2-core machine) and a bar chart is saved.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mlagent_env.agents import PolicySpec
from mlagent_env.bench import BenchConfig, Benchmark
from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import prepare_task


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--task", default="digits")
    parser.add_argument("--out", default="runs/benchmarks")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        prepare_task(get_task(args.task), data_dir)
        for parallel in (1, 2):
            config = BenchConfig(tasks=[args.task], policy=PolicySpec(kind="scripted"), runs=args.runs,
                                 parallel=parallel, sandbox="local", data_dir=str(data_dir))
            t0 = time.perf_counter()
            Benchmark(config, Path(tmp) / f"p{parallel}").run(progress=False)
            wall = time.perf_counter() - t0
            rates[parallel] = args.runs / wall * 3600
            print(f"P={parallel}: {args.runs} episodes in {wall:.1f} s = {rates[parallel]:.0f} episodes/hour")
    print(f"ratio P=2 / P=1: {rates[2] / rates[1]:.2f} (target: close to 2)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4, 3.5))
        ax.bar([f"P={p}" for p in rates], list(rates.values()), color=["tab:blue", "tab:orange"])
        ax.set_ylabel("episodes / hour")
        ax.set_title(f"bench throughput ({args.task})")
        fig.tight_layout()
        fig.savefig(out / "bench_parallel.png", dpi=100)
        print(f"plot: {out / 'bench_parallel.png'}")
    except ImportError:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
