"""Overhead of env.step(Execute Script) over running the same script with subprocess.run.

    python benchmarks/step_overhead.py [--runs 40] [--out runs/benchmarks]

Both are measured in the same run, interleaved, on the same interpreter and the same trivial
script; the ratio of medians is printed for each local isolation: plain local (``process``,
target <= 1.2) and contained local (``bwrap``: as root, uid 65534 in its own namespaces, target
<= 1.3). A box plot of the timings is saved as PNG.

A separate measurement (:func:`measure_many_files`) times a List Files step with 200,000 files
in the workspace against the same step in the starter workspace, in the same run, and the
workspace listing that every step's prompt makes (target: <= 0.1 s), and the snapshot's size.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import gymnasium as gym

import mlagent_env  # noqa: F401
from mlagent_env import actions as A
from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import prepare_task

SCRIPT = "print('hello')\n"
TARGETS = {"process": 1.2, "bwrap": 1.3}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--out", default="runs/benchmarks")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="mlagent local sandbox")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        prepare_task(get_task("digits"), data_dir)
        script = Path(tmp) / "trivial.py"
        script.write_text(SCRIPT)
        modes = ["process"] + (["bwrap"] if _has_bwrap() else [])
        results: dict[str, list[float]] = {}
        baseline: list[float] = []
        for mode in modes:
            env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, max_steps=10**6,
                           sandbox_options={"isolation": mode})
            env.reset(seed=0)
            env.step(A.WriteFile(file_name="trivial.py", content=SCRIPT))
            action = A.ExecuteScript(script_name="trivial.py").to_reply()
            for _ in range(3):  # warm-up
                env.step(action)
                subprocess.run([sys.executable, "-u", str(script)], capture_output=True, cwd=tmp)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-u", str(script)], capture_output=True, cwd=tmp)
                baseline.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                obs, *_ = env.step(action)
                times.append(time.perf_counter() - t0)
                assert "hello" in obs
            env.close()
            results[mode] = times

    base = statistics.median(baseline)
    print(f"subprocess.run baseline: median {base * 1000:.1f} ms over {len(baseline)} runs")
    for mode, times in results.items():
        med = statistics.median(times)
        print(f"env.step Execute Script, isolation={mode}: median {med * 1000:.1f} ms, ratio {med / base:.2f}"
              + f"  (target <= {TARGETS[mode]})")
    _plot(baseline, results, out / "step_overhead.png")
    print(f"plot: {out / 'step_overhead.png'}")
    measure_many_files(runs=max(args.runs // 4, 5))
    return 0


def measure_many_files(runs: int, n_files: int = 200_000) -> None:
    """List Files with ``n_files`` files in one workspace folder vs the starter workspace (same
    run, interleaved), the prompt's workspace listing alone, and the snapshot's JSON size."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        prepare_task(get_task("digits"), data_dir)
        envs = {}
        for label in ("starter", f"{n_files} files"):
            env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, max_steps=10**6)
            env.reset(seed=0)
            envs[label] = env
        crowded = envs[f"{n_files} files"].unwrapped
        many = crowded._sandbox.workspace / "many"  # written by the host: the fastest way to get there
        many.mkdir()
        for i in range(n_files):
            (many / f"f{i:06d}.txt").touch()
        action = A.ListFiles().to_reply()
        steps: dict[str, list[float]] = {label: [] for label in envs}
        listing: list[float] = []
        for _ in range(runs):
            for label, env in envs.items():
                t0 = time.perf_counter()
                env.step(action)
                steps[label].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            entries = crowded._workspace_listing()
            listing.append(time.perf_counter() - t0)
        snapshot_mb = len(crowded.snapshot().model_dump_json()) / 1e6
        for env in envs.values():
            env.close()
    base = statistics.median(steps["starter"])
    med = statistics.median(steps[f"{n_files} files"])
    print(f"env.step List Files, starter workspace: median {base * 1000:.1f} ms over {runs} runs")
    print(f"env.step List Files, {n_files} files: median {med * 1000:.1f} ms, ratio {med / base:.2f}")
    print(f"workspace listing per step, {n_files} files: median {statistics.median(listing) * 1000:.1f} ms "
          f"({len(entries)} entries, truncated={entries.truncated}; target <= 100 ms)")
    print(f"snapshot with {n_files} files: {snapshot_mb:.1f} MB of JSON")


def _has_bwrap() -> bool:
    import shutil

    return shutil.which("bwrap") is not None


def _plot(baseline: list[float], results: dict[str, list[float]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    labels = ["subprocess.run"] + [f"env.step ({m})" for m in results]
    data = [[t * 1000 for t in baseline]] + [[t * 1000 for t in v] for v in results.values()]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.boxplot(data, tick_labels=labels)
    ax.set_ylabel("milliseconds")
    ax.set_title("Execute Script on a trivial script: env.step vs subprocess.run")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
