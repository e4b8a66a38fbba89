"""Overhead of env.step(Execute Script) over running the same script with subprocess.run.

    python benchmarks/step_overhead.py [--runs 40] [--files 200000] [--out runs/benchmarks]

Both are measured in the same run, interleaved, on the same interpreter and the same trivial
script; the ratio of medians is printed for each local isolation: plain local (``process``,
target <= 1.2) and contained local (``bwrap``: as root, uid 65534 in its own namespaces, target
<= 1.3). Then the same step with ``--files`` files in the workspace (0 skips it), against the
same step in the empty workspace, and the time of the workspace listing alone (target <= 0.1 s).
A box plot of the timings is saved as PNG.
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
    parser.add_argument("--files", type=int, default=200_000, help="files in the workspace for the last figure (0: skip)")
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
        many = _many_files_step(data_dir, modes[-1], args.files, max(5, args.runs // 4)) if args.files else None

    base = statistics.median(baseline)
    print(f"subprocess.run baseline: median {base * 1000:.1f} ms over {len(baseline)} runs")
    for mode, times in results.items():
        med = statistics.median(times)
        print(f"env.step Execute Script, isolation={mode}: median {med * 1000:.1f} ms, ratio {med / base:.2f}"
              + f"  (target <= {TARGETS[mode]})")
    if many is not None:
        empty, full, listing = (statistics.median(t) for t in many)
        print(f"env.step Execute Script with {args.files} files, isolation={modes[-1]}: median {full * 1000:.1f} ms "
              f"(empty workspace {empty * 1000:.1f} ms, ratio {full / empty:.2f}); "
              f"workspace listing alone: median {listing * 1000:.1f} ms (target <= 100 ms)")
    _plot(baseline, results, out / "step_overhead.png")
    print(f"plot: {out / 'step_overhead.png'}")
    return 0


def _many_files_step(data_dir: Path, mode: str, files: int, runs: int) -> tuple[list[float], list[float], list[float]]:
    """Step times in an empty workspace, then with ``files`` files in it (made by a script, not
    timed), interleaved with the time of the listing that each step renders."""
    env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, max_steps=10**6,
                   sandbox_options={"isolation": mode})
    env.reset(seed=0)
    env.step(A.WriteFile(file_name="trivial.py", content=SCRIPT))
    action = A.ExecuteScript(script_name="trivial.py").to_reply()
    make = (f"import os\nfor d in range({files} // 1000 + 1):\n    os.makedirs(f'many/{{d}}', exist_ok=True)\n"
            f"    for i in range(min(1000, {files} - d * 1000)):\n        open(f'many/{{d}}/{{i}}.txt', 'w').close()\n")
    env.step(A.WriteFile(file_name="make_files.py", content=make))
    empty = []
    for _ in range(runs):
        t0 = time.perf_counter()
        env.step(action)
        empty.append(time.perf_counter() - t0)
    obs, *_ = env.step(A.ExecuteScript(script_name="make_files.py").to_reply())
    full, listing = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        obs, *_ = env.step(action)
        full.append(time.perf_counter() - t0)
        assert "hello" in obs
        t0 = time.perf_counter()
        env.unwrapped._workspace_listing()
        listing.append(time.perf_counter() - t0)
    env.close()
    return empty, full, listing


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
