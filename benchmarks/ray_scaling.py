"""Ray scale-out: episodes per hour of the offline demo (digits, its scripted demo policy) with
the benchmark's thread pool and with env actors on 1 and 2 worker nodes of a local Ray cluster,
in the same run; and the per-step overhead of a remote env (:class:`mlagent_env.remote.env.RemoteEnv`)
against an in-process one, on a trivial script.

    python benchmarks/ray_scaling.py [--episodes 8] [--per-node 2] [--steps 30] [--out DIR]

The cluster is ``mlagent_env.remote.local_cluster`` (a head without CPUs, two worker nodes of
``--per-node`` CPUs each, loopback only). Thread pool: ``--per-node`` episodes at once here. Ray,
1 node: ``--per-node`` at once, all on the first worker (its own custom resource). Ray, 2 nodes:
twice as many at once over both workers. On a machine with fewer cores than the workers claim,
the nodes share them and the 2-node figure says what the Ray path costs, not what a rack gains.
Prints the table with the ratios against the thread pool and writes ``ray_scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import gymnasium as gym

import mlagent_env  # noqa: F401
from mlagent_env import actions as A
from mlagent_env.agents import PolicySpec
from mlagent_env.bench import BenchConfig, Benchmark
from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import prepare_task

warnings.filterwarnings("ignore", message="mlagent local sandbox")


def episodes_per_hour(data_dir: Path, out: Path, episodes: int, parallel: int, **ray: str) -> float:
    config = BenchConfig(tasks=["digits"], policy=PolicySpec.parse("scripted"), runs=episodes, parallel=parallel,
                         max_steps=10, sandbox="local", data_dir=str(data_dir), **ray)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    results = Benchmark(config, out).run(progress=False)
    wall = time.perf_counter() - t0
    assert results[0].runs == episodes and results[0].errors == 0
    return episodes / wall * 3600


def step_seconds(env: gym.Env[str, str], state: object, reply: str, steps: int) -> float:
    env.reset(options={"state": state})
    env.step(reply)  # warm
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        env.step(reply)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=8, help="episodes per backend")
    ap.add_argument("--per-node", type=int, default=2, help="CPUs (episodes at once) per worker node")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per env for the overhead")
    ap.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="ray-scaling-"))
    data_dir = out / "data"
    prepare_task(get_task("digits"), data_dir)

    from mlagent_env.remote.env import RemoteEnv  # noqa: PLC0415
    from mlagent_env.remote.local_cluster import local_cluster  # noqa: PLC0415

    p = args.per_node
    rows: dict[str, float] = {}
    rows["thread pool"] = episodes_per_hour(data_dir, out / "threads", args.episodes, p)
    with local_cluster([{"mlagent_sandbox": p, "only_a": p}, {"mlagent_sandbox": p}], cpus_per_node=p):
        rows["ray, 1 worker node"] = episodes_per_hour(data_dir, out / "ray1", args.episodes, p,
                                                       ray_address="auto", ray_resource="only_a")
        rows["ray, 2 worker nodes"] = episodes_per_hour(data_dir, out / "ray2", args.episodes, 2 * p,
                                                        ray_address="auto", ray_resource="mlagent_sandbox")

        kwargs = dict(sandbox="local", data_dir=str(data_dir), max_steps=10_000)
        local = gym.make("mlagent/digits", **kwargs)
        local.reset(seed=0)
        local.unwrapped._sandbox.write_file("noop.py", b"print('ok')\n")  # type: ignore[attr-defined]
        state = local.unwrapped.snapshot()  # type: ignore[attr-defined]
        remote = RemoteEnv.spawn("digits", kwargs)
        overhead = {}
        for name, reply in (("Execute Script (trivial script)", A.ExecuteScript(script_name="noop.py").to_reply()),
                            ("List Files", A.ListFiles(dir_path=".").to_reply())):
            here = step_seconds(local, state, reply, args.steps)
            there = step_seconds(remote, state, reply, args.steps)
            overhead[name] = {"in_process_ms": 1000 * here, "remote_ms": 1000 * there, "ratio": there / here}
        local.close()
        remote.close()

    base = rows["thread pool"]
    print(f"{'backend':<22} {'episodes/hour':>14} {'vs thread pool':>15}")
    for name, eph in rows.items():
        print(f"{name:<22} {eph:>14.0f} {eph / base:>14.2f}x")
    print(f"\n{'env.step (median)':<34} {'in-process ms':>14} {'remote ms':>10} {'ratio':>7}")
    for name, o in overhead.items():
        print(f"{name:<34} {o['in_process_ms']:>14.1f} {o['remote_ms']:>10.1f} {o['ratio']:>6.2f}x")
    (out / "ray_scaling.json").write_text(json.dumps({"episodes_per_hour": rows, "step_overhead": overhead,
                                                      "args": vars(args)}, indent=1))
    print(f"\nwritten to {out / 'ray_scaling.json'}")


if __name__ == "__main__":
    main()
